-- tcssl.waiters against the emulator: an order issued after a set number of polls, one that
-- fails review, and a deployment followed to the end.
local waiters = require "tcssl.waiters"

describe("waiting on the emulator", function()
  local emu = require "spec.support.emulator"
  local tcssl = require "tcssl"
  local cjson = require "cjson"
  local ID, KEY = "AKIDWAITSPEC00000000000000000000000", "waiters-spec-secret-key-00000000"
  local server, client

  setup(function()
    server = emu.start{ keys = { [ID] = { secret_key = KEY } } }
    client = assert(tcssl.new{ endpoint = server.host, scheme = "http", secret_id = ID, secret_key = KEY,
      timeout = 10, region = "ap-guangzhou" })
  end)
  teardown(function() if server then server:stop() end end)

  it("sees an order issued after the configured number of polls", function()
    server:control("POST", "config", cjson.encode{ issue_polls = 3 })
    local id = assert(client:ApplyCertificate{ DvAuthMethod = "DNS_AUTO", DomainName = "wait.example.com",
      CsrEncryptAlgo = "ECC", CsrKeyParameter = "prime256v1" }).CertificateId
    local polls = 0
    local res = assert(waiters.certificate_issued(client, id, { interval = 0.01,
      on_progress = function(info) polls = info.polls end }))
    assert.equal(1, res.Status)
    assert.equal(3, polls)
    local failing = assert(client:ApplyCertificate{ DvAuthMethod = "DNS_AUTO", DomainName = "wait.example.invalid",
      CsrEncryptAlgo = "ECC", CsrKeyParameter = "prime256v1" }).CertificateId
    assert.equal("CertificateReviewFailed", select(2, waiters.certificate_issued(client, failing,
      { interval = 0.01 })).code)
  end)

  it("follows a deployment to the end", function()
    server:reset()
    server:control("POST", "config", cjson.encode{ task_polls = 2 })
    local id = assert(client:ApplyCertificate{ DvAuthMethod = "DNS_AUTO", DomainName = "deploy.example.com",
      CsrEncryptAlgo = "ECC", CsrKeyParameter = "prime256v1" }).CertificateId
    assert(waiters.certificate_issued(client, id, { interval = 0.01 }))
    local rec = assert(client:DeployCertificateInstance{ CertificateId = id,
      InstanceIdList = { "lb-1|lbl-1", "lb-1|lbl-2" } })
    local summary = assert(waiters.deploy_finished(client, rec.DeployRecordId, { interval = 0.01 }))
    assert.equal(2, #summary.resources)
    assert.same({ 1, 1 }, { summary.resources[1].Status, summary.resources[2].Status })
  end)
end)

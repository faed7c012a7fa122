-- tcssl.service (tcssl.client.service): clients of another API 3.0 service through the same
-- stages as the SSL client; STS is what tcssl.credentials calls through it.
local tcssl = require "tcssl"
local client_mod = require "tcssl.client"
local credentials = require "tcssl.credentials"
local fakes = require "spec.support.fakes"

local ID, KEY = "AKIDSERVICESPEC", "service-spec-secret-key-000"
local NOW = 1700000000

-- A transport that records each request and answers an empty Response.
local function recorder()
  return fakes.transport{ '{"Response":{"RequestId":"svc-1"}}' }
end

local STS = { service = "sts", version = "2018-08-13", unsigned = { "AssumeRoleWithWebIdentity" } }

describe("tcssl.service", function()
  it("is the constructor of tcssl.client", function()
    assert.equal(client_mod.service, tcssl.service)
  end)

  it("makes clients that sign for the service, on its host, with its version", function()
    local sts = assert(tcssl.service(STS))
    local t = recorder()
    local c = assert(sts.new{ secret_id = ID, secret_key = KEY, region = "ap-guangzhou", transport = t,
      clock = function() return NOW end })
    local res = assert(c:AssumeRole{ RoleArn = "qcs::cam::uin/1:roleName/r", RoleSessionName = "s" })
    assert.equal("svc-1", res.RequestId)
    local h = t.sent[1].headers
    assert.equal("https://sts.tencentcloudapi.com/", t.sent[1].url)
    assert.equal("AssumeRole", h["X-TC-Action"])
    assert.equal("2018-08-13", h["X-TC-Version"])
    assert.truthy(h.Authorization:find("Credential=" .. ID .. "/2023-11-14/sts/tc3_request", 1, true))
  end)

  it("sends the actions the API takes unsigned without keys or a signature", function()
    local sts = assert(tcssl.service(STS))
    local t = recorder()
    local c = assert(sts.new{ credentials = { source = "refuses", get = function() error("asked for keys") end },
      transport = t, clock = function() return NOW end })
    assert(c:call("AssumeRoleWithWebIdentity", { WebIdentityToken = "w" }))
    assert.equal("SKIP", t.sent[1].headers.Authorization)
    assert.is_nil(t.sent[1].headers["X-TC-Token"])
    local _, err = c:AssumeRole{}
    assert.equal("credentials", err.kind)
    assert.equal("ProviderFailed", err.code)
  end)

  it("follows the regional hosts when the service has them, and an explicit endpoint always", function()
    local cvm = assert(tcssl.service{ service = "cvm", version = "2017-03-12", regional = true })
    local function host(config)
      config.secret_id, config.secret_key = ID, KEY
      return assert(cvm.new(config)).config.host
    end
    assert.equal("cvm.tencentcloudapi.com", host{ region = "ap-guangzhou" })
    assert.equal("cvm.ap-shanghai-fsi.tencentcloudapi.com", host{ region = "ap-shanghai-fsi" })
    assert.equal("cvm.intl.tencentcloudapi.com", host{ site = "intl" })
    assert.equal("127.0.0.1:9", host{ endpoint = "127.0.0.1:9", region = "ap-shanghai-fsi" })
    local sts = assert(tcssl.service(STS))
    assert.equal("sts.tencentcloudapi.com", assert(sts.new{ secret_id = ID, secret_key = KEY,
      region = "ap-shanghai-fsi" }).config.host)
  end)

  it("refuses a bad description with a config error, never a raise", function()
    for _, desc in ipairs{ "sts", {}, { service = "sts" }, { service = "STS", version = "2018-08-13" },
        { service = "sts", version = "2018" }, { service = "sts", version = "2018-08-13", endpoint = "http://x/" },
        { service = "sts", version = "2018-08-13", unsigned = { "not an action" } },
        { service = "sts", version = "2018-08-13", signer = "none" } } do
      local ok, svc, err = pcall(tcssl.service, desc)
      assert.is_true(ok, tostring(svc))
      assert.is_nil(svc)
      assert.equal("config", err.kind)
      assert.equal("InvalidConfig", err.code)
    end
  end)

  it("is the one place the STS endpoint is written, for the credential providers", function()
    assert.equal("sts.tencentcloudapi.com", credentials.STS.endpoint)
    local t = recorder()
    local p = credentials.assume_role{ secret_id = ID, secret_key = KEY, role_arn = "arn", transport = t,
      clock = function() return NOW end }
    p.get()
    assert.equal("https://sts.tencentcloudapi.com/", t.sent[1].url)
    assert.equal("AssumeRole", t.sent[1].headers["X-TC-Action"])
  end)

  it("keeps tcssl.new and tcssl.legacy on the same path", function()
    local ssl = assert(tcssl.new{ secret_id = ID, secret_key = KEY })
    local legacy = assert(tcssl.legacy{ secret_id = ID, secret_key = KEY })
    assert.equal(client_mod.SSL, ssl.service)
    assert.equal(client_mod.LEGACY, legacy.service)
  end)
end)

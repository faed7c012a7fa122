-- The tcssl command run in this Lua state through tcssl.cli.main(args, env), against the
-- emulator: its arguments, environment and streams are the spec's, and it returns its exit
-- status instead of ending the process.
local cli = require "tcssl.cli"
local json = require "tcssl.json"
local emu = require "spec.support.emulator"
local certgen = require "spec.support.certgen"
local util = require "spec.support.util"

local ID, KEY = "AKIDCLIINPROCESS00000000000000000000", "cli-inprocess-secret-key-00000000"

local server, tmp

local read, write = util.read, util.write

-- The environment the command sees: the emulator's endpoint and keys, and vars on top.
local function environment(vars)
  local env = {
    TENCENTCLOUD_SECRET_ID = ID, TENCENTCLOUD_SECRET_KEY = KEY, TENCENTCLOUD_REGION = "ap-guangzhou",
    TCSSL_ENDPOINT = server.host, TCSSL_SCHEME = "http", HOME = tmp,
  }
  for k, v in pairs(vars or {}) do env[k] = v end
  return env
end

-- Runs the command with words; returns status, stdout, stderr. opts: vars (environment on
-- top of environment()), stdin (a file).
local function run(words, opts)
  opts = opts or {}
  local vars = environment(opts.vars)
  local out, err = {}, {}
  local status = cli.main(words, {
    getenv = function(name) return vars[name] end,
    stdout = function(text) out[#out + 1] = text end,
    stderr = { write = function(self, ...) for _, s in ipairs{ ... } do err[#err + 1] = s end return self end },
    stdin = opts.stdin,
  })
  return status, table.concat(out), table.concat(err)
end

local function upload(cn)
  local leaf = certgen.leaf{ cn = cn }
  write(tmp .. "/cert.pem", leaf.fullchain)
  write(tmp .. "/key.pem", leaf.key_pem)
  local status, out, err = run{ "UploadCertificate", "--CertificatePublicKey", "file://" .. tmp .. "/cert.pem",
    "--CertificatePrivateKey", "file://" .. tmp .. "/key.pem", "--Alias", "in process" }
  assert.equal(0, status, err)
  return assert(json.decode(out)).CertificateId
end

setup(function()
  server = emu.start{ keys = { [ID] = { secret_key = KEY } } }
  tmp = util.temp_dir("cli-inprocess")
end)

teardown(function()
  if server then server:stop() end
  util.remove_dir(tmp)
end)

before_each(function() server:reset() end)

describe("tcssl.cli.main", function()
  it("calls an action and prints its response as indented JSON in the model's order", function()
    local id = upload("inprocess.example.com")
    assert.matches("^%w+$", id)
    local status, out, err = run{ "DescribeCertificates", "--SearchKey", "nothing-matches-this" }
    assert.equal(0, status, err)
    assert.equal("", err)
    local request_id = out:match('"RequestId": "([%x%-]+)"')
    assert.is_string(request_id, out)
    assert.equal('{\n  "TotalCount": 0,\n  "Certificates": [],\n  "RequestId": "' .. request_id .. '"\n}\n', out)
    status, out = run{ "DescribeCertificate", "--CertificateId", id }
    assert.equal(0, status)
    local res = assert(json.decode(out))
    assert.same({ id, "in process", "inprocess.example.com" }, { res.CertificateId, res.Alias, res.Domain })
    assert.is_true(out:find('"OwnerUin"', 1, true) < out:find('"ProjectId"', 1, true))
  end)

  it("reads --cli-input-json - from the stdin it is given", function()
    upload("one.example.com")
    local two = upload("two.example.com")
    local input = io.open(write(tmp .. "/input.json", '{"SearchKey":"two","Limit":5}'), "rb")
    local status, out, err = run({ "--cli-input-json", "-", "DescribeCertificates" }, { stdin = input })
    input:close()
    assert.equal(0, status, err)
    local res = assert(json.decode(out))
    assert.same({ 1, two }, { res.TotalCount, res.Certificates[1].CertificateId })
  end)

  it("returns 2 for a usage error, with the reason on its stderr and nothing on its stdout", function()
    local cases = {
      { { "DescribeCertificates", "--Limt", "5" }, "did you mean Limit" },
      { { "DescribeCertificates", "--Limit", "five" }, "takes an integer" },
      { { "DescribeCertificatez" }, "did you mean DescribeCertificate" },
      { { "renew", "--cert", "x", "--key", "y" }, "--replace ID is needed" },
      { {}, "usage: tcssl" },
    }
    for _, case in ipairs(cases) do
      local status, out, err = run(case[1])
      local label = table.concat(case[1], " ")
      assert.equal(2, status, label .. ": " .. err)
      assert.equal("", out, label)
      assert.truthy(err:find(case[2], 1, true), label .. ": " .. err)
    end
  end)

  it("returns 1 for an API error, 4 for rejected keys; its keys and variables come from the environment it is given",
    function()
    local status, out, err = run{ "DescribeCertificate", "--CertificateId", "nothere1" }
    assert.equal(1, status)
    assert.equal("", out)
    assert.matches("^tcssl: FailedOperation%.CertificateNotFound: .* %(RequestId [%x%-]+%)\n$", err)
    status, out, err = run({ "DescribeCertificates" }, { vars = { TENCENTCLOUD_SECRET_KEY = "wrong-key-wrong-key" } })
    assert.equal(4, status)
    assert.equal("", out)
    assert.matches("AuthFailure%.SignatureFailure", err)
    -- TCSSL_REPLACE from the given environment: renew gets past its check and fails reading --cert
    status, out, err = run({ "renew", "--cert", tmp .. "/absent.pem", "--key", tmp .. "/absent.key" },
      { vars = { TCSSL_REPLACE = "abcd1234" } })
    assert.equal(2, status)
    assert.equal("", out)
    assert.matches("cannot read", err)
  end)

  it("runs the jobs: expiring as JSON, issue-free writing its files with the key private", function()
    local status, out, err = run{ "expiring", "--output", "json" }
    assert.equal(0, status, err)
    assert.same({ 30 }, { assert(json.decode(out)).Days })
    local dir = tmp .. "/issued"
    status, out, err = run{ "issue-free", "--domain", "free.example.com", "--yes", "--out", dir,
      "--poll-interval", "0.1" }
    assert.equal(0, status, err)
    assert.matches("ok%s+download", out)
    assert.matches("wrote " .. dir:gsub("%p", "%%%0") .. "/{cert,chain,fullchain,privkey}.pem\n$", out)
    assert.matches("^validation record: TXT ", err) -- and no progress line: its stderr is no terminal
    local certs = require "tcssl.certs"
    assert.is_true(certs.key_matches(read(dir .. "/fullchain.pem"), read(dir .. "/privkey.pem")))
    assert.equal("600", util.mode(dir .. "/privkey.pem"))
  end)

  it("prints help to the stdout it is given, and returns 0", function()
    local status, out, err = run{ "help", "renew" }
    assert.equal(0, status)
    assert.equal("", err)
    assert.matches("RENEWED_LINEAGE", out)
    status, out = run{ "--version" }
    assert.equal(0, status)
    assert.matches("^tcssl %d", out)
  end)

  it("lets an error that is not the command's (here, its stdout failing) through as an error", function()
    local ok, why = pcall(cli.main, { "help" }, {
      getenv = function() return nil end,
      stdout = function() error("stdout is broken") end,
    })
    assert.is_false(ok)
    assert.matches("stdout is broken", why)
  end)
end)

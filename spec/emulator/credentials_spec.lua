-- Credential providers against the emulator: its CVM metadata service and STS (AssumeRole and
-- AssumeRoleWithWebIdentity), proxies, and temporary keys the server rejects, which are fetched
-- again once and within the call's deadline.
local tcssl = require "tcssl"
local credentials = require "tcssl.credentials"
local emu = require "spec.support.emulator"
local fakes = require "spec.support.fakes"
local util = require "spec.support.util"

local TMP_ID, TMP_KEY, TMP_TOKEN = "AKIDHARDENTEMP", "hardening-temporary-secret-00000", "hardening-token-0000"
local JSON = { ["content-type"] = "application/json" }

local env, tmpfile = fakes.getenv, util.tmpfile

describe("providers against the emulator's metadata service and STS", function()
  local ID, LONG_KEY = "AKIDCREDSPEC", "credentials-spec-secret-key-000"
  local server, token_file

  setup(function()
    server = emu.start{ keys = { [ID] = { secret_key = LONG_KEY } },
      args = { "--metadata-role", "renewer", "--web-identity-token", "good-web-identity-token" } }
    token_file = tmpfile("good-web-identity-token\n")
  end)
  teardown(function()
    if server then server:stop() end
    os.remove(token_file)
  end)
  before_each(function() server:reset() end)

  local function client_with(provider, extra)
    local cfg = { endpoint = server.host, scheme = "http", credentials = provider, timeout = 5 }
    for k, v in pairs(extra or {}) do cfg[k] = v end
    return assert(tcssl.new(cfg))
  end

  local function metadata(extra)
    local o = { metadata_url = server.url .. "/latest/meta-data/" }
    for k, v in pairs(extra or {}) do o[k] = v end
    return credentials.cvm_role(o)
  end

  it("calls the API with a CVM role's temporary keys", function()
    local p = metadata()
    local c = client_with(p)
    local res = assert(c:DescribeCertificates{})
    assert.equal(0, res.TotalCount)
    assert.equal("cvm_role", p.source)
    assert.truthy(tostring(c):find("credentials=cvm_role", 1, true))
  end)

  it("refreshes near expiry by the injected clock, and the emulator refuses expired keys", function()
    local now = os.time()
    local p = metadata{ clock = function() return now end }
    local first = assert(p.get())
    assert.equal(first, p.get())
    now = first.expires - 100 -- inside the refresh margin
    local second = assert(p.get())
    assert.are_not.equal(first.secret_id, second.secret_id)
    -- move the emulator's clock past the first key's expiry: it is refused, the second works
    server:fault{ type = "clock", offset = first.expires - os.time() + 10 }
    local stale = assert(tcssl.new{ endpoint = server.host, scheme = "http", secret_id = first.secret_id,
      secret_key = first.secret_key, token = first.token, clock = function() return first.expires + 10 end })
    local res, err = stale:DescribeCertificates{}
    assert.is_nil(res)
    assert.equal("AuthFailure.TokenFailure", err.code)
  end)

  it("reports broken metadata answers as credentials errors", function()
    for _, fault in ipairs{ { type = "invalid_json" }, { type = "html" }, { type = "http500" },
                            { type = "truncated" }, { type = "deep_json" } } do
      server:fault(fault)
      local res, err = client_with(metadata()):DescribeCertificates{}
      assert.is_nil(res, fault.type)
      assert.equal("credentials", err.kind, fault.type)
      assert.equal("MetadataError", err.code, fault.type)
      server:reset()
    end
  end)

  it("assumes a role through STS and calls the API with the result", function()
    local p = credentials.assume_role{ secret_id = ID, secret_key = LONG_KEY, role_arn = "qcs::cam::uin/1:roleName/r",
      endpoint = server.host, scheme = "http", duration = 3600 }
    local c = client_with(p)
    assert(c:DescribeCertificates{})
    local creds = assert(p.get())
    assert.truthy(creds.secret_id:find("^AKIDTMP"))
    local bad = credentials.assume_role{ secret_id = ID, secret_key = "wrong-key", role_arn = "r",
      endpoint = server.host, scheme = "http" }
    local none, err = bad.get()
    assert.is_nil(none)
    assert.equal("STSError", err.code)
    assert.equal("AuthFailure.SignatureFailure", err.cause)
  end)

  it("uses TKE's web identity token with AssumeRoleWithWebIdentity", function()
    local vars = { TKE_REGION = "ap-guangzhou", TKE_PROVIDER_ID = "p-1", TKE_ROLE_ARN = "qcs::cam::uin/1:roleName/r",
      TKE_WEB_IDENTITY_TOKEN_FILE = token_file }
    local p = credentials.tke_oidc{ getenv = env(vars), endpoint = server.host, scheme = "http" }
    assert(client_with(p):DescribeCertificates{})
    local wrong = tmpfile("not-the-token")
    vars.TKE_WEB_IDENTITY_TOKEN_FILE = wrong
    local none, err = credentials.tke_oidc{ getenv = env(vars), endpoint = server.host, scheme = "http" }.get()
    assert.is_nil(none)
    assert.equal("STSError", err.code)
    os.remove(wrong)
  end)

  it("reports broken STS answers", function()
    for _, fault in ipairs{ { type = "invalid_json" }, { type = "html" }, { type = "reset", count = 2 },
                            { type = "api_error", code = "InternalError", message = "x" } } do
      server:fault(fault)
      local p = credentials.assume_role{ secret_id = ID, secret_key = LONG_KEY, role_arn = "r",
        endpoint = server.host, scheme = "http" }
      local none, err = p.get()
      assert.is_nil(none, fault.type)
      assert.equal("STSError", err.code, fault.type)
      server:reset()
    end
  end)

  it("finds the CVM role through the default chain", function()
    local c = assert(tcssl.new{ endpoint = server.host, scheme = "http",
      metadata_url = server.url .. "/latest/meta-data/", getenv = env{ HOME = "/nonexistent" } })
    assert(c:DescribeCertificates{})
    assert.truthy(tostring(c):find("credentials=cvm_role", 1, true))
  end)

  it("goes through a proxy from the configuration or from http_proxy", function()
    local c = assert(tcssl.new{ endpoint = "ssl.tcssl.invalid", scheme = "http", secret_id = ID,
      secret_key = LONG_KEY, proxy = server.url })
    assert(c:DescribeCertificates{})
    assert.equal(1, server:stats().api_requests)
    -- libcurl reads http_proxy itself: check it in a child process with that variable set
    local script = ("package.path='./lua/?.lua;./lua/?/init.lua;'..package.path; package.cpath='%s;'..package.cpath;"
      .. "local c=require'tcssl'.new{endpoint='ssl.tcssl.invalid',scheme='http',secret_id='%s',secret_key='%s'};"
      .. "local r,e=c:DescribeCertificates{}; io.write(r and 'ok' or tostring(e))"):format(
      os.getenv("TCSSL_CHILD_CPATH") or os.getenv("TCSSL_CORE_CPATH") or "./lua/?.so", ID, LONG_KEY)
    local interpreter = jit and "luajit" or "lua5.4" -- the one this core was built for
    local p = assert(io.popen(("http_proxy=%s %s -e %q 2>&1"):format(server.url, interpreter, script)))
    local out = p:read("a")
    p:close()
    assert.equal("ok", out)
    assert.equal(2, server:stats().api_requests)
    -- NO_PROXY: the emulator called directly although http_proxy names a port nobody listens on
    local direct = script:gsub("ssl%.tcssl%.invalid", server.host)
    p = assert(io.popen(("http_proxy=http://127.0.0.1:9 NO_PROXY=127.0.0.1 %s -e %q 2>&1"):format(interpreter,
      direct)))
    out = p:read("a")
    p:close()
    assert.equal("ok", out)
    assert.equal(3, server:stats().api_requests)
    -- without NO_PROXY the same call goes to that proxy and fails before sending anything
    p = assert(io.popen(("http_proxy=http://127.0.0.1:9 %s -e %q 2>&1"):format(interpreter, direct)))
    out = p:read("a")
    p:close()
    assert.truthy(out:find("ConnectFailed", 1, true), out)
    assert.equal(3, server:stats().api_requests)
  end)
end)

describe("temporary credentials", function()
  local server
  setup(function()
    server = emu.start{ keys = { [TMP_ID] = { secret_key = TMP_KEY, token = TMP_TOKEN } } }
  end)
  teardown(function() if server then server:stop() end end)
  before_each(function() server:reset() end)

  -- A metadata service (as a transport for cvm_role) handing out the documents in turn.
  local function metadata(docs, on_request)
    local m = { fetches = 0, timeouts = {} }
    function m.request(_, _, url, _, _, opts)
      m.timeouts[#m.timeouts + 1] = opts.timeout
      if on_request then on_request() end
      if url:find("/security%-credentials/$") then return 200, {}, "tcssl-role" end
      m.fetches = m.fetches + 1
      local d = docs[math.min(m.fetches, #docs)]
      return 200, JSON, ('{"TmpSecretId":"%s","TmpSecretKey":"%s","Token":"%s","ExpiredTime":%d,"Code":"Success"}')
        :format(d[1], d[2], d[3], os.time() + 7200)
    end
    return m
  end

  local function tmp_client(provider, extra)
    local cfg = { endpoint = server.host, scheme = "http", credentials = provider, rate_limit = false }
    for k, v in pairs(extra or {}) do cfg[k] = v end
    return assert(tcssl.new(cfg))
  end

  local rejected = {
    { "an unknown SecretId", { "AKIDREVOKED", TMP_KEY, TMP_TOKEN }, "AuthFailure.SecretIdNotFound" },
    { "a stale token", { TMP_ID, TMP_KEY, "hardening-token-stale" }, "AuthFailure.TokenFailure" },
  }
  for _, case in ipairs(rejected) do
    it("are dropped and fetched once more when the server rejects them: " .. case[1], function()
      local m = metadata{ case[2], { TMP_ID, TMP_KEY, TMP_TOKEN } }
      local c = tmp_client(credentials.cvm_role{ metadata_url = "http://metadata.tcssl.invalid/", transport = m })
      assert(c:DescribeCertificates{})
      assert.equal(2, m.fetches)
    end)

    it("fail after one fresh fetch when the new keys are rejected too: " .. case[1], function()
      local m = metadata{ case[2] }
      local c = tmp_client(credentials.cvm_role{ metadata_url = "http://metadata.tcssl.invalid/", transport = m })
      local res, err = c:DescribeCertificates{}
      assert.is_nil(res)
      assert.equal(case[3], err.code)
      assert.equal(2, m.fetches)
      assert.equal(2, server:stats().api_requests)
    end)
  end

  it("through the default chain too", function()
    local m = metadata{ { "AKIDREVOKED", TMP_KEY, TMP_TOKEN }, { TMP_ID, TMP_KEY, TMP_TOKEN } }
    local c = tmp_client(credentials.default{ getenv = function() return nil end, home = "/nonexistent",
      profile_paths = {}, metadata_url = "http://metadata.tcssl.invalid/", transport = m })
    assert(c:DescribeCertificates{})
    assert.equal(2, m.fetches)
  end)

  it("are fetched within the call's deadline", function()
    local m = metadata{ { TMP_ID, TMP_KEY, TMP_TOKEN } }
    local c = tmp_client(credentials.cvm_role{ metadata_url = "http://metadata.tcssl.invalid/", transport = m,
      timeout = 1 }, { deadline = 0.5 })
    assert(c:DescribeCertificates{})
    assert.truthy(#m.timeouts >= 1)
    for _, t in ipairs(m.timeouts) do assert.truthy(t <= 0.5, t) end
  end)

  it("a fetch that uses up the deadline sends nothing", function()
    local ft = fakes.time()
    local m = metadata({ { TMP_ID, TMP_KEY, TMP_TOKEN } }, function() ft.now = ft.now + 0.3 end)
    local c = tmp_client(credentials.cvm_role{ metadata_url = "http://metadata.tcssl.invalid/", transport = m },
      { deadline = 0.5, monotonic = ft.monotonic, sleep = ft.sleep })
    local res, err = c:DescribeCertificates{}
    assert.is_nil(res)
    assert.equal("timeout", err.kind)
    assert.equal("DeadlineExceeded", err.code)
    assert.equal(0, server:stats().api_requests)
  end)
end)

-- The client against what it cannot trust: a hostile Date cannot break a client, what the
-- caller hands in (parameters, transports, providers, clocks) cannot make a call raise, rejected
-- temporary keys are fetched again, credential fetches keep to the call's deadline, and a
-- proxy's password stays out of the configuration.
local tcssl = require "tcssl"
local credentials = require "tcssl.credentials"
local emu = require "spec.support.emulator"

local ID, KEY = "AKIDHARDENCLIENT", "hardening-client-spec-secret-0000"
local TMP_ID, TMP_KEY, TMP_TOKEN = "AKIDHARDENTEMP", "hardening-temporary-secret-00000", "hardening-token-0000"
local NOW = 1700000000

local OK_BODY = '{"Response":{"TotalCount":0,"Certificates":[],"RequestId":"r-1"}}'
local function expire_body()
  return '{"Response":{"Error":{"Code":"AuthFailure.SignatureExpire","Message":"expired"},"RequestId":"r-2"}}'
end

-- A transport that answers from a list of { status, headers, body } and counts requests.
local function scripted(answers)
  local t = { seen = 0 }
  function t.request()
    t.seen = t.seen + 1
    local a = answers[math.min(t.seen, #answers)]
    return a[1], a[2], a[3]
  end
  return t
end

local function fake_time()
  local t = { now = 1000 }
  t.monotonic = function() return t.now end
  t.sleep = function(s)
    t.now = t.now + s
    return true
  end
  return t
end

local function client(extra)
  local ft = fake_time()
  local cfg = { endpoint = "ssl.tcssl.invalid", secret_id = ID, secret_key = KEY, clock = function() return NOW end,
    monotonic = ft.monotonic, sleep = ft.sleep, rate_limit = false }
  for k, v in pairs(extra or {}) do cfg[k] = v end
  return assert(tcssl.new(cfg)), ft
end

local JSON = { ["content-type"] = "application/json" }

describe("a server Date used to correct the clock", function()
  for _, date in ipairs{ "Thu, 01 Jan 1960 00:00:00 GMT", "Fri, 31 Dec 9999 23:59:59 GMT",
    "Mon, 01 Jan 2200 00:00:00 GMT", "Sat, 01 Jan 1970 00:00:00 GMT" } do
    it("is ignored when it is no clock a server runs: " .. date, function()
      local t = scripted{ { 200, { ["content-type"] = "application/json", date = date }, expire_body() },
        { 200, JSON, OK_BODY } }
      local c = client{ transport = t }
      local res, err = c:DescribeCertificates{}
      assert.is_nil(res)
      assert.equal("AuthFailure.SignatureExpire", err.code)
      assert.equal(0, c.clock_offset)
      -- the client stays usable
      assert(c:DescribeCertificates{})
    end)
  end

  it("is taken when plausible, and the call signs again once", function()
    local t = scripted{ { 200, { ["content-type"] = "application/json", date = "Tue, 14 Nov 2023 22:33:20 GMT" },
      expire_body() }, { 200, JSON, OK_BODY } }
    local c = client{ transport = t }
    assert(c:DescribeCertificates{})
    assert.equal(1700001200 - NOW, c.clock_offset)
    assert.equal(2, t.seen)
  end)

  it("is dropped when it would leave the signable range", function()
    local c = client{ transport = scripted{ { 200, JSON, OK_BODY } } }
    c.clock_offset = -NOW - 10 -- as a 1960 Date left it before
    assert(c:DescribeCertificates{})
    assert.equal(0, c.clock_offset)
  end)
end)

describe("what the caller hands in never makes a call raise", function()
  local function raising_mt(event)
    return setmetatable({}, { [event] = function() error("raised by the caller's metatable") end })
  end

  for _, event in ipairs{ "__index", "__pairs" } do
    for _, validate in ipairs{ true, false } do
      it(("parameters with a raising %s (validate = %s)"):format(event, tostring(validate)), function()
        local c = client{ transport = scripted{ { 200, JSON, OK_BODY } }, validate = validate }
        local ok, res, err = pcall(c.DescribeCertificates, c, raising_mt(event))
        assert.is_true(ok, tostring(res))
        if res == nil then
          assert.equal("validation", err.kind)
          assert.equal("InvalidParameter", err.code)
        end
      end)
    end
  end

  local transports = {
    { "a bare nil", function() return nil end, "network", "TransportFailed" },
    { "a raise", function() error("transport exploded") end, "network", "TransportFailed" },
    { "a string status", function() return "200", JSON, OK_BODY end, "protocol", "BadTransportResult" },
    { "status 0", function() return 0, JSON, OK_BODY end, "protocol", "BadTransportResult" },
    { "no body", function() return 200, JSON, nil end, "protocol", "BadTransportResult" },
    { "a nil error beside no status", function() return nil, nil end, "network", "TransportFailed" },
  }
  for _, case in ipairs(transports) do
    it("a custom transport returning " .. case[1], function()
      local c = client{ transport = { request = case[2] } }
      local ok, res, err = pcall(c.UploadCertificate, c, { CertificatePublicKey = "x" })
      assert.is_true(ok, tostring(res))
      assert.is_nil(res)
      assert.equal(case[3], err.kind)
      assert.equal(case[4], err.code)
      assert.is_true(err.maybe_applied) -- whether the change arrived is unknown
    end)
  end

  it("a custom transport's headers that are not a table", function()
    local c = client{ transport = { request = function() return 200, "headers", OK_BODY end } }
    assert(c:DescribeCertificates{})
  end)

  local providers = {
    { "a bare nil", function() return nil end, "NoCredentials" },
    { "a raise", function() error("provider exploded") end, "ProviderFailed" },
    { "numbers for keys", function() return { secret_id = 1, secret_key = 2 } end, "InvalidCredentials" },
    { "a table for a key", function() return { secret_id = "AKIDX", secret_key = {} } end, "InvalidCredentials" },
    { "an empty key", function() return { secret_id = "AKIDX", secret_key = "" } end, "InvalidCredentials" },
    { "a key with a newline", function() return { secret_id = "AKID\nX", secret_key = "k" } end, "InvalidCredentials" },
    { "a numeric token", function() return { secret_id = "AKIDX", secret_key = "k", token = 5 } end,
      "InvalidCredentials" },
    { "a string", function() return "AKIDX:k" end, "InvalidCredentials" },
  }
  for _, case in ipairs(providers) do
    it("a credentials provider returning " .. case[1], function()
      local t = scripted{ { 200, JSON, OK_BODY } }
      local c = client{ transport = t, credentials = { source = "custom", get = case[2] } }
      local ok, res, err = pcall(c.DescribeCertificates, c, {})
      assert.is_true(ok, tostring(res))
      assert.is_nil(res)
      assert.equal("credentials", err.kind)
      assert.equal(case[3], err.code)
      assert.equal(0, t.seen)
    end)
  end

  it("a raising clock", function()
    local c = client{ transport = scripted{ { 200, JSON, OK_BODY } }, clock = function() error("no clock") end }
    local ok, res, err = pcall(c.DescribeCertificates, c, {})
    assert.is_true(ok, tostring(res))
    assert.equal("InvalidClock", err.code)
    assert.equal("clock", err.field)
  end)

  it("a raising monotonic clock", function()
    local c = client{ transport = scripted{ { 200, JSON, OK_BODY } }, monotonic = function() error("no clock") end }
    local ok, res, err = pcall(c.DescribeCertificates, c, {})
    assert.is_true(ok, tostring(res))
    assert.equal("InvalidClock", err.code)
    assert.equal("monotonic", err.field)
  end)

  it("a raising sleep ends the retries with the last failure", function()
    local t = scripted{ { 500, {}, "oops" }, { 200, JSON, OK_BODY } }
    local c = client{ transport = t, sleep = function() error("cannot sleep here") end }
    local ok, res, err = pcall(c.DescribeCertificates, c, {})
    assert.is_true(ok, tostring(res))
    assert.is_nil(res)
    assert.equal("UnexpectedStatus", err.code)
    assert.equal(1, t.seen)
  end)

  it("a raising rate limiter", function()
    local c = client{ transport = scripted{ { 200, JSON, OK_BODY } }, rate_limit = true,
      rate_limiter = { take = function() error("limiter exploded") end } }
    local ok, res, err = pcall(c.DescribeCertificates, c, {})
    assert.is_true(ok, tostring(res))
    assert.equal("config", err.kind)
    assert.equal("RateLimiterFailed", err.code)
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
    local ft = fake_time()
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

describe("a proxy URL with a user and password", function()
  it("is used as given but kept out of client.config and tostring", function()
    local server = emu.start{ keys = { [ID] = { secret_key = KEY } } }
    local ok, err = pcall(function()
      local url = "http://tcssl-user:proxy-pass-0000@" .. server.host
      local c = assert(tcssl.new{ endpoint = "ssl.tcssl.invalid", scheme = "http", secret_id = ID,
        secret_key = KEY, proxy = url })
      assert.falsy(c.config.proxy:find("proxy-pass-0000", 1, true))
      assert.falsy(tostring(c):find("proxy-pass-0000", 1, true))
      assert.equal("http://***@" .. server.host, c.config.proxy)
      assert(c:DescribeCertificates{})
      assert.equal(1, server:stats().api_requests)
      c:close()
    end)
    server:stop()
    assert(ok, err)
  end)
end)

-- Retries, rate limits, clock skew and hostile responses: every fault through the emulator,
-- counting what the server saw, so that no change is ever sent twice.
local tcssl = require "tcssl"
local ratelimit = require "tcssl.ratelimit"
local emu = require "spec.support.emulator"
local pki = require "spec.support.pki"
local fakes = require "spec.support.fakes"

local ID, KEY = "AKIDRESILIENCE", "resilience-spec-secret-key-0000"

local server, certs
setup(function()
  certs = pki.make()
  server = emu.start{ keys = { [ID] = { secret_key = KEY } } }
end)
teardown(function() emu.cleanup(server, certs) end)
before_each(function() server:reset() end)

-- Fake time for backoff and rate limits: sleeping advances the clock, nothing waits.
local fake_time = fakes.time

local function client(extra)
  local ft = fake_time()
  local cfg = { endpoint = server.host, scheme = "http", secret_id = ID, secret_key = KEY, timeout = 5,
    sleep = ft.sleep, monotonic = ft.monotonic }
  for k, v in pairs(extra or {}) do cfg[k] = v end
  return assert(tcssl.new(cfg)), ft
end

local function api_requests() return server:stats().api_requests end

describe("reads recover after transient faults", function()
  local transient = {
    { type = "http500" }, { type = "html", status = 502 }, { type = "truncated" }, { type = "truncated_chunked" },
    { type = "api_error", code = "InternalError", message = "x" },
    { type = "api_error", code = "RequestLimitExceeded.UinLimitExceeded", message = "x" },
    { type = "reset", count = 2 }, -- libcurl itself retries a reset on a reused connection once
  }
  for _, fault in ipairs(transient) do
    it("after " .. (fault.code or fault.type), function()
      local c, ft = client()
      assert(c:DescribeCertificates{}) -- a connection to reuse
      server:reset()
      server:fault(fault)
      local res = assert(c:DescribeCertificates{})
      local meta = tcssl.meta(res)
      assert.truthy(meta.attempts >= 2)
      assert.equal(meta.attempts, #ft.slept + 1)
      for _, s in ipairs(ft.slept) do assert.truthy(s >= 0 and s <= 0.2 * 2 ^ (meta.attempts - 2)) end
    end)
  end

  it("after a timeout", function()
    local c = client{ timeout = 0.5 }
    server:fault{ type = "delay", seconds = 2 }
    local res = assert(c:DescribeCertificates{})
    assert.equal(2, tcssl.meta(res).attempts)
  end)

  it("gives up after max_retries, saying it was retryable", function()
    local c = client{ max_retries = 2 }
    server:fault{ type = "http500", count = 10 }
    local res, err = c:DescribeCertificates{}
    assert.is_nil(res)
    assert.equal("UnexpectedStatus", err.code)
    assert.equal(3, err.attempts)
    assert.is_true(err.retryable)
    assert.equal(3, api_requests())
  end)

  it("never waits past the call's deadline", function()
    local c, ft = client{ max_retries = 10, retry_base = 5, retry_cap = 5, deadline = 6 }
    server:fault{ type = "http500", count = 20 }
    local start = ft.now
    local res, err = c:DescribeCertificates{}
    assert.is_nil(res)
    assert.truthy(ft.now - start < 6)
    assert.truthy(err.attempts < 11)
  end)
end)

describe("changes are never sent twice once they may have arrived", function()
  local after_send = {
    { type = "http500" }, { type = "html" }, { type = "truncated" }, { type = "reset" },
    { type = "api_error", code = "InternalError", message = "x" }, { type = "invalid_json" },
  }
  for _, fault in ipairs(after_send) do
    it("after " .. (fault.code or fault.type), function()
      local c = client()
      server:fault(fault)
      local res, err = c:UploadCertificate{ CertificatePublicKey = certs.leaf_cert_pem,
        CertificatePrivateKey = certs.leaf_key_pem }
      assert.is_nil(res)
      assert.equal(1, api_requests())
      assert.equal(1, err.attempts)
      assert.is_false(err.retryable)
      assert.is_true(err.maybe_applied) -- the upload may have been kept, even when the reply is unreadable
    end)
  end

  it("but are retried when the server refused them for rate", function()
    local c = client()
    server:fault{ type = "api_error", code = "RequestLimitExceeded", message = "slow down" }
    local res = assert(c:UploadCertificate{ CertificatePublicKey = certs.leaf_cert_pem,
      CertificatePrivateKey = certs.leaf_key_pem })
    assert.equal(2, tcssl.meta(res).attempts)
    assert.equal(2, api_requests())
    assert.equal(1, server:stats().certificates)
  end)

  it("and when nothing can have been sent (connection refused)", function()
    local calls = {}
    local transport = { request = function(_, _, _, headers)
      calls[#calls + 1] = headers.Authorization
      if #calls == 1 then
        return nil, { kind = "network", code = "ConnectFailed", message = "refused", sent = false }
      end
      return 200, { ["content-type"] = "application/json" }, '{"Response":{"DeleteResult":true,"RequestId":"r"}}'
    end }
    local ft = fake_time()
    local clock = 1700000000
    local c = assert(tcssl.new{ secret_id = ID, secret_key = KEY, transport = transport, sleep = ft.sleep,
      monotonic = ft.monotonic, clock = function() clock = clock + 1; return clock end })
    assert(c:DeleteCertificate{ CertificateId = "abc" })
    assert.equal(2, #calls)
    assert.are_not.equal(calls[1], calls[2]) -- signed afresh, with a new timestamp
  end)
end)

describe("rate limits", function()
  local function counting_transport()
    return fakes.transport{ '{"Response":{"TotalCount":0,"RequestId":"r"}}' }
  end

  it("hold each action to its documented rate, waiting instead of failing", function()
    local ft = fake_time()
    local c = assert(tcssl.new{ secret_id = ID, secret_key = KEY, transport = counting_transport(),
      sleep = ft.sleep, monotonic = ft.monotonic })
    local start = ft.now
    for _ = 1, 25 do assert(c:DescribeCertificates{}) end -- 10 per second, a burst of 10
    local elapsed = ft.now - start
    assert.truthy(elapsed >= 1.5 - 1e-9 and elapsed <= 1.6, elapsed)
    -- another action has its own bucket
    local before = ft.now
    assert(c:DescribeCertificate{ CertificateId = "x" })
    assert.equal(before, ft.now)
  end)

  it("are shared when clients share a limiter, and can be turned off", function()
    local ft = fake_time()
    local limiter = ratelimit.new{ now = ft.monotonic, sleep = ft.sleep }
    local a = assert(tcssl.new{ secret_id = ID, secret_key = KEY, transport = counting_transport(),
      rate_limiter = limiter, sleep = ft.sleep, monotonic = ft.monotonic })
    local b = assert(tcssl.new{ secret_id = ID, secret_key = KEY, transport = counting_transport(),
      rate_limiter = limiter, sleep = ft.sleep, monotonic = ft.monotonic })
    for _ = 1, 10 do assert(a:DescribeCertificates{}) end
    local before = ft.now
    assert(b:DescribeCertificates{})
    assert.truthy(ft.now > before)
    local free = assert(tcssl.new{ secret_id = ID, secret_key = KEY, transport = counting_transport(),
      rate_limit = false, sleep = ft.sleep, monotonic = ft.monotonic })
    before = ft.now
    for _ = 1, 50 do assert(free:DescribeCertificates{}) end
    assert.equal(before, ft.now)
  end)

  it("give a deadline error rather than wait past it", function()
    local ft = fake_time()
    local c = assert(tcssl.new{ secret_id = ID, secret_key = KEY, transport = counting_transport(),
      sleep = ft.sleep, monotonic = ft.monotonic, deadline = 0.05 })
    for _ = 1, 10 do assert(c:DescribeCertificates{}) end
    local res, err = c:DescribeCertificates{}
    assert.is_nil(res)
    assert.equal("DeadlineExceeded", err.code)
    assert.equal("timeout", err.kind)
  end)
end)

describe("clock skew", function()
  it("is corrected from the Date header once, and kept for later calls", function()
    local c = client()
    server:fault{ type = "clock", offset = 1000 } -- the server is 1000 s ahead
    local res = assert(c:DescribeCertificates{})
    assert.equal(2, tcssl.meta(res).attempts)
    assert.truthy(math.abs(c.clock_offset - 1000) <= 2)
    res = assert(c:DescribeCertificates{})
    assert.equal(1, tcssl.meta(res).attempts)
    assert.equal(3, api_requests())
  end)

  it("parses the Date header format", function()
    local client_mod = require "tcssl.client"
    assert.equal(1700000000, client_mod.parse_http_date("Tue, 14 Nov 2023 22:13:20 GMT"))
    assert.equal(951782400, client_mod.parse_http_date("Tue, 29 Feb 2000 00:00:00 GMT"))
    assert.is_nil(client_mod.parse_http_date("yesterday"))
  end)
end)

describe("hostile responses", function()
  local function answer(body, status, ctype)
    return { request = function()
      return status or 200, { ["content-type"] = ctype or "application/json" }, body
    end }
  end
  local function call(body, status, ctype)
    local ft = fake_time()
    local c = assert(tcssl.new{ secret_id = ID, secret_key = KEY, transport = answer(body, status, ctype),
      max_retries = 1, sleep = ft.sleep, monotonic = ft.monotonic })
    return c:DescribeCertificates{}
  end

  it("decodes every-field-null tolerantly, and wrong-typed fields as protocol errors", function()
    local res = assert(call('{"Response":{"TotalCount":null,"Certificates":null,"RequestId":null}}'))
    assert.is_nil(res.TotalCount)
    assert.is_nil(res.Certificates)
    -- spec/unit/schema_types_spec.lua has the cases in detail
    for _, body in ipairs{ '{"Response":{"TotalCount":"many","Certificates":"none","RequestId":7}}',
        '{"Response":{"Certificates":[{"CertificateId":1,"Tags":{"a":1}}]}}' } do
      local err
      res, err = call(body)
      assert.is_nil(res)
      assert.equal("protocol", err.kind)
      assert.equal("UnexpectedType", err.code)
    end
  end)

  local errors = {
    { "invalid JSON", "{\"Response\":", "InvalidJSON" },
    { "10,000-deep JSON", string.rep("[", 10000) .. string.rep("]", 10000), "InvalidJSON" },
    { "a missing Response", '{"RequestId":"r"}', "MissingResponse" },
    { "an HTML page with status 200", "<!DOCTYPE html><html>busy</html>", "UnexpectedContentType", 200, "text/html" },
    { "an empty body", "", "InvalidJSON" },
    { "binary garbage", "\0\255\254\1", "InvalidJSON" },
  }
  for _, case in ipairs(errors) do
    it("turns " .. case[1] .. " into an error object", function()
      local res, err = call(case[2], case[4], case[5])
      assert.is_nil(res)
      assert.equal("protocol", err.kind)
      assert.equal(case[3], err.code)
      assert.is_string(err.message)
    end)
  end

  it("reports a body cut short without Content-Length", function()
    local c = client{ max_retries = 0 }
    server:fault{ type = "truncated_close" }
    local res, err = c:DescribeCertificates{}
    assert.is_nil(res)
    assert.equal("protocol", err.kind)
  end)
end)

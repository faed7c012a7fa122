-- The libcurl transport and the core against hostile servers (spec/support/rawhttp.lua
-- processes): libcurl never sends a change twice; the session takes any timeout number; hostile
-- replies get precise error kinds, the same with both transports, and are not retried.
local tcssl = require "tcssl"
local core = require "tcssl.core"
local ngx_transport = require "tcssl.transport.ngx"
local rawhttp = require "spec.support.rawhttp"
local emu = require "spec.support.emulator"
local pki = require "spec.support.pki"
local fakes = require "spec.support.fakes"

local ID, KEY = "AKIDHARDENING", "hardening-transport-spec-key-00"

local function client(host, extra)
  local ft = fakes.time() -- backoff sleeps are recorded and advance the clock; nothing waits
  local cfg = { endpoint = host, scheme = "http", secret_id = ID, secret_key = KEY, timeout = 10,
    sleep = ft.sleep, monotonic = ft.monotonic }
  for k, v in pairs(extra or {}) do cfg[k] = v end
  return assert(tcssl.new(cfg)), ft
end

describe("libcurl never sends a change twice", function()
  local srv
  before_each(function() srv = rawhttp.start("act_reset") end)
  after_each(function() srv:stop() end)

  local changes = {
    { "UploadCertificate", { CertificatePublicKey = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----" } },
    { "DeleteCertificate", { CertificateId = "hardening1" } },
    { "UpdateCertificateInstance", { CertificateId = "new1", OldCertificateId = "old1", ResourceTypes = { "clb" } } },
  }
  for _, case in ipairs(changes) do
    local action, params = case[1], case[2]
    it(action .. ": once, to a server that acts and then resets the connection", function()
      local c, ft = client(srv.host)
      assert(c:DescribeCertificates{}) -- leaves a kept-alive connection the change could reuse
      local res, err = c[action](c, params)
      assert.is_nil(res)
      assert.equal(1, srv:count(action))
      assert.equal("network", err.kind)
      assert.is_true(err.maybe_applied)
      assert.is_false(err.retryable)
      assert.equal(1, err.attempts)
      assert.same({}, ft.slept)
      -- the change went out on a connection of its own, not on the read's
      local log = srv:log()
      assert.equal(2, #log)
      assert.are_not.equal(log[1].conn, log[2].conn)
    end)
  end

  it("and an action the model does not know counts as a change", function()
    local c = client(srv.host)
    assert(c:DescribeCertificates{})
    local res, err = c:call("FrobnicateCertificate", { CertificateId = "x" })
    assert.is_nil(res)
    assert.equal(1, srv:count("FrobnicateCertificate"))
    assert.is_true(err.maybe_applied)
  end)

  it("while reads keep using the kept-alive connection", function()
    local c = client(srv.host)
    for _ = 1, 3 do assert(c:DescribeCertificates{}) end
    assert.equal(1, c.transport:stats().connects)
    assert(not c:DeleteCertificate{ CertificateId = "x" }) -- a connection of its own, then reset
    assert(c:DescribeCertificates{})
    assert.equal(2, c.transport:stats().connects)
    local conns = {}
    for _, r in ipairs(srv:log()) do
      if r.action == "DescribeCertificates" then conns[r.conn] = true end
    end
    assert.same({ [1] = true }, conns)
  end)

  it("through the core's fresh option (a new connection for that request)", function()
    local s = core.session()
    local req = { method = "POST", url = "http://" .. srv.host .. "/", body = "{}", timeout = 10,
      headers = { ["X-TC-Action"] = "DescribeCertificates", ["Content-Type"] = "application/json" } }
    for _ = 1, 2 do assert.equal(200, (s:request(req))) end
    assert.equal(1, s:stats().connects)
    req.fresh = true
    for _ = 1, 2 do assert.equal(200, (s:request(req))) end
    assert.equal(3, s:stats().connects)
    req.fresh = false
    assert.equal(200, (s:request(req)))
    assert.equal(3, s:stats().connects)
    s:close()
  end)
end)

describe("tcssl.core checks numbers before it makes integers of them", function()
  it("session:request takes any timeout number: unusable ones are refused, huge ones capped", function()
    local srv = rawhttp.start("act_reset")
    finally(function() srv:stop() end)
    local s = core.session()
    local function req(t, ct)
      return s:request{ method = "POST", url = "http://" .. srv.host .. "/", body = "{}", timeout = t,
        connect_timeout = ct, headers = { ["X-TC-Action"] = "DescribeCertificates" } }
    end
    for _, v in ipairs{ 0 / 0, -math.huge, -1e300, 0 } do
      for _, pair in ipairs{ { v, nil }, { nil, v } } do
        local status, err = req(pair[1], pair[2])
        assert.is_nil(status)
        assert.equal("BadRequest", err.code)
      end
    end
    for _, v in ipairs{ math.huge, 1e300 } do
      assert.equal(200, (req(v, v)))
    end
    s:close()
  end)
end)

-- One request through the cosocket transport, its socket replaying `bytes`: status | nil, err.
local function through_ngx(bytes)
  local sock, pos = {}, 1
  function sock.settimeouts() end
  function sock.settimeout() end
  function sock.connect() return 1 end
  function sock.getreusedtimes() return 0 end
  function sock.send(_, data) return #(type(data) == "table" and table.concat(data) or data) end
  function sock.receiveany(_, max)
    if pos > #bytes then return nil, "closed" end
    local piece = bytes:sub(pos, pos + max - 1)
    pos = pos + #piece
    return piece
  end
  function sock.setkeepalive() return 1 end
  function sock.close() return 1 end
  local saved = rawget(_G, "ngx")
  rawset(_G, "ngx", { get_phase = function() return "content" end, socket = { tcp = function() return sock end } })
  local ok, status, err = pcall(function()
    return ngx_transport.new{}:request("POST", "http://127.0.0.1:9/", {}, "{}", { timeout = 5 })
  end)
  rawset(_G, "ngx", saved)
  assert(ok, status)
  return status, err
end

describe("hostile replies get precise error kinds and are not retried", function()
  local cases = {
    { "big_header", "a 1 MB header line", "HeaderTooLarge" },
    { "many_headers", "1 MB of header lines", "HeaderTooLarge" },
    { "long_status", "a 200 KB status line", "HeaderTooLarge" },
    { "http09", "an HTTP/0.9 reply", "MalformedResponse" },
    { "garbage", "bytes that are not HTTP", "MalformedResponse" },
    { "status000", "status 000", "MalformedResponse" },
  }
  for _, case in ipairs(cases) do
    local mode, what, code = case[1], case[2], case[3]
    it(what .. ": protocol " .. code .. ", one attempt, with both transports", function()
      local srv = rawhttp.start(mode)
      finally(function() srv:stop() end)
      local c, ft = client(srv.host)
      local res, err = c:DescribeCertificates{} -- a read: retried whenever trying again could help
      local seen = srv:count("DescribeCertificates")
      srv:stop()
      assert.is_nil(res)
      assert.equal("protocol", err.kind)
      assert.equal(code, err.code)
      assert.is_string(err.message)
      assert.equal(1, err.attempts)
      assert.equal(1, seen)
      assert.same({}, ft.slept)
      assert.is_false(err.retryable)
      -- the cosocket transport names the same reply the same way
      local status, nerr = through_ngx(select(2, rawhttp.answer(mode, "DescribeCertificates")))
      assert.is_nil(status)
      assert.equal("protocol", nerr.kind)
      assert.equal(code, nerr.code)
    end)
  end

  it("a certificate that does not verify: tls TLSVerifyFailed, not retried, nothing applied", function()
    local pk = pki.make()
    local e = emu.start{ keys = { [ID] = { secret_key = KEY } },
      tls = { cert = pk.server_cert_file, key = pk.server_key_file, ca = pk.ca_cert_file } }
    finally(function()
      e:stop()
      pk:cleanup()
    end)
    local c, ft = client(e.host, { scheme = "https" }) -- the system's trust store does not know the test CA
    local res, err = c:DeleteCertificate{ CertificateId = "x" }
    local rres, rerr = c:DescribeCertificates{}
    local trusted = client(e.host, { scheme = "https", ca_file = pk.ca_cert_file })
    local ok = trusted:DescribeCertificates{}
    for _, r in ipairs{ { res, err }, { rres, rerr } } do
      assert.is_nil(r[1])
      assert.equal("tls", r[2].kind)
      assert.equal("TLSVerifyFailed", r[2].code)
      assert.equal(1, r[2].attempts)
      assert.is_false(r[2].retryable)
      assert.is_false(r[2].maybe_applied)
    end
    assert.same({}, ft.slept)
    assert.truthy(ok) -- the same server with its CA trusted: the failure was the verification
  end)
end)

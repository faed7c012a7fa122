-- tcssl inside a real nginx (Debian's nginx 1.22 with libnginx-mod-http-lua and LuaJIT):
-- the cosocket transport against the emulator over HTTP and HTTPS, concurrency, a worker that
-- keeps serving while calls wait, phases without cosockets, keep-alive, failures, and the
-- shipped OpenResty example. Run by `make test-nginx` (mk/luajit-nginx.mk), which builds the
-- LuaJIT core first; the spec process itself is Lua 5.4, nginx loads build/luajit/tcssl/core.so.
local nginx = require "spec.support.nginx"
local emu = require "spec.support.emulator"
local pki = require "spec.support.pki"
local cjson = require "cjson.safe"

local ID = "AKIDNGINXSPEC00000000000000000000000"
local KEY = "nginx-spec-secret-key-0123456789abcd"

local certs, other_certs
local plain, tls, fresh, other, server

local function lua_string(s)
  return ("%q"):format(s)
end

setup(function()
  assert(nginx.available())
  -- nginx checks a peer certificate's DNS names only (X509_check_host), and cosockets
  -- resolve names through nginx's resolver, which these specs do not have: the test server
  -- certificate lists 127.0.0.1 as a DNS name too, so that an IP endpoint can be verified.
  certs = pki.make{ server_dns = { "localhost", "127.0.0.1" } }
  other_certs = pki.make() -- its server certificate names only localhost
  local keys = { [ID] = { secret_key = KEY } }
  plain = emu.start{ keys = keys }
  tls = emu.start{ keys = keys, tls = { cert = certs.server_cert_file, key = certs.server_key_file,
    ca = certs.ca_cert_file } }
  -- the same certificate as tls, first reached from a location that does not trust its CA
  fresh = emu.start{ keys = keys, tls = { cert = certs.server_cert_file, key = certs.server_key_file,
    ca = certs.ca_cert_file } }
  other = emu.start{ keys = keys, tls = { cert = other_certs.server_cert_file, key = other_certs.server_key_file,
    ca = other_certs.ca_cert_file } }
  local settings = ("{ http = %s, https = %s, fresh = %s, other = %s, id = %s, key = %s }"):format(
    lua_string(plain.host), lua_string(tls.host), lua_string(fresh.host), lua_string(other.host), lua_string(ID),
    lua_string(KEY))
  local app = 'require("spec.nginx.app")'
  server = nginx.start{
    http = ([[
  lua_shared_dict spec 1m;
  lua_ssl_verify_depth 3;
  init_by_lua_block {
    local app = %s
    app.configure(%s)
    app.make_early()
    app.record("init")
  }
  init_worker_by_lua_block {
    local app = %s
    app.record("init_worker")
    ngx.timer.at(0, function() app.record("timer") end)
  }
]]):format(app, settings, app),
    server = ([[
    location = /call {
      lua_ssl_trusted_certificate %s;
      content_by_lua_block { %s.call() }
    }
    location = /call_untrusted {
      content_by_lua_block { %s.call() }
    }
    location = /call_other_ca {
      lua_ssl_trusted_certificate %s;
      content_by_lua_block { %s.call() }
    }
    location = /plain {
      content_by_lua_block { ngx.say("plain") }
    }
    location = /dict {
      content_by_lua_block { %s.dict() }
    }
    location = /early {
      content_by_lua_block { %s.early_call() }
    }
    location = /set_phase {
      set_by_lua_block $result { return %s.phase_call() }
      return 200 $result;
    }
    location = /log_phase {
      content_by_lua_block { ngx.say("logged") }
      log_by_lua_block { %s.record("log") }
    }
    location = /header_filter_phase {
      content_by_lua_block { ngx.say("filtered") }
      header_filter_by_lua_block { %s.record("header_filter") }
    }
    location = /body_filter_phase {
      content_by_lua_block { ngx.say("filtered") }
      body_filter_by_lua_block { if ngx.arg[2] then %s.record("body_filter") end }
    }
    location = /wait_issued {
      content_by_lua_block { %s.wait_issued() }
    }
]]):format(certs.ca_cert_file, app, app, other_certs.ca_cert_file, app, app, app, app, app, app, app, app),
  }
end)

teardown(function() emu.cleanup(server, plain, tls, fresh, other, certs, other_certs) end)

-- GET path on nginx; the decoded JSON answer.
local function get_json(path)
  local status, body = server:get(path)
  assert.equal(200, status, body)
  local doc = cjson.decode(body)
  assert(doc, "not JSON: " .. tostring(body))
  return doc
end

local function succeeds(path)
  local doc = get_json(path)
  assert(doc.ok, ("%s failed: %s %s"):format(path, tostring(doc.code), tostring(doc.message)))
  return doc
end

local function fails(path, kind, code)
  local doc = get_json(path)
  assert.is_false(doc.ok, path .. " should have failed")
  assert.equal(kind, doc.kind, doc.message)
  if code then assert.equal(code, doc.code, doc.message) end
  return doc
end

-- A shared-dict value some phase handler recorded; waits for it up to 10 s.
local function recorded(key)
  return nginx.poll(10, function()
    local v = get_json("/dict?key=" .. key).value
    return v ~= cjson.null and v or nil
  end)
end

describe("tcssl in nginx", function()
  it("chooses the cosocket transport and calls the emulator over HTTP", function()
    local doc = succeeds("/call")
    assert.equal("ngx", doc.transport)
    assert.equal(0, doc.total)
  end)

  it("verifies HTTPS against lua_ssl_trusted_certificate", function()
    assert.equal("ngx", succeeds("/call?target=https").transport)
  end)

  it("fails verification where the CA is not trusted, passes where it is or with insecure = true", function()
    local doc = fails("/call_untrusted?target=fresh", "tls", "TLSVerifyFailed")
    assert.truthy(doc.message:find("lua_ssl_trusted_certificate", 1, true))
    assert.is_false(doc.retryable) -- as with libcurl: verification will not pass on a second try
    -- lua-nginx-module 0.10.23 sometimes answers true for a handshake that completed
    -- asynchronously and failed verification: the transport must see through that, every time
    local codes = get_json("/call_untrusted?target=fresh&max_retries=0&rate_limit=0&all_errors=1&n=30").codes
    assert.equal(30, #codes)
    for i, code in ipairs(codes) do assert.equal("TLSVerifyFailed", code, "call " .. i) end
    succeeds("/call_untrusted?target=fresh&insecure=1")
    -- (the verified connection this makes goes to the worker's pool: see README on keep-alive)
    succeeds("/call?target=fresh")
  end)

  it("fails verification when the certificate does not name the host", function()
    local doc = fails("/call_other_ca?target=other", "tls", "TLSVerifyFailed")
    -- lua-nginx-module 0.10.23 sometimes finishes a failing handshake asynchronously and gives
    -- no reason (see transport/ngx.lua); the kind and code above hold either way
    assert.truthy(doc.message:find("does not name 127.0.0.1", 1, true)
      or doc.message:find("nginx closed the connection", 1, true), doc.message)
  end)

  it("serves 50 concurrent requests that each make a call", function()
    local before = plain:stats().api_requests
    local pending = {}
    for i = 1, 50 do pending[i] = server:send("/call?rate_limit=0") end
    for i = 1, 50 do
      local status, body = pending[i]:finish()
      assert.equal(200, status)
      local doc = assert(cjson.decode(body))
      assert(doc.ok, ("request %d failed: %s %s"):format(i, tostring(doc.code), tostring(doc.message)))
    end
    assert.equal(50, plain:stats().api_requests - before)
  end)

  it("keeps serving other requests while calls wait on a slow server", function()
    plain:fault{ type = "delay", seconds = 2, count = 3 }
    local slow = {}
    for i = 1, 3 do slow[i] = server:send("/call?rate_limit=0&max_retries=0") end
    -- the same single worker answers a plain location before any of the calls is answered
    local status, body = server:get("/plain")
    assert.equal(200, status)
    assert.equal("plain\n", body)
    for i = 1, 3 do assert.is_false(slow[i]:answered(), "call " .. i .. " answered before /plain") end
    for i = 1, 3 do
      local s, b = slow[i]:finish()
      assert.equal(200, s)
      assert.is_true(assert(cjson.decode(b)).ok, b)
    end
  end)

  it("reuses kept-alive connections across calls and across requests", function()
    succeeds("/call") -- a pooled connection exists
    local before = plain:stats()
    local doc = succeeds("/call?n=15") -- the rate limiter (10/s) waits with ngx.sleep here
    for _ = 1, 10 do succeeds("/call") end
    local after = plain:stats()
    assert.equal(25, after.api_requests - before.api_requests)
    assert.is_true(after.connections - before.connections <= 1,
      ("%d new connections for 25 calls"):format(after.connections - before.connections))
    assert.is_true(doc.stats.reused >= 14)
  end)

  it("keeps the rate limits in the lua_shared_dict a client names, for all workers", function()
    succeeds("/call?n=12&shared_dict=spec") -- 10/s: the last calls wait with ngx.sleep
    local entries = get_json("/dict?prefix=tcssl:rate:").entries
    assert.is_true(#entries >= 1)
    for _, e in ipairs(entries) do
      assert.truthy(e.key:find("^tcssl:rate:%x+/[%w%-]+/v3/DescribeCertificates@%d+$"), e.key) -- account/region
      assert.is_true(e.value >= 1 and e.value <= 10, e.key .. " = " .. tostring(e.value))
    end
  end)

  it("waits for an order to be issued with tcssl.waiters inside a handler (ngx.sleep between polls)", function()
    local doc = succeeds("/wait_issued")
    assert.equal(1, doc.status)
    assert.is_true(doc.polls >= 2)
    assert.equal(200, (server:get("/plain")))
  end)

  it("serves a client made in init_by_lua from a content handler", function()
    local doc = succeeds("/early")
    assert.equal("ngx", doc.transport)
  end)

  it("uses libcurl inside nginx when asked to", function()
    assert.equal("curl", succeeds("/call?transport=curl").transport)
  end)
end)

describe("phases without cosockets", function()
  local function no_cosockets(result, phase)
    assert.is_string(result)
    assert.truthy(result:find("^config NoCosockets "), result)
    assert.truthy(result:find(phase .. " phase", 1, true), result)
  end

  it("give a NoCosockets error in init_by_lua", function()
    no_cosockets(recorded("init"), "init")
  end)

  it("give a NoCosockets error in init_worker_by_lua, while a timer from there can call", function()
    no_cosockets(recorded("init_worker"), "init_worker")
    assert.equal("ok", recorded("timer"))
  end)

  it("give a NoCosockets error in set_by_lua", function()
    local status, body = server:get("/set_phase")
    assert.equal(200, status)
    no_cosockets(body, "set")
  end)

  it("give a NoCosockets error in log_by_lua, header_filter_by_lua and body_filter_by_lua", function()
    assert.equal(200, (server:get("/log_phase")))
    no_cosockets(recorded("log"), "log")
    assert.equal(200, (server:get("/header_filter_phase")))
    no_cosockets(recorded("header_filter"), "header_filter")
    assert.equal(200, (server:get("/body_filter_phase")))
    no_cosockets(recorded("body_filter"), "body_filter")
  end)
end)

describe("failures over cosockets map to the libcurl transport's errors", function()
  before_each(function() plain:reset() end)

  local cases = {
    { "reset", { type = "reset" }, "network" },
    { "HTTP 500", { type = "http500" }, "protocol", "UnexpectedStatus" },
    { "an HTML page", { type = "html" }, "protocol", "UnexpectedContentType" },
    { "a truncated body", { type = "truncated" }, "protocol", "TruncatedBody" },
    { "a truncated chunked body", { type = "truncated_chunked" }, "protocol", "TruncatedBody" },
    { "a body cut short without Content-Length", { type = "truncated_close" }, "protocol" },
    { "invalid JSON", { type = "invalid_json" }, "protocol", "InvalidJSON" },
    { "10,000-deep JSON", { type = "deep_json" }, "protocol" },
    { "an API error", { type = "api_error", code = "FailedOperation.Test", message = "x" }, "api",
      "FailedOperation.Test" },
  }
  for _, case in ipairs(cases) do
    it("reports " .. case[1], function()
      plain:fault(case[2])
      fails("/call?max_retries=0", case[3], case[4])
    end)
  end

  it("enforces max_response_size", function()
    plain:fault{ type = "big", bytes = 200000 }
    fails("/call?max_retries=0&max_response_size=100000", "protocol", "ResponseTooLarge")
  end)

  it("times out by the whole-request timeout", function()
    plain:fault{ type = "delay", seconds = 3 }
    local doc = fails("/call?max_retries=0&timeout=0.5", "timeout", "Timeout")
    assert.is_false(doc.maybe_applied) -- a read changes nothing
  end)

  it("reports a refused port as safe to retry", function()
    local doc = fails("/call?max_retries=0&endpoint=127.0.0.1:" .. emu.free_port(), "network", "ConnectFailed")
    assert.is_true(doc.retryable)
  end)

  it("reports a host name nginx cannot resolve without a resolver", function()
    local doc = fails("/call?max_retries=0&endpoint=tcssl.invalid", "network", "ResolveFailed")
    assert.truthy(doc.message:find("resolver", 1, true))
  end)

  it("refuses a proxy rather than connecting directly", function()
    fails("/call?proxy=http://127.0.0.1:3128", "config", "ProxyUnsupported")
  end)

  it("recovers on the next call after a reset", function()
    plain:fault{ type = "reset" }
    fails("/call?max_retries=0", "network")
    succeeds("/call?max_retries=0")
  end)
end)

describe("the OpenResty example (examples/openresty)", function()
  local example

  setup(function()
    local f = assert(io.open("examples/openresty/nginx.conf", "rb"))
    local conf = f:read("*a")
    f:close()
    -- the shipped configuration with the spec's port; everything else as users get it
    conf = conf:gsub("listen 127%.0%.0%.1:8080;", "listen 127.0.0.1:PORT;")
    local root = nginx.ROOT
    example = nginx.start{
      config = conf,
      links = { lua = root .. "/lua", examples = root .. "/examples", ["build/luajit"] = root .. "/build/luajit" },
      dirs = { "build/openresty" },
      env = { TENCENTCLOUD_SECRET_ID = ID, TENCENTCLOUD_SECRET_KEY = KEY, TCSSL_ENDPOINT = plain.host,
        TCSSL_SCHEME = "http" },
    }
  end)

  teardown(function()
    if example then example:stop() end
  end)

  it("lists the certificates expiring within N days", function()
    plain:reset()
    local client = assert(require("tcssl").new{ endpoint = plain.host, scheme = "http", secret_id = ID,
      secret_key = KEY })
    assert(client:UploadCertificate{ CertificatePublicKey = certs.leaf_cert_pem,
      CertificatePrivateKey = certs.leaf_key_pem, Alias = "nginx-example" })
    client:close()
    -- the test certificate ends at 2034-01-01 00:00:00 UTC
    local days_left = math.ceil((pki.LEAF_NOT_AFTER - os.time()) / 86400)
    local status, body = example:get("/expiring?days=" .. math.max(0, days_left + 1))
    assert.equal(200, status, body .. example:log())
    local doc = assert(cjson.decode(body))
    assert.equal(1, doc.count)
    assert.equal(pki.LEAF_CN, doc.certificates[1].Domain)
    assert.equal("2034-01-01 08:00:00", doc.certificates[1].CertEndTime) -- the API's UTC+8
    if days_left > 2 then
      status, body = example:get("/expiring?days=" .. (days_left - 2))
      assert.equal(200, status, body)
      assert.truthy(body:find('"count":0', 1, true), body)
      assert.truthy(body:find('"certificates":[]', 1, true), body)
    end
  end)

  it("answers 400 for a bad days parameter", function()
    assert.equal(400, (example:get("/expiring?days=soon")))
  end)
end)

-- The client against the local emulator, end to end over real sockets: every signing method,
-- tokens, keep-alive, TLS, proxies, and every kind of transport or response failure.
local tcssl = require "tcssl"
local emu = require "spec.support.emulator"
local pki = require "spec.support.pki"
local util = require "spec.support.util"

local ID = "AKIDEMULATORSPEC0000000000000000000"
local KEY = "emulator-spec-secret-key-0123456789"
local TOKEN_ID = "AKIDEMULATORTOKEN000000000000000000"
local TOKEN = "emulator-spec-session-token-abcdef"

local server, certs

setup(function()
  certs = pki.make()
  server = emu.start{ keys = { [ID] = { secret_key = KEY }, [TOKEN_ID] = { secret_key = KEY, token = TOKEN } } }
end)

teardown(function() emu.cleanup(server, certs) end)

before_each(function() server:reset() end)

local function client(extra)
  local cfg = { endpoint = server.host, scheme = "http", secret_id = ID, secret_key = KEY,
    region = "ap-guangzhou", timeout = 5, connect_timeout = 5 }
  for k, v in pairs(extra or {}) do cfg[k] = v end
  return assert(tcssl.new(cfg))
end

local function upload(c, alias)
  return c:call("UploadCertificate", { CertificatePublicKey = certs.leaf_cert_pem,
    CertificatePrivateKey = certs.leaf_key_pem, Alias = alias })
end

describe("client against the emulator", function()
  local variants = {
    { "TC3 POST", {} },
    { "TC3 GET", { http_method = "GET" } },
    { "v1 HmacSHA256 GET", { sign_method = "HmacSHA256", http_method = "GET" } },
    { "v1 HmacSHA1 GET", { sign_method = "HmacSHA1", http_method = "GET" } },
    { "v1 HmacSHA256 POST", { sign_method = "HmacSHA256" } },
    { "v1 HmacSHA1 POST", { sign_method = "HmacSHA1" } },
  }
  for _, v in ipairs(variants) do
    for _, with_token in ipairs{ false, true } do
      it(("signs with %s%s"):format(v[1], with_token and " and a token" or ""), function()
        local extra = {}
        for k, x in pairs(v[2]) do extra[k] = x end
        if with_token then extra.secret_id, extra.token = TOKEN_ID, TOKEN end
        local c = client(extra)
        local up = assert(upload(c, "alias-" .. v[1]))
        assert.is_string(up.CertificateId)
        local res = assert(c:call("DescribeCertificates", { SearchKey = "alias-" .. v[1], Limit = 5 }))
        assert.equal(1, res.TotalCount)
        assert.equal(up.CertificateId, res.Certificates[1].CertificateId)
        assert.is_string(res.RequestId)
        c:close()
      end)
    end
  end

  it("signs non-ASCII parameters", function()
    local c = client()
    local up = assert(upload(c, "证书 ✓ ünïcode"))
    local got = assert(c:call("DescribeCertificate", { CertificateId = up.CertificateId }))
    assert.equal("证书 ✓ ünïcode", got.Alias)
    local g = client{ http_method = "GET" }
    local res = assert(g:call("DescribeCertificates", { SearchKey = "证书 ✓" }))
    assert.equal(1, res.TotalCount)
  end)

  it("gets the API's auth errors with code, message and RequestId", function()
    local res, err = client{ secret_key = "wrong-key" }:call("DescribeCertificates", {})
    assert.is_nil(res)
    assert.equal("api", err.kind)
    assert.equal("AuthFailure.SignatureFailure", err.code)
    assert.is_string(err.request_id)
    local function code_of(c, action)
      local r, e = c:call(action or "DescribeCertificates", {})
      assert.is_nil(r)
      return e.code
    end
    assert.equal("AuthFailure.SecretIdNotFound", code_of(client{ secret_id = "AKIDUNKNOWN" }))
    assert.equal("AuthFailure.TokenFailure", code_of(client{ secret_id = TOKEN_ID }))
    assert.equal("InvalidAction", code_of(client(), "NoSuchActionAnywhere"))
  end)

  it("returns not-found and delete results from the store", function()
    local c = client()
    local up = assert(upload(c, "to-delete"))
    local del = assert(c:call("DeleteCertificate", { CertificateId = up.CertificateId }))
    assert.is_true(del.DeleteResult)
    local res, err = c:call("DescribeCertificate", { CertificateId = up.CertificateId })
    assert.is_nil(res)
    assert.equal("api", err.kind)
    assert.truthy(err.code:find("^FailedOperation") or err.code:find("^ResourceNotFound"))
  end)

  it("makes N calls over one connection", function()
    local c = client()
    for _ = 1, 20 do assert(c:call("DescribeCertificates", { Limit = 1 })) end
    local stats = server:stats()
    assert.equal(1, stats.connections)
    assert.equal(20, stats.api_requests)
    c:close()
  end)

  it("sends 64-bit integers exactly and empty arrays as []", function()
    local c = client()
    -- the emulator echoes nothing back for these, but must accept the encoding: unknown
    -- filters are ignored and CertIds = [] means "no filter"
    local res = assert(c:call("DescribeCertificates", { Offset = 0, Limit = 10, CertIds = tcssl.array{} }))
    assert.equal(0, res.TotalCount)
  end)
end)

describe("the quickstart example (examples/quickstart.lua)", function()
  it("uploads a certificate and lists it against the emulator", function()
    local q = util.quote
    local cmd = table.concat({ "env -u LD_PRELOAD -u ASAN_OPTIONS",
      "TENCENTCLOUD_SECRET_ID=" .. q(ID), "TENCENTCLOUD_SECRET_KEY=" .. q(KEY),
      "TCSSL_ENDPOINT=" .. q(server.host), "TCSSL_SCHEME=http",
      "TCSSL_CERT=" .. q(certs.leaf_cert_file), "TCSSL_KEY=" .. q(certs.leaf_key_file),
      "LUA_PATH=" .. q("lua/?.lua;lua/?/init.lua;;"), "LUA_CPATH=" .. q("lua/?.so;;"),
      "lua5.4 examples/quickstart.lua 2>&1; echo __rc=$?" }, " ")
    local p = assert(io.popen(cmd, "r"))
    local out = p:read("a")
    p:close()
    assert.truthy(out:find("__rc=0", 1, true), out)
    local id = out:match("uploaded (%w+)")
    assert.truthy(id, out)
    assert.truthy(out:find("1 certificate(s)", 1, true), out)
    assert.truthy(out:find(id .. "%s+%S+%s+%d%d%d%d%-%d%d%-%d%d %d%d:%d%d:%d%d%s+quickstart"), out)
  end)
end)

describe("transport and response failures", function()
  local function fails_with(fault, kind, code, extra)
    extra = extra or {}
    if extra.max_retries == nil then extra.max_retries = 0 end
    server:fault(fault)
    local res, err = client(extra):call("DescribeCertificates", {})
    assert.is_nil(res)
    assert.equal(kind, err.kind)
    if code then assert.equal(code, err.code) end
    assert.equal("DescribeCertificates", err.action)
    assert.is_string(err.message)
    assert.is_boolean(err.retryable)
    assert.falsy(tostring(err):find(KEY, 1, true))
    return err
  end

  it("reports a refused port as a network error that is safe to retry", function()
    local port = emu.free_port()
    local res, err = client{ endpoint = "127.0.0.1:" .. port }:call("DescribeCertificates", {})
    assert.is_nil(res)
    assert.equal("network", err.kind)
    assert.equal("ConnectFailed", err.code)
    assert.is_true(err.retryable)
  end)

  it("times out, and says a change may have been applied", function()
    local err = fails_with({ type = "delay", seconds = 3 }, "timeout", "Timeout", { timeout = 0.5 })
    assert.is_false(err.maybe_applied) -- a read changes nothing
    server:fault{ type = "delay", seconds = 3 }
    local res
    res, err = client{ timeout = 0.5 }:DeleteCertificate{ CertificateId = "abcdefgh" }
    assert.is_nil(res)
    assert.equal("Timeout", err.code)
    assert.is_true(err.maybe_applied)
    assert.is_false(err.retryable)
    assert.equal(1, err.attempts)
  end)

  it("reports a reset connection", function()
    fails_with({ type = "reset" }, "network")
  end)

  it("reports HTTP 500 with the status and an excerpt", function()
    local err = fails_with({ type = "http500" }, "protocol", "UnexpectedStatus")
    assert.equal(500, err.http_status)
  end)

  it("reports an HTML page", function()
    fails_with({ type = "html" }, "protocol")
  end)

  it("reports a truncated body with Content-Length", function()
    fails_with({ type = "truncated" }, "protocol", "TruncatedBody")
  end)

  it("reports a truncated chunked body", function()
    fails_with({ type = "truncated_chunked" }, "protocol", "TruncatedBody")
  end)

  it("reports invalid JSON", function()
    fails_with({ type = "invalid_json" }, "protocol", "InvalidJSON")
  end)

  it("reports 10,000-deep JSON without raising", function()
    fails_with({ type = "deep_json" }, "protocol")
  end)

  it("enforces the response size cap", function()
    fails_with({ type = "big", bytes = 200000 }, "protocol", "ResponseTooLarge", { max_response_size = 100000 })
  end)

  it("passes an injected API error through", function()
    local err = fails_with({ type = "api_error", code = "RequestLimitExceeded", message = "slow" }, "api",
      "RequestLimitExceeded")
    assert.is_true(err.retryable)
  end)

  it("recovers on the next call after a failure", function()
    server:fault{ type = "reset" }
    local c = client{ max_retries = 0 }
    assert.is_nil(c:call("DescribeCertificates", {}))
    assert.truthy(c:call("DescribeCertificates", {}))
  end)
end)

describe("HTTPS with a test CA", function()
  local tls_server
  setup(function()
    tls_server = emu.start{ keys = { [ID] = { secret_key = KEY } },
      tls = { cert = certs.server_cert_file, key = certs.server_key_file } }
  end)
  teardown(function() if tls_server then tls_server:stop() end end)

  local function tls_client(extra)
    local cfg = { endpoint = tls_server.host, secret_id = ID, secret_key = KEY, timeout = 5 }
    for k, v in pairs(extra or {}) do cfg[k] = v end
    return assert(tcssl.new(cfg))
  end

  it("fails verification without the CA", function()
    local res, err = tls_client():call("DescribeCertificates", {})
    assert.is_nil(res)
    assert.equal("tls", err.kind)
    assert.is_false(err.retryable) -- a certificate that does not verify will not on a second try
    assert.equal(1, err.attempts)
  end)

  it("passes with ca_file", function()
    assert.truthy(tls_client{ ca_file = certs.ca_cert_file }:call("DescribeCertificates", {}))
  end)

  it("passes with insecure = true", function()
    assert.truthy(tls_client{ insecure = true }:call("DescribeCertificates", {}))
  end)
end)

describe("a proxy URL with a user and password", function()
  it("is used as given but kept out of client.config and tostring", function()
    local url = "http://tcssl-user:proxy-pass-0000@" .. server.host -- the emulator is its own proxy
    local c = assert(tcssl.new{ endpoint = "ssl.tcssl.invalid", scheme = "http", secret_id = ID,
      secret_key = KEY, proxy = url })
    assert.falsy(c.config.proxy:find("proxy-pass-0000", 1, true))
    assert.falsy(tostring(c):find("proxy-pass-0000", 1, true))
    assert.equal("http://***@" .. server.host, c.config.proxy)
    assert(c:DescribeCertificates{})
    assert.equal(1, server:stats().api_requests)
    c:close()
  end)
end)

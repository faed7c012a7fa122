-- The client without a network: request building (against the signing vectors), config
-- checks, the interpretation of responses, and what it cannot trust (a hostile Date, what the
-- caller hands in), through a recording fake transport.
-- luacheck: read globals math.type (Lua 5.4's, used where the runtime has them)
local tcssl = require "tcssl"
local core = require "tcssl.core"
local request = require "tcssl.request"
local fakes = require "spec.support.fakes"

local ID = "AKIDTESTTESTTESTTESTTESTTESTTESTTEST"
local KEY = "testsecretkeytestsecretkeytestse"
local NOW = 1700000000

-- A transport that records what it is asked to send and answers from a list.
local fake = fakes.transport

-- A client at a fixed time over a fake transport, whose waits take no time.
local function client(extra, transport)
  local ft = fakes.time()
  local cfg = { secret_id = ID, secret_key = KEY, clock = function() return NOW end, transport = transport or fake(),
    monotonic = ft.monotonic, sleep = ft.sleep, rate_limit = false }
  for k, v in pairs(extra or {}) do cfg[k] = v end
  return assert(tcssl.new(cfg)), ft
end

local function json_answer(body)
  return { 200, { ["content-type"] = "application/json" }, body }
end

describe("request building", function()
  it("reproduces the TC3 GET vector from a parameter table", function()
    local t = fake()
    local c = client({ http_method = "GET" }, t)
    assert.truthy(c:call("DescribeCertificates", { Limit = 10, Offset = 0, SearchKey = "bench-example.com" }))
    local sent = t.sent[1]
    assert.equal("GET", sent.method)
    assert.equal("https://ssl.tencentcloudapi.com/?Limit=10&Offset=0&SearchKey=bench-example.com", sent.url)
    assert.equal("application/x-www-form-urlencoded", sent.headers["Content-Type"])
    assert.equal("TC3-HMAC-SHA256 Credential=" .. ID .. "/2023-11-14/ssl/tc3_request, "
      .. "SignedHeaders=content-type;host, "
      .. "Signature=a44a31665401740995ee10fa7a7a0be9fe288d0e406ac632a05b9ddc10c9e253",
      sent.headers.Authorization)
    assert.is_nil(sent.body)
  end)

  it("signs exactly the POST body it sends, with the common headers", function()
    local t = fake()
    local c = client({ region = "ap-guangzhou", language = "en-US", token = "tok" }, t)
    assert.truthy(c:call("DescribeCertificates", { Offset = 0, Limit = 10, SearchKey = "bench-example.com" }))
    local h = t.sent[1].headers
    assert.equal("POST", t.sent[1].method)
    assert.equal("https://ssl.tencentcloudapi.com/", t.sent[1].url)
    assert.equal("DescribeCertificates", h["X-TC-Action"])
    assert.equal("2019-12-05", h["X-TC-Version"])
    assert.equal("1700000000", h["X-TC-Timestamp"])
    assert.equal("ap-guangzhou", h["X-TC-Region"])
    assert.equal("en-US", h["X-TC-Language"])
    assert.equal("tok", h["X-TC-Token"])
    assert.equal("ssl.tencentcloudapi.com", h.Host)
    local auth = core.tc3_sign{ secret_id = ID, secret_key = KEY, service = "ssl",
      host = "ssl.tencentcloudapi.com", method = "POST", query = "", content_type = "application/json",
      payload = t.sent[1].body, timestamp = 1700000000 }
    assert.equal(auth, h.Authorization)
    assert.equal("application/json", h["Content-Type"])
  end)

  it("matches the POST vector when the body has the vector's bytes", function()
    -- one key only, so cjson's key order cannot differ from the vector's
    local t = fake()
    local c = client(nil, t)
    c:call("DescribeCertificates", { SearchKey = "bench-example.com" })
    assert.equal('{"SearchKey":"bench-example.com"}', t.sent[1].body)
  end)

  it("omits X-TC-Region and X-TC-Token when unset, and sends {} for no params", function()
    local t = fake()
    client(nil, t):call("DescribeCertificates")
    assert.is_nil(t.sent[1].headers["X-TC-Region"])
    assert.is_nil(t.sent[1].headers["X-TC-Token"])
    assert.equal("{}", t.sent[1].body)
  end)

  it("flattens nested parameters for GET as the documents do (indexes from 0)", function()
    local flat = assert(request.flatten{
      Filters = { { Name = "n", Values = { "a", "b c" } } }, InstanceIds = { "x" }, On = true, F = 1.5,
    })
    table.sort(flat, function(a, b) return a[1] < b[1] end)
    local got = {}
    for _, p in ipairs(flat) do got[#got + 1] = p[1] .. "=" .. p[2] end
    assert.same({ "F=1.5", "Filters.0.Name=n", "Filters.0.Values.0=a", "Filters.0.Values.1=b c",
      "InstanceIds.0=x", "On=true" }, got)
    assert.equal("b%20c%2F%E8%AF%81~", request.urlencode("b c/证~"))
  end)

  it("reproduces both v1 vectors from the string it builds", function()
    local cfg = { scheme = "https", host = "ssl.tencentcloudapi.com", version = "2019-12-05",
      http_method = "GET" }
    for method, want in pairs{ HmacSHA256 = "F9lqrrKMeXFjJkyeeoLjxnCHBgwmarZG0tD0I19SmJQ=",
                               HmacSHA1 = "qXtCGCQbYPs8nkAjgwBQgZBKd90=" } do
      cfg.sign_method = method
      local req = assert(request.build(cfg, { secret_id = ID, secret_key = KEY },
        "DescribeCertificates", { Limit = 10 }, 1700000000, 11886))
      local sig = req.url:match("Signature=([^&]+)")
      assert.equal(request.urlencode(want), sig)
      assert.truthy(req.url:find("^https://ssl%.tencentcloudapi%.com/%?Action=DescribeCertificates&Limit=10&"))
    end
  end)

  it("sends v1 POST as a form body", function()
    local t = fake()
    local c = client({ sign_method = "HmacSHA256", region = "ap-guangzhou" }, t)
    assert.truthy(c:call("DescribeCertificates", { Limit = 10 }))
    local s = t.sent[1]
    assert.equal("POST", s.method)
    assert.equal("application/x-www-form-urlencoded", s.headers["Content-Type"])
    assert.truthy(s.body:find("Region=ap-guangzhou", 1, true))
    assert.truthy(s.body:find("SignatureMethod=HmacSHA256", 1, true))
    assert.is_nil(s.headers.Authorization)
  end)

  it("refuses a GET request over 32 KB before any I/O", function()
    local t = fake()
    local c = client({ http_method = "GET" }, t)
    local res, err = c:call("DescribeCertificates", { SearchKey = string.rep("x", 33 * 1024) })
    assert.is_nil(res)
    assert.equal("validation", err.kind)
    assert.equal("RequestSizeLimitExceeded", err.code)
    assert.equal(0, #t.sent)
  end)
end)

describe("configuration", function()
  local function bad(cfg, field)
    cfg.secret_id = cfg.secret_id or ID
    cfg.secret_key = cfg.secret_key or KEY
    local c, err = tcssl.new(cfg)
    assert.is_nil(c)
    assert.equal("config", err.kind)
    assert.equal(field, err.field)
    assert.truthy(tostring(err):find(field, 1, true))
  end

  it("rejects bad values naming the field", function()
    bad({ region = "ap guangzhou" }, "region")
    bad({ endpoint = "https://x/" }, "endpoint")
    bad({ endpoint = "host:99999" }, "endpoint")
    bad({ scheme = "ftp" }, "scheme")
    bad({ timeout = -1 }, "timeout")
    bad({ connect_timeout = "5" }, "connect_timeout")
    bad({ language = "fr" }, "language")
    bad({ http_method = "PUT" }, "http_method")
    bad({ sign_method = "MD5" }, "sign_method")
    bad({ insecure = "yes" }, "insecure")
    bad({ ca_file = "/nonexistent/ca.pem" }, "ca_file")
    bad({ secret_id = "AKID\r\nX-Evil: 1" }, "secret_id")
    bad({ secertkey = "typo" }, "secertkey")
  end)

  it("falls back to the default chain and says what it tried, without raising", function()
    local socket = require "socket"
    local srv = assert(socket.bind("127.0.0.1", 0))
    local _, port = srv:getsockname()
    srv:close()
    local c = assert(tcssl.new{ getenv = function(name) return name == "HOME" and "/nonexistent" or nil end,
      metadata_url = "http://127.0.0.1:" .. port .. "/latest/meta-data/" })
    local res, err = c:call("DescribeCertificates", {})
    assert.is_nil(res)
    assert.equal("credentials", err.kind)
    assert.equal("NoCredentials", err.code)
    for _, source in ipairs{ "environment", "profile", "cvm_role", "oidc" } do
      assert.truthy(err.message:find(source .. ":", 1, true), source)
    end
    local none, cerr = tcssl.new("nope")
    assert.is_nil(none)
    assert.equal("config", cerr.kind)
    none, cerr = tcssl.new{ secret_id = ID }
    assert.is_nil(none)
    assert.equal("secret_key", cerr.field)
  end)

  it("never shows the secret key in tostring or in the client table", function()
    local c = client({ token = "sessiontoken123" })
    assert.falsy(tostring(c):find(KEY, 1, true))
    local function scan(v, seen)
      seen = seen or {}
      if type(v) == "string" then return v:find(KEY, 1, true) or v:find("sessiontoken123", 1, true) end
      if type(v) ~= "table" or seen[v] then return false end
      seen[v] = true
      for k, x in pairs(v) do if scan(k, seen) or scan(x, seen) then return true end end
      return false
    end
    assert.falsy(scan(c))
  end)
end)

describe("endpoints", function()
  local function host_of(cfg, profile)
    cfg.secret_id, cfg.secret_key = ID, KEY
    local c = assert(profile == "legacy" and tcssl.legacy(cfg) or tcssl.new(cfg))
    local req = assert(c:prepare(profile == "legacy" and "CertGetList" or "DescribeCertificates", {}))
    assert.equal(c.config.host, req.headers.Host)
    return c.config.host, req.url
  end

  it("follow the region, the financial zones, the international site, and an explicit endpoint", function()
    assert.equal("ssl.tencentcloudapi.com", host_of{ region = "ap-guangzhou" })
    assert.equal("ssl.ap-guangzhou.tencentcloudapi.com", host_of{ region = "ap-guangzhou", regional_endpoint = true })
    assert.equal("ssl.ap-shanghai-fsi.tencentcloudapi.com", host_of{ region = "ap-shanghai-fsi" })
    assert.equal("ssl.ap-shenzhen-fsi.tencentcloudapi.com", host_of{ region = "ap-shenzhen-fsi" })
    assert.equal("ssl.intl.tencentcloudapi.com", host_of{ region = "ap-singapore", site = "intl" })
    local host, url = host_of{ region = "ap-shanghai-fsi", site = "intl", endpoint = "Example.TEST:8443",
      scheme = "http" }
    assert.equal("example.test:8443", host)
    assert.equal("http://example.test:8443/", url)
    assert.equal("wss.api.qcloud.com", (host_of({}, "legacy")))
  end)
end)

describe("responses", function()
  local function call_with(answer)
    local c = client({ max_retries = 0 }, fake{ answer })
    return c:call("DescribeCertificates", {})
  end

  it("returns the Response contents on success, integers as integers", function()
    local res = assert(call_with(json_answer('{"Response":{"TotalCount":2,"Certificates":[],"RequestId":"abc"}}')))
    assert.equal(2, res.TotalCount)
    if math.type then assert.equal("integer", math.type(res.TotalCount)) end
    assert.equal("abc", res.RequestId)
  end)

  it("keeps the server's Code, Message and RequestId for API errors", function()
    local res, err = call_with(json_answer('{"Response":{"Error":{"Code":"AuthFailure.SignatureFailure",'
      .. '"Message":"bad sig"},"RequestId":"req-9"}}'))
    assert.is_nil(res)
    assert.equal("api", err.kind)
    assert.equal("AuthFailure.SignatureFailure", err.code)
    assert.equal("bad sig", err.message)
    assert.equal("req-9", err.request_id)
    assert.equal("DescribeCertificates", err.action)
    assert.equal(200, err.http_status)
    assert.equal("AuthFailure.SignatureFailure: bad sig [DescribeCertificates] (RequestId req-9)", tostring(err))
  end)

  it("marks RequestLimitExceeded as retryable", function()
    local _, err = call_with(json_answer('{"Response":{"Error":{"Code":"RequestLimitExceeded.UinLimitExceeded",'
      .. '"Message":"slow down"},"RequestId":"r"}}'))
    assert.is_true(err.retryable)
  end)

  local cases = {
    { "a 500", { 500, { ["content-type"] = "text/plain" }, "boom" }, "protocol", "UnexpectedStatus" },
    { "an HTML page with 200", { 200, { ["content-type"] = "text/html" }, "<html><body>502</body></html>" },
      "protocol", "UnexpectedContentType" },
    { "invalid JSON", json_answer("{not json"), "protocol", "InvalidJSON" },
    { "a JSON array", json_answer("[1,2]"), "protocol", "MissingResponse" },
    { "10,000-deep JSON", json_answer(string.rep("[", 10000) .. string.rep("]", 10000)), "protocol", "InvalidJSON" },
    { "an empty body", json_answer(""), "protocol", "InvalidJSON" },
    { "Response null", json_answer('{"Response":null}'), "protocol", "MissingResponse" },
    { "Error not an object", json_answer('{"Response":{"Error":"x","RequestId":"r"}}'), "api", "UnknownError" },
    { "a transport timeout", { err = { kind = "timeout", code = "Timeout", message = "timed out", sent = true } },
      "timeout", "Timeout" },
  }
  for _, case in ipairs(cases) do
    it("turns " .. case[1] .. " into a " .. case[3] .. " error", function()
      local res, err = call_with(case[2])
      assert.is_nil(res)
      assert.equal(case[3], err.kind)
      assert.equal(case[4], err.code)
      assert.equal("DescribeCertificates", err.action)
      assert.is_string(err.message)
      assert.is_string(tostring(err))
    end)
  end

  it("drops nulls from the response", function()
    local res = assert(call_with(json_answer('{"Response":{"Alias":null,"RequestId":"r"}}')))
    assert.is_nil(res.Alias)
  end)

  it("rejects a bad action name or params without I/O", function()
    local t = fake()
    local c = client(nil, t)
    local res, err = c:call("describe certificates", {})
    assert.is_nil(res)
    assert.equal("validation", err.kind)
    res, err = c:call("DescribeCertificates", "Limit=10")
    assert.is_nil(res)
    assert.equal("validation", err.kind)
    res, err = c:call("DescribeCertificates", { Bad = function() end })
    assert.is_nil(res)
    assert.equal("validation", err.kind)
    assert.equal(0, #t.sent)
  end)
end)

describe("hostile input found in review", function()
  it("refuses parameter names that cannot be signed as sent", function()
    for _, extra in ipairs{ { http_method = "GET" }, { sign_method = "HmacSHA1" } } do
      local t = fake()
      local c = client(extra, t)
      for _, params in ipairs{ { ["Search#Key"] = "x" }, { ["X&Limit"] = "1" }, { [""] = "x" },
                               { [".Limit"] = 1 }, { Tags = { { ["a b"] = "c" } } } } do
        local res, err = c:call("NotInTheModel", params)
        assert.is_nil(res)
        assert.equal("validation", err.kind)
      end
      assert.equal(0, #t.sent)
    end
  end)

  it("reserves v1's common parameters, Signature included", function()
    local c = client({ sign_method = "HmacSHA256" }, fake())
    for _, name in ipairs{ "Signature", "Nonce", "SecretId", "Action" } do
      local res, err = c:call("NotInTheModel", { [name] = "x" })
      assert.is_nil(res)
      assert.equal("validation", err.kind)
      assert.truthy(err.message:find(name, 1, true))
    end
  end)

  it("refuses empty arrays where only POST JSON can carry them", function()
    local res, err = client({ http_method = "GET" }, fake()):call("NotInTheModel", { Ids = tcssl.array{} })
    assert.is_nil(res)
    assert.equal("validation", err.kind)
  end)

  it("writes floats with a '.' in GET queries", function()
    local t = fake()
    client({ http_method = "GET" }, t):call("NotInTheModel", { F = 1.5 })
    assert.truthy(t.sent[1].url:find("F=1.5", 1, true))
  end)

  it("rejects a broken clock and an impossible response cap as config errors", function()
    for _, clock in ipairs{ function() return nil end, function() return 1e300 end, function() return -1e12 end,
                            function() return 0 / 0 end } do
      local res, err = client{ clock = clock }:call("DescribeCertificates", {})
      assert.is_nil(res)
      assert.equal("config", err.kind)
      assert.equal("clock", err.field)
    end
    local c, err = tcssl.new{ secret_id = ID, secret_key = KEY, max_response_size = 1e10 }
    assert.is_nil(c)
    assert.equal("max_response_size", err.field)
  end)

  it("treats a Response array or an empty error code as what they are", function()
    local res, err = client(nil, fake{ json_answer('{"Response":[]}') }):call("DescribeCertificates", {})
    assert.is_nil(res)
    assert.equal("MissingResponse", err.code)
    res, err = client(nil, fake{ json_answer('{"Response":{"Error":{"Code":"","Message":"m"},"RequestId":"r"}}') })
      :call("DescribeCertificates", {})
    assert.is_nil(res)
    assert.equal("UnknownError", err.code)
  end)

  it("closes at the end of a <close> scope under Lua 5.4", function()
    local closed = false
    local t = fake()
    t.close = function() closed = true end
    local c = client(nil, t)
    getmetatable(c).__close(c)
    assert.is_true(closed)
  end)
end)

describe("the transport through the core", function()
  local tcore = require "tcssl.core"
  it("refuses request-line and header injection", function()
    local s = tcore.session{}
    local res, err = s:request{ method = "GET\r\nInjected: yes", url = "http://127.0.0.1:9/" }
    assert.is_nil(res)
    assert.equal("BadRequest", err.code)
    res, err = s:request{ method = "GET", url = "http://127.0.0.1:9/", headers = { [" X-A"] = "b" } }
    assert.is_nil(res)
    assert.equal("BadHeader", err.code)
    res, err = s:request{ method = "GET", url = "http://127.0.0.1:9/", headers = { ["X-A"] = "b\r\nX-B: c" } }
    assert.is_nil(res)
    assert.equal("BadHeader", err.code)
    for _, bad in ipairs{ 0 / 0, -1, 0, "5" } do
      res, err = s:request{ method = "GET", url = "http://127.0.0.1:9/", timeout = bad }
      assert.is_nil(res)
      assert.equal("BadRequest", err.code)
    end
    s:close()
  end)

  it("says nothing was sent when the connection is refused", function()
    local s = tcore.session{}
    local socket = require "socket"
    local srv = assert(socket.bind("127.0.0.1", 0))
    local _, port = srv:getsockname()
    srv:close()
    local res, err = s:request{ method = "GET", url = "http://127.0.0.1:" .. port .. "/", timeout = 5 }
    assert.is_nil(res)
    assert.equal("ConnectFailed", err.code)
    assert.is_false(err.sent)
    s:close()
  end)

  it("checks the signing inputs it is given", function()
    assert.has_error(function() tcore.tc3_derive("k", "2019-01-\0a", "ssl") end)
    assert.has_error(function() tcore.utc_date(0 / 0) end)
    assert.has_error(function() tcore.tc3_sign{ secret_id = "a", secret_key = "b", service = "ssl", host = "h",
      method = "POST", query = "", content_type = "x", payload = "", timestamp = 1e300 } end)
  end)
end)

local OK_BODY = '{"Response":{"TotalCount":0,"Certificates":[],"RequestId":"r-1"}}'
local function expire_body()
  return '{"Response":{"Error":{"Code":"AuthFailure.SignatureExpire","Message":"expired"},"RequestId":"r-2"}}'
end
local JSON = { ["content-type"] = "application/json" }

describe("a server Date used to correct the clock", function()
  for _, date in ipairs{ "Thu, 01 Jan 1960 00:00:00 GMT", "Fri, 31 Dec 9999 23:59:59 GMT",
    "Mon, 01 Jan 2200 00:00:00 GMT", "Sat, 01 Jan 1970 00:00:00 GMT" } do
    it("is ignored when it is no clock a server runs: " .. date, function()
      local t = fake{ { 200, { ["content-type"] = "application/json", date = date }, expire_body() },
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
    local t = fake{ { 200, { ["content-type"] = "application/json", date = "Tue, 14 Nov 2023 22:33:20 GMT" },
      expire_body() }, { 200, JSON, OK_BODY } }
    local c = client{ transport = t }
    assert(c:DescribeCertificates{})
    assert.equal(1700001200 - NOW, c.clock_offset)
    assert.equal(2, t.seen)
  end)

  it("is dropped when it would leave the signable range", function()
    local c = client{ transport = fake{ { 200, JSON, OK_BODY } } }
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
        local c = client{ transport = fake{ { 200, JSON, OK_BODY } }, validate = validate }
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
      local t = fake{ { 200, JSON, OK_BODY } }
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
    local c = client{ transport = fake{ { 200, JSON, OK_BODY } }, clock = function() error("no clock") end }
    local ok, res, err = pcall(c.DescribeCertificates, c, {})
    assert.is_true(ok, tostring(res))
    assert.equal("InvalidClock", err.code)
    assert.equal("clock", err.field)
  end)

  it("a raising monotonic clock", function()
    local c = client{ transport = fake{ { 200, JSON, OK_BODY } }, monotonic = function() error("no clock") end }
    local ok, res, err = pcall(c.DescribeCertificates, c, {})
    assert.is_true(ok, tostring(res))
    assert.equal("InvalidClock", err.code)
    assert.equal("monotonic", err.field)
  end)

  it("a raising sleep ends the retries with the last failure", function()
    local t = fake{ { 500, {}, "oops" }, { 200, JSON, OK_BODY } }
    local c = client{ transport = t, sleep = function() error("cannot sleep here") end }
    local ok, res, err = pcall(c.DescribeCertificates, c, {})
    assert.is_true(ok, tostring(res))
    assert.is_nil(res)
    assert.equal("UnexpectedStatus", err.code)
    assert.equal(1, t.seen)
  end)

  it("a raising rate limiter", function()
    local c = client{ transport = fake{ { 200, JSON, OK_BODY } }, rate_limit = true,
      rate_limiter = { take = function() error("limiter exploded") end } }
    local ok, res, err = pcall(c.DescribeCertificates, c, {})
    assert.is_true(ok, tostring(res))
    assert.equal("config", err.kind)
    assert.equal("RateLimiterFailed", err.code)
  end)
end)

-- What cannot succeed is not retried (the hostile replies themselves: spec/emulator/transport_curl_spec.lua).
describe("hostile replies get precise error kinds and are not retried", function()
  it("nor are requests the transport cannot make, or a transport's configuration errors", function()
    for _, terr in ipairs{
      { kind = "protocol", code = "BadURL", message = "no", sent = false },
      { kind = "protocol", code = "BadHeader", message = "no", sent = false },
      { kind = "config", code = "NoCosockets", message = "no", sent = false },
      { kind = "tls", code = "TLSVerifyFailed", message = "no", sent = false },
    } do
      local n = 0
      local transport = { request = function() n = n + 1; return nil, terr end }
      local ft = fakes.time()
      local c = assert(tcssl.new{ secret_id = ID, secret_key = KEY, transport = transport,
        sleep = ft.sleep, monotonic = ft.monotonic })
      local res, err = c:DescribeCertificates{}
      assert.is_nil(res)
      assert.equal(terr.code, err.code)
      assert.equal(1, n)
      assert.is_false(err.retryable)
      assert.is_false(err.maybe_applied)
    end
  end)

  it("while a handshake that broke is still retried, as something that can change", function()
    local n = 0
    local transport = { request = function()
      n = n + 1
      if n == 1 then
        return nil, { kind = "tls", code = "TLSHandshakeFailed", message = "reset in the handshake", sent = false }
      end
      return 200, { ["content-type"] = "application/json" }, '{"Response":{"TotalCount":0,"RequestId":"r"}}'
    end }
    local ft = fakes.time()
    local c = assert(tcssl.new{ secret_id = ID, secret_key = KEY, transport = transport,
      sleep = ft.sleep, monotonic = ft.monotonic })
    assert(c:DeleteCertificate{ CertificateId = "x" })
    assert.equal(2, n)
  end)
end)

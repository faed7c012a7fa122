-- One crossing per call: a signed TC3 POST over tcssl's libcurl transport goes through
-- session:call (the core signs, sends and decodes). These specs hold it to the path every other
-- transport takes (tcssl.request.build, session:request, tcssl.envelope): the same bytes on the
-- wire, the same results and the same error objects, and signatures equal to the independent
-- vectors of test-vectors.md (computed with the Node SDK).
local tcssl = require "tcssl"
local core = require "tcssl.core"
local json = require "tcssl.json"
local curl = require "tcssl.transport.curl"
local rawhttp = require "spec.support.rawhttp"
local fakes = require "spec.support.fakes"

local ID, KEY = "AKIDTESTTESTTESTTESTTESTTESTTESTTEST", "testsecretkeytestsecretkeytestse"
local NOW = 1700000000

-- A transport of the user's kind: the client cannot tell it is libcurl, so it takes the
-- request tcssl.request builds and session:request.
local function user_transport()
  local inner = curl.new{}
  return { request = function(_, ...) return inner:request(...) end, close = function() inner:close() end }
end

local function client(host, one_call, extra)
  local ft = fakes.time()
  local cfg = { endpoint = host, scheme = "http", secret_id = ID, secret_key = KEY, timeout = 10,
    sleep = ft.sleep, monotonic = ft.monotonic, clock = function() return NOW end, region = "ap-guangzhou",
    transport = not one_call and user_transport() or nil }
  for k, v in pairs(extra or {}) do cfg[k] = v end
  local c = assert(tcssl.new(cfg))
  assert.equal(one_call, c.one_call)
  return c
end

-- A value as plain tables, with arrays' markers written out, for assert.same.
local function plain(v)
  if type(v) ~= "table" then return v end
  local out = {}
  for k, item in pairs(v) do out[k] = plain(item) end
  if json.is_array(v) then out["(array)"] = true end
  return out
end

-- A request's bytes in a form the two paths share: request line, header lines sorted (a Lua
-- table gives its headers in no fixed order), body.
local function shape(raw)
  local head, body = raw:match("^(.-)\r\n\r\n(.*)$")
  local lines = {}
  for line in head:gmatch("[^\r\n]+") do lines[#lines + 1] = line end
  local first = table.remove(lines, 1)
  table.sort(lines)
  return { first = first, headers = lines, body = body }
end

local function header(raw, name)
  return raw:match("\r\n" .. name .. ": ([^\r\n]*)")
end

describe("one crossing per call", function()
  local srv
  before_each(function() srv = rawhttp.start("capture") end)
  after_each(function() srv:stop() end)

  -- both paths, one after the other, against the same server: results, errors, requests
  local function both(action, params, extra, tweak)
    local outcomes, hooks = {}, {}
    for i, one_call in ipairs{ true, false } do
      -- what the on_request hook sees (the URL redacted, as the Lua path shows it) is the same too
      local cfg = { on_request = function(info)
        hooks[i] = { url = info.url, method = info.method, status = info.status, error = info.error }
      end }
      for k, v in pairs(extra or {}) do cfg[k] = v end
      local c = client(srv.host, one_call, cfg)
      if tweak then tweak(c.config) end
      local res, err = c:call(action, params)
      err = plain(err)
      -- libcurl's message counts the milliseconds it waited, which no two runs share
      if err and err.code == "Timeout" then err.message = err.message:gsub("%d+", "N") end
      outcomes[i] = { plain(res), err }
      c:close()
    end
    local raw = srv:raw()
    local half = math.floor(#raw / 2)
    assert.is_true(#raw == 2 * half)
    for i = 1, half do assert.same(shape(raw[half + i]), shape(raw[i])) end
    assert.same(outcomes[2], outcomes[1])
    assert.same(hooks[2], hooks[1])
    return outcomes[1][1], outcomes[1][2], raw[1], raw
  end

  it("sends the bytes the Lua path sends and reads a reply to the same values", function()
    local res, err, raw = both("Ok", { Offset = 0, Limit = 10, SearchKey = "bench-example.com" })
    assert.is_nil(err)
    assert.equal("cap-ok", res.RequestId)
    assert.equal(-12, res.Small)
    assert.equal(1.5, res.F)
    assert.is_true(res.L["(array)"])
    assert.is_nil(res.N)
    assert.equal("caf\195\169 \240\159\152\128", res.S)
    -- an Integer beyond 2^53: exact under Lua 5.4, its digits under LuaJIT
    assert.equal(rawget(math, "type") and 9007199254740993 or "9007199254740993", res.Big)
    assert.equal("POST / HTTP/1.1", shape(raw).first)
    assert.equal("Ok", header(raw, "X%-TC%-Action"))
    assert.equal("1700000000", header(raw, "X%-TC%-Timestamp"))
  end)

  it("gives a model action's page the same typed result", function()
    local res, err = both("DescribeCertificates", { Limit = 10 })
    assert.is_nil(err)
    assert.equal(2, res.TotalCount)
    assert.equal("cap2", res.Certificates[2].CertificateId)
    assert.is_true(res.Certificates[1].SubjectAltName["(array)"])
  end)

  it("sends the optional headers (token, language, request client) as the Lua path does", function()
    local _, _, raw = both("Ok", {}, { token = "session-token-123", language = "en-US" })
    assert.equal("session-token-123", header(raw, "X%-TC%-Token"))
    assert.equal("en-US", header(raw, "X%-TC%-Language"))
  end)

  local failures = {
    { "ApiError", "api", "ResourceNotFound" },
    { "Html500", "protocol", "UnexpectedStatus" },
    { "Status503", "protocol", "UnexpectedStatus" },
    { "Html200", "protocol", "UnexpectedContentType" },
    { "Invalid", "protocol", "InvalidJSON" },
    { "Trailing", "protocol", "InvalidJSON" },
    { "Scalar", "protocol", "MissingResponse" },
    { "Null", "protocol", "MissingResponse" },
    { "NoResponse", "protocol", "MissingResponse" },
    { "ArrayResponse", "protocol", "MissingResponse" },
    { "Truncated", "protocol", "TruncatedBody" },
  }
  for _, case in ipairs(failures) do
    it(case[1] .. ": the same " .. case[2] .. " " .. case[3] .. " error", function()
      local res, err = both(case[1], {})
      assert.is_nil(res)
      assert.equal(case[2], err.kind)
      assert.equal(case[3], err.code)
      assert.equal(case[1], err.action)
    end)
  end

  it("a signature the server says expired: the clock set from the reply's Date, signed again", function()
    local res, err, _, raw = both("Expired", {})
    assert.is_nil(res)
    assert.equal("AuthFailure.SignatureExpire", err.code)
    assert.equal(4, #raw)
    assert.equal("1700000600", header(raw[2], "X%-TC%-Timestamp"))
  end)

  -- TC3 GET and signature v1 (both hashes, both methods) take the crossing too
  local kinds = {
    { "TC3 GET", { http_method = "GET" } },
    { "HmacSHA1 GET", { http_method = "GET", sign_method = "HmacSHA1" } },
    { "HmacSHA1 POST", { http_method = "POST", sign_method = "HmacSHA1" } },
    { "HmacSHA256 GET", { http_method = "GET", sign_method = "HmacSHA256" } },
    { "HmacSHA256 POST", { http_method = "POST", sign_method = "HmacSHA256" } },
  }
  local function fixed_nonce()
    -- v1's nonce from a fixed source, so that both paths sign the same parameters
    local random = core.random
    core.random = function(n) return ("\1\2\3\4"):sub(1, n) end
    finally(function() core.random = random end)
  end
  for _, k in ipairs(kinds) do
    local extra = { token = "session-token-123", language = "en-US" }
    for key, v in pairs(k[2]) do extra[key] = v end
    it(k[1] .. ": the same bytes and result as the Lua path", function()
      fixed_nonce()
      local res, err, raw = both("Ok", { Offset = 0, Limit = 10, SearchKey = "a b+c/é", Ids = { "x", "y" } }, extra)
      assert.is_nil(err)
      assert.equal("cap-ok", res.RequestId)
      assert.equal(k[2].http_method .. " /", shape(raw).first:sub(1, #k[2].http_method + 2))
    end)
    for _, case in ipairs{ { "ApiError", "ResourceNotFound" }, { "Html500", "UnexpectedStatus" },
        { "Invalid", "InvalidJSON" }, { "Expired", "AuthFailure.SignatureExpire" } } do
      it(k[1] .. ", " .. case[1] .. ": the same error", function()
        fixed_nonce()
        local res, err = both(case[1], {}, extra)
        assert.is_nil(res)
        assert.equal(case[2], err.code)
      end)
    end
    it(k[1] .. ": the same timeout", function()
      fixed_nonce()
      local res, err = both("Hang", {},
        { timeout = 0.3, http_method = k[2].http_method, sign_method = k[2].sign_method })
      assert.is_nil(res)
      assert.equal("Timeout", err.code)
    end)
  end

  -- a v1 request whose size only the signature settles goes as build_v1 makes it: the same
  -- bytes just under the limit, the same refusal just over it
  it("v1 GET within a signature's length of the 32 KB limit: the same request or refusal", function()
    fixed_nonce()
    local extra = { http_method = "GET", sign_method = "HmacSHA256" }
    local probe = client(srv.host, false, extra)
    local function url_len(n)
      local req = assert(probe:prepare("Ok", { SearchKey = ("x"):rep(n) }))
      return #req.url
    end
    local n = 32768 - url_len(0) - 20
    probe:close()
    local res, err, raw = both("Ok", { SearchKey = ("x"):rep(n) }, extra)
    assert.is_nil(err)
    assert.equal("cap-ok", res.RequestId)
    assert.equal("GET /?", shape(raw).first:sub(1, 6))
    res, err = both("Ok", { SearchKey = ("x"):rep(n + 40) }, extra)
    assert.is_nil(res)
    assert.equal("RequestSizeLimitExceeded", err.code)
  end)

  it("a service without a version sends no X-TC-Version, as the Lua path", function()
    local res, _, raw = both("Ok", {}, nil, function(cfg) cfg.version = nil end)
    assert.equal("cap-ok", res.RequestId)
    assert.is_nil(header(raw, "X%-TC%-Version"))
  end)

  it("a service name the signer refuses: the same error, nothing sent", function()
    local res, err = both("Ok", {}, nil, function(cfg) cfg.service = ("s"):rep(65) end)
    assert.is_nil(res)
    assert.equal("InvalidParameter", err.code)
    assert.equal(1, err.attempts)
    assert.equal(0, #srv:raw())
  end)

  it("a reply that never comes: the same timeout error", function()
    local res, err = both("Hang", {}, { timeout = 0.3 })
    assert.is_nil(res)
    assert.equal("timeout", err.kind)
    assert.equal("Timeout", err.code)
  end)
end)

describe("session:call", function()
  local srv
  before_each(function() srv = rawhttp.start("capture") end)
  after_each(function() srv:stop() end)

  local function call(s, payload, extra)
    extra = extra or {}
    return s:call("http://" .. srv.host .. "/", "ssl.tencentcloudapi.com", "ssl", extra.action or "Ok",
      "2019-12-05", extra.region, NOW, extra.token, nil, nil, ID, KEY, payload, extra.timeout or 10, nil,
      false, nil, json.null, json.array_mt)
  end

  -- test-vectors.md, TC3-HMAC-SHA256 POST JSON (ASCII and raw UTF-8 bodies)
  local vectors = {
    { '{"Offset":0,"Limit":10,"SearchKey":"bench-example.com"}',
      "a5f300555556de63c93d607bd21e1cbb3e2f650f66d1f7c3614016614715d754" },
    { '{"Alias":"证书 ✓","CertificateId":"abc"}',
      "ae01dad1b9c25000bafd776a0d2402eafeded33b3dc0c163b3eb1d05255a073d" },
  }
  for i, v in ipairs(vectors) do
    it("signs as the independent vectors say (" .. i .. ")", function()
      local s = core.session()
      local status, ctype, _, doc = call(s, v[1])
      s:close()
      assert.equal(200, status)
      assert.equal("application/json", ctype)
      assert.equal("cap-ok", doc.Response.RequestId)
      local raw = srv:raw()[1]
      assert.equal("TC3-HMAC-SHA256 Credential=" .. ID .. "/2023-11-14/ssl/tc3_request, " ..
        "SignedHeaders=content-type;host, Signature=" .. v[2], header(raw, "Authorization"))
      assert.equal(v[1], raw:match("\r\n\r\n(.*)$"))
    end)
  end

  -- test-vectors.md, signature v1 (both hashes; computed independently of tcssl)
  local V1_PARAMS = "Action=DescribeCertificates&Limit=10&Nonce=11886&SecretId=" .. ID .. "&SignatureMethod="
  for _, v in ipairs{ { "HmacSHA256", "F9lqrrKMeXFjJkyeeoLjxnCHBgwmarZG0tD0I19SmJQ%3D" },
      { "HmacSHA1", "qXtCGCQbYPs8nkAjgwBQgZBKd90%3D" } } do
    for _, method in ipairs{ "GET", "POST" } do
      it("call_v1 signs as the independent vectors say (" .. v[1] .. ", " .. method .. ")", function()
        local params = V1_PARAMS .. v[1] .. "&Timestamp=1700000000&Version=2019-12-05"
        local s = core.session()
        local status, _, _, doc = s:call_v1("http://" .. srv.host .. "/", method, "ssl.tencentcloudapi.com", v[1],
          KEY, "GETssl.tencentcloudapi.com/?" .. params, params, nil, 10, nil, false, json.null, json.array_mt)
        s:close()
        assert.equal(200, status)
        assert.equal("cap-page", doc.Response.RequestId)
        local raw = srv:raw()[1]
        local wire = params .. "&Signature=" .. v[2]
        if method == "GET" then
          assert.equal("GET /?" .. wire .. " HTTP/1.1", shape(raw).first)
        else
          assert.equal(wire, raw:match("\r\n\r\n(.*)$"))
          assert.equal("application/x-www-form-urlencoded", header(raw, "Content%-Type"))
        end
      end)
    end
  end

  -- the documents' own v1 example (seed 004, "生成签名串"): the CVM DescribeInstances request
  -- whose SecretId and SecretKey are printed masked, 32 asterisks each, signs to 7RAM2x…
  it("call_v1 signs the documents' HmacSHA1 example as they print it", function()
    local stars = ("*"):rep(32)
    local params = "Action=DescribeInstances&InstanceIds.0=ins-09dx96dg&Limit=20&Nonce=11886&Offset=0"
      .. "&Region=ap-guangzhou&SecretId=AKID" .. stars .. "&Timestamp=1465185768&Version=2017-03-12"
    local s = core.session()
    local status = s:call_v1("http://" .. srv.host .. "/", "GET", "cvm.tencentcloudapi.com", "HmacSHA1", stars,
      "GETcvm.tencentcloudapi.com/?" .. params, params, nil, 10, nil, false, json.null, json.array_mt)
    s:close()
    assert.equal(200, status)
    assert.equal("GET /?" .. params .. "&Signature=7RAM2xfNMO9EiVTNmPg06MRnCvQ%3D HTTP/1.1", shape(srv:raw()[1]).first)
  end)

  it("call_v1 refuses a bad header value and a closed session, sending nothing", function()
    local s = core.session()
    local function v1(request_client)
      return s:call_v1("http://" .. srv.host .. "/", "POST", "h", "HmacSHA1", KEY, "x", "A=1", request_client, 10, nil,
        false, json.null, json.array_mt)
    end
    local status, err = v1("bad\r\nX-Evil: 1")
    assert.is_nil(status)
    assert.equal("BadHeader", err.code)
    assert.is_nil(err.message:find(KEY, 1, true))
    s:close()
    status, err = v1(nil)
    assert.is_nil(status)
    assert.equal("SessionClosed", err.code)
    assert.equal(0, #srv:raw())
  end)

  it("returns the body of a reply it did not decode, and keeps a decoded one for body()", function()
    local s = core.session()
    local status, ctype, date, doc, body = call(s, "{}", { action = "Html500" })
    assert.equal(500, status)
    assert.equal("text/html", ctype)
    assert.is_nil(date)
    assert.is_nil(doc)
    assert.equal("<html><body>Bad gateway</body></html>\n", body)
    assert.is_nil(s:body())
    local _, _, _, doc2, body2 = call(s, "{}", { action = "Invalid" })
    assert.is_nil(doc2)
    assert.equal('{"Response":{"A":1.,"RequestId":"x"}}', body2)
    local _, _, _, doc3 = call(s, "{}", { action = "Scalar" })
    assert.equal(42, doc3)
    assert.equal("42", s:body())
    s:close()
  end)

  it("refuses header values that would break the request, and a closed session", function()
    local s = core.session()
    local status, err = call(s, "{}", { token = "bad\r\nX-Evil: 1" })
    assert.is_nil(status)
    assert.equal("BadHeader", err.code)
    assert.is_false(err.sent)
    status, err = call(s, "{}", { timeout = -1 })
    assert.is_nil(status)
    assert.equal("BadRequest", err.code)
    s:close()
    status, err = call(s, "{}")
    assert.is_nil(status)
    assert.equal("SessionClosed", err.code)
    assert.equal(0, #srv:raw())
  end)
end)

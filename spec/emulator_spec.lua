-- Specs for the local emulator (lua/tcssl_emulator/, bin/tcssl-emulator).
-- They talk raw HTTP/1.1 over luasocket so that every byte on the wire is under control,
-- and sign requests with tcssl.core.

local socket = require "socket"
local cjson = require "cjson.safe"
local core = require "tcssl.core"
local emu = require "spec.support.emulator"
local pki_support = require "spec.support.pki"

local KEY_ID, KEY = "AKIDSPECSPECSPECSPECSPECSPECSPECSPEC", "spec-secret-key-spec-secret-key0"
local TEMP_ID, TEMP_KEY, TOKEN = "AKIDTEMPORARYKEY", "temporary-secret-key", "session-token-123"
local KEYS = {
  [KEY_ID] = { secret_key = KEY },
  [TEMP_ID] = { secret_key = TEMP_KEY, token = TOKEN },
}

-------------------------------------------------------------------------------
-- A tiny HTTP/1.1 client
-------------------------------------------------------------------------------

local Client = {}
Client.__index = Client

local function connect(e, opts)
  opts = opts or {}
  local sock = assert(socket.connect("127.0.0.1", e.port))
  sock:settimeout(opts.timeout or 10)
  if opts.ca then
    local ssl = require "ssl"
    sock = assert(ssl.wrap(sock, { mode = "client", protocol = "any", verify = "peer", cafile = opts.ca }))
    sock:settimeout(opts.timeout or 10)
    assert(sock:dohandshake())
  end
  return setmetatable({ sock = sock, host = e.host }, Client)
end

function Client:close()
  self.sock:close()
end

function Client:send(raw)
  return self.sock:send(raw)
end

local function format_request(method, target, headers, body)
  local lines = { method .. " " .. target .. " HTTP/1.1" }
  for name, value in pairs(headers) do lines[#lines + 1] = name .. ": " .. value end
  if body and not headers["Content-Length"] and not headers["Transfer-Encoding"] then
    lines[#lines + 1] = "Content-Length: " .. #body
  end
  return table.concat(lines, "\r\n") .. "\r\n\r\n" .. (body or "")
end

function Client:read_chunked()
  local parts = {}
  for _ = 1, 100000 do
    local line, err = self.sock:receive("*l")
    if not line then return table.concat(parts), err end
    local size = tonumber(line, 16)
    if size == 0 then
      self.sock:receive("*l")
      return table.concat(parts)
    end
    local data, derr, partial = self.sock:receive(size)
    parts[#parts + 1] = data or partial
    if not data then return table.concat(parts), derr end
    self.sock:receive("*l")
  end
end

-- Reads one response (skipping 100 Continue). Returns { status, headers, body, body_error }
-- or nil, error when not even a status line arrived.
function Client:read_response()
  for _ = 1, 3 do
    local line, err = self.sock:receive("*l")
    if not line then return nil, err end
    local res = { status = tonumber(line:match("^HTTP/1%.%d (%d%d%d)")), headers = {} }
    for _ = 1, 100 do
      local h = assert(self.sock:receive("*l"))
      if h == "" then break end
      local name, value = h:match("^([^:]+):%s*(.*)$")
      res.headers[name:lower()] = value
    end
    if res.status ~= 100 then
      if res.headers["content-length"] then
        local data, berr, partial = self.sock:receive(tonumber(res.headers["content-length"]))
        res.body, res.body_error = data or partial, berr
      elseif res.headers["transfer-encoding"] == "chunked" then
        res.body, res.body_error = self:read_chunked()
      else
        res.body = self.sock:receive("*a")
      end
      return res
    end
  end
end

function Client:request(method, target, headers, body)
  assert(self:send(format_request(method, target, headers, body)))
  return self:read_response()
end

-------------------------------------------------------------------------------
-- Signing helpers
-------------------------------------------------------------------------------

-- Headers for a TC3 request. o: id, key, token, timestamp, method, query, content_type,
-- service, version, sign_action (also sign X-TC-Action), host.
local function tc3_headers(host, action, body, o)
  o = o or {}
  local method = o.method or "POST"
  local ts = o.timestamp or os.time()
  local content_type = o.content_type or (method == "GET" and "application/x-www-form-urlencoded" or "application/json")
  local auth = core.tc3_sign{
    secret_id = o.id or KEY_ID, secret_key = o.key or KEY, service = o.service or "ssl",
    host = o.host or host, method = method, query = o.query or "", content_type = content_type,
    payload = method == "POST" and body or "", timestamp = ts,
    headers = o.sign_action and { ["x-tc-action"] = action } or nil,
  }
  local headers = {
    Host = o.host or host,
    ["Content-Type"] = content_type,
    ["X-TC-Action"] = action,
    ["X-TC-Version"] = o.version or "2019-12-05",
    ["X-TC-Timestamp"] = tostring(ts),
    Authorization = auth,
  }
  if o.token then headers["X-TC-Token"] = o.token end
  return headers
end

local function decode(res)
  local data = assert(cjson.decode(res.body), "response is not JSON: " .. tostring(res.body))
  return data.Response
end

-- Signs and sends one TC3 POST with params encoded as JSON; returns Response and raw response.
local function call(c, action, params, o)
  local body = o and o.body or cjson.encode(params or {})
  local res = assert(c:request("POST", "/", tc3_headers(c.host, action, body, o), body))
  assert.equals(200, res.status)
  return decode(res), res
end

local function error_code(response)
  return response.Error and response.Error.Code
end

local function url_encode(s)
  return (tostring(s):gsub("[^%w%-_%.~]", function(ch) return string.format("%%%02X", ch:byte()) end))
end

-- A v1-signed parameter string. o: method, signature_method, id, key, token, timestamp,
-- path (default "/"; the legacy API's is /v2/index.php, and it sends no Version).
local function v1_params(host, action, params, o)
  o = o or {}
  local p = {}
  for k, v in pairs(params or {}) do p[k] = tostring(v) end
  p.Action = action
  if not o.path then p.Version = "2019-12-05" end
  p.Timestamp = tostring(o.timestamp or os.time())
  p.Nonce = tostring(o.nonce or math.random(1, 1000000))
  p.SecretId = o.id or KEY_ID
  p.Token = o.token
  p.SignatureMethod = o.signature_method
  local names = {}
  for k in pairs(p) do names[#names + 1] = k end
  table.sort(names)
  local plain, encoded = {}, {}
  for i, k in ipairs(names) do
    plain[i] = k .. "=" .. p[k]
    encoded[i] = k .. "=" .. url_encode(p[k])
  end
  local text = (o.method or "GET") .. host .. (o.path or "/") .. "?" .. table.concat(plain, "&")
  local signature = core.v1_sign(o.signature_method == "HmacSHA256" and "HmacSHA256" or "HmacSHA1", o.key or KEY, text)
  return table.concat(encoded, "&") .. "&Signature=" .. url_encode(o.bad_signature and "AAAA" .. signature or signature)
end

local function wait_until(predicate, seconds)
  local deadline = socket.gettime() + (seconds or 5)
  while socket.gettime() < deadline do
    if predicate() then return true end
    socket.sleep(0.01)
  end
  return false
end

-------------------------------------------------------------------------------

describe("tcssl emulator", function()
  local e, c, pki

  setup(function()
    pki = pki_support.make()
    e = emu.start{ keys = KEYS }
  end)

  teardown(function()
    if e then e:stop() end
    if pki then pki:cleanup() end
  end)

  before_each(function()
    e:reset()
    c = connect(e)
  end)

  after_each(function()
    if c then c:close() end
  end)

  local function upload(params)
    params = params or {}
    params.CertificatePublicKey = params.CertificatePublicKey or pki.leaf_cert_pem
    if params.CertificatePrivateKey == nil then params.CertificatePrivateKey = pki.leaf_key_pem end
    return call(c, "UploadCertificate", params)
  end

  describe("launcher and control API", function()
    it("prints where it listens and starts with zero counters", function()
      assert.matches("^http://127%.0%.0%.1:%d+$", e.url)
      assert.is_true(e.pid > 1)
      -- the connection opened by before_each counts; the control call's own does not
      assert.same({ connections = 1, requests = 0, api_requests = 0, certificates = 0, faults_pending = 0 }, e:stats())
    end)

    it("counts connections and requests, not its own control calls", function()
      for _ = 1, 3 do call(c, "DescribeCertificates", {}) end
      local s = e:stats()
      assert.equals(1, s.connections)
      assert.equals(3, s.requests)
      assert.equals(3, s.api_requests)
    end)

    it("rejects unknown fault types and unknown endpoints", function()
      local result, status = e:control("POST", "fault", '{"type":"meteor"}')
      assert.equals(400, status)
      assert.matches("type must be", result.error)
      local _, missing = e:control("GET", "nothing")
      assert.equals(404, missing)
      local _, wrong_method = e:control("GET", "reset")
      assert.equals(405, wrong_method)
    end)

    it("reset clears the store, faults and counters", function()
      upload()
      e:fault{ type = "http500", count = 5 }
      e:reset()
      local s = e:stats()
      assert.same({ 0, 0, 0, 0 }, { s.certificates, s.faults_pending, s.requests, s.api_requests })
      local r = call(c, "DescribeCertificates", {})
      assert.equals(0, r.TotalCount)
    end)
  end)

  describe("HTTP", function()
    it("answers with JSON, Content-Length and an RFC 1123 Date, and keeps the connection", function()
      local r, res = call(c, "DescribeCertificates", {})
      assert.equals("application/json", res.headers["content-type"])
      assert.equals(#res.body, tonumber(res.headers["content-length"]))
      assert.matches("^%a%a%a, %d%d %a%a%a %d%d%d%d %d%d:%d%d:%d%d GMT$", res.headers.date)
      assert.is_nil(res.headers.connection)
      assert.matches("^%x+%-%x+%-4%x+%-[89ab]%x+%-%x+$", r.RequestId)
      assert.matches('"Certificates":%[%]', res.body) -- an empty array, not {}
      call(c, "DescribeCertificates", {}) -- same socket still works
    end)

    it("honours Connection: close", function()
      local body = "{}"
      local headers = tc3_headers(c.host, "DescribeCertificates", body)
      headers.Connection = "close"
      local res = c:request("POST", "/", headers, body)
      assert.equals("close", res.headers.connection)
      assert.equals(0, decode(res).TotalCount)
      local line, err = c.sock:receive("*l")
      assert.is_nil(line)
      assert.equals("closed", err)
    end)

    it("serves pipelined requests in order", function()
      local body = "{}"
      local one = format_request("POST", "/", tc3_headers(c.host, "DescribeCertificates", body), body)
      local two = format_request("POST", "/", tc3_headers(c.host, "NoSuchThing", body), body)
      assert(c:send(one .. two))
      assert.equals(0, decode(c:read_response()).TotalCount)
      assert.equals("InvalidAction", error_code(decode(c:read_response())))
    end)

    it("accepts chunked request bodies and Expect: 100-continue", function()
      local body = '{"Limit": 5}'
      local headers = tc3_headers(c.host, "DescribeCertificates", body)
      headers["Transfer-Encoding"] = "chunked"
      local chunked = string.format("%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n", 4, body:sub(1, 4), #body - 4, body:sub(5))
      assert.equals(0, decode(c:request("POST", "/", headers, chunked)).TotalCount)

      headers = tc3_headers(c.host, "DescribeCertificates", body)
      headers.Expect = "100-continue"
      headers["Content-Length"] = tostring(#body)
      assert(c:send(format_request("POST", "/", headers)))
      assert.equals("HTTP/1.1 100 Continue", c.sock:receive("*l"))
      assert.equals("", c.sock:receive("*l"))
      assert(c:send(body))
      assert.equals(0, decode(c:read_response()).TotalCount)
    end)

    it("rejects bodies over 10 MB with RequestSizeLimitExceeded", function()
      local headers = tc3_headers(c.host, "DescribeCertificates", "{}")
      headers["Content-Length"] = tostring(64 * 1024 * 1024)
      local res = c:request("POST", "/", headers)
      assert.equals("RequestSizeLimitExceeded", error_code(decode(res)))
      assert.equals("close", res.headers.connection)

      local c2 = connect(e)
      local big = string.rep(" ", 10 * 1024 * 1024 + 1)
      local r2 = decode(c2:request("POST", "/", tc3_headers(c2.host, "DescribeCertificates", big), big))
      assert.equals("RequestSizeLimitExceeded", error_code(r2))
      assert.equals(0, call(c2, "DescribeCertificates", {}).TotalCount) -- drained, still usable
      c2:close()
    end)

    it("rejects oversized heads and malformed requests", function()
      local res = c:request("GET", "/", { Host = c.host, ["X-Big"] = string.rep("a", 70 * 1024) })
      assert.equals(431, res.status)
      local c2 = connect(e)
      assert(c2:send("NONSENSE\r\n\r\n"))
      assert.equals(400, c2:read_response().status)
      c2:close()
    end)

    it("answers other paths with 404", function()
      local res = c:request("GET", "/elsewhere", { Host = c.host })
      assert.equals(404, res.status)
    end)
  end)

  describe("TC3-HMAC-SHA256", function()
    it("accepts a signed POST, with and without extra signed headers", function()
      assert.equals(0, call(c, "DescribeCertificates", {}).TotalCount)
      assert.equals(0, call(c, "DescribeCertificates", {}, { sign_action = true }).TotalCount)
    end)

    it("detects a tampered signed header", function()
      local body = "{}"
      local headers = tc3_headers(c.host, "DescribeCertificates", body, { sign_action = true })
      headers["X-TC-Action"] = "DescribeCertificate"
      assert.equals("AuthFailure.SignatureFailure", error_code(decode(c:request("POST", "/", headers, body))))
    end)

    it("detects a tampered body", function()
      local headers = tc3_headers(c.host, "DescribeCertificates", '{"Limit":1}')
      local r = decode(c:request("POST", "/", headers, '{"Limit":2}'))
      assert.equals("AuthFailure.SignatureFailure", error_code(r))
    end)

    it("accepts a signed GET with flattened parameters", function()
      local id1 = upload({ Alias = "first" }).CertificateId
      upload({ Alias = "second", Repeatable = true })
      local query = "CertIds.0=" .. id1 .. "&Limit=10"
      local headers = tc3_headers(c.host, "DescribeCertificates", "", { method = "GET", query = query })
      local r = decode(c:request("GET", "/?" .. query, headers))
      assert.equals(1, r.TotalCount)
      assert.equals(id1, r.Certificates[1].CertificateId)

      upload({ Repeatable = true, Tags = { { TagKey = "team", TagValue = "edge" } } })
      query = "Tags.0.TagKey=team&Tags.0.TagValue=edge"
      headers = tc3_headers(c.host, "DescribeCertificates", "", { method = "GET", query = query })
      assert.equals(1, decode(c:request("GET", "/?" .. query, headers)).TotalCount)

      query = "CertIds.1=" .. id1 -- index 0 missing
      headers = tc3_headers(c.host, "DescribeCertificates", "", { method = "GET", query = query })
      assert.equals("InvalidParameter", error_code(decode(c:request("GET", "/?" .. query, headers))))
    end)

    it("maps authentication problems to the documented codes", function()
      local cases = {
        { { id = "AKIDUNKNOWN" }, "AuthFailure.SecretIdNotFound" },
        { { key = "wrong-key" }, "AuthFailure.SignatureFailure" },
        { { timestamp = os.time() - 301 }, "AuthFailure.SignatureExpire" },
        { { timestamp = os.time() + 400 }, "AuthFailure.SignatureExpire" },
        { { service = "cvm" }, "AuthFailure.SignatureFailure" },
        { { version = "2017-03-12" }, "NoSuchVersion" },
        { { id = TEMP_ID, key = TEMP_KEY }, "AuthFailure.TokenFailure" },
        { { id = TEMP_ID, key = TEMP_KEY, token = "other" }, "AuthFailure.TokenFailure" },
        { { token = TOKEN }, "AuthFailure.TokenFailure" },
      }
      for _, case in ipairs(cases) do
        local r = call(c, "DescribeCertificates", {}, case[1])
        assert.equals(case[2], error_code(r), cjson.encode(case[1]))
      end
      assert.equals(0, call(c, "DescribeCertificates", {}, { id = TEMP_ID, key = TEMP_KEY, token = TOKEN }).TotalCount)
    end)

    it("rejects malformed Authorization headers", function()
      local body = "{}"
      local good = tc3_headers(c.host, "DescribeCertificates", body).Authorization
      local variants = {
        "Basic dXNlcjpwYXNz",
        good:gsub("SignedHeaders=content%-type;host", "SignedHeaders=host"),
        good:gsub("tc3_request", "tc4_request"),
        good:gsub(", Signature=%x+", ""),
      }
      for _, auth in ipairs(variants) do
        local headers = tc3_headers(c.host, "DescribeCertificates", body)
        headers.Authorization = auth
        local r = decode(c:request("POST", "/", headers, body))
        assert.equals("AuthFailure.InvalidAuthorization", error_code(r), auth)
      end
    end)

    it("requires the credential date to be the timestamp's UTC date", function()
      local body = "{}"
      local headers = tc3_headers(c.host, "DescribeCertificates", body)
      headers.Authorization = headers.Authorization:gsub("/(%d%d%d%d%-%d%d%-%d%d)/", "/2001-01-01/")
      assert.equals("AuthFailure.SignatureFailure", error_code(decode(c:request("POST", "/", headers, body))))
    end)

    it("reports missing or wrong common parameters", function()
      local body = "{}"
      local headers = tc3_headers(c.host, "DescribeCertificates", body)
      headers["X-TC-Action"] = nil
      assert.equals("MissingParameter", error_code(decode(c:request("POST", "/", headers, body))))
      assert.equals("InvalidAction", error_code(call(c, "DescribeEverything", {})))
      assert.equals("MissingParameter", error_code(call(c, "ModifyCertificateAlias", {})))
    end)

    it("validates the JSON body and parameters", function()
      local cases = {
        { "DescribeCertificates", { body = "{not json" }, "InvalidParameter" },
        { "DescribeCertificates", { body = "[1,2]" }, "InvalidParameter" },
        { "DescribeCertificates", { body = '{"Limit":"ten"}' }, "InvalidParameter" },
        { "DescribeCertificates", { body = '{"Offset":-1}' }, "InvalidParameterValue" },
        { "DescribeCertificates", { body = '{"ExpirationSort":"UP"}' }, "InvalidParameterValue" },
        { "DescribeCertificates", { body = '{"Bogus":1}' }, "UnknownParameter" },
        { "DescribeCertificates", { body = '{"CertIds":"abc"}' }, "InvalidParameter" },
        { "DescribeCertificate", { body = "{}" }, "MissingParameter" },
        { "DeleteCertificate", { body = '{"CertificateId":"nope1234"}' }, "FailedOperation.CertificateNotFound" },
      }
      for _, case in ipairs(cases) do
        assert.equals(case[3], error_code(call(c, case[1], nil, case[2])), case[2].body)
      end
      -- the model decides, at any depth, and the message names the path
      local r = call(c, "DescribeCertificates", nil, { body = '{"Tags":[{"TagKey":"k","TagValue":1}]}' })
      assert.equals("InvalidParameter", error_code(r))
      assert.matches("Tags[1].TagValue", r.Error.Message, 1, true)
      r = call(c, "DescribeCertificates", nil, { body = '{"Tags":[{"TagKey":"k"}]}' })
      assert.equals("MissingParameter", error_code(r))
      assert.matches("Tags[1].TagValue", r.Error.Message, 1, true)
      -- numbers as strings are accepted (the documents' own examples send "0" and "1")
      assert.equals(0, call(c, "DescribeCertificates", nil, { body = '{"Offset":"0","Limit":"1"}' }).TotalCount)
      -- Limit above 1000 is treated as 1000, not rejected
      assert.equals(0, call(c, "DescribeCertificates", { Limit = 5000 }).TotalCount)
    end)
  end)

  describe("signature v1", function()
    it("accepts GET with HmacSHA1 and HmacSHA256, and POST forms", function()
      for _, method in ipairs({ "HmacSHA1", "HmacSHA256" }) do
        local query = v1_params(c.host, "DescribeCertificates", { Limit = 5 }, { signature_method = method })
        local r = decode(c:request("GET", "/?" .. query, { Host = c.host }))
        assert.equals(0, r.TotalCount, method)
      end
      local body = v1_params(c.host, "DescribeCertificates", { ["CertIds.0"] = "abcdefgh" }, { method = "POST" })
      local form = { Host = c.host, ["Content-Type"] = "application/x-www-form-urlencoded" }
      local r = decode(c:request("POST", "/", form, body))
      assert.equals(0, r.TotalCount)
    end)

    it("rejects bad signatures, unknown keys, stale timestamps and token mismatches", function()
      local cases = {
        { { bad_signature = true }, "AuthFailure.SignatureFailure" },
        { { key = "wrong" }, "AuthFailure.SignatureFailure" },
        { { id = "AKIDNOBODY" }, "AuthFailure.SecretIdNotFound" },
        { { timestamp = os.time() - 1000 }, "AuthFailure.SignatureExpire" },
        { { id = TEMP_ID, key = TEMP_KEY }, "AuthFailure.TokenFailure" },
      }
      for _, case in ipairs(cases) do
        local query = v1_params(c.host, "DescribeCertificates", {}, case[1])
        assert.equals(case[2], error_code(decode(c:request("GET", "/?" .. query, { Host = c.host }))))
      end
      local query = v1_params(c.host, "DescribeCertificates", {}, { id = TEMP_ID, key = TEMP_KEY, token = TOKEN })
      assert.equals(0, decode(c:request("GET", "/?" .. query, { Host = c.host })).TotalCount)
    end)

    it("needs the common parameters", function()
      local r = decode(c:request("GET", "/?Action=DescribeCertificates&Version=2019-12-05", { Host = c.host }))
      assert.equals("MissingParameter", error_code(r))
    end)
  end)

  describe("legacy 2017 API", function()
    local LEGACY = "/v2/index.php"

    it("answers the code/message/codeDesc/data envelope on /v2/index.php, GET and POST form", function()
      local query = v1_params(c.host, "CertUpload", { cert = pki.leaf_cert_pem, certType = "SVR",
        key = pki.leaf_key_pem }, { path = LEGACY, signature_method = "HmacSHA256" })
      local res = c:request("GET", LEGACY .. "?" .. query, { Host = c.host })
      assert.equals("application/json", res.headers["content-type"])
      local up = assert(cjson.decode(res.body))
      assert.same({ 0, "", "Success" }, { up.code, up.message, up.codeDesc })
      assert.matches("^%w+$", up.data.id)
      assert.is_nil(res.body:find("PRIVATE KEY", 1, true))

      local body = v1_params(c.host, "CertGetList", { page = 1, count = 5 }, { path = LEGACY, method = "POST" })
      local form = { Host = c.host, ["Content-Type"] = "application/x-www-form-urlencoded" }
      local list = assert(cjson.decode(c:request("POST", LEGACY, form, body).body))
      assert.equals(0, list.code)
      assert.equals(1, list.data.totalNum)
      assert.equals(up.data.id, list.data.list[1].id)
      assert.equals("0", list.data.list[1].projectInfo.projectId)

      query = v1_params(c.host, "CertDelete", { id = up.data.id }, { path = LEGACY })
      assert.matches('"data":%[%]', c:request("GET", LEGACY .. "?" .. query, { Host = c.host }).body)
      assert.equals(0, e:stats().certificates)
    end)

    it("uses numeric codes with the API 3.0 code in codeDesc", function()
      local function legacy_error(query)
        local r = assert(cjson.decode(c:request("GET", LEGACY .. "?" .. query, { Host = c.host }).body))
        assert.is_nil(r.data)
        return r.code, r.codeDesc, r.message
      end
      local cases = {
        { "CertGetList", {}, { bad_signature = true }, 4100, "AuthFailure.SignatureFailure" },
        { "CertGetList", {}, { id = "AKIDNOBODY" }, 4104, "AuthFailure.SecretIdNotFound" },
        { "CertGetList", {}, { id = TEMP_ID, key = TEMP_KEY }, 4105, "AuthFailure.TokenFailure" },
        { "CertGetList", {}, { timestamp = os.time() - 1000 }, 4200, "AuthFailure.SignatureExpire" },
        { "CertGetList", { count = "many" }, {}, 4000, "InvalidParameter" },
        { "CertDelete", {}, {}, 4000, "MissingParameter" },
        { "CertDelete", { id = "nothere1" }, {}, 5000, "FailedOperation.CertificateNotFound" },
        { "DescribeCertificates", {}, {}, 6100, "InvalidAction" },
      }
      for _, case in ipairs(cases) do
        case[3].path = LEGACY
        local code, desc, message = legacy_error(v1_params(c.host, case[1], case[2], case[3]))
        assert.same({ case[4], case[5] }, { code, desc }, case[5])
        assert.is_string(message)
      end
      -- the API 3.0 path still wants its Version
      local r = decode(c:request("GET", "/?" .. v1_params(c.host, "DescribeCertificates", {}, { path = "/" }),
        { Host = c.host }))
      assert.equals("MissingParameter", error_code(r))
    end)
  end)

  describe("certificates", function()
    it("uploads, describes, lists, searches and deletes a certificate", function()
      local up, raw = upload({ Alias = "my upload", ProjectId = 0 })
      assert.matches("^%w%w%w%w%w%w%w%w$", up.CertificateId)
      assert.equals("", up.RepeatCertId)
      assert.is_nil(raw.body:find("PRIVATE KEY", 1, true))

      local d = call(c, "DescribeCertificate", { CertificateId = up.CertificateId })
      assert.equals(pki_support.LEAF_CN, d.Domain)
      assert.same(pki_support.LEAF_SANS, d.SubjectAltName)
      assert.equals("2024-01-01 08:00:00", d.CertBeginTime) -- UTC+8
      assert.equals("2034-01-01 08:00:00", d.CertEndTime)
      assert.same({ 1, "upload", "SVR", "my upload", "0" },
        { d.Status, d.From, d.CertificateType, d.Alias, d.ProjectId })
      assert.matches("^%d%d%d%d%-%d%d%-%d%d %d%d:%d%d:%d%d$", d.InsertTime)
      local detail_raw = select(2, call(c, "DescribeCertificate", { CertificateId = up.CertificateId }))
      assert.is_nil(detail_raw.body:find("PRIVATE KEY", 1, true))

      local list = call(c, "DescribeCertificates", {})
      assert.equals(1, list.TotalCount)
      local item = list.Certificates[1]
      assert.equals(up.CertificateId, item.CertificateId)
      assert.equals("RSA 2048", item.EncryptAlgorithm)
      assert.same(pki_support.LEAF_SANS, item.CertSANs)
      assert.equals("0", item.ProjectInfo.ProjectId)

      for _, key in ipairs({ "upload.tcssl", "MY UPLOAD", up.CertificateId:sub(2, 6) }) do
        assert.equals(1, call(c, "DescribeCertificates", { SearchKey = key }).TotalCount, key)
      end
      assert.equals(0, call(c, "DescribeCertificates", { SearchKey = "nothing-like-it" }).TotalCount)

      local del = call(c, "DeleteCertificate", { CertificateId = up.CertificateId })
      assert.is_true(del.DeleteResult)
      assert.equals("FailedOperation.CertificateNotFound",
        error_code(call(c, "DescribeCertificate", { CertificateId = up.CertificateId })))
      assert.equals("FailedOperation.CertificateNotFound",
        error_code(call(c, "DeleteCertificate", { CertificateId = up.CertificateId })))
    end)

    it("pages newest first with Offset and Limit", function()
      local ids = {}
      for i = 1, 5 do ids[i] = upload({ Alias = "n" .. i }).CertificateId end
      local page = call(c, "DescribeCertificates", { Offset = 1, Limit = 2 })
      assert.equals(5, page.TotalCount)
      assert.same({ ids[4], ids[3] }, { page.Certificates[1].CertificateId, page.Certificates[2].CertificateId })
      local rest = call(c, "DescribeCertificates", { Offset = 4, Limit = 10 })
      assert.equals(1, #rest.Certificates)
      assert.equals(ids[1], rest.Certificates[1].CertificateId)
      local by_id = call(c, "DescribeCertificates", { CertIds = { ids[2], ids[5] } })
      assert.equals(2, by_id.TotalCount)
    end)

    it("returns the existing id for a repeated upload when Repeatable is false", function()
      local first = upload().CertificateId
      local again = upload({ Repeatable = false })
      assert.same({ first, first }, { again.CertificateId, again.RepeatCertId })
      local distinct = upload({ Repeatable = true })
      assert.are_not.equal(first, distinct.CertificateId)
      assert.equals(2, call(c, "DescribeCertificates", {}).TotalCount)
    end)

    it("stores tags and filters by them", function()
      upload({ Tags = { { TagKey = "env", TagValue = "prod" } } })
      upload({ Repeatable = true })
      local r = call(c, "DescribeCertificates", { Tags = { { TagKey = "env", TagValue = "prod" } } })
      assert.equals(1, r.TotalCount)
      assert.same({ { TagKey = "env", TagValue = "prod" } }, r.Certificates[1].Tags)
    end)

    it("uses the documented error codes for bad uploads", function()
      local cases = {
        { { CertificatePrivateKey = pki.other_key_pem }, "FailedOperation.CertificateMismatch" },
        { { CertificatePublicKey = "not a certificate" }, "FailedOperation.CertificateInvalid" },
        { { CertificatePublicKey = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----" },
          "FailedOperation.CertificateParseError" },
        { { CertificatePrivateKey = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----" },
          "FailedOperation.CertificateParseError" },
        { { CertificatePrivateKey = false }, "MissingParameter" },
        { { CertificateType = "XYZ" }, "InvalidParameterValue" },
        { { CertificateType = "CA", CertificatePrivateKey = false }, "FailedOperation.CertificateCaError" },
      }
      for i, case in ipairs(cases) do
        local params = case[1]
        if params.CertificatePrivateKey == false then params.CertificatePrivateKey = cjson.null end
        local r, raw = upload(params)
        assert.equals(case[2], error_code(r), "case " .. i)
        assert.is_nil(raw.body:find("PRIVATE KEY", 1, true))
      end
      assert.equals(0, e:stats().certificates)
    end)

    it("accepts a CA certificate without a private key", function()
      local up = upload({
        CertificateType = "CA", CertificatePublicKey = pki.ca_cert_pem, CertificatePrivateKey = cjson.null,
      })
      local list = call(c, "DescribeCertificates", { CertificateType = "CA" })
      assert.equals(1, list.TotalCount)
      assert.equals(up.CertificateId, list.Certificates[1].CertificateId)
      assert.same({ "tcssl test CA" }, list.Certificates[1].CACommonNames)
      assert.is_false(list.Certificates[1].Deployable)
      assert.equals(0, call(c, "DescribeCertificates", { Deployable = 1 }).TotalCount)
      assert.equals(1, call(c, "DescribeCertificates", { Deployable = 0 }).TotalCount)
    end)
  end)

  describe("faults", function()
    local function describe_once(client)
      local body = "{}"
      return client:request("POST", "/", tc3_headers(client.host, "DescribeCertificates", body), body)
    end

    it("delay answers late without holding up other connections", function()
      e:fault{ type = "delay", seconds = 1 }
      local started = socket.gettime()
      local body = "{}"
      assert(c:send(format_request("POST", "/", tc3_headers(c.host, "DescribeCertificates", body), body)))
      assert.is_true(wait_until(function() return e:stats().api_requests == 1 end))
      local other = connect(e)
      assert.equals(0, decode(describe_once(other)).TotalCount)
      assert.is_true(socket.gettime() - started < 0.9)
      other:close()
      assert.equals(0, decode(c:read_response()).TotalCount)
      assert.is_true(socket.gettime() - started >= 1)
    end)

    it("reset closes the connection with a TCP reset", function()
      e:fault{ type = "reset" }
      local res, err = describe_once(c)
      assert.is_nil(res)
      assert.equals("closed", err)
      assert.is_nil(c:send("x")) -- after a FIN this send would succeed
    end)

    it("http500, html, invalid_json and deep_json", function()
      e:fault{ type = "http500" }
      local res = describe_once(c)
      assert.equals(500, res.status)
      e:fault{ type = "html" }
      res = describe_once(c)
      assert.equals(200, res.status)
      assert.matches("^text/html", res.headers["content-type"])
      assert.matches("<html>", res.body)
      e:fault{ type = "html", status = 502 }
      assert.equals(502, describe_once(c).status)
      e:fault{ type = "invalid_json" }
      res = describe_once(c)
      assert.equals("application/json", res.headers["content-type"])
      assert.is_nil(cjson.decode(res.body))
      e:fault{ type = "deep_json" }
      res = describe_once(c)
      assert.equals(20000, #res.body)
      assert.equals(string.rep("[", 10000), res.body:sub(1, 10000))
      assert.equals(0, decode(describe_once(c)).TotalCount) -- faults used up
    end)

    it("truncated and truncated_chunked end the body early", function()
      e:fault{ type = "truncated" }
      local res = describe_once(c)
      assert.equals("closed", res.body_error)
      assert.is_true(#res.body < tonumber(res.headers["content-length"]))
      local c2 = connect(e)
      e:fault{ type = "truncated_chunked" }
      res = describe_once(c2)
      assert.equals("chunked", res.headers["transfer-encoding"])
      assert.equals("closed", res.body_error)
      assert.is_true(#res.body > 0)
      c2:close()
    end)

    it("big sends a body of the requested size, also to a client that reads late", function()
      local size = 24 * 1024 * 1024 + 7 -- more than socket buffers hold: the sender must wait
      e:fault{ type = "big", bytes = size }
      local body = "{}"
      assert(c:send(format_request("POST", "/", tc3_headers(c.host, "DescribeCertificates", body), body)))
      socket.sleep(0.2) -- let the emulator fill the buffers and block on writing
      local started = socket.gettime()
      local res = c:read_response()
      assert.equals(size, #res.body)
      assert.is_table(cjson.decode(res.body))
      assert.is_true(socket.gettime() - started < 5)
    end)

    it("api_error answers with the given error envelope", function()
      e:fault{ type = "api_error", code = "RequestLimitExceeded", message = "slow down" }
      local r = decode(describe_once(c))
      assert.same({ Code = "RequestLimitExceeded", Message = "slow down" }, r.Error)
      assert.is_string(r.RequestId)
    end)

    it("count arms a fault for that many API requests only", function()
      e:fault{ type = "http500", count = 2 }
      assert.equals(500, describe_once(c).status)
      assert.equals(500, describe_once(c).status)
      assert.equals(200, describe_once(c).status)
    end)

    it("clock shifts the emulator's clock until reset", function()
      e:fault{ type = "clock", offset = 1000 }
      assert.equals("AuthFailure.SignatureExpire", error_code(call(c, "DescribeCertificates", {})))
      assert.equals(0, call(c, "DescribeCertificates", {}, { timestamp = os.time() + 1000 }).TotalCount)
      e:reset()
      assert.equals(0, call(c, "DescribeCertificates", {}).TotalCount)
    end)
  end)
end)

describe("tcssl emulator over HTTPS", function()
  local e, pki

  setup(function()
    pki = pki_support.make()
    e = emu.start{ keys = KEYS,
      tls = { cert = pki.server_cert_file, key = pki.server_key_file, ca = pki.ca_cert_file } }
  end)

  teardown(function()
    if e then e:stop() end
    if pki then pki:cleanup() end
  end)

  before_each(function()
    e:reset()
  end)

  it("serves signed requests over a verified TLS connection", function()
    assert.matches("^https://127%.0%.0%.1:%d+$", e.url)
    local c = connect(e, { ca = pki.ca_cert_file })
    for _ = 1, 3 do assert.equals(0, call(c, "DescribeCertificates", {}).TotalCount) end
    local up = call(c, "UploadCertificate", {
      CertificatePublicKey = pki.leaf_cert_pem, CertificatePrivateKey = pki.leaf_key_pem,
    })
    assert.matches("^%w+$", up.CertificateId)
    c:close()
    assert.equals(1, e:stats().connections)
  end)

  it("resets TLS connections without a close_notify, then goes on serving", function()
    -- lua-sec reports "closed" for both a close_notify and a reset; openssl s_client tells them apart.
    e:fault{ type = "reset" }
    local request = os.tmpname()
    local f = assert(io.open(request, "wb"))
    f:write("POST / HTTP/1.1\r\nHost: " .. e.host .. "\r\nContent-Length: 0\r\n\r\n")
    f:close()
    local p = assert(io.popen("openssl s_client -quiet -connect " .. e.host .. " -CAfile " .. pki.ca_cert_file
      .. " < " .. request .. " 2>&1"))
    local output = p:read("*a")
    p:close()
    os.remove(request)
    assert.matches("errno=104", output) -- ECONNRESET
    assert.equals(0, e:stats().faults_pending)

    local c = connect(e, { ca = pki.ca_cert_file })
    assert.equals(0, call(c, "DescribeCertificates", {}).TotalCount)
    c:close()
  end)
end)

describe("tcssl emulator process", function()
  it("exits by itself after --max-lifetime", function()
    local e = emu.start{ max_lifetime = 1 }
    local ok = e:wait_exit(10)
    e:stop()
    assert.is_true(ok)
  end)

  it("runs until stopped with --max-lifetime 0", function()
    local in_process = assert(require("tcssl_emulator").new{ max_lifetime = 0 })
    finally(function() in_process:close() end)
    assert.equal(math.huge, in_process.expires_at)
    assert.is_true(in_process:step(0))
    local e = emu.start{ max_lifetime = 0 }
    finally(function() e:stop() end) -- asks it to shut down, kills it if it does not go
    local _, status = e:control("GET", "stats")
    assert.equals(200, status)
  end)

  it("stops on /__emulator/shutdown", function()
    local e = emu.start()
    local _, status = e:control("POST", "shutdown")
    assert.equals(200, status)
    assert.is_true(e:wait_exit(5))
    e:stop()
  end)
end)

describe("tcssl emulator embedded (server:step)", function()
  local emulator = require "tcssl_emulator"
  -- In process the emulator needs Lua 5.4 (elsewhere the specs run it as a lua5.4 process).
  local it = jit and function(name) pending(name .. " (the emulator runs in-process under Lua 5.4 only)") end or it

  -- Sends raw bytes and turns the loop until a full response (by Content-Length) arrives.
  local function exchange(server, raw, opts)
    local sock = assert(socket.connect("127.0.0.1", server.port))
    sock:settimeout(0)
    if raw then assert(sock:send(raw)) end
    local data, closed = "", false
    local deadline = socket.gettime() + ((opts and opts.seconds) or 5)
    while socket.gettime() < deadline do
      server:step(0.01)
      local chunk, err, partial = sock:receive(65536)
      data = data .. (chunk or partial or "")
      if err == "closed" then closed = true break end
      local head, body = data:match("^(.-\r\n\r\n)(.*)$")
      local length = head and tonumber(head:match("[Cc]ontent%-[Ll]ength: (%d+)"))
      if length and #body >= length and not (opts and opts.until_closed) then break end
    end
    sock:close()
    local body = data:match("\r\n\r\n(.*)$")
    return body and cjson.decode(body), closed, data
  end

  local function vector_server(clock)
    return assert(emulator.new{
      keys = { AKIDTESTTESTTESTTESTTESTTESTTESTTEST = { secret_key = "testsecretkeytestsecretkeytestse" } },
      clock = clock or function() return 1700000000 end,
      max_lifetime = 30,
    })
  end

  it("verifies the independent known-answer signatures from shared/test-vectors.md", function()
    local server = vector_server()
    local host = "ssl.tencentcloudapi.com"
    local cred = "TC3-HMAC-SHA256 Credential=AKIDTESTTESTTESTTESTTESTTESTTESTTEST/2023-11-14/ssl/tc3_request, "
      .. "SignedHeaders=content-type;host, Signature="
    local body = '{"Offset":0,"Limit":10,"SearchKey":"bench-example.com"}'
    local post = format_request("POST", "/", {
      Host = host, ["Content-Type"] = "application/json", ["X-TC-Action"] = "DescribeCertificates",
      ["X-TC-Version"] = "2019-12-05", ["X-TC-Timestamp"] = "1700000000",
      Authorization = cred .. "a5f300555556de63c93d607bd21e1cbb3e2f650f66d1f7c3614016614715d754",
    }, body)
    assert.equals(0, exchange(server, post).Response.TotalCount)

    local query = "Limit=10&Offset=0&SearchKey=bench-example.com"
    local get = format_request("GET", "/?" .. query, {
      Host = host, ["Content-Type"] = "application/x-www-form-urlencoded",
      ["X-TC-Action"] = "DescribeCertificates", ["X-TC-Version"] = "2019-12-05",
      ["X-TC-Timestamp"] = "1700000000",
      Authorization = cred .. "a44a31665401740995ee10fa7a7a0be9fe288d0e406ac632a05b9ddc10c9e253",
    })
    assert.equals(0, exchange(server, get).Response.TotalCount)

    for method, signature in pairs({ HmacSHA256 = "F9lqrrKMeXFjJkyeeoLjxnCHBgwmarZG0tD0I19SmJQ=",
                                     HmacSHA1 = "qXtCGCQbYPs8nkAjgwBQgZBKd90=" }) do
      local v1 = "Action=DescribeCertificates&Limit=10&Nonce=11886&SecretId=AKIDTESTTESTTESTTESTTESTTESTTESTTEST"
        .. "&SignatureMethod=" .. method .. "&Timestamp=1700000000&Version=2019-12-05&Signature="
        .. url_encode(signature)
      local r = exchange(server, format_request("GET", "/?" .. v1, { Host = host })).Response
      assert.equals(0, r.TotalCount, method)
    end
    server:close()
  end)

  it("answers InternalError without details when a handler fails", function()
    local server = vector_server(function() error("clock broke at /secret/path.lua:1") end)
    local body = "{}"
    local raw = format_request("POST", "/", {
      Host = "x", ["Content-Type"] = "application/json", ["X-TC-Action"] = "DescribeCertificates",
      ["X-TC-Version"] = "2019-12-05", ["X-TC-Timestamp"] = "1700000000",
      Authorization = "TC3-HMAC-SHA256 Credential=AKIDTESTTESTTESTTESTTESTTESTTESTTEST/2023-11-14/ssl/tc3_request, "
        .. "SignedHeaders=content-type;host, Signature=00",
    }, body)
    local response, _, data = exchange(server, raw)
    assert.equals("InternalError", response.Response.Error.Code)
    assert.is_nil(data:find("secret", 1, true))
    assert.is_nil(data:find("traceback", 1, true))
    server:close()
  end)

  it("closes idle connections after idle_timeout and reports stopping from step()", function()
    local server = assert(emulator.new{ idle_timeout = 0.2, max_lifetime = 30 })
    local started = socket.gettime()
    local _, closed = exchange(server, nil, { until_closed = true, seconds = 3 })
    assert.is_true(closed)
    assert.is_true(socket.gettime() - started < 2)
    server:close()
    assert.is_false(server:step(0))
  end)
end)

describe("tcssl emulator holds requests to the documents' rules", function()
  local e, c

  setup(function() e = emu.start{ keys = KEYS } end)
  teardown(function() if e then e:stop() end end)
  before_each(function()
    e:reset()
    c = connect(e)
  end)
  after_each(function() c:close() end)

  it("refuses TC3 over a form-encoded POST body and a GET with a JSON content type", function()
    local body = "Limit=1"
    local h = tc3_headers(c.host, "DescribeCertificates", body,
      { content_type = "application/x-www-form-urlencoded" })
    assert.equals("AuthFailure.InvalidAuthorization", error_code(decode(c:request("POST", "/", h, body))))
    h = tc3_headers(c.host, "DescribeCertificates", "", { method = "GET", content_type = "application/json" })
    assert.equals("InvalidParameter", error_code(decode(c:request("GET", "/", h))))
  end)

  it("wants a positive integer Nonce and refuses a replayed v1 request", function()
    for _, nonce in ipairs{ "-5", "5.5", "0", "abc" } do
      local q = v1_params(c.host, "DescribeCertificates", {}, { nonce = nonce })
      assert.equals("InvalidParameter", error_code(decode(c:request("GET", "/?" .. q, { Host = c.host }))), nonce)
    end
    local q = v1_params(c.host, "DescribeCertificates", {}, { nonce = 4242 })
    assert.is_nil(error_code(decode(c:request("GET", "/?" .. q, { Host = c.host }))))
    assert.equals("AuthFailure.SignatureFailure", error_code(decode(c:request("GET", "/?" .. q, { Host = c.host }))))
  end)

  it("answers too many signed headers with an AuthFailure, not an internal error", function()
    local h = tc3_headers(c.host, "DescribeCertificates", "{}")
    local names = { "content-type", "host" }
    for i = 1, 31 do
      names[#names + 1] = "x-extra-" .. i
      h["X-Extra-" .. i] = "v"
    end
    h.Authorization = h.Authorization:gsub("SignedHeaders=[^,]+", "SignedHeaders=" .. table.concat(names, ";"))
    assert.equals("AuthFailure.InvalidAuthorization", error_code(decode(c:request("POST", "/", h, "{}"))))
  end)

  it("refuses chunk sizes that would wrap around", function()
    local h = tc3_headers(c.host, "DescribeCertificates", "{}")
    h["Transfer-Encoding"] = "chunked"
    local head = { "POST / HTTP/1.1" }
    for k, v in pairs(h) do head[#head + 1] = k .. ": " .. v end
    assert(c:send(table.concat(head, "\r\n") .. "\r\n\r\n10000000000000000\r\n{}\r\n0\r\n\r\n"))
    local res = c:read_response()
    assert.equals(400, res.status)
  end)
end)

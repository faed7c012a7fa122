-- The emulator's API (lua/tcssl_emulator/, run as bin/tcssl-emulator) over one raw connection
-- (spec/support/wire.lua): its launcher and control endpoints, HTTP, TC3-HMAC-SHA256 and v1
-- signatures, the legacy 2017 API, the certificate store and the faults it can inject.
local socket = require "socket"
local cjson = require "cjson.safe"
local emu = require "spec.support.emulator"
local pki_support = require "spec.support.pki"
local wire = require "spec.support.wire"

local connect, call, decode, error_code = wire.connect, wire.call, wire.decode, wire.error_code
local format_request, tc3_headers, v1_params = wire.format_request, wire.tc3_headers, wire.v1_params
local wait_until = wire.wait_until
local KEYS, TEMP_ID, TEMP_KEY, TOKEN = wire.KEYS, wire.TEMP_ID, wire.TEMP_KEY, wire.TOKEN

describe("tcssl emulator", function()
  local e, c, pki

  setup(function()
    pki = pki_support.make()
    e = emu.start{ keys = KEYS }
  end)

  teardown(function() emu.cleanup(e, pki) end)

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
      assert.same({ connections = 1, requests = 0, api_requests = 0, certificates = 0, faults_pending = 0,
        per_second = {} }, e:stats())
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

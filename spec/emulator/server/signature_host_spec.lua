-- TC3 signatures and the signed host: the emulator accepts the host signed as sent
-- (`Host: name:port`) and without its port (as the official Node.js SDK signs it), and nothing
-- looser. With --verbose a refused signature (TC3 or v1) logs what the emulator expected and the
-- action (never a secret).
local cjson = require "cjson.safe"
local emu = require "spec.support.emulator"
local wire = require "spec.support.wire"

local connect, call, error_code = wire.connect, wire.call, wire.error_code
local KEYS = wire.KEYS

describe("tcssl emulator TC3 signed host", function()
  local e, c

  setup(function() e = emu.start{ keys = KEYS } end)
  teardown(function() emu.cleanup(e) end)
  before_each(function() c = connect(e) end)
  after_each(function() if c then c:close() end end)

  local port = function() return e.host:match(":(%d+)$") end

  local function code(o)
    local r = call(c, "DescribeCertificates", {}, o)
    return error_code(r) or "ok"
  end

  it("accepts the host signed with its port, as sent", function()
    assert.equals("ok", code{})
    assert.equals("ok", code{ host = "ssl.tencentcloudapi.com:" .. port() })
  end)

  it("accepts the host signed without the port the Host header carries", function()
    assert.equals("ok", code{ sign_host = "127.0.0.1" })
    assert.equals("ok", code{ host = "ssl.tencentcloudapi.com:" .. port(), sign_host = "ssl.tencentcloudapi.com" })
    assert.equals("ok", code{ host = "SSL.tencentcloudapi.com:" .. port(), sign_host = "ssl.tencentcloudapi.com" })
  end)

  it("accepts a Host header that carries a scheme when it is signed so (tccli with --endpoint http://...)", function()
    -- the Python SDK sends and signs its endpoint's text as the host, scheme and all
    assert.equals("ok", code{ host = "http://" .. c.host })
    assert.equals("AuthFailure.SignatureFailure", code{ host = "http://" .. c.host, sign_host = c.host })
  end)

  it("refuses a signature for another host or port", function()
    local cases = {
      { sign_host = "other.example" },
      { sign_host = "other.example:" .. port() },
      { sign_host = "127.0.0.1:1" .. port() },
      { sign_host = "127.0.0.1:" },
      { sign_host = "" },
      { host = "ssl.tencentcloudapi.com", sign_host = "ssl.tencentcloudapi.com:" .. port() },
      { host = "ssl.tencentcloudapi.com:" .. port(), sign_host = "cvm.tencentcloudapi.com" },
    }
    for _, o in ipairs(cases) do
      assert.equals("AuthFailure.SignatureFailure", code(o), cjson.encode(o))
    end
  end)

  it("still refuses a bad key, date, service, header list or payload when the port is left out", function()
    local base = { sign_host = "127.0.0.1" }
    local function with(extra)
      local o = {}
      for k, v in pairs(base) do o[k] = v end
      for k, v in pairs(extra) do o[k] = v end
      return o
    end
    assert.equals("AuthFailure.SignatureFailure", code(with{ key = "wrong-key" }))
    assert.equals("AuthFailure.SignatureFailure", code(with{ service = "cvm" }))
    assert.equals("AuthFailure.SecretIdNotFound", code(with{ id = "AKIDUNKNOWN" }))
    assert.equals("AuthFailure.SignatureExpire", code(with{ timestamp = os.time() - 301 }))

    -- signed for one body, another sent
    local headers = wire.tc3_headers(c.host, "DescribeCertificates", '{"Limit":1}', base)
    local r = wire.decode(c:request("POST", "/", headers, '{"Limit":2}'))
    assert.equals("AuthFailure.SignatureFailure", error_code(r))

    -- X-TC-Action signed but another action sent
    headers = wire.tc3_headers(c.host, "DescribeCertificates", "{}", with{ sign_action = true })
    headers["X-TC-Action"] = "DescribeCertificateDetail"
    r = wire.decode(c:request("POST", "/", headers, "{}"))
    assert.equals("AuthFailure.SignatureFailure", error_code(r))

    -- credential date other than the timestamp's UTC date
    headers = wire.tc3_headers(c.host, "DescribeCertificates", "{}", base)
    headers.Authorization = headers.Authorization:gsub("/(%d%d%d%d%-%d%d%-%d%d)/", "/2001-01-01/")
    r = wire.decode(c:request("POST", "/", headers, "{}"))
    assert.equals("AuthFailure.SignatureFailure", error_code(r))
  end)
end)

describe("tcssl emulator --verbose on a refused signature", function()
  local core = require "tcssl.core"
  local util = require "spec.support.util"
  local e, c, log_path

  setup(function()
    log_path = os.tmpname()
    -- the emulator's stderr goes to log_path (spec.support.emulator drops it otherwise)
    e = emu.start{ keys = KEYS, args = { "--verbose" },
      command = "sh -c " .. util.quote('exec "$0" bin/tcssl-emulator "$@" 2>' .. util.quote(log_path))
        .. " " .. (os.getenv("TCSSL_LUA") or "lua5.4") }
  end)
  teardown(function()
    emu.cleanup(e)
    os.remove(log_path)
  end)
  before_each(function() c = connect(e) end)
  after_each(function() if c then c:close() end end)

  local function log_text()
    local f = assert(io.open(log_path, "rb"))
    local text = f:read("a")
    f:close()
    return text
  end

  it("logs the canonical request and string to sign it expected, and no secret", function()
    local body, ts = '{"Limit":3}', os.time()
    local headers = wire.tc3_headers(c.host, "DescribeCertificates", body,
      { id = wire.TEMP_ID, key = "a-wrong-secret-key", token = wire.TOKEN, timestamp = ts, sign_action = true })
    -- sign X-TC-Token too: its value must not be logged either
    local auth, sig, request_hash = core.tc3_sign{
      secret_id = wire.TEMP_ID, secret_key = "a-wrong-secret-key", service = "ssl", host = c.host,
      method = "POST", query = "", content_type = "application/json", payload = body, timestamp = ts,
      headers = { ["x-tc-action"] = "describecertificates", ["x-tc-token"] = wire.TOKEN },
    }
    headers.Authorization = auth
    local before = #log_text()
    local r = wire.decode(c:request("POST", "/", headers, body))
    assert.equals("AuthFailure.SignatureFailure", error_code(r))
    assert.is_nil(cjson.encode(r):find("canonical", 1, true)) -- the reply does not carry it
    local text = log_text():sub(before + 1)
    assert.truthy(text:find("canonical request", 1, true), text)
    assert.truthy(text:find("    POST\n    /\n    \n    content-type:application/json\n    host:" .. c.host
      .. "\n    x-tc-action:describecertificates\n    x-tc-token:(hidden)\n    \n"
      .. "    content-type;host;x-tc-action;x-tc-token\n    " .. core.sha256_hex(body) .. "\n", 1, true), text)
    -- the client signed the same canonical request (only the key was wrong): same hash
    assert.truthy(text:find("string to sign\n    TC3-HMAC-SHA256\n    " .. ts .. "\n    "
      .. core.utc_date(ts) .. "/ssl/tc3_request\n    " .. request_hash .. "\n", 1, true), text)
    assert.truthy(text:find("host:127.0.0.1, without the port", 1, true), text)
    for _, secret in ipairs({ wire.TEMP_KEY, "a-wrong-secret-key", wire.TOKEN, sig, wire.KEY }) do
      assert.is_nil(text:find(secret, 1, true), "the log shows a secret or the signature")
    end
  end)

  it("logs the v1 string to sign it expected and the action, and no secret", function()
    for _, method in ipairs({ "HmacSHA1", "HmacSHA256" }) do
      local ts = os.time()
      local query = wire.v1_params(c.host, "UploadCertificate", { CertificatePublicKey = "PUBLIC",
        CertificatePrivateKey = "PRIVATE-KEY-TEXT", Alias = "a" }, { id = wire.TEMP_ID, key = "a-wrong-secret-key",
        token = wire.TOKEN, timestamp = ts, nonce = 4242, signature_method = method })
      local before = #log_text()
      local r = wire.decode(c:request("GET", "/?" .. query, { Host = c.host }))
      assert.equals("AuthFailure.SignatureFailure", error_code(r))
      local line = "GET / action=UploadCertificate verdict=AuthFailure.SignatureFailure"
      -- the request's log line follows the reply: wait for it (bounded)
      wire.wait_until(function() return log_text():find(line, before + 1, true) end, 5)
      local text = log_text():sub(before + 1)
      assert.truthy(text:find("string to sign (" .. method .. ")\n    GET" .. c.host .. "/?Action=UploadCertificate"
        .. "&Alias=a&CertificatePrivateKey=(hidden)&CertificatePublicKey=PUBLIC&Nonce=4242&SecretId=" .. wire.TEMP_ID
        .. "&SignatureMethod=" .. method .. "&Timestamp=" .. ts
        .. "&Token=(hidden)&Version=2019-12-05\n", 1, true), text)
      assert.truthy(text:find(line, 1, true), text)
      local signature = query:match("Signature=([^&]*)$")
      for _, secret in ipairs({ wire.TEMP_KEY, "a-wrong-secret-key", wire.TOKEN, "PRIVATE-KEY-TEXT", signature }) do
        assert.is_nil(text:find(secret, 1, true), "the log shows a secret or the signature")
      end
    end
  end)

  it("names the action of a v1 request refused for its key or time as well", function()
    local before = #log_text()
    local r = wire.decode(c:request("GET", "/?" .. wire.v1_params(c.host, "DescribeCertificates", {},
      { id = "AKIDUNKNOWN" }), { Host = c.host }))
    assert.equals("AuthFailure.SecretIdNotFound", error_code(r))
    local line = "action=DescribeCertificates verdict=AuthFailure.SecretIdNotFound"
    assert.is_true(wire.wait_until(function() return log_text():find(line, before + 1, true) ~= nil end, 5))
  end)

  it("logs the emulator's account of an error the reply gives in Chinese", function()
    local body = '{"CertificateId":"nosuchid"}'
    local headers = wire.tc3_headers(c.host, "DescribeCertificateDetail", body)
    headers["X-TC-Language"] = "zh-CN"
    local before = #log_text()
    local r = wire.decode(c:request("POST", "/", headers, body))
    assert.equals("证书不存在。", r.Error.Message)
    assert.is_true(wire.wait_until(function()
      return log_text():find("FailedOperation.CertificateNotFound: The certificate `nosuchid` does not exist.",
        before + 1, true) ~= nil
    end, 5))
  end)

  it("logs no such detail for an accepted request", function()
    local before = #log_text()
    assert.equals(0, call(c, "DescribeCertificates", {}).TotalCount)
    assert.is_nil(log_text():sub(before + 1):find("canonical request", 1, true))
  end)
end)

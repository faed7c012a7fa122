-- TC3 signatures and the signed host: the emulator accepts the host signed as sent
-- (`Host: name:port`) and without its port (as the official Node.js SDK signs it), and nothing
-- looser. With --verbose a refused signature logs what the emulator expected (never a secret).
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

-- The emulator holds requests to the documents' rules: content types per signature method, the
-- v1 Nonce, the number of signed headers, chunk sizes.
local emu = require "spec.support.emulator"
local wire = require "spec.support.wire"

local connect, decode, error_code = wire.connect, wire.decode, wire.error_code
local tc3_headers, v1_params, KEYS = wire.tc3_headers, wire.v1_params, wire.KEYS

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

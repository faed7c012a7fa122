-- The emulator embedded in this Lua state: a caller turns its loop with server:step(), and it
-- checks the known-answer signatures of shared/test-vectors.md.
local socket = require "socket"
local cjson = require "cjson.safe"
local wire = require "spec.support.wire"

local format_request, url_encode = wire.format_request, wire.url_encode

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

-- OpenResty details, in a real nginx (Debian's nginx 1.22 with
-- lua-nginx-module 0.10.23): calls from server_rewrite_by_lua go over cosockets; a connection
-- nginx refuses to keep alive is logged at warn level and closed; debug = true writes its
-- redacted lines through ngx.log, so they land in the error log with the request's context.
-- Run by `make test-nginx` (mk/luajit-nginx.mk).
local nginx = require "spec.support.nginx"
local emu = require "spec.support.emulator"
local socket = require "socket"
local cjson = require "cjson.safe"

local ID = "AKIDNGINXHARDEN000000000000000000000"
local KEY = "nginx-hardening-secret-key-0123456789"
local TOKEN_ID = "AKIDNGINXHARDENTOKEN0000000000000000"
local TOKEN_KEY = "nginx-hardening-temporary-key-012345"
local TOKEN = "nginx-hardening-session-token-abcdef"

local plain, server

setup(function()
  assert(nginx.available())
  plain = emu.start{ keys = { [ID] = { secret_key = KEY }, [TOKEN_ID] = { secret_key = TOKEN_KEY, token = TOKEN } } }
  local settings = ("{ http = %q, id = %q, key = %q, token_id = %q, token_key = %q, token = %q }"):format(
    plain.host, ID, KEY, TOKEN_ID, TOKEN_KEY, TOKEN)
  local app = 'require("spec.nginx.phases_logging_app")'
  server = nginx.start{
    http = ([[
  lua_socket_buffer_size 4k;
  init_by_lua_block { %s.configure(%s) }
]]):format(app, settings),
    server = ([[
    server_rewrite_by_lua_block { %s.server_rewrite() }
    location = /server_rewrite {
      content_by_lua_block { %s.server_rewrite_result() }
    }
    location = /call {
      content_by_lua_block { %s.call() }
    }
    location = /debug_call {
      content_by_lua_block { %s.debug_call() }
    }
]]):format(app, app, app, app),
  }
end)

teardown(function() emu.cleanup(server, plain) end)

local function decode(status, body)
  assert.equal(200, status, body)
  return assert(cjson.decode(body), "not JSON: " .. tostring(body))
end

-- The error log's lines that contain `text`.
local function log_lines(text)
  local found = {}
  for line in server:log():gmatch("[^\n]+") do
    if line:find(text, 1, true) then found[#found + 1] = line end
  end
  return found
end

describe("tcssl in nginx (OpenResty details)", function()
  it("calls over cosockets from server_rewrite_by_lua", function()
    local before = plain:stats().api_requests
    local doc = decode(server:get("/server_rewrite"))
    assert.equal("server_rewrite", doc.phase)
    assert(doc.ok, ("the call failed: %s %s"):format(tostring(doc.code), tostring(doc.message)))
    assert.equal(0, doc.total)
    assert.equal(1, plain:stats().api_requests - before)
  end)

  it("logs a connection nginx will not keep alive at warn level, and closes it", function()
    -- A server that answers with bytes beyond its response, written in one send so that they
    -- reach nginx together: the body (longer than nginx's 4k socket buffer) is read in two
    -- reads, the second of which leaves the extra bytes in nginx's buffer, and setkeepalive
    -- refuses the connection ("unread data in buffer").
    local listener = assert(socket.bind("127.0.0.1", 0))
    local _, port = listener:getsockname()
    listener:settimeout(10)
    local pending = server:send("/call?endpoint=127.0.0.1:" .. port)
    local conn = assert(listener:accept())
    listener:close()
    conn:settimeout(10)
    local length
    for _ = 1, 100 do
      local line = assert(conn:receive("*l"))
      if line == "" then break end
      length = tonumber(line:lower():match("^content%-length:%s*(%d+)")) or length
    end
    assert(conn:receive(assert(length)))
    local body = '{"Response":{"TotalCount":7,"Certificates":[],"RequestId":"junk-after-body"}}'
    body = body .. (" "):rep(6000 - #body)
    assert(conn:send("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " .. #body
      .. "\r\n\r\n" .. body .. "JUNK"))
    local doc = decode(pending:finish())
    -- nginx closed its side: the next read sees the end of the connection
    local _, closed = conn:receive("*a")
    conn:close()
    assert(doc.ok, ("the call failed: %s %s"):format(tostring(doc.code), tostring(doc.message)))
    assert.equal(7, doc.total)
    assert.equal("closed", closed)
    local lines = log_lines("tcssl: cannot keep the connection to 127.0.0.1:" .. port)
    assert.equal(1, #lines, server:log())
    assert.truthy(lines[1]:find("[warn]", 1, true), lines[1])
    assert.truthy(lines[1]:find("unread data in buffer", 1, true), lines[1])
    assert.truthy(lines[1]:find('request: "GET /call?endpoint=127.0.0.1:' .. port, 1, true), lines[1])
  end)

  it("writes debug lines through ngx.log at info level, with the request, secrets hidden", function()
    local doc = decode(server:get("/debug_call"))
    assert(doc.ok, ("the call failed: %s %s"):format(tostring(doc.code), tostring(doc.message)))
    local lines = log_lines("tcssl: DescribeCertificates GET http://" .. plain.host .. "/?")
    assert.equal(1, #lines, server:log())
    local line = lines[1]
    assert.truthy(line:find("[info]", 1, true), line)
    assert.truthy(line:find('request: "GET /debug_call HTTP/1.0"', 1, true), line)
    assert.truthy(line:find("-> 200 ", 1, true), line)
    assert.truthy(line:find("RequestId=" .. doc.request_id, 1, true), line)
    assert.truthy(line:find("Signature=***", 1, true), line)
    assert.truthy(line:find("Token=***", 1, true), line)
    local log = server:log()
    for _, secret in ipairs{ KEY, TOKEN_KEY, TOKEN } do assert.falsy(log:find(secret, 1, true)) end
  end)
end)

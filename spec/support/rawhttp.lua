--- A small hostile HTTP/1.1 server for transport specs, run as its own process (libcurl blocks
-- the spec's own thread, so the server cannot live in it).
--
--   local rawhttp = require "spec.support.rawhttp"
--   local srv = rawhttp.start("act_reset")  -- srv.port, srv.host ("127.0.0.1:PORT"), srv.pid
--   srv:log()   -- every API request it read, in order: { { conn = n, action = "..." }, ... }
--   srv:stop()
--
-- Each request is written to the log (and the log flushed) before the server acts on it, so a
-- client that got its answer, or saw the connection die, can read a complete log at once.
-- Modes (what the server does with a request):
--   act_reset     reads (Describe*) get a 200 JSON answer and the connection stays open; any
--                 other action is "done" (logged) and its connection reset without a reply
--   big_header    a 200 whose head carries one 1 MB header line
--   many_headers  a 200 whose head has 1 MB of short header lines
--   long_status   a status line of 200 KB
--   http09        a body without status line or headers (HTTP/0.9), then close
--   garbage       bytes that are not HTTP at all, then close
--   status000     "HTTP/1.1 000": a status code no server may send
--   capture       answers by action (CAPTURE below: JSON pages, API errors, HTML, broken JSON, a
--                 truncated body, no answer at all) and keeps every request's exact bytes,
--                 which srv:raw() returns in order
-- The server stops on GET /__stop, or by itself after `lifetime` seconds (default 60).

local socket = require "socket"

local M = {}

local READ_BODY = '{"Response":{"TotalCount":0,"Certificates":[],"RequestId":"rawhttp-read"}}'

local function reply(status, body, extra)
  return ("HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n%s"):format(
    status, #body, extra or "", body)
end

-- mode -> function(action) returning what to do: "reply", text | "reset" | "close", text
local MODES = {
  act_reset = function(action)
    if action:find("^Describe") then return "reply", reply("200 OK", READ_BODY) end
    return "reset"
  end,
  big_header = function()
    return "close", reply("200 OK", READ_BODY, "X-Big: " .. string.rep("b", 1024 * 1024) .. "\r\n")
  end,
  many_headers = function()
    local line = "X-Many: " .. string.rep("m", 1000) .. "\r\n"
    return "close", reply("200 OK", READ_BODY, string.rep(line, 1024))
  end,
  long_status = function()
    return "close", reply("200 " .. string.rep("O", 200 * 1024), READ_BODY)
  end,
  http09 = function() return "close", READ_BODY end,
  garbage = function() return "close", "\1\2\3\4 this is not HTTP\r\n\r\n\255\254" end,
  status000 = function() return "close", reply("000 Nothing", READ_BODY) end,
  capture = function(action)
    local c = M.CAPTURE[action] or M.CAPTURE.Ok
    if c == "hang" then return "hang" end
    return c[3] and "close" or "reply", c[1]
  end,
}

-- capture mode's answers by action: { reply bytes, (unused), close after it }
local function json_reply(body, status, extra)
  return reply(status or "200 OK", body, extra)
end
local PAGE = '{"Response":{"TotalCount":2,"Certificates":[{"CertificateId":"cap1","Domain":"a.example",' ..
  '"SubjectAltName":[],"Tags":[{"TagKey":"k","TagValue":"v"}],"CertBeginTime":"2026-01-01 00:00:00",' ..
  '"IsWildcard":false,"Dummy":null},{"CertificateId":"cap2","Domain":"b.example"}],"RequestId":"cap-page"}}'
M.CAPTURE = {
  Ok = { json_reply('{"Response":{"Big":9007199254740993,"Small":-12,"F":1.5,"L":[],"N":null,' ..
    '"S":"caf\\u00e9 \\ud83d\\ude00","RequestId":"cap-ok"}}') },
  DescribeCertificates = { json_reply(PAGE) },
  ApiError = { json_reply('{"Response":{"Error":{"Code":"ResourceNotFound","Message":"no such thing"},' ..
    '"RequestId":"cap-err"}}') },
  Html500 = { ("HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/html\r\nContent-Length: 38\r\n\r\n" ..
    "<html><body>Bad gateway</body></html>\n") },
  Html200 = { ("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 27\r\n\r\n" ..
    "<html><body>hi</body></html") },
  Invalid = { json_reply('{"Response":{"A":1.,"RequestId":"x"}}') },
  Trailing = { json_reply('{"Response":{"RequestId":"x"}} x') },
  Scalar = { json_reply('42') },
  Null = { json_reply('null') },
  NoResponse = { json_reply('{"Other":{"RequestId":"x"}}') },
  ArrayResponse = { json_reply('{"Response":[1,2]}') },
  Status503 = { json_reply('{"Response":{"RequestId":"x"}}', "503 Service Unavailable") },
  Truncated = { "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n" ..
    '{"Response":{"Requ', nil, true },
  Expired = { json_reply('{"Response":{"Error":{"Code":"AuthFailure.SignatureExpire","Message":"expired"},' ..
    '"RequestId":"cap-exp"}}', nil, "Date: Tue, 14 Nov 2023 22:23:20 GMT\r\n") },
  Hang = "hang",
}

--- answer(mode, action) -> what the server does with a request ("reply", "reset" or "close")
-- and the bytes it sends, for feeding the same reply to another transport.
function M.answer(mode, action)
  return MODES[mode](action or "")
end

-------------------------------------------------------------------------------
-- The server process
-------------------------------------------------------------------------------

local function reset(sock)
  sock:setoption("linger", { on = true, timeout = 0 })
  sock:close()
end

-- One parsed request from the front of buf: head fields, the rest of buf | nil (incomplete).
local function take_request(buf)
  local head_end = buf:find("\r\n\r\n", 1, true)
  if not head_end then return nil end
  local head = buf:sub(1, head_end - 1)
  local length = tonumber(head:lower():match("\r\ncontent%-length:%s*(%d+)") or "0")
  local total = head_end + 3 + length
  if #buf < total then return nil end
  local target = head:match("^%u+ (%S+)") or "/"
  local action = ""
  for name, value in head:gmatch("\r\n([^:\r\n]+):[ \t]*([^\r\n]*)") do
    if name:lower() == "x-tc-action" then action = value:match("^%w*") end
  end
  if action == "" then -- signature v1: Action among the query's or the form body's parameters
    local params = "&" .. (target:match("%?(.*)$") or "") .. "&" .. buf:sub(head_end + 4, total)
    action = params:match("&Action=(%w*)") or ""
  end
  return { target = target, action = action, raw = buf:sub(1, total) }, buf:sub(total + 1)
end

local function serve(mode, log_path, lifetime)
  local decide = assert(MODES[mode], "unknown mode " .. tostring(mode))
  local log = assert(io.open(log_path, "w"))
  local raw_log = assert(io.open(log_path .. ".raw", "w"))
  local listener = assert(socket.bind("127.0.0.1", 0))
  listener:settimeout(0)
  local _, port = listener:getsockname()
  local stat = io.open("/proc/self/stat", "r")
  local pid = stat and stat:read("*l"):match("^(%d+)") or "0"
  if stat then stat:close() end
  io.stdout:write(("rawhttp listening %s pid=%s\n"):format(port, pid))
  io.stdout:flush()

  local conns, next_id = {}, 0
  local stop_at = socket.gettime() + lifetime
  local function drop(c, how)
    for i, x in ipairs(conns) do
      if x == c then table.remove(conns, i) break end
    end
    if how == "reset" then reset(c.sock) else c.sock:close() end
  end
  -- bounded in time (lifetime) and so in turns: select waits at most 0.2 s each
  while socket.gettime() < stop_at do
    local readers = { listener }
    for _, c in ipairs(conns) do readers[#readers + 1] = c.sock end
    local ready = socket.select(readers, nil, 0.2)
    for _, s in ipairs(ready) do
      if s == listener then
        local sock = listener:accept()
        if sock and #conns < 64 then
          sock:settimeout(0)
          next_id = next_id + 1
          conns[#conns + 1] = { sock = sock, buf = "", id = next_id }
        elseif sock then
          sock:close()
        end
      else
        local c
        for _, x in ipairs(conns) do if x.sock == s then c = x end end
        local data, err, partial = s:receive(65536)
        data = data or partial
        if data and data ~= "" then c.buf = c.buf .. data end
        if err == "closed" then
          drop(c)
        else
          while true do
            local req, rest = take_request(c.buf)
            if not req then break end
            c.buf = rest
            if req.target == "/__stop" then
              s:settimeout(2)
              s:send(reply("200 OK", "{}", "Connection: close\r\n"))
              log:close()
              raw_log:close()
              os.exit(0)
            end
            raw_log:write((req.raw:gsub(".", function(ch) return ("%02x"):format(ch:byte()) end)), "\n")
            raw_log:flush()
            log:write(c.id, " ", req.action, "\n")
            log:flush()
            local what, text = decide(req.action)
            if what == "hang" then break end -- no answer: the client's timeout ends it
            if what == "reset" then
              drop(c, "reset")
              break
            end
            s:settimeout(5)
            s:send(text) -- a client that stops reading makes this fail: that is expected
            s:settimeout(0)
            if what == "close" then
              drop(c)
              break
            end
          end
        end
      end
    end
  end
  log:close()
  raw_log:close()
end

if select(1, ...) == "serve" then
  local _, mode, log_path, lifetime = ...
  serve(mode, log_path, tonumber(lifetime) or 60)
  return
end

-------------------------------------------------------------------------------
-- The spec side
-------------------------------------------------------------------------------

local Server = {}
Server.__index = Server

--- start(mode [, { lifetime = seconds, lua = interpreter }]) -> server; raises if it does not start.
function M.start(mode, opts)
  opts = opts or {}
  assert(MODES[mode], "unknown mode " .. tostring(mode))
  local log_path = os.tmpname()
  local cmd = ("exec %s spec/support/rawhttp.lua serve %s %s %d 2>/dev/null"):format(
    opts.lua or os.getenv("TCSSL_LUA") or "lua5.4", mode, log_path, opts.lifetime or 60)
  local proc = assert(io.popen(cmd, "r"))
  local line = proc:read("*l") or ""
  local port, pid = line:match("^rawhttp listening (%d+) pid=(%d+)$")
  if not port then
    proc:close()
    os.remove(log_path)
    error("rawhttp did not start (got " .. line .. ")", 2)
  end
  return setmetatable({ proc = proc, port = tonumber(port), pid = tonumber(pid), log_path = log_path,
    host = "127.0.0.1:" .. port }, Server)
end

--- log() -> { { conn = n, action = name }, ... }: the requests read so far, in order.
function Server:log()
  local out = {}
  local f = io.open(self.log_path, "r")
  if not f then return out end
  for line in f:lines() do
    local conn, action = line:match("^(%d+) (%w*)$")
    if conn then out[#out + 1] = { conn = tonumber(conn), action = action } end
  end
  f:close()
  return out
end

--- raw() -> { bytes, ... }: every request the server read (head and body), in order.
function Server:raw()
  local out = {}
  local f = io.open(self.log_path .. ".raw", "r")
  if not f then return out end
  for line in f:lines() do
    out[#out + 1] = (line:gsub("%x%x", function(h) return string.char(tonumber(h, 16)) end))
  end
  f:close()
  return out
end

--- count(action) -> how many requests for action the server read.
function Server:count(action)
  local n = 0
  for _, r in ipairs(self:log()) do if r.action == action then n = n + 1 end end
  return n
end

function Server:stop()
  if self.stopped then return end
  self.stopped = true
  local c = socket.tcp()
  c:settimeout(2)
  local stopped = false
  if c:connect("127.0.0.1", self.port) then
    c:send("GET /__stop HTTP/1.1\r\nHost: x\r\n\r\n")
    stopped = c:receive("*l") ~= nil
  end
  c:close()
  if not stopped then os.execute("kill " .. self.pid .. " 2>/dev/null") end
  self.proc:close() -- waits for the process, which has ended (or ends at its lifetime)
  os.remove(self.log_path)
  os.remove(self.log_path .. ".raw")
end

return M

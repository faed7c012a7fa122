--- tcssl_emulator.http: one HTTP/1.1 connection of the emulator: reading requests within
-- bounds (head, header count, body, chunks), writing responses, and ending the connection in
-- order or with a TCP reset (a fault).
--
-- The server (tcssl_emulator.server) runs each connection in a coroutine. Every method that
-- does I/O runs inside it and yields "read", "write" or "sleep" to the server's loop when it
-- would block; the loop resumes it when the socket is ready, or with "request timeout" when
-- the request has taken longer in all than the server allows. The connection keeps the times
-- that bound that: `reading` while a request is being read, `request_started` from the accept
-- (the first request) or from the first byte of a later one, `request_bytes` once part of a
-- request has come.
local socket = require "socket"

local gettime = socket.gettime
local min = math.min
local concat = table.concat
local yield = coroutine.yield

local M = {
  MAX_HEAD_BYTES = 64 * 1024,
  MAX_HEADERS = 100,
  MAX_BODY_BYTES = 10 * 1024 * 1024,
}
local MAX_HEAD_BYTES, MAX_HEADERS, MAX_BODY_BYTES = M.MAX_HEAD_BYTES, M.MAX_HEADERS, M.MAX_BODY_BYTES
local MAX_DRAIN_BYTES = 4 * MAX_BODY_BYTES   -- oversized bodies up to this are read and dropped
local READ_CHUNK = 64 * 1024

-- os.date, not tcssl.dates, for the same reason as views.cst_time: the client parses this.
local function http_date(t)
  return os.date("!%a, %d %b %Y %H:%M:%S GMT", math.floor(t))
end

local REASONS = {
  [100] = "Continue", [200] = "OK", [400] = "Bad Request", [404] = "Not Found",
  [405] = "Method Not Allowed", [408] = "Request Timeout", [413] = "Payload Too Large",
  [431] = "Request Header Fields Too Large",
  [500] = "Internal Server Error", [501] = "Not Implemented", [502] = "Bad Gateway",
  [503] = "Service Unavailable", [504] = "Gateway Timeout",
}

--- reason(status) -> the reason phrase of an HTTP status ("Not Found").
function M.reason(status)
  return REASONS[status]
end

local Conn = {}
Conn.__index = Conn

-- Sockets whose descriptor abort() closed under lua-sec and could not park: kept, never
-- closed, so that their __gc does not close a descriptor given to someone else meanwhile.
local lingering = {}

--- new(sock, tls, clock) -> a connection on the accepted, non-blocking socket sock (wrapped
-- by lua-sec when tls is true); clock() gives the time of Date headers.
function M.new(sock, tls, clock)
  return setmetatable({ sock = sock, tls = tls, clock = clock, buf = "", eof = false, served = 0 }, Conn)
end

-- What to wait for after a non-blocking call failed with err; nil for a real error.
-- `direction` is what a plain "timeout" means: "read" for receives, "write" for sends.
local function would_block(err, direction)
  if err == "timeout" then return direction end
  if err == "wantread" then return "read" end
  if err == "wantwrite" then return "write" end
end

function Conn:handshake()
  for _ = 1, 1000 do
    local ok, err = self.sock:dohandshake()
    if ok then return true end
    local wait = would_block(err, "read")
    if not wait then return nil, err end
    yield(wait)
  end
  return nil, "handshake did not finish"
end

-- Waits for the socket; false when the server resumed the connection because its request
-- ran past request_timeout (tcssl_emulator.server, Server:step).
local function wait_for(wait)
  return yield(wait) ~= "request timeout"
end

-- Appends whatever is available to self.buf, waiting if nothing is.
function Conn:fill()
  while not self.eof do
    local data, err, partial = self.sock:receive(READ_CHUNK)
    local got = data or partial
    if got and got ~= "" then
      -- a later request on a kept-alive connection is timed from its first byte
      if self.reading then
        self.request_bytes = true
        self.request_started = self.request_started or gettime()
      end
      self.buf = self.buf .. got
      if err == "closed" then self.eof = true end
      return true
    end
    local wait = would_block(err, "read")
    if not wait then
      self.eof = true
      return nil, err
    end
    if not wait_for(wait) then return nil, "request timeout" end
  end
  return nil, "closed"
end

-- Reads exactly n bytes (or drops them when discard is set).
function Conn:read_exact(n, discard)
  local parts, have = {}, 0
  if self.buf ~= "" then
    local take = self.buf:sub(1, n)
    self.buf = self.buf:sub(n + 1)
    parts[1], have = take, #take
  end
  while have < n do
    local data, err, partial = self.sock:receive(min(n - have, READ_CHUNK))
    local got = data or partial
    if got and got ~= "" then
      have = have + #got
      if not discard then parts[#parts + 1] = got end
    end
    if not data then
      local wait = would_block(err, "read")
      if not wait then
        self.eof = true
        return nil, err
      end
      if (not got or got == "") and not wait_for(wait) then return nil, "request timeout" end
    end
  end
  return discard and "" or concat(parts)
end

function Conn:read_line(limit)
  for _ = 1, limit + 2 do -- each fill adds at least one byte
    local pos = self.buf:find("\n", 1, true)
    if pos then
      local line = self.buf:sub(1, pos - 1):gsub("\r$", "")
      self.buf = self.buf:sub(pos + 1)
      return line
    end
    if #self.buf > limit then return nil, "line too long" end
    local ok, err = self:fill()
    if not ok then return nil, err end
  end
  return nil, "line too long"
end

function Conn:send(data)
  local i, n = 1, #data
  while i <= n do
    local last, err, partial = self.sock:send(data, i)
    if last then
      i = last + 1
    else
      if partial and partial >= i then i = partial + 1 end
      local wait = would_block(err, "write")
      if not wait then return nil, err end
      yield(wait)
    end
  end
  return true
end

function Conn:head(status, headers)
  local ok, now = pcall(self.clock)
  local lines = {
    "HTTP/1.1 " .. status .. " " .. (REASONS[status] or "Status"),
    "Date: " .. http_date(ok and now or os.time()),
    "Server: tcssl-emulator",
  }
  for _, h in ipairs(headers) do lines[#lines + 1] = h[1] .. ": " .. h[2] end
  self.status = status
  return concat(lines, "\r\n") .. "\r\n\r\n"
end

function Conn:send_head(status, headers)
  return self:send(self:head(status, headers))
end

-- A complete response with Content-Length.
function Conn:respond(status, content_type, body, close)
  local headers = {
    { "Content-Type", content_type },
    { "Content-Length", tostring(#body) },
  }
  if close then
    headers[#headers + 1] = { "Connection", "close" }
  elseif self.http10 then
    headers[#headers + 1] = { "Connection", "keep-alive" }
  end
  return self:send(self:head(status, headers) .. body)
end

function Conn:close()
  if not self.closed then
    self.closed = true
    self.sock:close()
  end
end

-- Closes so that the peer sees a TCP reset, not an orderly end of stream.
function Conn:abort()
  if self.closed then return end
  self.closed = true
  if not self.tls then
    self.sock:setoption("linger", { on = true, timeout = 0 })
    self.sock:close()
    return
  end
  -- lua-sec offers no setoption, and its close() sends close_notify first. So: set SO_LINGER 0
  -- on the descriptor through a bare luasocket object and close it (the reset), then park a
  -- fresh socket on the freed number (the lowest free descriptor is reused) so that lua-sec's
  -- own close hits that placeholder instead of whatever the number is given to next.
  local fd = self.sock:getfd()
  local proxy = socket.tcp4()
  proxy:close()
  proxy:setfd(fd)
  proxy:setoption("linger", { on = true, timeout = 0 })
  proxy:close()
  local placeholder = socket.tcp4()
  if placeholder and placeholder:getfd() == fd then
    self.sock:close()
    placeholder:setfd(-1)
  else
    if placeholder then placeholder:close() end
    lingering[#lingering + 1] = self.sock -- never closed: its descriptor is already gone
  end
end

local function wants_close(req)
  local connection = (req.headers.connection or ""):lower()
  if connection:find("close", 1, true) then return true end
  if req.http10 then return not connection:find("keep-alive", 1, true) end
  return false
end

-- Reads one request. Returns req, or nil, message [, status to answer with].
-- The whole read is bounded by the server's request_timeout: the first request's from the
-- accept, a later one's from its first byte (Conn:fill); idle_timeout bounds each wait.
function Conn:read_request()
  self.reading, self.request_bytes = true, self.buf ~= ""
  if self.served > 0 then self.request_started = self.request_bytes and gettime() or nil end
  local head_end
  for _ = 1, MAX_HEAD_BYTES do
    self.buf = self.buf:gsub("^\r?\n", "") -- tolerate blank lines between requests
    local _, e = self.buf:find("\r?\n\r?\n")
    if e then
      head_end = e
      break
    end
    if #self.buf > MAX_HEAD_BYTES then return nil, "request head too large", 431 end
    local ok, err = self:fill()
    if not ok then return nil, err end
  end
  if not head_end then return nil, "request head too large", 431 end
  local head = self.buf:sub(1, head_end)
  self.buf = self.buf:sub(head_end + 1)
  if #head > MAX_HEAD_BYTES then return nil, "request head too large", 431 end

  local lines = {}
  for line in head:gmatch("([^\n]*)\n") do lines[#lines + 1] = line:gsub("\r$", "") end
  local method, target, major, minor = lines[1]:match("^(%u+) (%S+) HTTP/(%d)%.(%d)$")
  if not method then return nil, "malformed request line", 400 end
  local req = { method = method, target = target, headers = {}, http10 = major == "1" and minor == "0" }
  if #lines > MAX_HEADERS + 2 then return nil, "too many headers", 431 end
  for i = 2, #lines do
    local line = lines[i]
    if line ~= "" then
      local name, value = line:match("^([!#$%%&'*+%-.^_`|~%w]+):[ \t]*(.-)[ \t]*$")
      if not name then return nil, "malformed header line", 400 end
      name = name:lower()
      local previous = req.headers[name]
      req.headers[name] = previous and (previous .. ", " .. value) or value
    end
  end
  -- absolute-form, as an HTTP proxy forwards it: keep the path and query
  target = target:match("^https?://[^/?#]+(/.*)$") or target:match("^https?://[^/?#]+$") and "/" or target
  req.path, req.query = target:match("^([^?]*)%??(.*)$")
  if req.path:sub(1, 1) ~= "/" then return nil, "request target must be a path", 400 end
  if not req.headers.host and not req.http10 then return nil, "missing Host header", 400 end
  req.close = wants_close(req)
  return self:read_body(req)
end

function Conn:read_body(req)
  local te = req.headers["transfer-encoding"]
  local cl = req.headers["content-length"]
  if te and cl then return nil, "both Transfer-Encoding and Content-Length", 400 end
  if te then
    if te:lower() ~= "chunked" then return nil, "unsupported Transfer-Encoding", 501 end
    return self:read_chunked(req)
  end
  if not cl then
    req.body = ""
    return req
  end
  if not cl:match("^%d+$") or #cl > 15 then return nil, "malformed Content-Length", 400 end
  local length = tonumber(cl)
  if length > MAX_BODY_BYTES then
    req.too_large = true
    req.body = ""
    if length > MAX_DRAIN_BYTES then
      req.close = true
      return req
    end
    self:continue(req)
    local ok, err = self:read_exact(length, true)
    if not ok then return nil, err end
    return req
  end
  self:continue(req)
  local body, err = self:read_exact(length)
  if not body then return nil, err end
  req.body = body
  return req
end

function Conn:continue(req)
  local expect = req.headers.expect
  if expect and expect:lower() == "100-continue" and not req.http10 then
    self:send("HTTP/1.1 100 Continue\r\n\r\n")
  end
end

function Conn:read_chunked(req)
  self:continue(req)
  local parts, total = {}, 0
  for _ = 1, MAX_BODY_BYTES do
    local line, err = self:read_line(4096)
    if not line then return nil, err end
    local hex = line:match("^%s*(%x+)")
    -- eight hex digits already exceed the body cap; longer ones would wrap around
    local size = hex and #hex <= 8 and tonumber(hex, 16)
    if not size then return nil, "malformed chunk size", 400 end
    if size == 0 then
      for _ = 1, MAX_HEADERS do -- trailers, ignored
        local trailer, terr = self:read_line(4096)
        if not trailer then return nil, terr end
        if trailer == "" then break end
      end
      req.body = concat(parts)
      return req
    end
    total = total + size
    if total > MAX_BODY_BYTES then
      req.too_large, req.close, req.body = true, true, ""
      return req
    end
    local data, derr = self:read_exact(size)
    if not data then return nil, derr end
    parts[#parts + 1] = data
    local crlf = self:read_line(2)
    if crlf ~= "" then return nil, "malformed chunk", 400 end
  end
  return nil, "too many chunks", 400
end

function Conn:sleep(seconds)
  self.wake = gettime() + seconds
  yield("sleep")
end

return M

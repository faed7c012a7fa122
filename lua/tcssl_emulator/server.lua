--- tcssl_emulator.server: the emulator's server: one process, one select() loop, one
-- coroutine per connection (tcssl_emulator.http), every socket non-blocking. It accepts
-- connections within max_connections (a newcomer displaces the oldest connection that has
-- not sent a whole request), bounds each connection's idleness (idle_timeout) and each
-- request's arrival in all (request_timeout), and routes each request: the API (/ and the
-- legacy /v2/index.php, tcssl_emulator.api), the metadata service, download links, and the
-- control endpoints (tcssl_emulator.control). Armed faults (tcssl_emulator.faults) and the
-- counters of /__emulator/stats are the server's; what requests change is its store
-- (tcssl_emulator.store).
local socket = require "socket"
local json = require "tcssl.json"
local store_module = require "tcssl_emulator.store"
local http = require "tcssl_emulator.http"
local api = require "tcssl_emulator.api"
local faults = require "tcssl_emulator.faults"
local control = require "tcssl_emulator.control"
local cloud = require "tcssl_emulator.cloud"
local issuer = require "tcssl_emulator.issuer"

local gettime = socket.gettime
local max, min = math.max, math.min

local M = {}

M.DEFAULTS = {
  host = "127.0.0.1",
  port = 0,
  max_lifetime = 300,         -- seconds; the process exits by itself after this (0: never)
  idle_timeout = 30,          -- seconds a connection may wait for I/O
  request_timeout = 20,       -- seconds a request's head and body may take to arrive in all
  max_connections = 500,      -- stays well below select()'s FD_SETSIZE
}
local DEFAULTS = M.DEFAULTS

local MAX_REQUESTS_PER_CONNECTION = 100000
local MAX_ACCEPTS_PER_STEP = 64

local Server = {}
Server.__index = Server
M.Server = Server

--- new(opts) -> a server listening on opts.host:opts.port, or nil, message. opts: host,
-- port (0 picks a free one), tls = { cert = path, key = path }, max_lifetime, idle_timeout,
-- request_timeout, max_connections, log (a function receiving one line per request; never
-- given secrets), and what the store takes (keys, clock, owner_uin, metadata_role,
-- web_identity_token, settings: see tcssl_emulator.store).
function M.new(opts)
  opts = opts or {}
  local self = setmetatable({}, Server)
  self.host = opts.host or DEFAULTS.host
  self.store = store_module.new(opts)
  self.clock = function() return self.store:now() end
  self.log = opts.log
  self.max_lifetime = opts.max_lifetime or DEFAULTS.max_lifetime
  self.idle_timeout = opts.idle_timeout or DEFAULTS.idle_timeout
  self.request_timeout = opts.request_timeout or DEFAULTS.request_timeout
  self.max_connections = min(opts.max_connections or DEFAULTS.max_connections, (socket._SETSIZE or 1024) - 24)

  if opts.tls then
    local ssl = require "ssl"
    local ctx, err = ssl.newcontext{
      mode = "server", protocol = "any", certificate = opts.tls.cert, key = opts.tls.key,
    }
    if not ctx then return nil, "TLS setup failed: " .. tostring(err) end
    self.ssl, self.tls_context = ssl, ctx
  end

  local listener, err = socket.bind(self.host, opts.port or DEFAULTS.port, 128)
  if not listener then return nil, "cannot listen on " .. self.host .. ": " .. tostring(err) end
  listener:settimeout(0)
  self.listener = listener
  local _, port = listener:getsockname()
  self.port = tonumber(port)
  -- what the API needs to know of where it is served, and whom to tell of its own failures
  self.site = {
    scheme = self.tls_context and "https" or "http",
    address = self.host .. ":" .. self.port,
    note = function(message) self:note(message) end,
  }
  self.conns, self.conn_count, self.conn_seq = {}, 0, 0
  -- 0: no limit, for a long-running emulator a user starts by hand
  self.expires_at = self.max_lifetime > 0 and gettime() + self.max_lifetime or math.huge
  self:reset()
  return self
end

function Server:url()
  local host = self.host:find(":", 1, true) and ("[" .. self.host .. "]") or self.host
  return (self.tls_context and "https" or "http") .. "://" .. host .. ":" .. self.port
end

--- reset_faults(): forgets the armed faults, the clock fault's shift and the counters of stats.
function Server:reset_faults()
  self.epoch = (self.epoch or 0) + 1 -- connections accepted before a reset are not counted after it
  self.faults = {}
  self.store.clock_offset = 0
  -- evicted: connections closed to make room; request_timeouts: cut at request_timeout
  self.stats = { connections = 0, requests = 0, api_requests = 0, evicted = 0, request_timeouts = 0 }
end

--- reset_store(): forgets what requests made (tcssl_emulator.store: certificates, resources,
-- tasks and records, settings, temporary keys, nonces).
function Server:reset_store()
  self.store:reset()
end

--- reset(): both.
function Server:reset()
  self:reset_store()
  self:reset_faults()
end

function Server:handle_api(conn, req)
  self.stats.api_requests = self.stats.api_requests + 1
  local arrived = gettime()
  if req.method ~= "GET" and req.method ~= "POST" then req.close = true end -- e.g. HEAD: no framing
  local fault = faults.take(self.faults, req)
  if fault then
    local outcome = faults.play(self, conn, fault, req)
    if outcome ~= "normal" then return outcome ~= "close" end
  end
  local body, ctx = api.response(self.store, req, self.site)
  conn.action, conn.verdict = ctx.action, ctx.verdict
  control.note(self, arrived, req, ctx.action, ctx.region)
  conn:respond(200, "application/json", body, req.close)
  return not req.close
end

-- The metadata service: faults apply as to API requests; answers are plain, not envelopes.
function Server:handle_metadata(conn, req)
  self.stats.api_requests = self.stats.api_requests + 1
  control.note(self, gettime(), req, "metadata:" .. req.path)
  local fault = faults.take(self.faults)
  if fault then
    local outcome = faults.play(self, conn, fault, req)
    if outcome ~= "normal" then return outcome ~= "close" end
  end
  local status, ctype, body = cloud.metadata(self.store, req.path)
  conn:respond(status, ctype, body, req.close)
  return not req.close
end

-- The links DescribeDownloadCertificateUrl hands out (unsigned, like a presigned URL).
function Server:handle_download(conn, req)
  local ok, status, ctype, body = pcall(issuer.download, self.store, req.path)
  if not ok then
    self:note("download error: " .. tostring(status))
    status, ctype, body = 500, "text/plain", "Internal Server Error\n"
  end
  conn:respond(status, ctype, body, req.close)
  return not req.close
end

function Server:handle_control(conn, req)
  local ok, status, result, after = pcall(control.respond, self, req)
  if not ok then
    self:note("control error: " .. tostring(status))
    status, result = 500, { error = "internal error" }
  end
  local close = req.close or after == "shutdown"
  conn:respond(status, "application/json", json.encode(result), close)
  if after == "shutdown" then self.stopping = true end
  return not close
end

-- Handles one request; returns true to keep the connection open.
function Server:dispatch(conn, req)
  conn.http10 = req.http10
  conn.status, conn.action, conn.verdict = nil, nil, nil
  local started = gettime()
  local keep
  if req.path:sub(1, #control.PREFIX) == control.PREFIX then
    -- A connection opened for control calls does not count as one of the API clients'.
    if conn.served == 0 and conn.epoch == self.epoch then
      self.stats.connections = self.stats.connections - 1
    end
    keep = self:handle_control(conn, req)
  else
    self.stats.requests = self.stats.requests + 1
    if req.path == "/" or req.path == api.LEGACY_PATH then
      req.legacy = req.path == api.LEGACY_PATH
      keep = self:handle_api(conn, req)
    elseif req.path:sub(1, #cloud.METADATA_PREFIX) == cloud.METADATA_PREFIX then
      keep = self:handle_metadata(conn, req)
    elseif req.path:sub(1, #issuer.DOWNLOAD_PREFIX) == issuer.DOWNLOAD_PREFIX and req.method == "GET" then
      keep = self:handle_download(conn, req)
    else
      conn:respond(404, "text/plain; charset=utf-8", "Not Found\n", req.close)
      keep = not req.close
    end
  end
  conn.served = conn.served + 1
  if self.log then
    -- the path without its query (a v1 request's query holds its signature), the action, the
    -- verdict (ok or the error code; "-" where no API reply was made: a fault, a control call)
    -- a download link's path is its token: logged as the prefix only
    local path = req.path
    if path:sub(1, #issuer.DOWNLOAD_PREFIX) == issuer.DOWNLOAD_PREFIX then path = issuer.DOWNLOAD_PREFIX .. "..." end
    self.log(string.format("%s %s action=%s verdict=%s status=%s %.1fms", req.method, path,
      conn.action or "-", conn.verdict or "-", tostring(conn.status or "reset"), (gettime() - started) * 1000))
  end
  return keep
end

function Server:note(message)
  if self.log then self.log(message) end
end

-- The body of a connection's coroutine.
function Server:serve(conn)
  if conn.tls then
    local ok = conn:handshake()
    if not ok then return end
  end
  for _ = 1, MAX_REQUESTS_PER_CONNECTION do
    local req, err, status = conn:read_request()
    conn.reading, conn.request_started = false, nil
    if not req and conn.timed_out then
      -- too slow in all: answered when part of a request had come, else just closed
      if not conn.request_bytes then return end
      status, err = 408, "the request did not arrive within " .. self.request_timeout .. " s"
    end
    if not req then
      if status then
        conn:respond(status, "text/plain; charset=utf-8", (http.reason(status) or "Error") .. ": " .. err .. "\n", true)
      end
      return
    end
    if not self:dispatch(conn, req) or self.stopping then return end
  end
end

-- Whether a connection may be closed to make room for a new one: it has not sent a whole
-- request yet and waits for more of it (nothing of its is being answered).
local function evictable(conn)
  return conn.served == 0 and conn.reading and conn.wait == "read"
end

-- The connection a newcomer displaces when every slot is taken: the oldest evictable one.
function Server:eviction_victim()
  local victim
  for conn in pairs(self.conns) do
    if evictable(conn) and (not victim or conn.seq < victim.seq) then victim = conn end
  end
  return victim
end

-- Accepts what is waiting. When every slot is taken, each newcomer takes the place of the
-- oldest connection that has not sent a whole request, so slow or silent clients cannot
-- keep others out; with none such, newcomers wait in the listen queue.
function Server:accept()
  for _ = 1, MAX_ACCEPTS_PER_STEP do
    local victim
    if self.conn_count >= self.max_connections then
      victim = self:eviction_victim()
      if not victim then return end
    end
    local client = self.listener:accept()
    if not client then return end
    if victim then
      self.stats.evicted = self.stats.evicted + 1
      self:drop(victim)
    end
    client:settimeout(0)
    client:setoption("tcp-nodelay", true)
    local sock = client
    if self.tls_context then
      sock = self.ssl.wrap(client, self.tls_context)
      if sock then sock:settimeout(0) end
    end
    if not sock then
      client:close()
    else
      local conn = http.new(sock, self.tls_context ~= nil, self.clock)
      conn.epoch = self.epoch
      self.conn_seq = self.conn_seq + 1
      conn.seq = self.conn_seq
      -- the first request (and a TLS handshake before it) is timed from the accept
      conn.reading, conn.request_started = true, gettime()
      self.stats.connections = self.stats.connections + 1
      conn.co = coroutine.create(function() return self:serve(conn) end)
      self.conns[conn] = true
      self.conn_count = self.conn_count + 1
      self:resume(conn)
    end
  end
end

function Server:drop(conn)
  if self.conns[conn] then
    self.conns[conn] = nil
    self.conn_count = self.conn_count - 1
  end
  conn:close()
end

-- signal is what the connection's pending yield returns ("request timeout" or nothing).
function Server:resume(conn, signal)
  local ok, wait = coroutine.resume(conn.co, signal)
  if not ok then
    self:note("connection error: " .. tostring(wait))
    self:drop(conn)
  elseif coroutine.status(conn.co) == "dead" then
    self:drop(conn)
  else
    conn.wait = wait
    if wait ~= "sleep" then
      -- idleness restarts at every byte; the request's whole read does not
      local deadline = gettime() + self.idle_timeout
      if conn.request_started then deadline = min(deadline, conn.request_started + self.request_timeout) end
      conn.deadline = deadline
    end
  end
end

-- A connection past its deadline: one whose request took too long in all is resumed once
-- to answer 408 and close; any other (idle, or already told) is closed.
function Server:expire(conn, now)
  if conn.request_started and not conn.timed_out and now >= conn.request_started + self.request_timeout then
    conn.timed_out = true
    self.stats.request_timeouts = self.stats.request_timeouts + 1
    self:resume(conn, "request timeout")
  else
    self:drop(conn)
  end
end

--- Runs one iteration of the loop, waiting at most `timeout` seconds (default 1) for I/O.
-- Returns false once the server has stopped (shutdown request or max_lifetime).
function Server:step(timeout)
  if self.closed then return false end
  local now = gettime()
  if now >= self.expires_at then
    self.expired = true -- the command line says so on stderr
    self:note("max lifetime reached")
    self:close()
    return false
  end
  local wait = min(timeout or 1, self.expires_at - now)
  local recvt, sendt, ready = {}, {}, {}
  local room = self.conn_count < self.max_connections
  for conn in pairs(self.conns) do
    room = room or evictable(conn)
    if conn.wait == "read" then
      -- lua-sec may hold decrypted bytes that select() cannot see
      if conn.sock.dirty and conn.sock:dirty() then
        ready[conn] = true
        wait = 0
      else
        recvt[#recvt + 1] = conn.sock
      end
      wait = min(wait, conn.deadline - now)
    elseif conn.wait == "write" then
      sendt[#sendt + 1] = conn.sock
      wait = min(wait, conn.deadline - now)
    elseif conn.wait == "sleep" then
      wait = min(wait, conn.wake - now)
    end
  end

  if room then recvt[#recvt + 1] = self.listener end
  local readable, writable = socket.select(recvt, sendt, max(wait, 0))
  readable, writable = readable or {}, writable or {}
  if readable[self.listener] then self:accept() end

  now = gettime()
  local due, expired = {}, {}
  for conn in pairs(self.conns) do
    local kind = conn.wait
    if ready[conn] or readable[conn.sock] or writable[conn.sock] then
      due[#due + 1] = conn
    elseif kind == "sleep" then
      if now >= conn.wake then due[#due + 1] = conn end
    elseif now >= conn.deadline then
      expired[#expired + 1] = conn
    end
  end
  for _, conn in ipairs(due) do
    if self.conns[conn] then self:resume(conn) end
  end
  for _, conn in ipairs(expired) do
    if self.conns[conn] then self:expire(conn, now) end
  end

  if self.stopping then
    self:close()
    return false
  end
  return true
end

--- Serves until shutdown or max_lifetime.
function Server:run()
  while self:step(1) do end
end

function Server:close()
  if self.closed then return end
  self.closed = true
  for conn in pairs(self.conns) do conn:close() end
  self.conns, self.conn_count = {}, 0
  self.listener:close()
end

return M

-- The OpenResty transport: HTTP/1.1 over ngx.socket.tcp cosockets, so that a call waits
-- without blocking the nginx worker. Same contract as tcssl.transport.curl:
--
--   transport:request(method, url, headers, body, { timeout, connect_timeout, fresh })
--     -> status, headers (lowercase names), body | nil, { kind, code, message, sent }
-- (`fresh`, the client's "never send this twice", needs nothing here: this transport never
-- resends a request; see Transport:exchange.)
--
-- What it does, and what it leaves to nginx.conf:
--   * one cosocket per request, taken from and given back to nginx's keep-alive pool for
--     host:port (the pool name also says plain or TLS, the server name and whether the
--     certificate was verified, so that a verified request never reuses an unverified one);
--   * TLS with certificate verification and SNI (`sslhandshake`). The trust anchors are
--     nginx's `lua_ssl_trusted_certificate`: cosockets cannot load a CA file per request, so
--     the client's `ca_file` / `ca_path` are not read here. `insecure = true` turns
--     verification off. nginx checks the certificate's DNS names only, so an HTTPS endpoint
--     must be a host name (which needs nginx's `resolver` directive);
--   * `timeout` is for the whole exchange (connect, handshake, send, every read), as with
--     libcurl; `connect_timeout` bounds the connection;
--   * bodies by Content-Length, chunked or until the server closes, capped at
--     `max_response_size` (50 MB by default);
--   * no proxies: a `proxy` setting gives a config error rather than a direct connection;
--   * a connection nginx refuses to keep alive (the server closed it, or sent bytes beyond
--     the response) is closed and logged at warn level through ngx.log (tcssl.log).
--
-- The phase is checked at each request, not when the transport is made: a client created at
-- module level or in init_by_lua works later in a content handler, and a call from a phase
-- without cosockets (init, init_worker, set, log, header/body filters, balancer,
-- ssl_session_store, exit_worker) returns a `config` error NoCosockets at once instead of
-- blocking the worker.
local core = require "tcssl.core"
local errors = require "tcssl.error"
local log = require "tcssl.log"
local runtime = require "tcssl.runtime"

local find, sub, lower, format = string.find, string.sub, string.lower, string.format
local concat, floor, min = table.concat, math.floor, math.min

local M = { name = "ngx" }

M.DEFAULTS = {
  max_response_size = 52428800,
  keepalive_timeout = 30,     -- seconds an idle connection stays in the pool
  keepalive_pool = 16,        -- idle connections kept per pool (per worker)
}

local READ_SIZE = 65536       -- largest single read
local MAX_LINE = 8192         -- status line, header line, chunk-size line
local MAX_HEAD = 65536        -- all response header lines together
local MAX_HEADER_LINES = 200
local MAX_INTERIM = 8         -- 1xx responses skipped before the final one
local MAX_TRAILER_LINES = 64

local Transport = { name = "ngx" }
Transport.__index = Transport

--- new{ proxy, insecure, max_response_size, user_agent, keepalive_timeout, keepalive_pool }
-- (ca_file and ca_path are accepted and ignored: see lua_ssl_trusted_certificate above).
-- Bad pool settings are refused here: nginx would raise inside connect or setkeepalive.
local POOL_CHECKS = {
  keepalive_timeout = { "a number of seconds from 0.001 to 86400", function(v) return v >= 0.001 and v <= 86400 end },
  keepalive_pool = { "a whole number from 1 to 10000", function(v) return v % 1 == 0 and v >= 1 and v <= 10000 end },
}
function M.new(opts)
  opts = opts or {}
  for field, check in pairs(POOL_CHECKS) do
    local v = opts[field]
    if v ~= nil and (type(v) ~= "number" or not check[2](v)) then
      return nil, errors.new("config", "InvalidConfig", ("%s: must be %s"):format(field, check[1]),
        { field = field })
    end
  end
  return setmetatable({
    proxy = opts.proxy,
    verify = not opts.insecure,
    max_response_size = opts.max_response_size or M.DEFAULTS.max_response_size,
    user_agent = opts.user_agent or ("tcssl/" .. core.version),
    keepalive_timeout = opts.keepalive_timeout or M.DEFAULTS.keepalive_timeout,
    keepalive_pool = opts.keepalive_pool or M.DEFAULTS.keepalive_pool,
    counters = { connects = 0, reused = 0, requests = 0 },
  }, Transport)
end

local function failure(kind, code, message, sent)
  return nil, { kind = kind, code = code, message = message, sent = sent }
end

-------------------------------------------------------------------------------
-- Request text
-------------------------------------------------------------------------------

local TOKEN = "^[%w!#$%%&'*+%-.^_`|~]+$"

--- parse_url(url) -> { scheme, host, port, authority, target } | nil
-- host is what cosockets connect to (an IPv6 literal keeps its brackets) and what TLS names.
function M.parse_url(url)
  if type(url) ~= "string" then return nil end
  local scheme, authority, target = url:match("^(https?)://([^/?#]*)([^#]*)")
  if not scheme or find(target, "[%s%c]") then return nil end
  local host, port = authority:match("^(%[[%x:.]+%]):?(%d*)$")
  if not host then host, port = authority:match("^([%w%-%.]+):?(%d*)$") end
  if not host then return nil end
  port = tonumber(port) or (scheme == "https" and 443 or 80)
  if port < 1 or port > 65535 then return nil end
  if target == "" then
    target = "/"
  elseif sub(target, 1, 1) == "?" then
    target = "/" .. target
  end
  return { scheme = scheme, host = host, port = port, authority = authority, target = target }
end

-- Headers the transport writes itself; the caller's are dropped.
local OWN = { ["content-length"] = true, ["transfer-encoding"] = true, connection = true }

-- The request head and body as a table of strings for one send, or nil and a message.
local function request_text(self, method, u, headers, body)
  local names, given = {}, {}
  for name, value in pairs(headers or {}) do
    if type(name) ~= "string" or not find(name, TOKEN) then
      return nil, "header name " .. format("%q", tostring(name)) .. " is not a token"
    end
    value = tostring(value)
    if find(value, "[\r\n%z]") then return nil, "header " .. name .. " has a line break in its value" end
    local key = lower(name)
    if not OWN[key] then
      names[#names + 1] = name
      given[key] = true
    end
  end
  table.sort(names)
  local lines = { method .. " " .. u.target .. " HTTP/1.1" }
  if not given.host then lines[#lines + 1] = "Host: " .. u.authority end
  if not given["user-agent"] then lines[#lines + 1] = "User-Agent: " .. self.user_agent end
  for _, name in ipairs(names) do lines[#lines + 1] = name .. ": " .. tostring(headers[name]) end
  if body or method == "POST" or method == "PUT" then
    lines[#lines + 1] = "Content-Length: " .. #(body or "")
  end
  lines[#lines + 1] = "\r\n"
  return { concat(lines, "\r\n"), body or "" }
end

-------------------------------------------------------------------------------
-- Reading: a small buffer over receiveany, every wait bounded by the request's deadline
-------------------------------------------------------------------------------

local Reader = {}
Reader.__index = Reader

local function new_reader(sock, deadline)
  return setmetatable({ sock = sock, buf = "", got = 0, deadline = deadline }, Reader)
end

-- Reads what has arrived (up to `want` bytes) into the buffer: true | nil, err.
function Reader:fill(want)
  local left = self.deadline - runtime.now()
  if left <= 0 then return nil, "timeout" end
  self.sock:settimeout(floor(left * 1000) + 1)
  local data, err = self.sock:receiveany(want or READ_SIZE)
  if not data then return nil, err end
  self.buf = self.buf .. data
  self.got = self.got + #data
  return true
end

-- One line without its line end (CRLF or LF): line | nil, err.
function Reader:line()
  local from = 1
  for _ = 1, MAX_LINE + 2 do -- each turn adds at least one byte
    local lf = find(self.buf, "\n", from, true)
    if lf then
      local line = sub(self.buf, 1, lf - 1)
      self.buf = sub(self.buf, lf + 1)
      if sub(line, -1) == "\r" then line = sub(line, 1, -2) end
      if #line > MAX_LINE then return nil, "line too long" end
      return line
    end
    if #self.buf > MAX_LINE then return nil, "line too long" end
    from = #self.buf + 1
    local ok, err = self:fill()
    if not ok then return nil, err end
  end
  return nil, "line too long"
end

-- Exactly n bytes, appended to the list `into`: true | nil, err.
function Reader:exact(n, into)
  local have = #self.buf
  if have >= n then
    into[#into + 1] = sub(self.buf, 1, n)
    self.buf = sub(self.buf, n + 1)
    return true
  end
  into[#into + 1] = self.buf
  self.buf = ""
  local need = n - have
  while need > 0 do -- each turn reads at least one byte, and the deadline ends waiting
    local ok, err = self:fill(min(need, READ_SIZE))
    if not ok then return nil, err end
    into[#into + 1] = self.buf
    need = need - #self.buf
    self.buf = ""
  end
  return true
end

-- Everything until the server closes, at most `cap` bytes: total | nil, err.
function Reader:rest(into, cap)
  local total = #self.buf
  into[#into + 1] = self.buf
  self.buf = ""
  while total <= cap do -- each turn reads at least one byte, and the deadline ends waiting
    local ok, err = self:fill()
    if not ok then
      if err == "closed" then return total end
      return nil, err
    end
    total = total + #self.buf
    into[#into + 1] = self.buf
    self.buf = ""
  end
  return nil, "too large"
end

-------------------------------------------------------------------------------
-- Responses
-------------------------------------------------------------------------------

-- A failure while reading, by what had arrived: nothing, part of the head, part of the body.
local function read_failure(err, stage, rd)
  if err == "timeout" then return failure("timeout", "Timeout", "timed out waiting for the response", true) end
  if err == "too large" then
    return failure("protocol", "ResponseTooLarge", "the response body exceeds max_response_size", true)
  end
  if err == "line too long" then
    -- in the head as with libcurl (HeaderTooLarge); a chunk-size line is a broken body
    return failure("protocol", stage == "head" and "HeaderTooLarge" or "MalformedResponse",
      "a response line is longer than " .. MAX_LINE .. " bytes", true)
  end
  if err == "closed" then
    if rd.got == 0 then
      return failure("network", "EmptyReply", "the server closed the connection without answering", true)
    end
    if stage == "body" then
      return failure("protocol", "TruncatedBody", "the connection closed before the whole body arrived", true)
    end
    return failure("network", "RecvFailed", "the connection closed in the response head", true)
  end
  return failure("network", "RecvFailed", "receiving the response failed: " .. tostring(err), true)
end

local function malformed(message)
  return failure("protocol", "MalformedResponse", message, true)
end

-- Whether bytes that begin a reply cannot begin a status line (HTTP/0.9, not HTTP at all).
local function not_http(buf)
  local n = min(#buf, 5)
  return n > 0 and sub(buf, 1, n) ~= sub("HTTP/", 1, n)
end

-- Status line and header lines: status, headers, keep_alive | nil, err
local function read_head(rd)
  for _ = 1, MAX_INTERIM + 1 do
    local line, err = rd:line()
    if not line then
      -- as libcurl does: a reply that cannot be HTTP is malformed, whenever it stops
      if not_http(rd.buf) then return malformed("not an HTTP/1.x response: " .. sub(rd.buf, 1, 80)) end
      return read_failure(err, "head", rd)
    end
    local minor, status = line:match("^HTTP/1%.([01]) (%d%d%d)")
    if not status then return malformed("not an HTTP/1.x status line: " .. sub(line, 1, 80)) end
    status = tonumber(status)
    if status < 100 then return malformed("not an HTTP status code: " .. status) end
    local headers, last, size = {}, nil, #line
    for n = 1, MAX_HEADER_LINES + 1 do
      line, err = rd:line()
      if not line then return read_failure(err, "head", rd) end
      if line == "" then break end
      size = size + #line
      if n > MAX_HEADER_LINES or size > MAX_HEAD then
        return failure("protocol", "HeaderTooLarge", "the response head is too large", true)
      end
      local c = sub(line, 1, 1)
      if (c == " " or c == "\t") and last then       -- an obsolete folded continuation
        headers[last] = headers[last] .. " " .. line:match("^%s*(.-)%s*$")
      else
        local name, value = line:match("^([^:%s]+):%s*(.-)%s*$")
        if not name then return malformed("a response header line without a name: " .. sub(line, 1, 80)) end
        name = lower(name)
        headers[name] = headers[name] and (headers[name] .. ", " .. value) or value
        last = name
      end
    end
    if status >= 200 or status == 101 then
      local connection = lower(headers.connection or "")
      local keep_alive
      if minor == "1" then
        keep_alive = not find(connection, "close", 1, true)
      else
        keep_alive = find(connection, "keep-alive", 1, true) ~= nil
      end
      return status, headers, keep_alive
    end
    -- 1xx: another head follows
  end
  return malformed("too many interim (1xx) responses")
end

-- A chunked body: body | nil, err
local function read_chunked(rd, cap)
  local parts, total = {}, 0
  while true do -- each turn reads a chunk of at least one byte, or ends; bounded by cap and deadline
    local line, err = rd:line()
    if not line then return read_failure(err, "body", rd) end
    local hex = line:match("^(%x+)[ \t]*$") or line:match("^(%x+)[ \t]*;")
    if not hex or #hex > 8 then return malformed("bad chunk size line: " .. sub(line, 1, 40)) end
    local size = tonumber(hex, 16)
    if size == 0 then break end
    total = total + size
    if total > cap then return read_failure("too large", "body", rd) end
    local ok
    ok, err = rd:exact(size, parts)
    if not ok then return read_failure(err, "body", rd) end
    line, err = rd:line()
    if not line then return read_failure(err, "body", rd) end
    if line ~= "" then return malformed("chunk data longer than its size") end
  end
  for _ = 1, MAX_TRAILER_LINES do
    local line, err = rd:line()
    if not line then return read_failure(err, "body", rd) end
    if line == "" then return concat(parts) end
  end
  return malformed("too many trailer lines")
end

-- The body by its framing (RFC 9112 section 6.3): body, reusable | nil, err
local function read_body(rd, method, status, headers, cap)
  if method == "HEAD" or status == 204 or status == 304 or status < 200 then return "", true end
  local te = headers["transfer-encoding"]
  if te then
    if lower(te):find("chunked%s*$") then
      local body, err = read_chunked(rd, cap)
      if not body then return nil, err end
      return body, true
    end
  elseif headers["content-length"] then
    local cl = headers["content-length"]
    local first = cl:match("^(%d+)")
    -- repeated headers arrive joined ("10, 10"): every copy must agree
    for v in cl:gmatch("[^,]+") do
      if v:match("^%s*(.-)%s*$") ~= first then return malformed("bad Content-Length: " .. sub(cl, 1, 40)) end
    end
    if not first then return malformed("bad Content-Length: " .. sub(cl, 1, 40)) end
    local n = #first <= 15 and tonumber(first) or math.huge
    if n > cap then return read_failure("too large", "body", rd) end
    local parts = {}
    local ok, err = rd:exact(n, parts)
    if not ok then return read_failure(err, "body", rd) end
    return concat(parts), true
  end
  local parts = {}
  local total, err = rd:rest(parts, cap)
  if not total then return read_failure(err, "body", rd) end
  return concat(parts), false
end

-------------------------------------------------------------------------------
-- One exchange
-------------------------------------------------------------------------------

local function connect_failure(err)
  err = tostring(err)
  if err == "timeout" then return failure("timeout", "Timeout", "timed out connecting", false) end
  if find(err, "resolve", 1, true) then
    return failure("network", "ResolveFailed", err .. " (nginx resolves host names with its `resolver` directive)",
      false)
  end
  return failure("network", "ConnectFailed", "cannot connect: " .. err, false)
end

local function tls_failure(err, host)
  err = tostring(err)
  if err == "timeout" then return failure("timeout", "Timeout", "timed out in the TLS handshake", false) end
  if find(err, "^%d+: ") then
    return failure("tls", "TLSVerifyFailed", "certificate verification failed: " .. err
      .. " (trust anchors come from lua_ssl_trusted_certificate in nginx.conf)", false)
  end
  if find(err, "host mismatch", 1, true) then
    local hint = ""
    if find(host, "^[%d.]+$") or find(host, ":", 1, true) then
      hint = " (nginx matches the certificate's DNS names only: use a host name as the endpoint)"
    end
    return failure("tls", "TLSVerifyFailed", "the certificate does not name " .. host .. hint, false)
  end
  return failure("tls", "TLSHandshakeFailed", "TLS handshake failed: " .. err, false)
end

-- The keep-alive pool: connections are shared only between requests that would make the same
-- connection (address, TLS or not, server name, verification).
function Transport:pool_name(u)
  if u.scheme == "https" then
    return format("tcssl:%s:%d:tls:%s", u.host, u.port, self.verify and "verify" or "noverify")
  end
  return format("tcssl:%s:%d:plain", u.host, u.port)
end

-- Connects (or takes a pooled connection) and shakes hands: sock | nil, err
function Transport:connect(u, deadline, connect_timeout)
  local ngx = rawget(_G, "ngx")
  local sock, serr = ngx.socket.tcp()
  if not sock then return failure("network", "ConnectFailed", "cannot make a cosocket: " .. tostring(serr), false) end
  local left = deadline - runtime.now()
  local ms = floor(min(connect_timeout or left, left) * 1000)
  if ms < 1 then return failure("timeout", "Timeout", "no time left to connect", false) end
  sock:settimeouts(ms, ms, ms)
  local ok, err = sock:connect(u.host, u.port, { pool = self:pool_name(u), pool_size = self.keepalive_pool })
  if not ok then return connect_failure(err) end
  if (sock:getreusedtimes() or 0) > 0 then
    self.counters.reused = self.counters.reused + 1
  else
    self.counters.connects = self.counters.connects + 1
    if u.scheme == "https" then
      left = deadline - runtime.now()
      if left <= 0 then
        sock:close()
        return failure("timeout", "Timeout", "no time left for the TLS handshake", false)
      end
      sock:settimeout(floor(left * 1000) + 1)
      local host = u.host:match("^%[(.*)%]$") or u.host
      local session
      session, err = sock:sslhandshake(false, host, self.verify)
      if not session then
        sock:close()
        return tls_failure(err, host)
      end
      -- lua-nginx-module 0.10.23 sometimes answers true for a handshake that completed
      -- asynchronously and failed verification. It has closed the connection, so nothing
      -- could be sent; without this check the failure would show as SendFailed, "maybe applied".
      if not sock:getreusedtimes() then
        return failure("tls", self.verify and "TLSVerifyFailed" or "TLSHandshakeFailed",
          "the TLS handshake failed and nginx closed the connection (its error log says why; a certificate "
          .. "must verify against lua_ssl_trusted_certificate in nginx.conf)", false)
      end
    end
  end
  return sock
end

-- Send and receive on one connection: status, headers, body | nil, err.
-- A kept-alive connection the server closed while idle is not tried again on a new one: the
-- server may have read the request before closing, and tcssl never sends a change twice
-- (the client retries what is safe). nginx drops pooled connections the server closes, so
-- this takes a close at the very moment of reuse.
function Transport:exchange(sock, method, text, deadline, u)
  local left = deadline - runtime.now()
  if left <= 0 then return failure("timeout", "Timeout", "no time left to send", false) end
  sock:settimeout(floor(left * 1000) + 1)
  local bytes, err = sock:send(text)
  if not bytes then
    if err == "timeout" then return failure("timeout", "Timeout", "timed out sending the request", true) end
    return failure("network", "SendFailed", "sending the request failed: " .. tostring(err), true)
  end
  local rd = new_reader(sock, deadline)
  local status, headers, keep_alive = read_head(rd)
  if not status then return nil, headers end
  local body, reusable = read_body(rd, method, status, headers, self.max_response_size)
  if not body then return nil, reusable end
  if keep_alive and reusable and rd.buf == "" then
    local ok, kerr = sock:setkeepalive(floor(self.keepalive_timeout * 1000), self.keepalive_pool)
    if not ok then
      -- the response is complete and stands; only the connection is lost for reuse
      log.warn(("cannot keep the connection to %s:%d alive for reuse (%s); closed it")
        :format(u.host, u.port, tostring(kerr)))
      sock:close()
    end
  else
    sock:close()
  end
  return status, headers, body
end

--- request(method, url, headers, body, opts) -> status, headers, body | nil, err
function Transport:request(method, url, headers, body, opts)
  local phase = runtime.ngx_phase()
  if not phase then
    return failure("config", "NoCosockets",
      "the ngx transport needs OpenResty (ngx.socket.tcp); outside nginx use the curl transport", false)
  end
  if not runtime.cosockets() then
    return failure("config", "NoCosockets", ("cosockets are not available in the OpenResty %s phase: call "
      .. "from server_rewrite, rewrite, access or content handlers, or from a timer (ngx.timer.at)"):format(phase),
      false)
  end
  if self.proxy then
    return failure("config", "ProxyUnsupported",
      "proxies are not supported over OpenResty cosockets: unset proxy, or use the curl transport", false)
  end
  if type(method) ~= "string" or not find(method, TOKEN) then
    return failure("protocol", "BadHeader", "the method is not an HTTP token", false)
  end
  local u = M.parse_url(url)
  if not u then return failure("protocol", "BadURL", "not an http(s) URL tcssl can call: " .. tostring(url), false) end
  local text, why = request_text(self, method, u, headers, body)
  if not text then return failure("protocol", "BadHeader", why, false) end
  opts = opts or {}
  local deadline = runtime.now() + (opts.timeout or 60)
  self.counters.requests = self.counters.requests + 1
  local sock, err = self:connect(u, deadline, opts.connect_timeout)
  if not sock then return nil, err end
  local status, rheaders, rbody = self:exchange(sock, method, text, deadline, u)
  if not status then sock:close() end
  return status, rheaders, rbody
end

function Transport:stats()
  local c = self.counters
  return { connects = c.connects, reused = c.reused, requests = c.requests }
end

-- Connections live in nginx's pool, not in the transport: nothing to release here.
function Transport.close() end

return M

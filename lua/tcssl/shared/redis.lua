-- tcssl.shared.redis: a tcssl.shared cache kept in Redis, so that the hosts of a fleet share
-- the rate limits and the temporary credentials of one account.
--
--   local redis = require "tcssl.shared.redis"
--   local cache = assert(redis.new{ url = "redis://127.0.0.1:6379/0", prefix = "tcssl:", timeout = 0.2,
--     encryption_key = os.getenv("TCSSL_SHARED_KEY") })
--   local client = tcssl.new{ shared_dict = cache, ... }
--
-- url: redis://[user[:password]@]host[:port][/db], or rediss:// for TLS. Options: prefix (what
-- the keys start with, default "tcssl:"), timeout (seconds for each Redis operation, default
-- 0.2), username, password, db, encryption_key (the temporary credentials are cached only
-- when it is given, encrypted with AES-256-GCM under its SHA-256), ca_file, insecure (TLS
-- without verification, named), server_name, cooldown (seconds Redis is left alone after it
-- failed, default 2), pool_size (OpenResty), on_warning (function(message); default
-- tcssl.log.warn, which is ngx.log at warn level inside nginx).
--
-- Inside OpenResty phases that allow cosockets it talks through lua-resty-redis (Debian's
-- lua-nginx-redis installs it as nginx.redis; resty.redis is looked for too) and its connection
-- pool; elsewhere through redis-lua (Debian's lua-redis), which is packaged for Lua 5.1-5.3
-- and is loaded from /usr/share/lua/5.3 under Lua 5.4 (lua_redis below).
--
-- Besides get, set, delete and incr it has add (set only when absent: the credential refresh
-- lock) and take (one rate-window check-and-count, in one server-side script). Every operation
-- returns nil and a message when Redis fails, is slow past the timeout, or refuses; for
-- `cooldown` seconds after that the operations fail at once, without trying Redis, and one
-- warning says so. No message carries the password or a cached secret.
local core = require "tcssl.core"
local runtime = require "tcssl.runtime"
local errors = require "tcssl.error"

local M = {}

M.DEFAULT_TIMEOUT = 0.2
M.DEFAULT_COOLDOWN = 2
-- Where Debian's lua-redis keeps its module for Lua 5.3, which also runs under 5.4.
M.LUA_REDIS_PATH = "/usr/share/lua/5.3/?.lua"

-- The rate window: the counter of this second (KEYS[1]) and of the one before (KEYS[2]).
-- ARGV: the rate (whole calls per second), how far into this second the caller's clock is
-- (0 <= f < 1). A call passes when this second's count, itself, and the share of the previous
-- second that still lies within the last second stay within the rate; then it is counted.
-- Otherwise the answer is how long to wait. Check and count are one step: no two hosts pass
-- on the same free place.
local TAKE = [[
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
local p = tonumber(redis.call('GET', KEYS[2]) or '0')
local rate, f = tonumber(ARGV[1]), tonumber(ARGV[2])
local load = n + 1 + p * (1 - f)
if load <= rate + 1e-9 then
  redis.call('INCR', KEYS[1])
  redis.call('PEXPIRE', KEYS[1], 3000)
  return {1, '0'}
end
local wait
if n + 1 > rate then wait = 1 - f else wait = (load - rate) / p end
return {0, tostring(wait)}
]]

-- incr(key, by, init, ttl) as tcssl.shared has it: a missing key without init stays missing.
local INCR = [[
if redis.call('EXISTS', KEYS[1]) == 0 then
  if ARGV[2] == '' then return false end
  redis.call('SET', KEYS[1], ARGV[2])
  if tonumber(ARGV[3]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
end
return redis.call('INCRBY', KEYS[1], ARGV[1])
]]

local function sha1_hex(text)
  local ngx = rawget(_G, "ngx")
  if type(ngx) == "table" and ngx.sha1_bin then return core.hex(ngx.sha1_bin(text)) end
  local ok, digest = pcall(require, "openssl.digest")
  if ok then return core.hex(digest.new("sha1"):final(text)) end
  return nil
end

--- parse_url(url) -> { tls, host, port, db, username, password } | nil, message
function M.parse_url(url)
  if type(url) ~= "string" then return nil, "url must be a string" end
  local scheme, rest = url:match("^(rediss?)://(.*)$")
  if not scheme then return nil, "url must start with redis:// or rediss://" end
  local auth, hostport, path = rest:match("^([^@/]*)@([^/]*)(.*)$")
  if not auth then hostport, path = rest:match("^([^/]*)(.*)$") end
  local u = { tls = scheme == "rediss", db = 0 }
  if auth then
    local user, pass = auth:match("^([^:]*):(.*)$")
    if user then
      u.username, u.password = user ~= "" and user or nil, pass ~= "" and pass or nil
    else
      u.username = auth ~= "" and auth or nil
    end
  end
  local host, port = hostport:match("^%[([^%]]+)%]:?(%d*)$")
  if not host then host, port = hostport:match("^([^:]+):?(%d*)$") end
  if not host or host == "" then return nil, "url names no host" end
  u.host, u.port = host, tonumber(port ~= "" and port or "6379")
  if u.port < 1 or u.port > 65535 then return nil, "port out of range" end
  local db = path:match("^/(%d*)$")
  if path ~= "" and path ~= "/" and not db then return nil, "the path of the url must be a database number" end
  if db and db ~= "" then u.db = tonumber(db) end
  return u
end

--- lua_redis() -> Debian's redis-lua module | nil, message. Debian's own file is taken first
-- (package.path may hold other files named redis.lua): under Lua 5.4 the package's 5.3 folder
-- (M.LUA_REDIS_PATH), which 5.4 runs, under LuaJIT its 5.1 folder; then the module redis as
-- package.path finds it, for other installations. package.path is left as it is;
-- M.lua_redis_file names the Debian file once it is loaded.
function M.lua_redis()
  local loaded = package.loaded.redis
  if type(loaded) == "table" and loaded.connect then return loaded end
  local debian = _VERSION == "Lua 5.1" and "/usr/share/lua/5.1/?.lua" or M.LUA_REDIS_PATH
  local path = package.searchpath("redis", debian)
  if not path then
    local ok, mod = pcall(require, "redis")
    if ok and type(mod) == "table" and mod.connect then return mod end
    return nil, "redis-lua is not installed (Debian: apt-get install lua-redis)"
  end
  local chunk, err = loadfile(path)
  if not chunk then return nil, err end
  local ok, mod = pcall(chunk, "redis", path)
  if not ok or type(mod) ~= "table" or not mod.connect then return nil, path .. " is not redis-lua" end
  package.loaded.redis = mod
  M.lua_redis_file = path
  return mod
end

local function resty_redis()
  for _, name in ipairs{ "resty.redis", "nginx.redis" } do
    local ok, mod = pcall(require, name)
    if ok and type(mod) == "table" and mod.new then return mod end
  end
  return nil, "lua-resty-redis is not installed (Debian: apt-get install lua-nginx-redis)"
end

-------------------------------------------------------------------------------
-- Backends: do(self, timeout, command, args...) -> reply | nil, message, and "redis" when it
-- was Redis that answered with an error (the connection is still good).
-------------------------------------------------------------------------------

local NULL = {}

-- luasec checks the peer's chain, not its name: the certificate's subjectAltName must name
-- the host (a DNS name, "*." matching one label, or the IP address).
local function names_host(sock, host)
  local cert = sock:getpeercertificate()
  local ext = cert and cert:extensions()
  local san = ext and ext["2.5.29.17"]
  if not san then return false end
  host = host:lower()
  for _, ip in ipairs(san.iPAddress or {}) do if ip == host then return true end end
  for _, dns in ipairs(san.dNSName or {}) do
    dns = dns:lower()
    if dns == host then return true end
    local rest = dns:match("^%*(%..+)$")
    if rest and host:sub(-#rest) == rest and not host:sub(1, -#rest - 1):find("[.]") and #host > #rest then
      return true
    end
  end
  return false
end

-- Plain Lua: one connection per cache, made on first use and again after any failure.
local function plain_connect(self, timeout)
  local redis, err = M.lua_redis()
  if not redis then return nil, err end
  local socket = require "socket"
  local sock = socket.tcp()
  sock:settimeout(timeout)
  local ok, cerr = sock:connect(self.url.host, self.url.port)
  if not ok then
    sock:close()
    return nil, "connect: " .. tostring(cerr)
  end
  sock:setoption("tcp-nodelay", true)
  if self.url.tls then
    local ssl = require "ssl"
    local wrapped, werr = ssl.wrap(sock, { mode = "client", protocol = "any", options = { "all" },
      verify = self.insecure and "none" or "peer", cafile = self.ca_file,
      capath = not self.ca_file and "/etc/ssl/certs" or nil })
    if not wrapped then
      sock:close()
      return nil, "tls: " .. tostring(werr)
    end
    wrapped:settimeout(timeout)
    wrapped:sni(self.server_name or self.url.host)
    local hs, herr = wrapped:dohandshake()
    if not hs then
      wrapped:close()
      return nil, "tls handshake: " .. tostring(herr)
    end
    if not self.insecure and not names_host(wrapped, self.server_name or self.url.host) then
      wrapped:close()
      return nil, "tls: the certificate does not name " .. (self.server_name or self.url.host)
    end
    sock = wrapped
  end
  local client = redis.connect{ socket = sock }
  local ran, rerr = pcall(function()
    if self.password then
      if self.username then client:auth(self.username, self.password) else client:auth(self.password) end
    end
    if self.url.db ~= 0 then client:select(self.url.db) end
  end)
  if not ran then
    sock:close()
    return nil, tostring(rerr)
  end
  return { client = client, sock = sock }
end

local function plain_do(self, timeout, command, ...)
  local conn = self.conn
  if not conn then
    local err
    conn, err = plain_connect(self, timeout)
    if not conn then return nil, err end
    self.conn = conn
  end
  conn.sock:settimeout(timeout)
  local fn = conn.client[command:lower()]
  local ran, reply = pcall(fn, conn.client, ...)
  if ran then
    if reply == nil then return NULL end
    return reply
  end
  reply = tostring(reply)
  local said = reply:match("redis error: (.*)$")
  if said then return nil, said, "redis" end
  pcall(conn.sock.close, conn.sock)
  self.conn = nil
  return nil, reply
end

local function plain_close(self)
  if self.conn then pcall(self.conn.sock.close, self.conn.sock) end
  self.conn = nil
end

-- OpenResty: a connection from the worker's pool for each operation, back to it afterwards.
local function resty_do(self, timeout, command, ...)
  local ngx = rawget(_G, "ngx")
  local mod, err = resty_redis()
  if not mod then return nil, err end
  local red
  red, err = mod:new()
  if not red then return nil, err end
  red:set_timeout(math.max(1, math.floor(timeout * 1000)))
  local u = self.url
  local ok
  ok, err = red:connect(u.host, u.port, { pool = self.pool, pool_size = self.pool_size })
  if not ok then return nil, "connect: " .. tostring(err) end
  if (red:get_reused_times() or 0) == 0 then
    if u.tls then
      -- Debian's lua-resty-core (0.1.25) can raise ("assertion failed!") where a refused
      -- handshake should return nil and a message
      local ran
      ran, ok, err = pcall(red._sock.sslhandshake, red._sock, nil, self.server_name or u.host, not self.insecure)
      if not ran then ok, err = nil, "refused (" .. tostring(ok) .. ")" end
      if not ok then
        red:close()
        return nil, "tls handshake: " .. tostring(err)
      end
    end
    if self.password then
      if self.username then ok, err = red:auth(self.username, self.password) else ok, err = red:auth(self.password) end
      if not ok then
        red:close()
        return nil, tostring(err)
      end
    end
    if u.db ~= 0 then
      ok, err = red:select(u.db)
      if not ok then
        red:close()
        return nil, tostring(err)
      end
    end
  end
  local reply
  reply, err = red[command:lower()](red, ...)
  if reply == nil or reply == false then -- false, message: Redis answered with an error
    -- an error reply leaves the connection usable; a broken one does not
    if err and not tostring(err):find("^[%u]+ ") then
      red:close()
      return nil, tostring(err)
    end
    red:set_keepalive(10000, self.pool_size)
    if err then return nil, tostring(err), "redis" end
    return NULL
  end
  red:set_keepalive(10000, self.pool_size)
  if reply == ngx.null then return NULL end
  if type(reply) == "table" then
    for i = 1, #reply do if reply[i] == ngx.null then reply[i] = false end end
  end
  return reply
end

-------------------------------------------------------------------------------
-- The cache
-------------------------------------------------------------------------------

local Cache = {}
Cache.__index = Cache

function Cache:__tostring()
  return ("tcssl.shared.redis %s:%d/%d"):format(self.url.host, self.url.port, self.url.db)
end

local function warn(self, message)
  local ok = pcall(self.on_warning, "tcssl.shared.redis " .. self.where .. ": " .. message)
  return ok
end

-- One operation: nil and a message when Redis is in its cooldown, fails or is slow. budget:
-- the seconds the caller can spare (its own deadline), which shortens the timeout.
local function run(self, budget, command, ...)
  local now = runtime.now()
  if self.down_until and now < self.down_until then return nil, self.down_reason end
  local timeout = self.timeout
  if budget then timeout = math.max(0.001, math.min(timeout, budget)) end
  local phase = runtime.ngx_phase()
  if phase and not runtime.cosockets() then
    -- nothing wrong with Redis: this phase cannot reach it (the local state serves, quietly)
    return nil, "no cosockets in the OpenResty " .. phase .. " phase"
  end
  local impl = phase and resty_do or plain_do
  local reply, err, redis_said = impl(self, timeout, command, ...)
  if reply ~= nil or redis_said then
    if self.down_until then
      self.down_until, self.down_reason = nil, nil
      warn(self, "reachable again; shared state resumes")
    end
    if reply == nil then return nil, "Redis refused: " .. err end
    return reply
  end
  self.down_reason = "Redis unavailable: " .. err
  self.down_until = runtime.now() + self.cooldown
  warn(self, ("%s; falling back to local state for %gs"):format(err, self.cooldown))
  return nil, self.down_reason
end

-- A script by its digest, sent whole when Redis does not know it (a restart forgets them).
local unpack = rawget(table, "unpack") or rawget(_G, "unpack")
local function script(self, budget, text, sha, keys, ...)
  local args = { #keys }
  for _, k in ipairs(keys) do args[#args + 1] = k end
  for i = 1, select("#", ...) do args[#args + 1] = select(i, ...) end
  if sha then
    local reply, err = run(self, budget, "EVALSHA", sha, unpack(args))
    if reply ~= nil or not (err and err:find("NOSCRIPT", 1, true)) then return reply, err end
  end
  return run(self, budget, "EVAL", text, unpack(args))
end

function Cache:key(key)
  return self.prefix .. (key:gsub("^tcssl:", ""))
end

function Cache:get(key)
  local v, err = run(self, nil, "GET", self:key(key))
  if v == NULL then return nil end
  return v, err
end

local function ttl_ms(ttl)
  return ttl and ttl > 0 and math.max(1, math.floor(ttl * 1000)) or nil
end

function Cache:set(key, value, ttl)
  local ms = ttl_ms(ttl)
  local ok, err
  if ms then ok, err = run(self, nil, "SET", self:key(key), tostring(value), "PX", ms)
  else ok, err = run(self, nil, "SET", self:key(key), tostring(value)) end
  if not ok then return nil, err end
  return true
end

function Cache:delete(key)
  local ok, err = run(self, nil, "DEL", self:key(key))
  if not ok then return nil, err end
  return true
end

--- incr(key, by [, init [, ttl]]) -> the new value | nil, message
function Cache:incr(key, by, init, ttl)
  local n, err = script(self, nil, INCR, self.incr_sha, { self:key(key) }, math.floor(by),
    init and tostring(math.floor(init)) or "", ttl_ms(ttl) or 0)
  if n == NULL then return nil, "not found" end
  if n == nil then return nil, err end
  return tonumber(n)
end

--- add(key, value, ttl) -> true (set) | false (already there) | nil, message
function Cache:add(key, value, ttl, budget)
  local ok, err = run(self, budget, "SET", self:key(key), tostring(value), "NX", "PX", ttl_ms(ttl) or 1000)
  if ok == NULL then return false end
  if ok == nil then return nil, err end
  return true
end

--- take(key, now, rate [, budget]) -> true | false, seconds to wait | nil, message
-- One check-and-count of the rate window for `key` at `now` (wall-clock seconds, the same
-- on every host), in one script.
function Cache:take(key, now, rate, budget)
  local second = math.floor(now)
  local base = self.prefix .. "rate:{" .. key .. "}@" -- one hash slot for both counters
  local reply, err = script(self, budget, TAKE, self.take_sha,
    { base .. ("%d"):format(second), base .. ("%d"):format(second - 1) }, math.floor(rate),
    ("%.6f"):format(now - second))
  if reply == nil or reply == NULL then return nil, err or "no answer" end
  if type(reply) ~= "table" then return nil, "unexpected answer to the rate script: " .. tostring(reply) end
  if tonumber(reply[1]) == 1 then return true end
  return false, tonumber(reply[2]) or 0.01
end

--- seal(text) -> the text encrypted for the cache | nil when the cache has no encryption key
function Cache:seal(text)
  if not self.enc_key then return nil end
  local cipher = require "openssl.cipher"
  local iv = core.random(12)
  local c = cipher.new("aes-256-gcm")
  c:encrypt(self.enc_key, iv)
  local body = c:update(text) .. c:final()
  return "v1:" .. core.base64(iv .. c:getTag(16) .. body)
end

--- unseal(sealed) -> text | nil (no key, another key, or tampered with)
function Cache:unseal(sealed)
  if not self.enc_key or type(sealed) ~= "string" then return nil end
  local raw = sealed:match("^v1:(.+)$")
  raw = raw and core.unbase64(raw)
  if not raw or #raw < 28 then return nil end
  local cipher = require "openssl.cipher"
  local c = cipher.new("aes-256-gcm")
  local ok, text = pcall(function()
    c:decrypt(self.enc_key, raw:sub(1, 12))
    c:setTag(raw:sub(13, 28))
    local body = c:update(raw:sub(29))
    local last = c:final()
    if not last then return nil end
    return body .. last
  end)
  return ok and text or nil
end

function Cache:close()
  plain_close(self)
end

local FIELDS = { url = true, prefix = true, timeout = true, username = true, password = true, db = true,
  encryption_key = true, ca_file = true, insecure = true, server_name = true, cooldown = true, pool_size = true,
  on_warning = true }

local function config_error(message)
  return nil, errors.new("config", "InvalidShared", "tcssl.shared.redis: " .. message, { field = "shared_dict" })
end

--- new(opts) -> cache | nil, err (kind "config"). Nothing is sent before the first operation.
function M.new(opts)
  if type(opts) == "string" then opts = { url = opts } end
  if type(opts) ~= "table" then return config_error("expected a table of options or a redis:// url") end
  for k in pairs(opts) do
    if not FIELDS[k] then return config_error("unknown option " .. tostring(k)) end
  end
  local url, why = M.parse_url(opts.url or "redis://127.0.0.1:6379/0")
  if not url then return config_error(why) end
  if opts.db ~= nil then
    if type(opts.db) ~= "number" or opts.db < 0 or opts.db % 1 ~= 0 then
      return config_error("db must be a whole number")
    end
    url.db = opts.db
  end
  local timeout = opts.timeout or M.DEFAULT_TIMEOUT
  if type(timeout) ~= "number" or not (timeout > 0 and timeout <= 60) then
    return config_error("timeout must be a number of seconds from 0 to 60")
  end
  local cooldown = opts.cooldown or M.DEFAULT_COOLDOWN
  if type(cooldown) ~= "number" or not (cooldown >= 0 and cooldown <= 3600) then
    return config_error("cooldown must be a number of seconds from 0 to 3600")
  end
  local prefix = opts.prefix or "tcssl:"
  if type(prefix) ~= "string" or prefix:find("[%s%c{}]") then return config_error("prefix must be a plain string") end
  if opts.encryption_key ~= nil and (type(opts.encryption_key) ~= "string" or #opts.encryption_key < 16) then
    return config_error("encryption_key must be a string of at least 16 bytes")
  end
  local password = opts.password or url.password
  local username = opts.username or url.username
  local self = setmetatable({
    url = url, prefix = prefix, timeout = timeout, cooldown = cooldown, password = password,
    username = password and username or nil, insecure = opts.insecure == true, ca_file = opts.ca_file,
    server_name = opts.server_name, pool_size = opts.pool_size or 32,
    on_warning = opts.on_warning or require("tcssl.log").warn,
    enc_key = opts.encryption_key and core.sha256(opts.encryption_key) or nil,
    take_sha = sha1_hex(TAKE), incr_sha = sha1_hex(INCR),
    where = ("%s:%d/%d"):format(url.host, url.port, url.db),
  }, Cache)
  -- the pool is per server, database and user, and for TLS per name checked and verification,
  -- so a pooled connection is already set up as this cache would have set it up
  self.pool = ("tcssl:%s:%d:%d:%s:%s"):format(url.host, url.port, url.db, tostring(username),
    url.tls and ("tls:%s:%s"):format(self.server_name or url.host, self.insecure and "insecure" or "verified")
    or "tcp")
  return self
end

return M

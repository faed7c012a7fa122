--- Runs Debian's nginx with the Lua module for specs: a generated configuration in a fresh
--- temporary prefix, a free loopback port, one worker; stopped and removed by stop().
--
--   local nginx = require "spec.support.nginx"
--   local n = nginx.start{ http = "...", server = "...", main = "...", env = { NAME = "value" } }
--   n.port, n.prefix; n:get("/path") -> status, body, headers; n:send("/path") -> pending
--   pending:finish() -> status, body; n:log() -> error log text; n:stop()
--   nginx.available() -> true | nil, why
--
-- `http` and `server` are configuration text placed in the http block and in the one server
-- block (listening on 127.0.0.1:port); `main` in the main context. nginx runs as a daemon
-- with its pid file in the prefix; every wait polls with a deadline.

local socket = require "socket"
local util = require "spec.support.util"

local M = {}

local function cwd()
  local p = assert(io.popen("pwd"))
  local dir = p:read("*l")
  p:close()
  return dir
end

M.ROOT = cwd() -- specs run from the repository root
M.MODULES = { "/usr/lib/nginx/modules/ndk_http_module.so", "/usr/lib/nginx/modules/ngx_http_lua_module.so" }
M.NGINX = "/usr/sbin/nginx"
M.CORE = "build/luajit/tcssl/core.so"

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

local shell_quote, read_file = util.quote, util.read

--- available() -> true | nil, why: nginx, the Lua module and the LuaJIT core are there.
function M.available()
  for _, path in ipairs({ M.NGINX, M.CORE, M.MODULES[1], M.MODULES[2] }) do
    if not exists(path) then return nil, path .. " is missing" end
  end
  return true
end

-- A port on 127.0.0.1 that was free a moment ago (the emulator helper's).
M.free_port = require("spec.support.emulator").free_port

--- The configuration text for start's options.
function M.config(opts, prefix, port)
  local lines = {}
  for _, module in ipairs(M.MODULES) do lines[#lines + 1] = "load_module " .. module .. ";" end
  local root = M.ROOT
  lines[#lines + 1] = ([[
worker_processes %d;
daemon on;
pid %s/nginx.pid;
error_log %s/error.log info;
%s
events { worker_connections 512; }
http {
  access_log off;
  client_body_temp_path %s/tmp/body;
  proxy_temp_path %s/tmp/proxy;
  fastcgi_temp_path %s/tmp/fastcgi;
  uwsgi_temp_path %s/tmp/uwsgi;
  scgi_temp_path %s/tmp/scgi;
  lua_package_path "%s/lua/?.lua;%s/lua/?/init.lua;%s/?.lua;;";
  lua_package_cpath "%s/build/luajit/?.so;;";
%s
  server {
    listen 127.0.0.1:%d;
%s
  }
}
]]):format(opts.workers or 1, prefix, prefix, opts.main or "", prefix, prefix, prefix, prefix, prefix,
    root, root, root, root,
    opts.http or "", port, opts.server or "")
  return table.concat(lines, "\n")
end

local Nginx = {}
Nginx.__index = Nginx

local alive = util.alive

-- Polls `ready` every 20 ms until it returns a true value or `seconds` pass.
local function poll(seconds, ready)
  local deadline = socket.gettime() + seconds
  repeat
    local v = ready()
    if v then return v end
    socket.sleep(0.02)
  until socket.gettime() > deadline
  return nil
end
M.poll = poll

--- start(opts) -> a running nginx; raises (after cleaning up) when it does not come up.
-- opts.config: the whole configuration text instead (with PORT and PREFIX placeholders);
-- opts.links: { name = target } symbolic links to make in the prefix; opts.dirs: directories;
-- opts.workers: worker_processes (default 1).
function M.start(opts)
  opts = opts or {}
  local prefix = util.temp_dir("nginx")
  local self = setmetatable({ prefix = prefix, port = M.free_port() }, Nginx)
  -- workers run as an unprivileged user: they must reach what the prefix links to
  assert(os.execute("chmod 755 " .. shell_quote(prefix) .. " && mkdir -p " .. shell_quote(prefix .. "/tmp")))
  for _, dir in ipairs(opts.dirs or {}) do assert(os.execute("mkdir -p " .. shell_quote(prefix .. "/" .. dir))) end
  for name, target in pairs(opts.links or {}) do
    assert(os.execute(("mkdir -p %s && ln -s %s %s"):format(shell_quote((prefix .. "/" .. name):match("^(.*)/")),
      shell_quote(target), shell_quote(prefix .. "/" .. name))))
  end
  local text
  if opts.config then
    text = opts.config:gsub("PREFIX", prefix):gsub("PORT", tostring(self.port))
  else
    text = M.config(opts, prefix, self.port)
  end
  local conf = prefix .. "/nginx.conf"
  local f = assert(io.open(conf, "wb"))
  f:write(text)
  f:close()
  local env = {}
  for k, v in pairs(opts.env or {}) do env[#env + 1] = k .. "=" .. shell_quote(v) end
  table.sort(env)
  local cmd = ("%s %s -p %s -c %s >%s 2>&1"):format(#env > 0 and ("env " .. table.concat(env, " ")) or "",
    M.NGINX, shell_quote(prefix), shell_quote(conf), shell_quote(prefix .. "/start.out"))
  local started = os.execute(cmd)
  local pid_file = text:match("\npid%s+([^;%s]+);") or "logs/nginx.pid"
  if pid_file:sub(1, 1) ~= "/" then pid_file = prefix .. "/" .. pid_file end
  local log_file = text:match("\nerror_log%s+([^;%s]+)") or "logs/error.log"
  if log_file:sub(1, 1) ~= "/" then log_file = prefix .. "/" .. log_file end
  self.log_file = log_file
  self.pid = poll(started and 10 or 0, function()
    local pid = tonumber((read_file(pid_file) or ""):match("%d+"))
    if pid and alive(pid) then return pid end
  end)
  local listening = self.pid and poll(10, function()
    local sock = socket.tcp()
    sock:settimeout(0.5)
    local ok = sock:connect("127.0.0.1", self.port)
    sock:close()
    return ok
  end)
  if not listening then
    local why = (read_file(prefix .. "/start.out") or "") .. (read_file(log_file) or "")
    self:stop()
    error("nginx did not start: " .. why, 2)
  end
  return self
end

--- The error log so far.
function Nginx:log()
  return read_file(self.log_file) or ""
end

-- Children of pid (its worker processes).
local function children(pid)
  local list = {}
  local p = io.popen("ls /proc")
  for name in p:lines() do
    if name:find("^%d+$") then
      local stat = read_file("/proc/" .. name .. "/stat")
      local ppid = stat and stat:match("^%d+ %b() %a (%d+)")
      if tonumber(ppid) == pid then list[#list + 1] = tonumber(name) end
    end
  end
  p:close()
  return list
end

--- Stops nginx (graceful quit, then harder), then removes the prefix.
function Nginx:stop()
  if self.stopped then return end
  self.stopped = true
  local pid = self.pid
  if pid and alive(pid) then
    local workers = children(pid)
    os.execute("kill -QUIT " .. pid .. " 2>/dev/null")
    if not poll(10, function() return not alive(pid) end) then
      os.execute("kill -TERM " .. pid .. " 2>/dev/null")
      if not poll(3, function() return not alive(pid) end) then
        os.execute("kill -KILL " .. pid .. " 2>/dev/null")
      end
    end
    for _, w in ipairs(workers) do
      if alive(w) then os.execute("kill -KILL " .. w .. " 2>/dev/null") end
    end
  end
  util.remove_dir(self.prefix)
end

-------------------------------------------------------------------------------
-- A small HTTP/1.0 client (one request per connection)
-------------------------------------------------------------------------------

local Pending = {}
Pending.__index = Pending

--- send(path [, timeout]) -> pending request (the request is written, the answer not read)
function Nginx:send(path, timeout)
  local sock = socket.tcp()
  sock:settimeout(timeout or 20)
  assert(sock:connect("127.0.0.1", self.port))
  assert(sock:send(("GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n"):format(path)))
  return setmetatable({ sock = sock, path = path }, Pending)
end

--- answered() -> true when some of the answer has arrived (does not wait)
function Pending:answered()
  local readable = socket.select({ self.sock }, nil, 0)
  return #readable > 0
end

--- finish() -> status, body, headers (lowercase names); raises on timeout
function Pending:finish()
  local data, err, partial = self.sock:receive("*a")
  self.sock:close()
  data = data or partial
  assert(data and data ~= "", ("no answer to %s: %s"):format(self.path, tostring(err)))
  local head, body = data:match("^(.-)\r\n\r\n(.*)$")
  assert(head, "malformed answer to " .. self.path)
  local status = tonumber(head:match("^HTTP/1%.%d (%d%d%d)"))
  local headers = {}
  for name, value in head:gmatch("\r\n([^:]+):%s*([^\r]*)") do headers[name:lower()] = value end
  return status, body, headers
end

function Nginx:get(path, timeout)
  return self:send(path, timeout):finish()
end

return M

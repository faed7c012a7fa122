-- nginx for the benchmarks: configurations in a temporary prefix, free loopback ports, and a
-- wait until a port accepts connections. bench/run.sh starts and stops the servers.
--   lua5.4 bench/nginx.lua ports N                 N free loopback TCP ports, one a line
--   lua5.4 bench/nginx.lua wait PORT SECONDS       exit 0 once 127.0.0.1:PORT accepts
--   lua5.4 bench/nginx.lua get URL                  prints the body of a GET (the OpenResty handlers)
--   lua5.4 bench/nginx.lua static PREFIX CERT KEY SCHEME:N:PORT...
--       the responder: POST / answers a fixed DescribeCertificates response of N
--       certificates, over SCHEME (http or https) on PORT, one port per pair, with keep-alive
--       for as many requests as the soak sends
--   lua5.4 bench/nginx.lua openresty PREFIX PORT REPO
--       handlers that call the responder from inside nginx (bench/openresty.lua)
local socket = require "socket"
package.path = "./bench/?.lua;" .. package.path
local F = require "fixtures"

local LUA_MODULES = "/usr/lib/nginx/modules"

local function write(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end

-- What every configuration shares: one worker, everything under the prefix, no access log.
local function common(prefix)
  for _, dir in ipairs{ "conf", "logs", "tmp" } do
    assert(os.execute(("mkdir -p '%s/%s'"):format(prefix, dir)))
  end
  return ([[
worker_processes 1;
daemon off;
pid %s/logs/nginx.pid;
error_log %s/logs/error.log warn;
events { worker_connections 256; }
]]):format(prefix, prefix), ([[
  access_log off;
  client_body_temp_path %s/tmp/body;
  proxy_temp_path %s/tmp/proxy;
  fastcgi_temp_path %s/tmp/fastcgi;
  uwsgi_temp_path %s/tmp/uwsgi;
  scgi_temp_path %s/tmp/scgi;
  keepalive_requests 1000000;
  keepalive_timeout 300s;
]]):format(prefix, prefix, prefix, prefix, prefix)
end

-- The responder: one server per (scheme, page) on its own port, for the pages of
-- bench/run.sh (N certificates each: 0, the client's own cost with almost nothing to decode,
-- up to 1,000, about 1.8 MB). servers: a list of { scheme, n, port }.
-- A response is a file: nginx answers a POST to a static file with 405, which error_page turns
-- into an internal GET of the same file with status 200 (a `return 200 '...'` cannot hold
-- 18 kB: nginx caps a configuration token at 4 kB).
local function static(prefix, servers, cert, key)
  local main, http = common(prefix)
  assert(os.execute(("mkdir -p '%s/www'"):format(prefix)))
  local blocks, written = {}, {}
  for _, s in ipairs(servers) do
    if not written[s.n] then
      write(("%s/www/page-%d.json"):format(prefix, s.n), F.describe_certificates(s.n))
      written[s.n] = true
    end
    blocks[#blocks + 1] = ([[
  server {
    listen 127.0.0.1:%d%s;
    root %s/www;
    default_type application/json;
    location / {
      rewrite ^ /page-%d.json break;
      error_page 405 =200 $uri;
    }
  }
]]):format(s.port, s.scheme == "https" and " ssl" or "", prefix, s.n)
  end
  write(prefix .. "/conf/nginx.conf", main .. ([[
http {
%s
  ssl_protocols TLSv1.2 TLSv1.3;
  ssl_certificate %s;
  ssl_certificate_key %s;
%s}
]]):format(http, cert, key, table.concat(blocks)))
end

local function openresty(prefix, port, repo)
  local main, http = common(prefix)
  write(prefix .. "/conf/nginx.conf", ([[
load_module %s/ndk_http_module.so;
load_module %s/ngx_http_lua_module.so;
]]):format(LUA_MODULES, LUA_MODULES) .. main .. ([[
http {
%s
  lua_package_path "%s/lua/?.lua;%s/lua/?/init.lua;%s/bench/?.lua;;";
  lua_package_cpath "%s/build/luajit/?.so;;";
  server {
    listen 127.0.0.1:%d;
    location = /bench { content_by_lua_file %s/bench/openresty.lua; }
  }
}
]]):format(http, repo, repo, repo, repo, port, repo))
end

local function free_ports(n)
  local socks, ports = {}, {}
  for i = 1, n do -- hold them all open so the kernel hands out n different ones
    local s = assert(socket.tcp())
    assert(s:bind("127.0.0.1", 0))
    socks[i] = s
    local _, port = s:getsockname()
    ports[i] = port
  end
  for _, s in ipairs(socks) do s:close() end
  return ports
end

local function wait(port, seconds)
  local deadline = socket.gettime() + seconds
  repeat
    local s = socket.tcp()
    s:settimeout(0.5)
    if s:connect("127.0.0.1", port) then
      s:close()
      return true
    end
    s:close()
    socket.sleep(0.05)
  until socket.gettime() > deadline
  return false
end

local cmd = arg[1]
if cmd == "ports" then
  print(table.concat(free_ports(tonumber(arg[2]) or 1), "\n"))
elseif cmd == "wait" then
  os.exit(wait(tonumber(arg[2]), tonumber(arg[3]) or 10) and 0 or 1)
elseif cmd == "get" then
  -- one result line from an OpenResty handler (bench/openresty.lua); rounds take seconds
  local http = require "socket.http"
  http.TIMEOUT = 120
  local body, code = http.request(arg[2])
  io.write(body or "")
  if code ~= 200 then
    io.stderr:write("nginx.lua get: ", tostring(code), " ", tostring(body), "\n")
    os.exit(1)
  end
elseif cmd == "static" then
  -- static PREFIX CERT KEY SCHEME:N:PORT...
  local servers = {}
  for i = 5, #arg do
    local scheme, n, port = arg[i]:match("^(%a+):(%d+):(%d+)$")
    servers[#servers + 1] = { scheme = scheme, n = tonumber(n), port = tonumber(port) }
  end
  static(arg[2], servers, arg[3], arg[4])
elseif cmd == "openresty" then
  openresty(arg[2], tonumber(arg[3]), arg[4])
else
  io.stderr:write("usage: nginx.lua ports N | wait PORT SECONDS | static ... | openresty ...\n")
  os.exit(2)
end

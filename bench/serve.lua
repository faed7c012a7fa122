-- Full TLS handshakes per second through tcssl.serve (ssl_certificate_by_lua picking the
-- certificate from the shared dict) against the same nginx serving the same certificate from
-- static ssl_certificate files, in the same run: interleaved rounds, the median of each with
-- its min–max, and their ratio. A third server, static ssl_certificate plus an empty
-- ssl_certificate_by_lua_block, shows what the Lua phase itself costs, whatever it does. Run
-- from the repository root by `make bench-serve` (mk/serve.mk), which builds
-- build/bench/handshakes (bench/handshakes.c, the client) first.
--   lua5.4 bench/serve.lua [ROUNDS [SECONDS]]     (default 9 rounds of 1 s each server)
package.path = "lua/?.lua;lua/?/init.lua;./?.lua;" .. package.path
package.cpath = "lua/?.so;" .. package.cpath

local nginx = require "spec.support.nginx"
local serve = require "spec.support.serve"
local util = require "spec.support.util"
local emu = require "spec.support.emulator"

local ROUNDS = tonumber(arg[1]) or 9
local SECONDS = tonumber(arg[2]) or 1
local CLIENT = "build/bench/handshakes"
local NAME = "shop.serve.test"

local function rate(port)
  local p = assert(io.popen(("%s %d %s %s"):format(CLIENT, port, NAME, SECONDS)))
  local out = p:read("*a")
  p:close()
  local count, elapsed, failures = out:match("^(%d+) ([%d.]+) (%d+)")
  assert(count and tonumber(failures) == 0, "handshakes failed: " .. out)
  return tonumber(count) / tonumber(elapsed)
end

local median = require("bench.stats").median

local e, n
local ok, err = pcall(function()
  assert(nginx.available())
  e = serve.emulator()
  local shop = serve.upload(serve.client(e), { cn = NAME, days = 60 })
  local static_port, empty_port = nginx.free_port(), nginx.free_port()
  local dir = util.temp_dir("bench-serve")
  util.write(dir .. "/shop.pem", shop.cert_pem)
  util.write(dir .. "/shop.key", shop.key_pem)
  n = serve.nginx(e, { domains = { NAME }, refresh = 300, http = ([[
  server {
    listen 127.0.0.1:%d ssl;
    ssl_certificate %s/shop.pem;
    ssl_certificate_key %s/shop.key;
    location / { return 200 "static\n"; }
  }
  server {
    listen 127.0.0.1:%d ssl;
    ssl_certificate %s/shop.pem;
    ssl_certificate_key %s/shop.key;
    ssl_certificate_by_lua_block { }
    location / { return 200 "empty\n"; }
  }
]]):format(static_port, dir, dir, empty_port, dir, dir) })
  assert(serve.wait_served(n.tls_port, NAME, shop.sha256), "tcssl.serve does not serve the certificate")
  assert(serve.served(static_port, NAME) == shop.sha256, "the static server does not serve the certificate")
  rate(n.tls_port) -- warm-up: the worker parses the certificate once
  rate(static_port)
  local served, static, empty = {}, {}, {}
  for i = 1, ROUNDS do
    if i % 2 == 1 then
      served[i], static[i], empty[i] = rate(n.tls_port), rate(static_port), rate(empty_port)
    else
      empty[i], static[i], served[i] = rate(empty_port), rate(static_port), rate(n.tls_port)
    end
  end
  local sm, smin, smax = median(served)
  local tm, tmin, tmax = median(static)
  print(("handshakes/s, %d interleaved rounds of %gs, one nginx worker, ECDSA P-256, TLS 1.3 full handshakes"):format(
    ROUNDS, SECONDS))
  print(("  tcssl.serve (ssl_certificate_by_lua)  %8.0f  (min %.0f, max %.0f)"):format(sm, smin, smax))
  print(("  static ssl_certificate               %8.0f  (min %.0f, max %.0f)"):format(tm, tmin, tmax))
  local em, emin, emax = median(empty)
  print(("  static + empty ssl_certificate_by_lua %8.0f  (min %.0f, max %.0f)"):format(em, emin, emax))
  -- each round's two figures are measured a few seconds apart: their ratio is less exposed to
  -- the load of the machine changing over the run than the ratio of the medians
  local r, e_r = {}, {}
  for i = 1, ROUNDS do r[i], e_r[i] = served[i] / static[i], empty[i] / static[i] end
  local rm, rmin, rmax = median(r)
  local erm, ermin, ermax = median(e_r)
  print(("  ratio tcssl.serve / static           %8.3f  (per round: median; min %.3f, max %.3f; target >= 0.9)")
    :format(rm, rmin, rmax))
  print(("  ratio empty Lua phase / static       %8.3f  (per round: median; min %.3f, max %.3f)")
    :format(erm, ermin, ermax))
  print(("  ratio of the medians                 %8.3f"):format(sm / tm))
  util.remove_dir(dir)
end)
emu.cleanup(n, e)
if e then os.remove(e.log_file) end
if not ok then
  io.stderr:write("bench/serve.lua: ", tostring(err), "\n")
  os.exit(1)
end

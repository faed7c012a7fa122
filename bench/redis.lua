-- The Redis limiter's cost: calls/s against the emulator through a client whose limiter is in
-- Redis (tcssl.shared.redis, one server-side script per call) and through the local limiter,
-- in the same run, with the limiter's own takes/s beside them. The rate the limiters are
-- asked for is raised past what the loop reaches, so that what is measured is the limiter's
-- cost, not its waiting. Starts its own redis-server and emulator on free loopback ports.
--   lua5.4 bench/redis.lua          (make bench-redis; BENCH_QUICK=1 for a smoke run)
-- Prints one JSON line per figure (bench/lib.lua's format) and the ratio redis/local.
package.path = "./?.lua;" .. package.path
local B = require "bench.lib"
package.path = package.path:gsub("%./bench/%?%.lua;", "") -- this file is not the redis module
local rs = require "spec.support.redis"
local emu = require "spec.support.emulator"
local tcssl = require "tcssl"
local ratelimit = require "tcssl.ratelimit"
local redis = require "tcssl.shared.redis"

local server, emulator = rs.start(), nil
local ok, err = pcall(function()
  emulator = emu.start()
  local cache = assert(redis.new{ url = server.url, timeout = 0.5, on_warning = function(m)
    io.stderr:write("bench/redis.lua: ", m, "\n")
  end })
  local limiters = { ["local"] = ratelimit.new(), redis = assert(ratelimit.shared(cache)) }
  local RATE = 1e9
  local figures = {}
  for _, name in ipairs{ "local", "redis" } do
    local limiter = limiters[name]
    local takes = B.rate(function(n)
      for _ = 1, n do assert(limiter:take("bench/take", RATE)) end
    end, { batch = 50 })
    -- the client's limiter, asked for a rate no loop here reaches
    local raised = { take = function(_, key, _, deadline) return limiter:take(key, RATE, deadline) end }
    local client = assert(tcssl.new{ endpoint = emulator.host, scheme = "http", secret_id = emu.DEMO_SECRET_ID,
      secret_key = emu.DEMO_SECRET_KEY, rate_limiter = raised })
    local calls = B.rate(function(n)
      for _ = 1, n do assert(client:DescribeCertificates{ Limit = 10 }) end
    end, { batch = 10 })
    client:close()
    figures[name] = calls
    B.emit{ id = "redis.takes." .. name, rate = math.floor(takes * 10 + 0.5) / 10, unit = "takes/s" }
    B.emit{ id = "redis.calls." .. name, rate = math.floor(calls * 10 + 0.5) / 10, unit = "calls/s" }
  end
  B.emit{ id = "redis.calls.ratio", ratio = math.floor(figures.redis / figures["local"] * 1000 + 0.5) / 1000,
    note = "calls/s through the Redis limiter / through the local limiter, same run" }
end)
emu.cleanup(emulator, server)
if not ok then
  io.stderr:write("bench/redis.lua: ", tostring(err), "\n")
  os.exit(1)
end

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

local median = require("bench.stats").median

local ROUNDS = os.getenv("BENCH_QUICK") == "1" and 3 or 9
local SECONDS = os.getenv("BENCH_QUICK") == "1" and 0.1 or 0.3

-- rounds(steps, batch) -> { name = { rates } }: each step warmed up, then ROUNDS rounds in
-- which the steps take turns (the order swapped every round), so both meet the same minutes
local function rounds(steps, batch)
  local rates, names = {}, { "local", "redis" }
  for _, name in ipairs(names) do
    B.warm(steps[name], { batch = batch })
    rates[name] = {}
  end
  for r = 1, ROUNDS do
    for i = 1, #names do
      local name = names[(i + r) % #names + 1]
      local ops, elapsed = B.timed(steps[name], SECONDS, batch)
      rates[name][r] = ops / elapsed
    end
  end
  return rates
end

local function report(kind, unit, rates)
  local ratios = {}
  for r = 1, #rates.redis do ratios[r] = rates.redis[r] / rates["local"][r] end
  for _, name in ipairs{ "local", "redis" } do
    local mid, lo, hi = median(rates[name])
    B.emit{ id = "redis." .. kind .. "." .. name, median = math.floor(mid + 0.5), min = math.floor(lo + 0.5),
      max = math.floor(hi + 0.5), unit = unit }
  end
  local _, lo, hi = median(ratios)
  local ratio = median(rates.redis) / median(rates["local"])
  B.emit{ id = "redis." .. kind .. ".ratio", ratio = math.floor(ratio * 1000 + 0.5) / 1000,
    min = math.floor(lo * 1000 + 0.5) / 1000, max = math.floor(hi * 1000 + 0.5) / 1000,
    note = "through the Redis limiter / through the local limiter: ratio of the medians of "
      .. ROUNDS .. " interleaved rounds, with the lowest and highest round-by-round ratio" }
end

local server, emulator = rs.start(), nil
local ok, err = pcall(function()
  emulator = emu.start()
  local cache = assert(redis.new{ url = server.url, timeout = 0.5, on_warning = function(m)
    io.stderr:write("bench/redis.lua: ", m, "\n")
  end })
  local limiters = { ["local"] = ratelimit.new(), redis = assert(ratelimit.shared(cache)) }
  local RATE = 1e9
  local takes, calls, clients = {}, {}, {}
  for name, limiter in pairs(limiters) do
    takes[name] = function(n)
      for _ = 1, n do assert(limiter:take("bench/take", RATE)) end
    end
    -- the client's limiter, asked for a rate no loop here reaches
    local raised = { take = function(_, key, _, deadline) return limiter:take(key, RATE, deadline) end }
    local client = assert(tcssl.new{ endpoint = emulator.host, scheme = "http", secret_id = emu.DEMO_SECRET_ID,
      secret_key = emu.DEMO_SECRET_KEY, rate_limiter = raised })
    clients[name] = client
    calls[name] = function(n)
      for _ = 1, n do assert(client:DescribeCertificates{ Limit = 10 }) end
    end
  end
  report("takes", "takes/s", rounds(takes, 50))
  report("calls", "calls/s", rounds(calls, 10))
  for _, client in pairs(clients) do client:close() end
end)
emu.cleanup(emulator, server)
if not ok then
  io.stderr:write("bench/redis.lua: ", tostring(err), "\n")
  os.exit(1)
end

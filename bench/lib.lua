-- Shared helpers for the Lua benchmarks: module paths, a bounded rate measurement, and the one
-- output format every benchmark program (Lua, C, Node) prints: one JSON object per line on
-- stdout, for example
--   {"id":"sign.tcssl","rate":412345.6,"unit":"signatures/s","rounds":[...]}
-- bench/report.lua reads those lines, pairs each subject with its floor and prints the ratios.
package.path = "./lua/?.lua;./lua/?/init.lua;./bench/?.lua;" .. package.path
package.cpath = "./lua/?.so;" .. package.cpath

local core = require "tcssl.core"
local cjson = require("cjson").new()

local B = {}

B.now = core.monotonic

-- Settings every measurement shares; the environment can shorten them (BENCH_QUICK=1 for a
-- smoke run that proves the plumbing, not the numbers).
local quick = os.getenv("BENCH_QUICK") == "1"
B.ROUNDS = quick and 2 or 5
B.ROUND_SECONDS = quick and 0.1 or 0.4
B.WARMUP_SECONDS = quick and 0.05 or 0.3

--- rate(step, opts) -> best, rounds
-- step(n) does n operations. Runs a warm-up, then opts.rounds timed rounds of about
-- opts.seconds each and returns the best rate in operations per second (the least disturbed
-- round) and the list of all round rates. opts.batch operations run between clock reads;
-- opts.max_ops caps one round, so every loop is bounded even when the clock misbehaves.
function B.rate(step, opts)
  opts = opts or {}
  local rounds = opts.rounds or B.ROUNDS
  local seconds = opts.seconds or B.ROUND_SECONDS
  local batch = opts.batch or 100
  local max_ops = opts.max_ops or 50000000
  local function timed(limit)
    local ops = 0
    local start = B.now()
    local elapsed = 0
    while elapsed < limit and ops < max_ops do
      step(batch)
      ops = ops + batch
      elapsed = B.now() - start
    end
    return ops, elapsed
  end
  timed(opts.warmup or B.WARMUP_SECONDS)
  local best, all = 0, {}
  for r = 1, rounds do
    local ops, elapsed = timed(seconds)
    local rate = ops / elapsed
    all[r] = math.floor(rate * 10 + 0.5) / 10
    if rate > best then best = rate end
  end
  return best, all
end

--- emit(record): one result line on stdout.
function B.emit(record)
  io.stdout:write(cjson.encode(record), "\n")
  io.stdout:flush()
end

--- skip(id, why): a result line saying a figure could not be measured, and why.
function B.skip(id, why)
  B.emit{ id = id, skipped = why }
end

--- read(path) -> the whole file
function B.read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

--- write(path, text)
function B.write(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end

B.json = cjson

return B

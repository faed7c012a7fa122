-- Shared helpers for the Lua benchmark programs (Lua 5.4 and LuaJIT): module paths, the round
-- protocol every measured program speaks, and the one output format of bench/driver.lua.
--
-- The round protocol. bench/driver.lua starts every program of a group (a subject and its
-- floors), each pinned to the same CPU, and then sends them one command at a time, a line on
-- stdin each, answered by one JSON line on stdout:
--   warm            warm up until steady (see B.serve), answered {"warm_ops":N,"warm_seconds":S}
--   round SECONDS   one timed round, answered {"ops":N,"seconds":S,"rate":R}
--   (end of input)  answered by one last line of facts about the run ({"final":true,...})
-- While one program runs, the others wait on their stdin: subject and floors alternate round
-- by round in one run, and none of them disturbs another's round.
local jit_build = rawget(_G, "jit") and "./build/luajit/?.so;" or ""
package.path = "./lua/?.lua;./lua/?/init.lua;./bench/?.lua;" .. package.path
package.cpath = jit_build .. "./lua/?.so;" .. package.cpath

local core = require "tcssl.core"
local cjson = require("cjson").new()

local B = {}

B.now = core.monotonic
B.RUNTIME = rawget(_G, "jit") and "luajit" or "lua54"

-- Warm-up: windows of WINDOW seconds until two successive windows agree within 5 % (after at
-- least opts.warm_seconds), or opts.warm_ops operations, or MAX_WARM seconds, whichever first.
local quick = os.getenv("BENCH_QUICK") == "1"
B.WINDOW = quick and 0.05 or 0.2
B.MAX_WARM = quick and 0.5 or 2

--- timed(step, seconds, batch, max_ops) -> ops, elapsed: step(batch) until `seconds` pass.
function B.timed(step, seconds, batch, max_ops)
  local ops, start, elapsed = 0, B.now(), 0
  max_ops = max_ops or 1e9
  while elapsed < seconds and ops < max_ops do
    step(batch)
    ops = ops + batch
    elapsed = B.now() - start
  end
  return ops, elapsed
end

--- warm(step, opts) -> ops, seconds, steady: the warm-up rule above (steady false: the cap).
function B.warm(step, opts)
  local batch = opts.batch or 1
  local min_seconds = quick and 0.1 or (opts.warm_seconds or 0.4)
  local max_ops = opts.warm_ops or 30000
  local started, ops, last, steady = B.now(), 0, nil, true
  while true do
    if opts.before then opts.before() end
    local n, elapsed = B.timed(step, B.WINDOW, batch)
    ops = ops + n
    local rate = n / elapsed
    local total = B.now() - started
    if ops >= max_ops then break end
    if total >= B.MAX_WARM then steady = false break end
    if last and total >= min_seconds and math.abs(rate - last) <= 0.05 * last then break end
    last = rate
  end
  return ops, B.now() - started, steady
end

--- serve(step, opts, final): answers the driver's commands (above) until its input ends, then
-- prints final() (a table, or nil) as the last line. step(n) does n operations; opts.batch
-- operations run between clock reads (default 1); opts.warm_seconds, opts.warm_ops: the
-- warm-up's least time and its operation cap; opts.before(), when given, runs before every
-- timed window of the warm-up and before every round, outside their timing.
function B.serve(step, opts, final)
  opts = opts or {}
  local batch = opts.batch or 1
  for line in io.lines() do
    local cmd, arg = line:match("^(%a+)%s*(.*)$")
    if cmd == "warm" then
      local ops, seconds, steady = B.warm(step, opts)
      B.emit{ warm_ops = ops, warm_seconds = seconds, steady = steady }
    elseif cmd == "round" then
      if opts.before then opts.before() end
      local ops, seconds = B.timed(step, tonumber(arg) or 0.2, batch)
      B.emit{ ops = ops, seconds = seconds, rate = ops / seconds }
    else
      B.emit{ error = "unknown command " .. tostring(line) }
    end
  end
  local facts = final and final() or {}
  facts.final = true
  B.emit(facts)
end

--- emit(record): one JSON line on stdout, flushed.
function B.emit(record)
  io.stdout:write(cjson.encode(record), "\n")
  io.stdout:flush()
end

--- fail(message): a benchmark program that cannot go on says why and exits 1.
function B.fail(message)
  io.stderr:write(message, "\n")
  os.exit(1)
end

--- read(path) -> the whole file
function B.read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
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

-- The client programs (bench/calls.lua, calls_core.lua, calls_nogc.lua) share their arguments,
-- SCHEME PORT N [CA_FILE], and the client they measure.

--- call_args(program [, more]) -> scheme, port, n, ca_file, or the usage (and `more` of it)
-- on stderr and exit 1
function B.call_args(program, more)
  local scheme, port, n, ca_file = arg[1], arg[2], tonumber(arg[3]), arg[4]
  if not ((scheme == "http" or scheme == "https") and port and n) then
    B.fail(("usage: %s http|https PORT N [CA_FILE]%s"):format(program, more or ""))
  end
  return scheme, port, n, ca_file
end

--- client(scheme, port, ca_file) -> the measured client: the responder on loopback, the fixtures' keys
function B.client(scheme, port, ca_file)
  local F = require "fixtures"
  return assert(require("tcssl").new{
    endpoint = "127.0.0.1:" .. port, scheme = scheme, ca_file = ca_file,
    secret_id = F.SECRET_ID, secret_key = F.SECRET_KEY, region = F.REGION,
    -- the bench measures the client's own cost: the per-action token bucket (10/s for
    -- DescribeCertificates) would measure the documented rate limit instead
    rate_limit = false,
  })
end

B.PARAMS = { Limit = 10 }

--- first_call(client, n, program): one call before any round; it must succeed and decode the
-- page of n certificates the responder serves, or the program says why and exits 1
function B.first_call(client, n, program)
  local first, err = client:DescribeCertificates(B.PARAMS)
  if not first then B.fail(("%s: first call failed: %s"):format(program, tostring(err))) end
  if #first.Certificates ~= n or first.TotalCount ~= 3 * n then
    B.fail(("%s: expected %d certificates, got %d"):format(program, n, #first.Certificates))
  end
end

--- client_facts(client, failures) -> the last line of a client program: its failures and the
-- connections and requests of its transport, the client closed
function B.client_facts(client, failures)
  local stats = client.transport:stats()
  client:close()
  return { failures = failures, connects = stats.connects, requests = stats.requests }
end

return B

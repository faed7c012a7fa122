-- Runs one group of benchmark programs (a subject and its floors) in interleaved rounds and
-- prints one result line per program (bench/lib.lua describes the round protocol).
--   lua5.4 bench/driver.lua GROUP SPEC_FILE [ROUND_SECONDS]
-- SPEC_FILE: one program a line, "ID<TAB>UNIT<TAB>COMMAND" (COMMAND run by sh, pinned by the
-- caller's taskset prefix). Every program starts and is then warmed up, one after the other;
-- then ROUNDS times (BENCH_ROUNDS, default 9), each program runs one round of ROUND_SECONDS
-- (default 0.2) while the others wait, the order rotating by one from round to round, so that
-- subject and floors alternate through the same minutes of the same run. Result line:
--   {"id", "group", "unit", "median", "min", "max", "rounds": [rate of round 1, ...],
--    "warm_ops", "warm_seconds", "steady", and the program's last line (connects, ...)}
-- or {"id", "error"} for a program that failed. The caller ignores SIGPIPE (bench/run.sh), so
-- that a program that dies is an error line here, not the end of the driver.
package.path = "./bench/?.lua;" .. package.path
local cjson = require("cjson").new()

local group, spec_file, round_seconds = arg[1], arg[2], tonumber(arg[3])
assert(group and spec_file, "usage: driver.lua GROUP SPEC_FILE [ROUND_SECONDS]")
local quick = os.getenv("BENCH_QUICK") == "1"
local ROUNDS = tonumber(os.getenv("BENCH_ROUNDS")) or (quick and 3 or 9)
round_seconds = quick and 0.05 or round_seconds or 0.2
local work = assert(os.getenv("BENCH_WORK"), "BENCH_WORK: a private directory for the pipes")

local function emit(record)
  io.stdout:write(cjson.encode(record), "\n")
  io.stdout:flush()
end

local programs = {}
for line in io.lines(spec_file) do
  local id, unit, command = line:match("^([^\t]+)\t([^\t]+)\t(.+)$")
  if id then programs[#programs + 1] = { id = id, unit = unit, command = command, rates = {} } end
end

-- Starts one program with a pipe each way (named pipes in the work directory). All start
-- before the driver opens any pipe: a program started later would otherwise inherit the
-- driver's end of an earlier one's input, which then never sees the end of it.
local function start(p, i)
  local base = ("%s/%s.%d"):format(work, group, i)
  p.fin, p.fout = base .. ".in", base .. ".out"
  assert(os.execute(("rm -f '%s' '%s' && mkfifo '%s' '%s'"):format(p.fin, p.fout, p.fin, p.fout)))
  assert(os.execute(("(%s) <'%s' >'%s' &"):format(p.command, p.fin, p.fout)))
end
local function connect(p)
  p.w = assert(io.open(p.fin, "w"))
  p.r = assert(io.open(p.fout, "r"))
end

local function fail(p, why)
  if p.failed then return end
  p.failed = why
  io.stderr:write(("bench: %s failed: %s\n"):format(p.id, why))
  pcall(p.w.close, p.w)
end

-- One command, one answer (a table), or nil when the program failed.
local function ask(p, command)
  if p.failed then return nil end
  local ok = p.w:write(command, "\n") and p.w:flush()
  if not ok then return fail(p, "it stopped reading its commands") end
  local line = p.r:read("l")
  if not line then return fail(p, "it exited during '" .. command .. "'") end
  local ran, answer = pcall(cjson.decode, line)
  if not ran or type(answer) ~= "table" then return fail(p, "it answered " .. line:sub(1, 200)) end
  if answer.error then return fail(p, tostring(answer.error)) end
  return answer
end

for i, p in ipairs(programs) do start(p, i) end
for _, p in ipairs(programs) do connect(p) end
for _, p in ipairs(programs) do
  io.stderr:write(("bench: %s: warming up\n"):format(p.id))
  p.warm = ask(p, "warm")
end
io.stderr:write(("bench: %s: %d rounds of %.2f s, %d programs alternating\n"):format(group, ROUNDS,
  round_seconds, #programs))
local command = ("round %.3f"):format(round_seconds)
for r = 1, ROUNDS do
  for k = 0, #programs - 1 do
    local p = programs[(r - 1 + k) % #programs + 1]
    local answer = ask(p, command)
    if answer then p.rates[r] = answer.rate end
  end
end

local median = require("bench.stats").median

for _, p in ipairs(programs) do
  local final
  if not p.failed then
    p.w:close()
    local line = p.r:read("l")
    final = line and select(2, pcall(cjson.decode, line))
    if type(final) ~= "table" then fail(p, "no last line") end
  end
  p.r:close()
  os.remove(p.fin)
  os.remove(p.fout)
  if p.failed or #p.rates < ROUNDS or (final and (final.failures or 0) > 0) then
    emit{ id = p.id, group = group, error = p.failed or ("%d requests failed"):format(final.failures) }
  else
    local record = final
    record.final = nil
    record.id, record.group, record.unit = p.id, group, p.unit
    record.median, record.rounds = median(p.rates), p.rates
    record.min, record.max = math.min(table.unpack(p.rates)), math.max(table.unpack(p.rates))
    record.warm_ops, record.warm_seconds, record.steady = p.warm.warm_ops, p.warm.warm_seconds, p.warm.steady
    record.round_seconds = round_seconds
    emit(record)
  end
end

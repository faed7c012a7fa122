-- The soak: CALLS sequential DescribeCertificates calls through one client against the static
-- nginx responder, with the process's resident memory (VmRSS of /proc/self/status) and its open
-- descriptors (the entries of /proc/<pid>/fd) at the start and at the end. The start is taken
-- after a warm-up of 1,000 calls (the model is loaded, the connection is open, the caches are
-- warm), both ends after a full garbage collection; what the process held before its first
-- call is reported beside them. Stops early, with a notice, when the time limit would pass.
--   lua5.4 bench/soak.lua http|https PORT [CA_FILE]
-- Environment: BENCH_SOAK_CALLS (default 100000), BENCH_SOAK_SECONDS (default 170; bench/run.sh gives 150).
local B = require "bench.lib"
local F = require "fixtures"
local tcssl = require "tcssl"

local scheme, port, ca_file = arg[1], arg[2], arg[3]
assert(scheme == "http" or scheme == "https", "usage: soak.lua http|https PORT [CA_FILE]")
local CALLS = tonumber(os.getenv("BENCH_SOAK_CALLS")) or 100000
local LIMIT = tonumber(os.getenv("BENCH_SOAK_SECONDS")) or 170
local WARMUP = math.min(1000, CALLS)
local SAMPLE_EVERY = 10000

local function rss_kb()
  for line in io.lines("/proc/self/status") do
    local kb = line:match("^VmRSS:%s+(%d+) kB")
    if kb then return tonumber(kb) end
  end
end

local pid = assert(B.read("/proc/self/stat"):match("^(%d+)"))

-- Open descriptors by kind (socket, pipe, file, …). `ls` runs in a child that writes its
-- listing into a file, which this process opens only once the child has ended: a pipe from
-- io.popen would itself be listed, with both of its ends while popen has not yet closed the
-- one the child writes into (a race that made the count one higher now and then).
local function descriptors()
  local path = os.tmpname()
  local ok = os.execute(("ls -l /proc/%s/fd >'%s' 2>/dev/null"):format(pid, path))
  local listing = ok and B.read(path)
  os.remove(path)
  if not listing then B.fail("soak.lua: could not list the open descriptors of process " .. pid) end
  local total, kinds = 0, {}
  for target in listing:gmatch("%->%s*([^\n]+)") do
    local kind = target:match("^(%a+):%[") or (target:find("^/dev/") and "device") or "file"
    kinds[kind] = (kinds[kind] or 0) + 1
    total = total + 1
  end
  return total, kinds
end

local function settle()
  collectgarbage("collect")
  collectgarbage("collect")
end

local client = assert(tcssl.new{
  endpoint = "127.0.0.1:" .. port, scheme = scheme, ca_file = ca_file,
  secret_id = F.SECRET_ID, secret_key = F.SECRET_KEY, region = F.REGION,
  rate_limit = false, -- see bench/calls.lua
})
local before_rss = rss_kb()
local failures = 0
local function call()
  local res, err = client:DescribeCertificates{ Limit = 10 }
  if not res then
    failures = failures + 1
    if failures == 1 then io.stderr:write("soak.lua: a call failed: ", tostring(err), "\n") end
  end
end

for _ = 1, WARMUP do call() end
settle()
local start_rss, start_heap = rss_kb(), collectgarbage("count")
local start_fds, start_kinds = descriptors()

local started = B.now()
local done, stopped_early, peak_rss, samples = 0, false, start_rss, {}
while done < CALLS do
  local n = math.min(SAMPLE_EVERY, CALLS - done)
  for _ = 1, n do call() end
  done = done + n
  local rss = rss_kb()
  if rss > peak_rss then peak_rss = rss end
  samples[#samples + 1] = rss
  local elapsed = B.now() - started
  -- stop when the next block would end past the limit
  if done < CALLS and elapsed * (done + SAMPLE_EVERY) / done > LIMIT then
    stopped_early = true
    io.stderr:write(("soak: stopped early after %d of %d calls (%.0f s; the next %d would pass %d s)\n")
      :format(done, CALLS, elapsed, SAMPLE_EVERY, LIMIT))
    break
  end
end
local seconds = B.now() - started
settle()
local end_rss, end_heap = rss_kb(), collectgarbage("count")
local end_fds, end_kinds = descriptors()
local stats = client.transport:stats()
client:close()

B.emit{
  id = "soak." .. scheme, calls = done, target_calls = CALLS, seconds = seconds,
  rate = done / seconds, unit = "calls/s", failures = failures, stopped_early = stopped_early,
  rss_before_first_call_kb = before_rss, rss_start_kb = start_rss, rss_end_kb = end_rss,
  rss_peak_kb = peak_rss, rss_samples_kb = samples,
  lua_heap_start_kb = math.floor(start_heap), lua_heap_end_kb = math.floor(end_heap),
  fds_start = start_fds, fds_end = end_fds, fd_kinds_start = start_kinds, fd_kinds_end = end_kinds,
  connects = stats.connects, requests = stats.requests,
}

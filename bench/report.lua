-- Turns the result lines of one bench run into figures: each tcssl measurement over its floor
-- from the same run, as the ratio of their medians, with the range of the round-by-round
-- ratios (round r of the subject and of the floor ran in the same cycle of bench/driver.lua),
-- checked against the targets. Prints the targets table, then every figure; appends one JSON
-- line per figure to bench/results/<date>.jsonl and writes bench/results/latest.md.
--   lua5.4 bench/report.lua RAW_FILE
-- Environment (set by bench/run.sh): BENCH_COMMAND, BENCH_COMMIT, BENCH_VERSIONS, BENCH_LOAD.
local B = require "bench.lib"
local json = B.json

local raw_file = assert(arg[1], "usage: report.lua RAW_FILE")

-- What a run measured, by id. A program measured more than once (the OpenResty part's passes)
-- keeps its best record.
local records, notices, errors = {}, {}, {}
for line in io.lines(raw_file) do
  if line:find("^%s*{") then
    local ok, r = pcall(json.decode, line)
    if ok and type(r) == "table" and r.id then
      if r.rate and not r.median then r.median = r.rate end
      local old = records[r.id]
      if not (old and old.median and (not r.median or r.median < old.median)) then records[r.id] = r end
      if r.error then errors[#errors + 1] = ("%s failed: %s"):format(r.id, r.error) end
    end
  end
end

local RUNTIMES = { lua54 = "Lua 5.4", luajit = "LuaJIT" }
local function page_name(n)
  n = tonumber(n)
  if n == 0 then return "empty page" end
  if n == 1 then return "1 certificate" end
  return ("%s certificates"):format(n >= 1000 and "1,000" or tostring(n))
end

-- Each figure: a subject over a floor. `time` figures compare durations (lower is better),
-- the others rates (higher is better). min/max: the target, when there is one; target: the
-- row of the issue's Targets table it answers.
local TARGETS, FIGURES = {}, {}
local function figure(list, f) list[#list + 1] = f return f end

for _, rt in ipairs{ "lua54", "luajit" } do
  for _, scheme in ipairs{ "http", "https" } do
    local S = scheme:upper()
    figure(TARGETS, { key = ("calls.%s.0.%s.vs_curl"):format(scheme, rt),
      subject = ("calls.%s.0.tcssl.%s"):format(scheme, rt),
      floor = ("calls.%s.0.curl"):format(scheme), min = 0.8, target = ">= 0.8x",
      title = ("empty page, %s, %s: calls/s vs bare libcurl"):format(S, RUNTIMES[rt]) })
    -- beside it, what no Lua layer could beat: the core's crossing alone (bench/calls_core.lua)
    figure(TARGETS, { key = ("calls.%s.0.%s.ceiling"):format(scheme, rt),
      subject = ("calls.%s.0.core.%s"):format(scheme, rt), floor = ("calls.%s.0.curl"):format(scheme),
      target = "(its ceiling)",
      title = ("empty page, %s, %s: the core's crossing alone, no Lua layer, vs bare libcurl"):format(S, RUNTIMES[rt]) })
  end
end
for _, rt in ipairs{ "lua54", "luajit" } do
  for _, scheme in ipairs{ "http", "https" } do
    figure(TARGETS, { key = ("calls.%s.10.%s.vs_fair"):format(scheme, rt),
      subject = ("calls.%s.10.tcssl.%s"):format(scheme, rt),
      floor = ("calls.%s.10.cjson.%s"):format(scheme, rt), min = 1.25, target = ">= 1.25x",
      title = ("10 certificates, %s, %s: vs libcurl + cjson.decode"):format(scheme:upper(), RUNTIMES[rt]) })
  end
end
for _, n in ipairs{ 10, 1000 } do
  for _, rt in ipairs{ "lua54", "luajit" } do
    for _, scheme in ipairs{ "http", "https" } do
      figure(TARGETS, { key = ("calls.%s.%d.%s.vs_node"):format(scheme, n, rt),
        subject = ("calls.%s.%d.tcssl.%s"):format(scheme, n, rt),
        floor = ("calls.%s.%d.node"):format(scheme, n), min = n == 10 and 2 or 1.2,
        target = n == 10 and ">= 2x" or ">= 1.2x",
        title = ("%s, %s, %s: vs warmed Node SDK"):format(page_name(n), scheme:upper(), RUNTIMES[rt]) })
      if n == 1000 and rt == "lua54" then -- what the collector's share leaves (bench/calls_nogc.lua)
        figure(TARGETS, { key = ("calls.%s.%d.%s.nogc_vs_node"):format(scheme, n, rt),
          subject = ("calls.%s.%d.nogc.%s"):format(scheme, n, rt), floor = ("calls.%s.%d.node"):format(scheme, n),
          target = "(its ceiling)", title = ("%s, %s, %s, no collection inside a round: vs warmed Node SDK")
            :format(page_name(n), scheme:upper(), RUNTIMES[rt]) })
      end
    end
  end
end
for _, rt in ipairs{ "lua54", "luajit" } do
  -- the decode a call runs: the reply read under the action's plan, then schema.decode
  figure(TARGETS, { key = "decode." .. rt .. ".full_vs_cjson", subject = ("decode.%s.full"):format(rt),
    floor = ("decode.%s.cjson"):format(rt), time = true, max = 0.6, target = "<= 0.6x the time",
    title = ("decoding 1,000 certificates, %s: json.decode under the plan + schema.decode / cjson.decode")
      :format(RUNTIMES[rt]) })
end
for _, rt in ipairs{ "lua54", "luajit" } do
  figure(TARGETS, { key = "sign." .. rt .. ".vs_openssl", subject = "sign.tcssl." .. rt, floor = "sign.openssl",
    min = 0.9, target = ">= 0.9x", title = ("tc3_sign, %s: vs the bare OpenSSL loop"):format(RUNTIMES[rt]) })
end

-- Every figure, targets or not: each page, scheme and runtime against each floor.
local PAGES = {}
for id in pairs(records) do
  local n = id:match("^calls%.https?%.(%d+)%.")
  if n and not PAGES[tonumber(n)] then PAGES[tonumber(n)] = true end
end
local page_list = {}
for n in pairs(PAGES) do page_list[#page_list + 1] = n end
table.sort(page_list)
for _, n in ipairs(page_list) do
  for _, scheme in ipairs{ "http", "https" } do
    for _, rt in ipairs{ "lua54", "luajit" } do
      local base = ("calls.%s.%d"):format(scheme, n)
      local what = ("%s, %s, %s"):format(page_name(n), scheme:upper(), RUNTIMES[rt])
      local subject = base .. ".tcssl." .. rt
      figure(FIGURES, { key = base .. "." .. rt .. ".vs_curl", subject = subject, floor = base .. ".curl",
        title = what .. ": tcssl / bare libcurl" })
      figure(FIGURES, { key = base .. "." .. rt .. ".vs_fair", subject = subject, floor = base .. ".cjson." .. rt,
        title = what .. ": tcssl / libcurl + cjson.decode" })
      figure(FIGURES, { key = base .. "." .. rt .. ".vs_node", subject = subject, floor = base .. ".node",
        title = what .. ": tcssl / Node SDK" })
    end
  end
end
for _, rt in ipairs{ "lua54", "luajit" } do
  figure(FIGURES, { key = "prepare." .. rt .. ".vs_openssl", subject = "prepare.tcssl." .. rt, floor = "sign.openssl",
    title = ("client:prepare(), %s: vs the bare OpenSSL loop (signing alone)"):format(RUNTIMES[rt]) })
  figure(FIGURES, { key = "sign." .. rt .. ".vs_node", subject = "sign.tcssl." .. rt, floor = "sign.node",
    title = ("tc3_sign, %s: vs the Node SDK's Sign.sign3"):format(RUNTIMES[rt]) })
  figure(FIGURES, { key = "decode." .. rt .. ".vs_cjson", subject = ("decode.%s.tcssl"):format(rt),
    floor = ("decode.%s.cjson"):format(rt), time = true,
    title = ("decoding 1,000 certificates, %s: tcssl.json.decode alone, no plan / cjson.decode"):format(RUNTIMES[rt]) })
end
for _, body in ipairs{ "page", "empty" } do
  figure(FIGURES, { key = "openresty." .. body .. ".vs_cosocket", subject = "openresty.tcssl." .. body,
    floor = "openresty.raw." .. body,
    title = ("OpenResty, HTTP, %s: tcssl cosockets / bare cosocket loop (best of rounds)"):format(body == "page"
      and "10 certificates" or "empty page") })
end

local UNITS = { ["signatures/s"] = "sig/s", ["calls/s"] = "calls/s", ["decodes/s"] = "decodes/s" }

local function num(rate)
  if rate >= 1e6 then return ("%.2fM"):format(rate / 1e6) end
  if rate >= 1e4 then return ("%.0fk"):format(rate / 1e3) end
  if rate >= 1e3 then return ("%.1fk"):format(rate / 1e3) end
  if rate >= 100 then return ("%.0f"):format(rate) end
  return ("%.1f"):format(rate)
end

local function human(r, time)
  local unit = UNITS[r.unit] or r.unit or ""
  if time then -- durations: ms per operation
    local function ms(rate) return ("%.1f"):format(1000 / rate) end
    if r.min and r.max then return ("%s ms (%s–%s)"):format(ms(r.median), ms(r.max), ms(r.min)) end
    return ms(r.median) .. " ms"
  end
  if r.min and r.max then return ("%s %s (%s–%s)"):format(num(r.median), unit, num(r.min), num(r.max)) end
  return num(r.median) .. " " .. unit
end

local function why_missing(id)
  local r = records[id]
  if not r then return "not measured" end
  if r.skipped then return "skipped: " .. r.skipped end
  if r.error then return "failed" end
  return nil
end

-- rows: { title, subject, floor, ratio, target, verdict, json = the JSONL record }
local function rows_of(list, targeted)
  local rows = {}
  for _, f in ipairs(list) do
    local s, fl = records[f.subject], records[f.floor]
    if s or fl then
      local missing = why_missing(f.subject) or why_missing(f.floor)
      if missing then
        rows[#rows + 1] = { f.title, "-", "-", "-", f.target or "-", missing,
          json = { figure = f.key, title = f.title, skipped = missing, targeted = targeted } }
      else
        local ratio = f.time and fl.median / s.median or s.median / fl.median
        local lo, hi
        if s.rounds and fl.rounds and #s.rounds == #fl.rounds then
          for i = 1, #s.rounds do
            local r = f.time and fl.rounds[i] / s.rounds[i] or s.rounds[i] / fl.rounds[i]
            lo, hi = math.min(lo or r, r), math.max(hi or r, r)
          end
        end
        local met
        if f.min then met = ratio >= f.min elseif f.max then met = ratio <= f.max end
        rows[#rows + 1] = { f.title, human(s, f.time), human(fl, f.time),
          lo and ("%.2fx (%.2f–%.2f)"):format(ratio, lo, hi) or ("%.2fx"):format(ratio),
          f.target or "", met == nil and "" or met and "met" or "MISSED",
          json = { figure = f.key, title = f.title, ratio = ratio, round_ratio_min = lo, round_ratio_max = hi,
            target = f.target, met = met, targeted = targeted,
            subject = { id = s.id, median = s.median, min = s.min, max = s.max, unit = s.unit, rounds = s.rounds },
            floor = {
              id = fl.id, median = fl.median, min = fl.min, max = fl.max, unit = fl.unit, rounds = fl.rounds } } }
      end
    end
  end
  return rows
end
local target_rows, all_rows = rows_of(TARGETS, true), rows_of(FIGURES, false)

-- The soak: memory and descriptors at the start and the end, not a ratio.
local soak = records["soak.http"]
local soak_lines = {}
if soak and not soak.skipped and not soak.error then
  local growth_mb = (soak.rss_end_kb - soak.rss_start_kb) / 1024
  local met = growth_mb < 1 and not soak.stopped_early
  target_rows[#target_rows + 1] = {
    ("RSS growth over %d calls, Lua 5.4, HTTP, 1 certificate a page"):format(soak.calls),
    ("%.1f MB at the end"):format(soak.rss_end_kb / 1024), ("%.1f MB at the start"):format(soak.rss_start_kb / 1024),
    ("%+.2f MB"):format(growth_mb), "< 1 MB",
    soak.stopped_early and "INCOMPLETE" or met and "met" or "MISSED",
    json = { figure = "soak.rss_growth", title = "RSS growth over the soak", growth_mb = growth_mb,
      target = "< 1 MB over 100000 calls", met = met, targeted = true, soak = soak } }
  all_rows[#all_rows + 1] = { ("open descriptors over %d calls"):format(soak.calls),
    ("%d at the end"):format(soak.fds_end), ("%d at the start"):format(soak.fds_start),
    ("%+d"):format(math.tointeger(soak.fds_end - soak.fds_start)),
    "no growth", soak.fds_end <= soak.fds_start and "met" or "MISSED",
    json = { figure = "soak.fds", title = "open descriptors over the soak", fds_start = soak.fds_start,
      fds_end = soak.fds_end, target = "no growth", met = soak.fds_end <= soak.fds_start } }
  soak_lines[#soak_lines + 1] = ("soak: %d calls in %.1f s (%.0f calls/s), %d failed, %d connection(s); "
    .. "RSS %.1f MB before the first call, %.1f MB after 1,000 warm-up calls, %.1f MB at the end "
    .. "(peak %.1f MB); Lua heap %d -> %d kB; descriptors %d -> %d")
    :format(soak.calls, soak.seconds, soak.rate, soak.failures, soak.connects,
      soak.rss_before_first_call_kb / 1024, soak.rss_start_kb / 1024, soak.rss_end_kb / 1024,
      soak.rss_peak_kb / 1024, soak.lua_heap_start_kb, soak.lua_heap_end_kb, soak.fds_start, soak.fds_end)
  if soak.stopped_early then
    notices[#notices + 1] = ("the soak stopped early after %d of %d calls (time limit)"):format(soak.calls,
      soak.target_calls)
  end
elseif soak then
  target_rows[#target_rows + 1] = { "RSS growth over 100,000 calls", "-", "-", "-", "< 1 MB",
    why_missing("soak.http"), json = {
      figure = "soak.rss_growth", skipped = why_missing("soak.http"), targeted = true } }
end

-- Every signer must have produced the same Authorization header for the same input.
local auth
for _, id in ipairs{ "sign.openssl", "sign.tcssl.lua54", "sign.tcssl.luajit", "sign.node" } do
  local r = records[id]
  if r and r.authorization then
    if auth and r.authorization ~= auth then
      notices[#notices + 1] = id .. " produced a different Authorization header from the other signers"
    end
    auth = auth or r.authorization
  end
end
for id, r in pairs(records) do
  -- every call figure must have used one kept-alive connection
  if r.connects and r.connects > 1 then
    notices[#notices + 1] = ("%s opened %d connections, not one"):format(id, r.connects)
  end
  if r.steady == false then
    notices[#notices + 1] = ("%s was not steady after its warm-up (%d operations in %.1f s)"):format(id,
      r.warm_ops or 0, r.warm_seconds or 0)
  end
end
table.sort(notices)
local node_warm = {}
for id, r in pairs(records) do
  if id:find("%.node$") and r.warm_ops then node_warm[#node_warm + 1] = r end
end
table.sort(node_warm, function(a, b) return a.id < b.id end)
if #node_warm > 0 then
  local parts = {}
  for _, r in ipairs(node_warm) do
    parts[#parts + 1] = ("%s %d calls in %.1f s"):format(r.id:gsub("^calls%.", ""):gsub("%.node$", ""), r.warm_ops,
      r.warm_seconds)
  end
  notices[#notices + 1] = "Node SDK warm-up before its rounds: " .. table.concat(parts, "; ")
end

-- The machine, for the record.
local function cpu_model()
  for line in io.lines("/proc/cpuinfo") do
    local m = line:match("^model name%s*:%s*(.-)%s*$")
    if m then return m end
  end
  return "unknown"
end
local function nproc()
  local n = 0
  for line in io.lines("/proc/cpuinfo") do
    if line:find("^processor%s*:") then n = n + 1 end
  end
  return n
end
local machine = { nproc = nproc(), cpu = cpu_model(), load = os.getenv("BENCH_LOAD") }
local command = os.getenv("BENCH_COMMAND") or "make bench"
local commit = os.getenv("BENCH_COMMIT") or "unknown"
local versions = os.getenv("BENCH_VERSIONS") or ""
local stamp = os.date("!%Y-%m-%dT%H:%M:%SZ")

local HEAD = { "figure", "tcssl median (min–max)", "floor median (min–max)", "ratio (rounds)", "target", "result" }
local function text_table(rows)
  local widths = {}
  for i, h in ipairs(HEAD) do widths[i] = utf8.len(h) end
  for _, r in ipairs(rows) do
    for i = 1, #HEAD do widths[i] = math.max(widths[i], utf8.len(r[i]) or #r[i]) end
  end
  local out = {}
  local function line(cells)
    local parts = {}
    for i, c in ipairs(cells) do parts[i] = c .. (" "):rep(widths[i] - (utf8.len(c) or #c)) end
    out[#out + 1] = (table.concat(parts, "  "):gsub("%s+$", ""))
  end
  line(HEAD)
  local rule = {}
  for i = 1, #HEAD do rule[i] = ("-"):rep(widths[i]) end
  line(rule)
  for _, r in ipairs(rows) do line(r) end
  return table.concat(out, "\n")
end

local function md_table(rows)
  local out = { "| " .. table.concat(HEAD, " | ") .. " |", "|" .. ("---|"):rep(#HEAD) }
  for _, r in ipairs(rows) do
    local cells = {}
    for i = 1, #HEAD do cells[i] = (r[i]:gsub("|", "\\|")) end
    out[#out + 1] = "| " .. table.concat(cells, " | ") .. " |"
  end
  return table.concat(out, "\n")
end

local about = ("%s, %d CPUs (%s), load average %s; commit %s"):format(stamp, machine.nproc, machine.cpu,
  machine.load or "?", commit)
local HOW = "Each figure: the ratio of the medians of 9 interleaved rounds (subject and floors alternating), "
  .. "with the lowest and highest round-by-round ratio; every program pinned to CPU 0 with nginx."
print()
print(("tcssl bench, %s"):format(about))
if versions ~= "" then print(versions) end
print(HOW)
print()
print("Targets")
print(text_table(target_rows))
print()
print("Every figure")
print(text_table(all_rows))
for _, l in ipairs(soak_lines) do print(); print(l) end
if #notices > 0 then
  print()
  for _, n in ipairs(notices) do print("notice: " .. n) end
end
for _, e in ipairs(errors) do print("error: " .. e) end

-- bench/results: one JSON line per figure, appended; latest.md rewritten.
os.execute("mkdir -p bench/results")
local jsonl = ("bench/results/%s.jsonl"):format(os.date("!%Y-%m-%d"))
local f = assert(io.open(jsonl, "a"))
for _, rows in ipairs{ target_rows, all_rows } do
  for _, r in ipairs(rows) do
    local rec = r.json
    rec.date, rec.machine, rec.commit, rec.command = stamp, machine, commit, command
    f:write(json.encode(rec), "\n")
  end
end
f:close()

local md = { "# tcssl bench: latest figures", "", "Run " .. about .. ".", "",
  "Command: `" .. command .. "`", "" }
if versions ~= "" then md[#md + 1] = versions; md[#md + 1] = "" end
md[#md + 1] = HOW
md[#md + 1] = ""
md[#md + 1] = "## Targets"
md[#md + 1] = ""
md[#md + 1] = md_table(target_rows)
md[#md + 1] = ""
md[#md + 1] = "## Every figure"
md[#md + 1] = ""
md[#md + 1] = md_table(all_rows)
for _, l in ipairs(soak_lines) do md[#md + 1] = ""; md[#md + 1] = l end
if #notices > 0 then
  md[#md + 1] = ""
  for _, n in ipairs(notices) do md[#md + 1] = "- notice: " .. n end
end
B.write("bench/results/latest.md", table.concat(md, "\n") .. "\n")
print()
print(("results: %s (one line per figure), bench/results/latest.md"):format(jsonl))
os.exit(#errors == 0 and 0 or 1)

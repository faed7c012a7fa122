-- Turns the result lines of one bench run into figures: each tcssl measurement divided by its
-- floor from the same run, checked against its target (FIGURES below). Prints a table, appends
-- one JSON line per figure to bench/results/<date>.jsonl and writes bench/results/latest.md.
--   lua5.4 bench/report.lua RAW_FILE
-- Environment (set by bench/run.sh): BENCH_COMMAND, BENCH_COMMIT, BENCH_VERSIONS.
local B = require "bench.lib"
local json = B.json

local raw_file = assert(arg[1], "usage: report.lua RAW_FILE")

-- What a run measured. Each pair runs more than once, alternating with its floor: the record
-- with the best rate of each id is kept (the least disturbed run, as within a program).
local records, notices, errors = {}, {}, {}
for line in io.lines(raw_file) do
  if line:find("^%s*{") then
    local ok, r = pcall(json.decode, line)
    if ok and type(r) == "table" and r.id then
      local old = records[r.id]
      if not (old and old.rate and (not r.rate or r.rate < old.rate)) then records[r.id] = r end
      if r.error then errors[#errors + 1] = ("%s failed: %s"):format(r.id, r.error) end
    end
  end
end

-- Each figure: a subject (tcssl) over a floor. `time` figures compare durations (lower is
-- better), the others rates (higher is better). min/max: the target, when there is one.
local FIGURES = {
  { key = "sign.vs_openssl", title = "signing: tcssl.core.tc3_sign / bare OpenSSL, derived key cached",
    subject = "sign.tcssl", floor = "sign.openssl.cached", min = 0.5, target = ">= 0.5x (within 2x)" },
  { key = "sign.vs_openssl_uncached", title = "signing: tcssl.core.tc3_sign / bare OpenSSL, key derived every time",
    subject = "sign.tcssl", floor = "sign.openssl.uncached" },
  { key = "sign.vs_node", title = "signing: tcssl.core.tc3_sign / Node SDK Sign.sign3 as the SDK calls it",
    subject = "sign.tcssl", floor = "sign.node", min = 10, target = ">= 10x" },
  { key = "sign.vs_node_bytes", title = "signing: tcssl.core.tc3_sign / Node SDK Sign.sign3 given body bytes",
    subject = "sign.tcssl", floor = "sign.node.bytes" },
}

-- Calls: (HTTP, HTTPS) x (a page of 10 certificates, an empty page), each against bare libcurl
-- and the Node SDK; OpenResty: the cosocket transport against a bare cosocket loop; then
-- decoding.
local BODY_NAMES = { page = "10 certificates", empty = "empty page" }
for _, scheme in ipairs{ "http", "https" } do
  for _, body in ipairs{ "page", "empty" } do
    local what = ("calls, %s, %s"):format(scheme:upper(), BODY_NAMES[body])
    local subject = ("calls.tcssl.%s.%s"):format(scheme, body)
    FIGURES[#FIGURES + 1] = { key = ("calls.%s.%s.vs_curl"):format(scheme, body), subject = subject,
      title = what .. ": tcssl / bare libcurl", floor = ("calls.curl.%s.%s"):format(scheme, body),
      min = 0.8, target = ">= 0.8x" }
    FIGURES[#FIGURES + 1] = { key = ("calls.%s.%s.vs_node"):format(scheme, body), subject = subject,
      title = what .. ": tcssl / Node SDK", floor = ("calls.node.%s.%s"):format(scheme, body),
      min = 3, target = ">= 3x" }
    -- the decomposition: the thinnest Lua client over tcssl.core (the ceiling for any client
    -- built on it), and on the empty page the C layer alone (session, pre-signed request)
    FIGURES[#FIGURES + 1] = { key = ("calls.%s.%s.thin_vs_curl"):format(scheme, body),
      subject = ("calls.thin.%s.%s"):format(scheme, body),
      title = what .. ": thinnest Lua client over tcssl.core / bare libcurl",
      floor = ("calls.curl.%s.%s"):format(scheme, body) }
    FIGURES[#FIGURES + 1] = { key = ("calls.%s.%s.thin_vs_node"):format(scheme, body),
      subject = ("calls.thin.%s.%s"):format(scheme, body),
      title = what .. ": thinnest Lua client over tcssl.core / Node SDK",
      floor = ("calls.node.%s.%s"):format(scheme, body) }
    if body == "empty" then
      FIGURES[#FIGURES + 1] = { key = ("calls.%s.%s.session_vs_curl"):format(scheme, body),
        subject = ("calls.session.%s.%s"):format(scheme, body),
        title = what .. ": tcssl.core session alone / bare libcurl",
        floor = ("calls.curl.%s.%s"):format(scheme, body) }
    end
  end
end
for _, body in ipairs{ "page", "empty" } do
  FIGURES[#FIGURES + 1] = { key = "openresty." .. body .. ".vs_cosocket",
    title = ("OpenResty, HTTP, %s: tcssl cosockets / bare cosocket loop"):format(BODY_NAMES[body]),
    subject = "openresty.tcssl." .. body, floor = "openresty.raw." .. body }
end
FIGURES[#FIGURES + 1] = { key = "decode.vs_cjson",
  title = "decoding 1,000 certificates: tcssl time / bare cjson.decode time",
  subject = "decode.tcssl", floor = "decode.cjson", time = true, max = 1.3, target = "<= 1.3x" }

local UNITS = { ["signatures/s"] = "sig/s", ["calls/s"] = "calls/s", ["decodes/s"] = "decodes/s" }

local function human(rate, unit)
  local s
  if rate >= 1e6 then s = ("%.2fM"):format(rate / 1e6)
  elseif rate >= 1e4 then s = ("%.0fk"):format(rate / 1e3)
  elseif rate >= 1e3 then s = ("%.1fk"):format(rate / 1e3)
  else s = ("%.1f"):format(rate) end
  return s .. " " .. (UNITS[unit] or unit or "")
end

local function why_missing(id)
  local r = records[id]
  if not r then return "not measured" end
  if r.skipped then return "skipped: " .. r.skipped end
  if r.error then return "failed" end
  return nil
end

-- rows: { title, subject, floor, ratio, target, verdict, record for the JSON line }
local rows = {}
for _, f in ipairs(FIGURES) do
  local s, fl = records[f.subject], records[f.floor]
  if not s and not fl then goto next_figure end -- a part this run did not include
  local missing = why_missing(f.subject) or why_missing(f.floor)
  if missing then
    rows[#rows + 1] = { f.title, "-", "-", "-", f.target or "-", missing,
      json = { figure = f.key, title = f.title, skipped = missing } }
  else
    local ratio = f.time and fl.rate / s.rate or s.rate / fl.rate
    local met
    if f.min then met = ratio >= f.min elseif f.max then met = ratio <= f.max end
    rows[#rows + 1] = { f.title, human(s.rate, s.unit), human(fl.rate, fl.unit), ("%.2fx"):format(ratio),
      f.target or "(no target)", met == nil and "-" or met and "met" or "MISSED",
      json = { figure = f.key, title = f.title, ratio = ratio, target = f.target, met = met,
        subject = { id = s.id, rate = s.rate, unit = s.unit, rounds = s.rounds },
        floor = { id = fl.id, rate = fl.rate, unit = fl.unit, rounds = fl.rounds } } }
  end
  ::next_figure::
end

-- The soak: memory and descriptors at the start and the end, not a ratio.
local soak = records["soak.http"]
local soak_lines = {}
if soak and not soak.skipped and not soak.error then
  local growth_mb = (soak.rss_end_kb - soak.rss_start_kb) / 1024
  local met = growth_mb < 2 and not soak.stopped_early
  rows[#rows + 1] = { ("soak: RSS over %d calls (start -> end)"):format(soak.calls),
    ("%.1f MB"):format(soak.rss_end_kb / 1024), ("%.1f MB"):format(soak.rss_start_kb / 1024),
    ("%+.2f MB"):format(growth_mb), "< 2 MB growth over 100,000 calls",
    soak.stopped_early and "INCOMPLETE" or met and "met" or "MISSED",
    json = { figure = "soak.rss_growth", title = "RSS growth over the soak", growth_mb = growth_mb,
      target = "< 2 MB over 100000 calls", met = met, soak = soak } }
  rows[#rows + 1] = { ("soak: open descriptors over %d calls (start -> end)"):format(soak.calls),
    ("%d"):format(soak.fds_end), ("%d"):format(soak.fds_start),
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
  rows[#rows + 1] = { "soak: RSS and descriptors over 100,000 calls", "-", "-", "-", "< 2 MB growth",
    why_missing("soak.http"), json = { figure = "soak.rss_growth", skipped = why_missing("soak.http") } }
end

-- Every signer must have produced the same Authorization header for the same input.
local auth
for _, id in ipairs{ "sign.tcssl", "sign.openssl.cached", "sign.openssl.uncached", "sign.node", "sign.node.bytes" } do
  local r = records[id]
  if r and r.authorization then
    if auth and r.authorization ~= auth then
      notices[#notices + 1] = id .. " produced a different Authorization header from the other signers"
    end
    auth = auth or r.authorization
  end
end
-- Every call figure must have used one kept-alive connection.
for id, r in pairs(records) do
  if r.connects and r.connects > 1 then
    notices[#notices + 1] = ("%s opened %d connections, not one"):format(id, r.connects)
  end
end
table.sort(notices)

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
local machine = { nproc = nproc(), cpu = cpu_model() }
local command = os.getenv("BENCH_COMMAND") or "make bench"
local commit = os.getenv("BENCH_COMMIT") or "unknown"
local versions = os.getenv("BENCH_VERSIONS") or ""
local stamp = os.date("!%Y-%m-%dT%H:%M:%SZ")

-- The table: plain text for the terminal, Markdown for latest.md.
local HEAD = { "figure", "tcssl", "floor", "ratio", "target", "result" }
local function text_table()
  local widths = {}
  for i, h in ipairs(HEAD) do widths[i] = #h end
  for _, r in ipairs(rows) do
    for i = 1, #HEAD do widths[i] = math.max(widths[i], utf8.len(r[i]) or #r[i]) end
  end
  local out = {}
  local function line(cells)
    local parts = {}
    for i, c in ipairs(cells) do parts[i] = c .. (" "):rep(widths[i] - (utf8.len(c) or #c)) end
    out[#out + 1] = table.concat(parts, "  "):gsub("%s+$", "")
  end
  line(HEAD)
  local rule = {}
  for i = 1, #HEAD do rule[i] = ("-"):rep(widths[i]) end
  line(rule)
  for _, r in ipairs(rows) do line(r) end
  return table.concat(out, "\n")
end

local function md_table()
  local out = { "| " .. table.concat(HEAD, " | ") .. " |", "|" .. ("---|"):rep(#HEAD) }
  for _, r in ipairs(rows) do
    local cells = {}
    for i = 1, #HEAD do cells[i] = (r[i]:gsub("|", "\\|")) end
    out[#out + 1] = "| " .. table.concat(cells, " | ") .. " |"
  end
  return table.concat(out, "\n")
end

local about = ("%s, %d CPUs (%s); commit %s"):format(stamp, machine.nproc, machine.cpu, commit)
print()
print(("tcssl bench, %s"):format(about))
if versions ~= "" then print(versions) end
print()
print(text_table())
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
for _, r in ipairs(rows) do
  local rec = r.json
  rec.date, rec.machine, rec.commit, rec.command = stamp, machine, commit, command
  f:write(json.encode(rec), "\n")
end
f:close()

local md = { "# tcssl bench: latest figures", "", "Run " .. about .. ".", "",
  "Command: `" .. command .. "`", "" }
if versions ~= "" then md[#md + 1] = versions; md[#md + 1] = "" end
md[#md + 1] = md_table()
for _, l in ipairs(soak_lines) do md[#md + 1] = ""; md[#md + 1] = l end
if #notices > 0 then
  md[#md + 1] = ""
  for _, n in ipairs(notices) do md[#md + 1] = "- notice: " .. n end
end
B.write("bench/results/latest.md", table.concat(md, "\n") .. "\n")
print()
print(("results: %s (one line per figure), bench/results/latest.md"):format(jsonl))
os.exit(#errors == 0 and 0 or 1)

#!/usr/bin/env lua5.4
--[=[ tools/gen-messages.lua: the documents' descriptions of the API's error codes, in Chinese and
English, into lua/tcssl_emulator/messages.lua, the texts the emulator answers its errors with in
the language a request asks for.

  lua5.4 tools/gen-messages.lua [SEEDS [OUT]] [-v]

  SEEDS  the folder of the documents; default ../shared/seeds relative to the repository root,
         then /work/shared/seeds
  OUT    where the texts go; default lua/tcssl_emulator/messages.lua; "-" = standard output
  -v     also list on standard error where the documents' tables disagree and which text was kept

spec/emulator/server/messages_spec.lua regenerates the file and compares it with the committed
one, wherever the seeds are found.

Where the texts come from:
  zh-CN  004 (the API 3.0 reference): the common error codes table (公共错误码), the business
         error codes table (业务错误码), and each action's own table ("6. 错误码"); a code the
         last two describe differently keeps the business table's text (listed on stderr)
  en-US  000 (DescribeCertificates, English) and 001 (DescribeCertificate, English): their
         "Error Code" tables; and the English Message of the error response examples in 004
         (AuthFailure.SignatureFailure's "The provided credentials could not be validated. ...")

The reference's cleaning (page titles, link URLs, footers) is tools/facts/document.lua's, as
tools/gen-facts.lua uses it; a table cell that wraps is joined as that tool joins it. A code the
documents describe in one language only has that language's text alone; the emulator uses it
for both (tcssl_emulator.errors). Two English tables that disagree, or a table row without a
description, stop the generator before it writes anything.
]=]

local tools = (arg and arg[0] or "tools/gen-messages.lua"):match("^(.*)/[^/]*$") or "."
package.path = tools .. "/?.lua;" .. package.path

local luadata = require "luadata"
local report = require "facts.report"
local document = require "facts.document"
local strings = require "facts.strings"

local problem, note = report.problem, report.note
local trim, wrap_join = strings.trim, strings.wrap_join

local REFERENCE, ENGLISH_LIST, ENGLISH_ONE = "004_6ca79b59cc431531.txt", "000_3ef53e309de0b559.txt",
  "001_e3e1bf3bae7ff0f4.txt"

-- An error code: dotted CamelCase parts ("FailedOperation.CertificateNotFound", "AuthFailure.MFAFailure";
-- not a word in capitals such as "SSL").
local function is_code(s)
  if not s:match("^[%w%.]+$") then return false end
  for part in (s .. "."):gmatch("([^.]*)%.") do
    if not (part:match("^%u[%w]*$") and part:match("%l")) then return false end
  end
  return true
end

-- A row's first line: "Code description" or "Code" alone (the description on the next lines).
local function row_start(t)
  local code, rest = t:match("^(%S+)%s+(.+)$")
  if code and is_code(code) then return code, trim(rest) end
  if is_code(t) then return t, "" end
end

-- Rows of a flattened table in L[from..to] (cleaned lines), skipping repeated headers; a line
-- that starts no row continues the description above it. -> list of { code, text, n }
local function table_rows(L, from, to, headers, where)
  local rows = {}
  for i = from, to do
    local t = L[i].t
    if headers[t] then goto continue end
    local code, rest = row_start(t)
    if code then
      rows[#rows + 1] = { code = code, text = rest, n = L[i].n }
    elseif rows[#rows] then
      rows[#rows].text = wrap_join(rows[#rows].text, t)
    else
      problem("%s: line %d is no table row: %s", where, L[i].n, t)
    end
    ::continue::
  end
  for _, r in ipairs(rows) do
    if r.text == "" then problem("%s: %s (line %d) has no description", where, r.code, r.n) end
  end
  return rows
end

local function read(path)
  local lines, err = document.read_lines(path)
  if not lines then problem("cannot read %s: %s", path, tostring(err)) end
  return lines
end

-- zh-CN from the reference: { code = text } and the source of each.
local function chinese(raw, zh, from_where)
  local L = document.clean(raw)
  local parts = document.split(L)
  report.fail_if_problems()
  local headers = { ["错误码 说明"] = true, ["错误码 描述"] = true }
  local list = document.find(L, parts.structs_end, #L, document.equals("错误码列表"))
  local common = list and document.find(L, list, #L, document.equals("公共错误码"))
  local business = common and document.find(L, common, #L, document.equals("业务错误码"))
  if not business then
    problem("%s: no 错误码列表 / 公共错误码 / 业务错误码 after the data structures", REFERENCE)
    return
  end
  local function take(rows, source)
    for _, r in ipairs(rows) do
      if zh[r.code] and zh[r.code] ~= r.text then
        note("%s: %s (line %d) reads \"%s\"; kept \"%s\" (%s)", source, r.code, r.n, r.text, zh[r.code],
          from_where[r.code])
      elseif not zh[r.code] then
        zh[r.code], from_where[r.code] = r.text, ("%s line %d"):format(REFERENCE, r.n)
        if source == "an action's table" then note("%s (line %d) is only in an action's table", r.code, r.n) end
      end
    end
  end
  take(table_rows(L, common + 1, business - 1, headers, "公共错误码"), "公共错误码")
  take(table_rows(L, business + 1, parts.legacy - 1, headers, "业务错误码"), "业务错误码")
  for s, from in ipairs(parts.sections) do
    local to = (parts.sections[s + 1] or parts.structs) - 1
    local mark = document.find(L, from, to, document.equals("6. 错误码"))
    local header = mark and document.find(L, mark, to, document.equals("错误码 描述"))
    if header then take(table_rows(L, header + 1, to, headers, "action at line " .. L[from].n), "an action's table") end
  end
end

-- en-US from the English pages' tables and the reference's error examples.
local function english(list_raw, one_raw, ref_raw, en)
  local function put(code, text, source)
    if en[code] and en[code] ~= text then
      problem("%s: %s reads \"%s\", another English table \"%s\"", source, code, text, en[code])
    end
    en[code] = text
  end
  -- 000: "Error Code Description", then "Code Description" rows up to the first other line
  local start
  for n, line in ipairs(list_raw) do
    if trim(line) == "Error Code Description" then start = n + 1 end
  end
  if not start then problem("%s: no \"Error Code Description\" table", ENGLISH_LIST) end
  for n = start or #list_raw + 1, #list_raw do
    local code, text = row_start(trim(list_raw[n]))
    if not code or text == "" then break end
    put(code, text, ENGLISH_LIST)
  end
  -- 001: a markdown table, "Code | Description |"
  local rows, in_table = 0, false
  for _, line in ipairs(one_raw) do
    local code, text = trim(line):match("^(%S+)%s*|%s*(.-)%s*|$")
    if trim(line) == "Error Code | Description |" then in_table = true
    elseif in_table and not code and trim(line) ~= "---|---|" then in_table = false end
    if in_table and code and is_code(code) then
      put(code, text, ENGLISH_ONE)
      rows = rows + 1
    end
  end
  if rows == 0 then problem("%s: no \"Error Code | Description\" rows", ENGLISH_ONE) end
  -- 004: an error example's "Code": "...", then its "Message": "..." (kept when English)
  local code
  for _, line in ipairs(ref_raw) do
    local c = line:match('^%s*"Code":%s*"([^"]+)"')
    local m = line:match('^%s*"Message":%s*"([^"]+)"')
    if c then code = c
    elseif m and code then
      if not m:match("[\128-\255]") and not en[code] then put(code, m, REFERENCE .. " (error example)") end
      code = nil
    end
  end
end

local function main(argv)
  local args, verbose = {}, false
  for _, a in ipairs(argv) do
    if a == "-v" then verbose = true else args[#args + 1] = a end
  end
  local root = tools .. "/.."
  local seeds = args[1]
  if not seeds then
    for _, candidate in ipairs({ root .. "/../shared/seeds", "/work/shared/seeds" }) do
      local f = io.open(candidate .. "/" .. REFERENCE, "rb")
      if f then f:close(); seeds = candidate; break end
    end
  end
  if not seeds then
    io.stderr:write("gen-messages: cannot find the seeds (give their folder)\n")
    os.exit(1)
  end
  local ref, list, one = read(seeds .. "/" .. REFERENCE), read(seeds .. "/" .. ENGLISH_LIST),
    read(seeds .. "/" .. ENGLISH_ONE)
  report.fail_if_problems()
  local zh, en, from_where = {}, {}, {}
  chinese(ref, zh, from_where)
  english(list, one, ref, en)
  report.fail_if_problems()

  local texts, count, both = {}, 0, 0
  for code, text in pairs(zh) do texts[code] = { ["zh-CN"] = text } end
  for code, text in pairs(en) do
    texts[code] = texts[code] or {}
    texts[code]["en-US"] = text
  end
  for _, t in pairs(texts) do
    count = count + 1
    if t["zh-CN"] and t["en-US"] then both = both + 1 end
  end
  local out = table.concat({
    "-- lua/tcssl_emulator/messages.lua: the documents' description of each error code, in Chinese",
    "-- (zh-CN, from the reference's error code tables) and English (en-US, from the English pages'",
    "-- tables and the reference's error examples), where the documents give it. GENERATED by",
    "-- tools/gen-messages.lua from the seeds " .. REFERENCE .. ", " .. ENGLISH_LIST .. " and",
    "-- " .. ENGLISH_ONE .. " (`lua5.4 tools/gen-messages.lua SEEDS`); do not edit by hand.",
    ("-- %d codes, %d of them in both languages."):format(count, both),
    "-- luacheck: no max line length",
    "return " .. luadata.emit(texts), "",
  }, "\n")
  local chunk = load(out, "=messages", "t", {})
  if not chunk or type(chunk()) ~= "table" then error("gen-messages: the rendered texts do not load back") end
  luadata.write(args[2] or (root .. "/lua/tcssl_emulator/messages.lua"), out)
  if verbose then
    for _, n in ipairs(report.notes) do io.stderr:write("note: ", n, "\n") end
  end
  io.stderr:write(("gen-messages: %d codes, %d in both languages; %d notes%s\n"):format(count, both,
    #report.notes, verbose and "" or " (-v lists them)"))
end

main(arg or {})

#!/usr/bin/env lua5.4
--[=[ tools/gen-facts.lua: read the SSL Certificates API reference into model/facts.lua, the
normalised form tools/gen-model.lua builds the runtime model and its docs from (`make model-facts`).

  lua5.4 tools/gen-facts.lua [SEED [OUT]] [-v] [--overrides FILE]

  SEED  the reference text; default ../shared/seeds/004_6ca79b59cc431531.txt relative to the
        repository root, then /work/shared/seeds/004_6ca79b59cc431531.txt
  OUT   where the facts go; default model/facts.lua in the repository; "-" = standard output
  -v    also list on standard error every note (contradictions found and how they were read) and
        every line dropped as page furniture
  --overrides FILE  what the documents' text does not give (default tools/model-overrides.lua)

The seed was extracted from a PDF: tables are flattened, a cell that wraps continues on the next
line, and a page break may drop the page's title block, its link URLs, a footer and a repeated
table header anywhere, even inside a JSON example. The generator works in passes:

  1. read     the seed's lines, keeping their numbers for messages
  2. clean    drop page furniture, trim, drop blank lines
  3. split    parameter types, API overview, the action sections, data structures, legacy part
  4. parse    tables into rows (name, required, type, description, 示例值, null note); examples
  5. resolve  legacy nesting and the legacy types the examples contradict
  6. check    counts, rate limits, references, types, examples against the tables; a problem is
              printed and the generator exits with status 1 before writing anything
  6b. derive  the facts the documents give in prose: how actions page, the status values
              (with tools/model-overrides.lua, each entry checked against the documents)
  7. emit     a plain Lua table (Lua 5.1 and 5.4 syntax), keys sorted, no timestamps
]=]

local cjson = require "cjson.safe"

local SEED_NAME = "004_6ca79b59cc431531.txt"
local EXPECTED_ACTIONS = 68
local DOC_MAX = 200          -- code points kept of a description
local NULL_NOTE = "注意：此字段可能返回 null，表示取不到有效值。"

-- An action only reads state when its name starts with one of these (docs/model-notes.md lists the
-- borderline cases).
local READONLY_PREFIXES = { "Describe", "Check", "Download" }
local LEGACY_READONLY_PREFIXES = { "CertGet" }

---------------------------------------------------------------------------------------------------
-- Problems and notes
---------------------------------------------------------------------------------------------------

local problems, notes = {}, {}

local function problem(fmt, ...) problems[#problems + 1] = string.format(fmt, ...) end
local function note(fmt, ...) notes[#notes + 1] = string.format(fmt, ...) end

local function fail_if_problems()
  if #problems == 0 then return end
  io.stderr:write("gen-facts: the seed does not give a consistent model:\n")
  for _, p in ipairs(problems) do io.stderr:write("  - ", p, "\n") end
  os.exit(1)
end

---------------------------------------------------------------------------------------------------
-- Text helpers
---------------------------------------------------------------------------------------------------

local function trim(s) return (s:gsub("^%s+", ""):gsub("%s+$", "")) end
local function starts(s, prefix) return s:sub(1, #prefix) == prefix end
local function collapse(s) return trim((s:gsub("%s+", " "))) end
local function is_ident(s) return s:match("^[%a_][%w_]*$") ~= nil end

-- Joins two lines of a cell. Chinese text wraps anywhere and needs no blank; a blank goes between
-- two ASCII characters (an English word or a number wrapped at a space; not after a hyphen, where
-- a word wraps), after a sentence or item end (。：；), and before a line that starts a list item
-- ("DNS：…", "- clb", "1. …").
local function wrap_join(a, b)
  if a == "" then return b end
  if b == "" then return a end
  local ascii_pair = a:sub(-1):match("[%w%p]") and a:sub(-1) ~= "-" and b:sub(1, 1):match("[%w%p]")
  local item_end = a:sub(-3) == "。" or a:sub(-3) == "：" or a:sub(-3) == "；"
  local item_start = b:match("^[%w_%-]+：") or b:match("^[%w_%-]+:") or b:match("^%- ") or b:match("^%d+[%.、]")
  if ascii_pair or item_end or item_start then return a .. " " .. b end
  return a .. b
end

-- Cuts a UTF-8 string to at most n code points, marking a cut with "…".
local function cut(s, n)
  local len = utf8.len(s)
  if not len or len <= n then return s end
  return trim(s:sub(1, utf8.offset(s, n) - 1)) .. "…"
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b)
    if type(a) == type(b) then return a < b end
    return type(a) == "number"
  end)
  return keys
end

local function has_prefix(name, prefixes)
  for _, p in ipairs(prefixes) do
    if starts(name, p) then return true end
  end
  return false
end

---------------------------------------------------------------------------------------------------
-- Pass 1: read
---------------------------------------------------------------------------------------------------

local function read_lines(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local text = f:read("a")
  f:close()
  local lines = {}
  for line in (text:gsub("\r\n", "\n"):gsub("\n?$", "\n")):gmatch("([^\n]*)\n") do
    lines[#lines + 1] = line
  end
  return lines
end

---------------------------------------------------------------------------------------------------
-- Pass 2: clean
---------------------------------------------------------------------------------------------------

-- A page's title block is "[category] title / 最近更新时间：… / 推荐使用 API Explorer 点击调试",
-- followed by the page's link URLs; the extraction leaves it wherever the page's first text
-- block ended up, often inside a table or an example, so it is found by its time stamp. The line
-- before the stamp is the title unless it is content (JSON, an example value, a heading).
local function looks_like_content(t)
  return t:match('^[%[%]{}"<]') ~= nil or starts(t, "示例值") or t:match("^%d+%. ") ~= nil
end

local function clean(raw)
  local out, dropped = {}, {}
  local function drop(entry, why) dropped[#dropped + 1] = { n = entry.n, t = entry.t, why = why } end
  for n, line in ipairs(raw) do
    local t = trim(line)
    if t == "" then
      goto next_line                 -- blank lines carry no information in the extraction
    end
    if t:match("^https?://") then
      drop({ n = n, t = t }, "link URL")
    elseif t == "推荐使用 API Explorer 点击调试" then
      drop({ n = n, t = t }, "page header")
    elseif starts(t, "版权所有：") then
      -- the page footer: "SSL 证书" / "版权所有：… 第N 共M页"
      drop({ n = n, t = t }, "page footer")
      if out[#out] and out[#out].t == "SSL 证书" then
        drop(out[#out], "page footer")
        out[#out] = nil
      end
    elseif starts(t, "最近更新时间：") then
      drop({ n = n, t = t }, "page header")
      local title = out[#out]
      if title and not looks_like_content(title.t) then
        out[#out] = nil
        drop(title, "page title")
        local category = out[#out]
        if category and category.t:match("^%S*接口$") then
          out[#out] = nil
          drop(category, "category label")
        end
      end
    else
      out[#out + 1] = { n = n, t = t }
    end
    ::next_line::
  end
  return out, dropped
end

---------------------------------------------------------------------------------------------------
-- Pass 3: split
---------------------------------------------------------------------------------------------------

local function find(L, from, to, pred)
  for i = from, to do
    if pred(L[i].t) then return i end
  end
end

local function equals(s) return function(t) return t == s end end
local function prefix(s) return function(t) return starts(t, s) end end

local function slice(L, from, to)
  local s = {}
  for i = from, to do s[#s + 1] = L[i] end
  return s
end

local OVERVIEW_HEADER = "接口名称 接口功能 频率限制（次/秒）"
local USED_BY = "被如下接口引用："

local function split(L)
  local parts = {}
  local function need(what, i)
    if not i then problem("cannot find %s", what) end
    return i
  end
  parts.types = need("the parameter types (数据格式)", find(L, 1, #L, prefix("目前腾讯云 API 3.0 输入参数和输出参数支持")))
  parts.overview = need("the API overview table", find(L, 1, #L, equals(OVERVIEW_HEADER)))
  if not (parts.types and parts.overview) then return parts end
  parts.overview_end = need("the end of the API overview", find(L, parts.overview, #L, prefix("以上给出的接口频率限制")))
  parts.first_action = need("the first action", find(L, parts.types, #L, equals("1. 接口描述")))
  local used = need("the data structures", find(L, parts.first_action or 1, #L, prefix(USED_BY)))
  if not used then return parts end
  parts.structs = used - 2                       -- name, purpose, "被如下接口引用"
  local codes = need("the error codes after the data structures", find(L, used, #L, equals("功能说明")))
  if not codes then return parts end
  parts.structs_end = codes - 1
  parts.legacy = need("the legacy 2017 part", find(L, codes, #L, equals("SSL 证书 API 2017")))
  parts.sections = {}
  for i = parts.first_action, parts.structs - 1 do
    if L[i].t == "1. 接口描述" then parts.sections[#parts.sections + 1] = i end
  end
  return parts
end

---------------------------------------------------------------------------------------------------
-- Pass 4a: the parameter types and the API overview
---------------------------------------------------------------------------------------------------

-- "String: 字符串。", "Timestamp ISO8601：ISO 8601 是…"
local function parse_scalars(L, from, to)
  local scalars = {}
  for i = from, to do
    local t = L[i].t
    local name = t:match("^([A-Z][%w ]-)%s*:") or t:match("^([A-Z][%w ]-)%s*：")
    if name and (name:match("^[A-Z]%w*$") or name:match("^[A-Z]%w* [A-Z]%w*$")) then
      scalars[name] = true
    end
  end
  return scalars
end

-- "DescribeCertificates 获取证书列表 10", under a category line such as "证书相关接口".
local function parse_overview(L, from, to)
  local rows, category = {}, nil
  for i = from, to do
    local t = L[i].t
    local name, purpose, rate = t:match("^([A-Z]%w+) (.-) (%d+)$")
    if name then
      if rows[name] then problem("overview line %d: %s is listed twice", L[i].n, name) end
      rows[name] = { purpose = purpose, rate_limit = math.tointeger(tonumber(rate)), category = category }
    elseif t ~= OVERVIEW_HEADER then
      category = t
    end
  end
  -- the first category label sits just above the first header
  local first = L[from - 1] and L[from - 1].t
  for _, row in pairs(rows) do row.category = row.category or first end
  return rows
end

---------------------------------------------------------------------------------------------------
-- Pass 4b: tables
---------------------------------------------------------------------------------------------------

local TABLE_HEADERS = {
  ["参数名称 必选 类型 描述"] = "input",       -- name required type
  ["参数名称 类型 描述"] = "fields",            -- name type
  ["名称 类型 描述"] = "fields",
  ["名称 类型 必选 描述"] = "fields_req",       -- name type required
}

local REQUIRED = { ["是"] = true, ["否"] = false }

-- The type at the start of s: the longest scalar name, or a known struct name, or after
-- "Array of" any identifier (so that an undefined struct is reported, not swallowed).
local function leading_type(s, ctx, after_array)
  local best
  for name in pairs(ctx.scalars) do
    if starts(s, name) and (#s == #name or s:sub(#name + 1, #name + 1) == " ") then
      if not best or #name > #best then best = name end
    end
  end
  if best then return best, trim(s:sub(#best + 1)) end
  local id, rest = s:match("^([A-Z][%w_]*)%s*(.*)$")
  if id and (ctx.structs[id] or after_array) then return id, rest end
end

-- A type that starts in `rest` (possibly empty) and may continue on the next lines: "String",
-- "Array of String", or "Array of" / "String" on two lines. Returns type, array, the text after
-- the type and the index of the first line not consumed.
local function read_type(T, i, rest, ctx)
  local j, s = i + 1, rest
  if s == "" then
    if not T[j] then return nil end
    s, j = T[j].t, j + 1
  end
  local array = false
  if s == "Array of" then
    if not T[j] then return nil end
    array, s, j = true, T[j].t, j + 1
  elseif starts(s, "Array of ") then
    array, s = true, s:sub(#"Array of " + 1)
  end
  local ty, after = leading_type(s, ctx, array)
  if not ty then return nil end
  return ty, array, after, j
end

-- The first line(s) of a row at T[i], or nil when T[i] continues the previous row.
local function read_row_start(T, i, mode, ctx)
  local t = T[i].t
  local name, rest, req
  if mode == "input" then
    local n, r, s = t:match("^([%a_][%w_]*%.N) (%S+)%s*(.*)$")
    if not n then n, r, s = t:match("^([%a_][%w_]*) (%S+)%s*(.*)$") end
    if not n or REQUIRED[r] == nil then return nil end
    name, req, rest = n, REQUIRED[r], s
  else
    name, rest = t:match("^([%a_][%w_]*)%s*(.*)$")
    if not name then return nil end
  end
  local ty, array, after, j = read_type(T, i, rest, ctx)
  if not ty then return nil end
  if mode == "fields_req" then
    local r, s = after:match("^(%S+)%s*(.*)$")
    if not r and T[j] then
      r, s = T[j].t:match("^(%S+)%s*(.*)$")
      j = j + 1
    end
    if REQUIRED[r] == nil then return nil end
    req, after = REQUIRED[r], s
  end
  return { name = name, required = req, type = ty, array = array, line = T[i].n, text = { after } }, j
end

-- Splits a row's description lines into doc, example (示例值) and the null note. A callout box
-- ("说明" and its text) that the extraction put after the example value goes back to the doc.
local function finish_row(row, where)
  local doc, example, callout = "", nil, false
  for _, piece in ipairs(row.text) do
    if not example and starts(piece, "示例值：") then
      example = piece:sub(#"示例值：" + 1)
    elseif example and (piece == "说明" or piece == "注意：") then
      callout = true
      doc = wrap_join(doc, piece .. "：")
    elseif example and not callout then
      example = example .. piece            -- example values wrap mid-token (base64, JSON)
    else
      doc = wrap_join(doc, piece)
    end
  end
  row.text = nil
  doc = collapse(doc)
  local plain = doc:gsub(NULL_NOTE, ""):gsub("注意：此字段可能返回 null，表示取不到有效值", "")
  if plain ~= doc then row.nullable = true end
  row.full = collapse(plain)                -- the whole text, for the facts read from it (pass 6b)
  row.doc = cut(row.full, DOC_MAX)
  if example then row.example = trim(example) end
  -- Name.N marks an array parameter; the type column must agree
  local base = row.name:match("^(.-)%.N$")
  if base then
    if not row.array then problem("%s: %s is Name.N but its type is not Array of", where, row.name) end
    row.name = base
  end
  return row
end

local function parse_table(T, mode, ctx, where)
  local rows, cur, seen = {}, nil, {}
  local i = 1
  while i <= #T do
    local t = T[i].t
    if TABLE_HEADERS[t] then
      i = i + 1                                 -- a header repeated after a page break
    else
      local row, j = read_row_start(T, i, mode, ctx)
      if row then
        if cur then finish_row(cur, where) end
        rows[#rows + 1], cur, i = row, row, j
      else
        if cur then
          cur.text[#cur.text + 1] = t
        else
          problem("%s, line %d: text before the first row: %s", where, T[i].n, t)
        end
        i = i + 1
      end
    end
  end
  if cur then finish_row(cur, where) end
  for _, r in ipairs(rows) do
    if seen[r.name] then problem("%s: %s appears twice", where, r.name) end
    seen[r.name] = true
  end
  return rows
end

---------------------------------------------------------------------------------------------------
-- Pass 4c: examples
---------------------------------------------------------------------------------------------------

local function json_line(t)
  return t:match('^[%[%]{}",:%-%d]') ~= nil or starts(t, "true") or starts(t, "false") or starts(t, "null")
end

-- One JSON value starting at L[i] (a line beginning with "{"). A line break inside a JSON string
-- is a wrap of the PDF and is removed; any other becomes "\n". A line that cannot continue JSON
-- (a callout box the extraction dropped into the example) is left out and reported.
local function read_json(L, i, to, skipped)
  local depth, in_string, escaped = 0, false, false
  local buf = {}
  for k = i, to do
    local t = L[k].t
    if in_string or json_line(t) then
      if #buf > 0 and not in_string then buf[#buf + 1] = "\n" end
      buf[#buf + 1] = t
      for c in t:gmatch(".") do
        if in_string then
          if escaped then escaped = false
          elseif c == "\\" then escaped = true
          elseif c == '"' then in_string = false end
        elseif c == '"' then in_string = true
        elseif c == "{" or c == "[" then depth = depth + 1
        elseif c == "}" or c == "]" then depth = depth - 1 end
      end
      if depth == 0 and not in_string then return table.concat(buf) end
    else
      skipped[#skipped + 1] = L[k]
    end
  end
end

-- Every "输入示例 … 输出示例 …" pair in the examples part of a section, in order.
local function parse_examples(L, from, to, where)
  local list, skipped = {}, {}
  local i = find(L, from, to, equals("输入示例"))
  while i do
    local next_input = find(L, i + 1, to, equals("输入示例"))
    local stop = (next_input or to + 1) - 1
    local output = find(L, i, stop, equals("输出示例"))
    local ex = {}
    local body = find(L, i, output or stop, prefix("{"))
    if body then ex.request = read_json(L, body, output or stop, skipped) end
    if output then
      local start = find(L, output, stop, prefix("{"))
      if start then ex.response = read_json(L, start, stop, skipped) end
    end
    for _, k in ipairs({ "request", "response" }) do
      if ex[k] and not cjson.decode(ex[k]) then
        problem("%s: example %d's %s is not valid JSON", where, #list + 1, k)
      end
    end
    list[#list + 1] = ex
    i = next_input
  end
  for _, s in ipairs(skipped) do
    note("%s: example line %d is not JSON and is left out: %s", where, s.n, s.t)
  end
  return list
end

---------------------------------------------------------------------------------------------------
-- Pass 4d: action sections
---------------------------------------------------------------------------------------------------

local SECTION = {
  input = "2. 输入参数", output = "3. 输出参数", examples = "4. 示例",
  resources = "5. 开发者资源", errors = "6. 错误码",
}
local COMMON = { Action = true, Version = true, Region = true }

local function parse_action(L, from, to, ctx)
  local a = { line = L[from].n }
  for i = from, to do
    local t = L[i].t
    local name = t:match("^Action 是 String 公共参数，本接口取值：(%w+)")
    if name then
      if a.name then problem("section at line %d names two actions", a.line) end
      a.name = name
    end
    local rate = t:match("^默认接口请求频率限制：(%d+)次/秒")
    if rate then a.section_rate = math.tointeger(tonumber(rate)) end
  end
  if not a.name then
    problem("section at line %d: no \"Action 是 String 公共参数，本接口取值：\" line", a.line)
    return nil
  end
  local where = a.name .. " (line " .. a.line .. ")"
  local mark = {}
  for key, text in pairs(SECTION) do mark[key] = find(L, from, to, equals(text)) end
  if not (mark.input and mark.output) then
    problem("%s: no input or output heading", where)
    return nil
  end
  local tail = (mark.resources or mark.errors or to + 1) - 1
  local out_end = mark.examples and mark.examples - 1 or tail
  local in_header = find(L, mark.input, mark.output, function(t) return TABLE_HEADERS[t] == "input" end)
  local out_header = find(L, mark.output, out_end, function(t) return TABLE_HEADERS[t] == "fields" end)
  if not (in_header and out_header) then
    problem("%s: no input or output table", where)
    return nil
  end
  a.input = {}
  for _, r in ipairs(parse_table(slice(L, in_header + 1, mark.output - 1), "input", ctx, where .. " input")) do
    if not COMMON[r.name] then a.input[#a.input + 1] = r end
  end
  a.output = parse_table(slice(L, out_header + 1, out_end), "fields", ctx, where .. " output")
  for _, r in ipairs(a.output) do r.required = nil end
  a.examples = mark.examples and parse_examples(L, mark.examples, tail, a.name) or {}
  return a
end

---------------------------------------------------------------------------------------------------
-- Pass 4e: data structures
---------------------------------------------------------------------------------------------------

-- The struct names, read first so that table rows can recognise a struct type.
local function struct_names(L, from, to)
  local names = {}
  for i = from, to do
    if starts(L[i].t, USED_BY) and is_ident(L[i - 2].t) then names[L[i - 2].t] = true end
  end
  return names
end

-- Each struct: name / purpose / "被如下接口引用：A, B。" (may wrap) / header / fields.
local function parse_structs(L, from, to, ctx)
  local anchors = {}
  for i = from, to do
    if starts(L[i].t, USED_BY) then anchors[#anchors + 1] = i end
  end
  local defs = {}
  for k, a in ipairs(anchors) do
    local name, purpose = L[a - 2].t, L[a - 1].t
    local stop = anchors[k + 1] and anchors[k + 1] - 3 or to
    local header = find(L, a + 1, stop, function(t) return TABLE_HEADERS[t] ~= nil end)
    local mode = header and TABLE_HEADERS[L[header].t]
    if not is_ident(name) or is_ident(purpose) then
      problem("data structure at line %d: expected a name and a purpose above %s", L[a].n, USED_BY)
    elseif mode ~= "fields" and mode ~= "fields_req" then
      problem("data structure %s (line %d): no field table", name, L[a].n)
    else
      local list = {}
      for i = a, header - 1 do list[#list + 1] = L[i].t end
      local used_by = {}
      for act in table.concat(list, " "):sub(#USED_BY + 1):gsub("。$", ""):gmatch("[^,%s]+") do
        used_by[#used_by + 1] = act
      end
      defs[#defs + 1] = {
        name = name, purpose = purpose, used_by = used_by, line = L[a - 2].n,
        fields = parse_table(slice(L, header + 1, stop), mode, ctx, "data structure " .. name),
      }
    end
  end
  return defs
end

---------------------------------------------------------------------------------------------------
-- Pass 4f + 5: the legacy 2017 API
---------------------------------------------------------------------------------------------------

local LEGACY_TYPES = { Int = "Integer", String = "String", Bool = "Boolean", Array = "Array" }

-- The legacy pages give nested results as separate tables and join them in prose. This says,
-- per action, which output table (by its order on the page) describes which nested object, after
-- the prose quoted; the struct names are ours (the legacy documents name none). totalNum is only
-- named in the prose.
local LEGACY_NESTING = {
  CertGetList = {
    -- "会返回 data 字段，包含了获取到的证书数量 totalNum 与 list 值。list 字段获取成功后，返回的基本信息如下"
    data = { struct = "CertGetListData", purpose = "The data of a CertGetList response", fields = {
      { name = "totalNum", type = "Int", doc = "获取到的证书数量" },   -- the prose: 证书数量 totalNum
      { name = "list", type = "Array", doc = "证书列表" },
    } },
    list = { struct = "CertGetListItem", purpose = "One certificate in the list of a CertGetList response", table = 2 },
    -- "projectInfo String 项目信息，参考“具体项目信息字段”"
    projectInfo = { struct = "CertGetListProjectInfo", purpose = "具体项目信息字段", table = 3 },
  },
  CertUpload = {
    -- "data 参数包含了…" followed by the second table (id)
    data = { struct = "CertUploadData", purpose = "The data of a CertUpload response", table = 2 },
  },
}

local LEGACY_ENDPOINT_PREFIX = "https://wss.api.qcloud.com/v2/index.php?"

-- The legacy response examples lost every line that held only a bracket: they were moved, in
-- order, to a run after the example. Put them back: one goes before the first line, after each
-- `"key":` left without a value, on each line left with only its indentation or only ",", and the
-- rest at the end. The result must decode, or the generator stops.
local function legacy_response(raw, from, to, where)
  local content, brackets = {}, {}
  for m = from, to do
    local line = raw[m]:gsub("%s+$", "")
    local t = trim(line)
    if raw[m] == "" then
      goto next_line                 -- an empty line of the extraction
    end
    if t:match("^[{}%[%]]+$") then
      brackets[#brackets + 1] = t
    elseif #brackets > 0 then
      break
    elseif t == "" then
      content[#content + 1] = { slot = raw[m] }   -- a line left with only its indentation
    elseif not (t:match("^https?://") or starts(t, "返回示例")) then
      content[#content + 1] = { text = line }
    end
    ::next_line::
  end
  local b = 0
  local function take()
    b = b + 1
    if not brackets[b] then problem("%s: the legacy example has more gaps than brackets", where) end
    return brackets[b] or ""
  end
  local out = { take() }
  for _, c in ipairs(content) do
    if c.slot then
      out[#out + 1] = c.slot .. take()
    elseif c.text:match('":$') then
      out[#out + 1] = c.text .. " " .. take()
    elseif trim(c.text) == "," then
      out[#out + 1] = c.text:gsub(",$", "") .. take() .. ","
    else
      out[#out + 1] = c.text
    end
  end
  while b < #brackets do out[#out + 1] = take() end
  local text = table.concat(out, "\n")
  if not cjson.decode(text) then problem("%s: the rebuilt legacy response example is not JSON", where) end
  return text
end

-- The request example: the endpoint URL and one "&name=value" per line; a value that wrapped is
-- joined back. Page furniture that fell into it is skipped.
local function legacy_request(raw, from, to)
  local parts, first = {}, nil
  for m = from, to do
    local t = trim(raw[m])
    if starts(t, LEGACY_ENDPOINT_PREFIX) and not first then
      first = m
      parts[1] = t
    elseif first then
      if t:match('^"') or t:match("^[{}%[%]]") then break end
      if t ~= "" and not t:match("^https?://") and not starts(t, "返回示例") then
        if starts(t, "&") then parts[#parts + 1] = t else parts[#parts] = parts[#parts] .. t end
      end
    end
  end
  if not first then return nil end
  return table.concat(parts, "\n"), first
end

local function legacy_field(row)
  local f = { name = row.name, legacy_type = row.type, doc = cut(collapse(row.doc), DOC_MAX) }
  if row.type == "Array" then f.array = true else f.type = LEGACY_TYPES[row.type] end
  f.required, f.default = row.required, row.default
  return f
end

local function json_kind(v)
  if v == cjson.null then return "null" end
  local t = type(v)
  if t == "table" then
    if next(v) == nil then return "empty" end
    return #v > 0 and "array" or "object"
  end
  if t == "number" then return v == math.floor(v) and "Integer" or "Float" end
  if t == "string" then return "String" end
  if t == "boolean" then return "Boolean" end
  return t
end

-- Gives the legacy fields their nesting and checks every field against the example value: where
-- the table's type and the example disagree, the example wins and a note says so.
local function resolve_legacy(action, tables, example, structs)
  local nesting = LEGACY_NESTING[action] or {}
  local function build(rows, value, path)
    local fields = {}
    for _, row in ipairs(rows) do
      local f = row.legacy_type and row or legacy_field(row)
      local v = type(value) == "table" and value[f.name] or nil
      local nest = nesting[f.name]
      if nest then
        local sub = nest.fields or (tables[nest.table] or {})
        if not nest.fields and not tables[nest.table] then
          problem("legacy %s: no output table %d for %s", action, nest.table, f.name)
        end
        local inner = v
        if f.array then inner = type(v) == "table" and v[1] or nil end
        if json_kind(v) == "object" and f.array then
          note("legacy %s: %s is documented as %s but the example has an object; read as an object",
            action, path .. f.name, f.legacy_type)
          f.array, inner = nil, v
        end
        if not f.array and f.legacy_type ~= "Array" and json_kind(v) == "object" then
          note("legacy %s: %s is documented as %s but the example has an object; read as struct %s",
            action, path .. f.name, f.legacy_type, nest.struct)
        end
        f.type, f.struct = nest.struct, true
        structs[nest.struct] = { purpose = nest.purpose, fields = build(sub, inner, path .. f.name .. ".") }
      elseif v ~= nil then
        local kind = json_kind(v)
        if f.array then
          local first = type(v) == "table" and v[1]
          if kind ~= "array" or first == nil or json_kind(first) == "object" then
            problem("legacy %s: cannot tell the element type of %s from the example", action, path .. f.name)
          else
            f.type = json_kind(first)
            note("legacy %s: %s is documented as Array; the example's elements make it Array of %s",
              action, path .. f.name, f.type)
          end
        elseif kind == "null" then
          f.nullable = true
          note("legacy %s: %s is null in the example; marked nullable", action, path .. f.name)
        elseif kind ~= f.type then
          note("legacy %s: %s is documented as %s but the example has %s %s; read as %s",
            action, path .. f.name, f.legacy_type, kind, cjson.encode(v), kind)
          f.type = kind
        end
      elseif f.array and not f.type then
        problem("legacy %s: %s is an Array without an example to tell its elements", action, path .. f.name)
      end
      fields[#fields + 1] = f
    end
    -- as for API 3.0, a scalar field only the example carries is added, marked from_example
    if json_kind(value) == "object" then
      local known = {}
      for _, f in ipairs(fields) do known[f.name] = true end
      for _, key in ipairs(sorted_keys(value)) do
        local kind = json_kind(value[key])
        if not known[key] and (kind == "Integer" or kind == "String" or kind == "Boolean") then
          fields[#fields + 1] = { name = key, type = kind, from_example = true,
            doc = "Not in the documents' table; added because the example carries it.",
            example = type(value[key]) == "string" and value[key] or cjson.encode(value[key]) }
          note("legacy %s: example field %s is not in the tables; added as %s (from_example)",
            action, path .. key, kind)
        elseif not known[key] then
          note("legacy %s: example field %s (%s) is not in the tables and its type cannot be told; left out",
            action, path .. key, kind == "empty" and "an empty [] or {}" or cjson.encode(value[key]))
        end
      end
    end
    return fields
  end
  local response = example and cjson.decode(example) or nil
  return build(tables[1] or {}, response, "")
end

local function parse_legacy(L, raw, from)
  local legacy = { actions = {}, structs = {} }
  local overview = {}
  local header = find(L, from, #L, equals("接口功能 接口名称"))
  if not header then
    problem("legacy part: no overview table")
    return legacy
  end
  for i = header + 1, #L do
    local purpose, name = L[i].t:match("^(.-) (Cert%a+)$")
    if not name then break end
    overview[name] = purpose
  end
  local starts_at = {}
  for i = from, #L do
    local name = L[i].t:match("^本接口（(Cert%a+)）")
    if name then starts_at[#starts_at + 1] = { i = i, name = name } end
  end
  for k, s in ipairs(starts_at) do
    local stop = starts_at[k + 1] and starts_at[k + 1].i - 1 or #L
    local where = "legacy " .. s.name
    local a = { purpose = overview[s.name], readonly = has_prefix(s.name, LEGACY_READONLY_PREFIXES), input = {} }
    if not a.purpose then problem("%s: not in the legacy overview", where) end
    local host = find(L, s.i, stop, prefix("接口请求域名："))
    host = host and L[host].t:match("^接口请求域名：%s*(%S+)")
    if legacy.endpoint and host ~= legacy.endpoint then problem("%s: request domain %s", where, tostring(host)) end
    legacy.endpoint = legacy.endpoint or host
    -- input: "page 否 Int 1 页数" (with a default column) or "cert 是 String 证书内容"
    local in_header = find(L, s.i, stop, prefix("参数名称 是否必选 类型"))
    if not in_header then problem("%s: no input table", where) end
    local with_default = in_header and L[in_header].t:find("默认值", 1, true)
    for i = (in_header or stop) + 1, stop do
      local name, req, ty, rest = L[i].t:match("^([%a_][%w_]*) (%S+) (%a+)%s*(.*)$")
      if not name or REQUIRED[req] == nil or not LEGACY_TYPES[ty] then break end
      local row = { name = name, required = REQUIRED[req], type = ty, doc = rest }
      if with_default then
        local d, doc = rest:match("^(%S+)%s*(.*)$")
        row.doc = doc or ""
        if d and d ~= "-" then row.default = (ty == "Int" and math.tointeger(tonumber(d))) or d end
      end
      a.input[#a.input + 1] = legacy_field(row)
    end
    local known = {}
    for _, f in ipairs(a.input) do known[f.name] = true end
    -- output tables, in page order; "参数值 描述" tables (status values) are not fields
    local tables, cur = {}, nil
    local example_at = find(L, s.i, stop, function(t) return t == "4. 示例" or t == "示例" end)
    for i = (in_header or stop) + 1, (example_at or stop + 1) - 1 do
      local t = L[i].t
      if t == "参数名称 类型 描述" then
        cur = {}
        tables[#tables + 1] = cur
      elseif t == "参数值 描述" then
        cur = nil
      elseif cur then
        local name, ty, doc = t:match("^([%a_][%w_]*) (%a+)%s*(.*)$")
        if name and LEGACY_TYPES[ty] then cur[#cur + 1] = { name = name, type = ty, doc = doc } end
      end
    end
    if example_at then
      local raw_to = starts_at[k + 1] and L[starts_at[k + 1].i].n - 1 or #raw
      local request, req_line = legacy_request(raw, L[example_at].n, raw_to)
      if not request then problem("%s: no request example", where) end
      for name in (request or ""):gmatch("\n&([%w_]+)=") do
        if name ~= "Action" and not known[name] then
          note("%s: the request example sends %s, which the input table lacks", where, name)
        end
      end
      local path = request and request:match("^https://[^/]+(/[^?]*)")
      legacy.path = legacy.path or path
      local resp_from = find(L, example_at, stop, prefix('"'))
      a.example = {
        request = request,
        response = resp_from and legacy_response(raw, math.max(L[resp_from].n, req_line or 0), raw_to, where),
      }
    else
      problem("%s: no example", where)
    end
    a.output = resolve_legacy(s.name, tables, a.example and a.example.response, legacy.structs)
    legacy.actions[s.name] = a
  end
  for name in pairs(overview) do
    if not legacy.actions[name] then problem("legacy %s: in the overview but has no section", name) end
  end
  return legacy
end

---------------------------------------------------------------------------------------------------
-- Pass 6: checks
---------------------------------------------------------------------------------------------------

local SCALAR_JSON = {
  String = { String = true }, Integer = { Integer = true }, Boolean = { Boolean = true },
  Float = { Integer = true, Float = true }, Double = { Integer = true, Float = true },
  Timestamp = { String = true }, Date = { String = true }, ["Timestamp ISO8601"] = { String = true },
  Binary = { String = true },
}

-- Compares a decoded example value with the model's fields; each disagreement becomes a note.
-- A top-level field the table lacks is collected in `extra` (name -> first example value).
local function check_example(fields, obj, path, structs, where, extra)
  local by_name = {}
  for _, f in ipairs(fields) do by_name[f.name] = f end
  for _, key in ipairs(sorted_keys(obj)) do
    local f, v = by_name[key], obj[key]
    local at = path .. "." .. tostring(key)
    if not f then
      note("%s: example field %s is not in the table", where, at)
      if extra and extra[key] == nil then extra[key] = v end
    else
      local values = { v }
      local kind = json_kind(v)
      if f.array and kind == "array" then values = v
      elseif f.array and kind == "empty" then values = {}
      elseif f.array and kind ~= "empty" and kind ~= "null" then
        note("%s: %s is Array of %s in the table, %s in the example", where, at, f.type, kind)
        values = {}
      end
      for i, e in ipairs(values) do
        local ek = json_kind(e)
        if values == v then at = ("%s.%s[%d]"):format(path, tostring(key), i) end
        if ek == "null" then
          if not f.nullable then note("%s: %s is null in the example but not marked nullable", where, at) end
        elseif f.struct then
          if ek == "object" then check_example(structs[f.type].fields, e, at, structs, where)
          elseif ek ~= "empty" then
            note("%s: %s is struct %s in the table, %s in the example", where, at, f.type, ek)
          end
        elseif SCALAR_JSON[f.type] and not SCALAR_JSON[f.type][ek] then
          note("%s: %s is %s in the table, %s %s in the example", where, at, f.type, ek, cjson.encode(e))
        end
      end
    end
  end
end

-- A field an example carries but the table lacks is added, typed by the example's value and
-- marked from_example (the examples show the service takes or gives it). Output fields go
-- before RequestId, which stays last.
local function add_from_examples(fields, extra, action, side, required)
  for _, key in ipairs(sorted_keys(extra)) do
    local v = extra[key]
    local kind = json_kind(v)
    local f = { name = key, required = required, from_example = true,
      doc = "Not in the documents' table; added because an example carries it." }
    if kind == "array" and json_kind(v[1]) ~= "object" and json_kind(v[1]) ~= "array" then
      f.type, f.array, f.example = json_kind(v[1]), true, cjson.encode(v)
    elseif SCALAR_JSON[kind] then
      f.type, f.example = kind, type(v) == "string" and v or cjson.encode(v)
    end
    if not f.type or not is_ident(key) then
      problem("%s: %s field %s appears only in an example, as %s; cannot type it", action, side, key, kind)
    else
      local at = #fields + 1
      if side == "output" and fields[#fields] and fields[#fields].name == "RequestId" then at = #fields end
      table.insert(fields, at, f)
      note("%s: %s field %s is only in an example; added as %s%s (from_example)", action, side, key,
        f.array and "Array of " or "", f.type)
    end
  end
end

local function check_model(model, overview, sections, defs)
  -- the overview and the sections name the same 68 actions
  local count = 0
  for _ in pairs(overview) do count = count + 1 end
  if count ~= EXPECTED_ACTIONS then
    problem("the API overview lists %d actions, expected %d", count, EXPECTED_ACTIONS)
  end
  if #sections ~= EXPECTED_ACTIONS then
    problem("found %d action sections, expected %d", #sections, EXPECTED_ACTIONS)
  end
  for name in pairs(overview) do
    if not model.actions[name] then problem("%s is in the API overview but has no section", name) end
  end
  for _, a in ipairs(sections) do
    local o = overview[a.name]
    if not o then
      problem("%s has a section but no rate limit in the API overview", a.name)
    elseif not a.section_rate then
      note("%s: its section gives no default rate limit; the overview's %d/s is used", a.name, o.rate_limit)
    elseif a.section_rate ~= o.rate_limit then
      note("%s: the overview gives %d/s, its section %d/s; the overview's is used",
        a.name, o.rate_limit, a.section_rate)
      io.stderr:write(("gen-facts: rate limits disagree for %s: overview %d/s, section %d/s\n")
        :format(a.name, o.rate_limit, a.section_rate))
    end
  end
  -- duplicate struct definitions
  local seen = {}
  for _, d in ipairs(defs) do
    if seen[d.name] then
      local same = cjson.encode(seen[d.name].fields) == cjson.encode(d.fields)
      note("data structure %s is defined twice (lines %d and %d)%s; the first is used", d.name,
        seen[d.name].line, d.line, same and ", identically" or ", differently")
    else
      seen[d.name] = d
    end
  end
  -- every field typed, every struct referenced defined, every struct used
  local reached = {}
  local function walk(fields, where, root)
    for _, f in ipairs(fields) do
      if not f.type or f.type == "" then problem("%s.%s has no type", where, f.name) end
      if not is_ident(f.name) then problem("%s: bad field name %q", where, f.name) end
      if not f.struct and not model.scalar_set[f.type] then
        problem("%s.%s has type %s, which is neither a scalar type nor a defined struct", where, f.name,
          tostring(f.type))
      elseif f.struct then
        local s = model.structs[f.type]
        if not s then
          problem("%s.%s refers to %s, which is not defined", where, f.name, f.type)
        elseif root and not (reached[f.type] or {})[root] then
          reached[f.type] = reached[f.type] or {}
          reached[f.type][root] = true
          walk(s.fields, f.type, root)
        end
      end
    end
  end
  for _, name in ipairs(sorted_keys(model.actions)) do
    local a = model.actions[name]
    walk(a.input, name, name)
    walk(a.output, name, name)
    if not (math.type(a.rate_limit) == "integer" and a.rate_limit > 0) then problem("%s: no rate limit", name) end
  end
  for _, name in ipairs(sorted_keys(model.structs)) do
    walk(model.structs[name].fields, name, nil)
    if not reached[name] then note("data structure %s is not used by any action", name) end
  end
  -- "被如下接口引用" against the references actually found
  for _, d in ipairs(defs) do
    local listed = {}
    for _, a in ipairs(d.used_by) do listed[a] = true end
    for _, a in ipairs(sorted_keys(reached[d.name] or {})) do
      if not listed[a] then note("data structure %s: used by %s, which its \"被如下接口引用\" list omits", d.name, a) end
    end
    for _, a in ipairs(d.used_by) do
      if not model.actions[a] then
        note("data structure %s: its \"被如下接口引用\" list names %s, which is not an action", d.name, a)
      elseif not (reached[d.name] or {})[a] then
        note("data structure %s: its \"被如下接口引用\" list names %s, which does not use it", d.name, a)
      end
    end
  end
  -- examples against the tables (every example, though the model keeps only the first)
  for _, a in ipairs(sections) do
    local m = model.actions[a.name]
    local extra_in, extra_out = {}, {}
    for k, ex in ipairs(a.examples) do
      local where = ("%s example %d"):format(a.name, k)
      local req = ex.request and cjson.decode(ex.request)
      if type(req) == "table" then check_example(m.input, req, "request", model.structs, where, extra_in) end
      local resp = ex.response and cjson.decode(ex.response)
      if type(resp) == "table" and type(resp.Response) == "table" then
        check_example(m.output, resp.Response, "Response", model.structs, where, extra_out)
      elseif ex.response then
        problem("%s: the response example has no Response object", where)
      end
    end
    if #a.examples == 0 then note("%s has no example", a.name) end
    add_from_examples(m.input, extra_in, a.name, "input", false)
    add_from_examples(m.output, extra_out, a.name, "output", nil)
  end
end

---------------------------------------------------------------------------------------------------
-- Pass 6b: facts the documents state only in prose (paging, status values)
---------------------------------------------------------------------------------------------------

-- The field of a field list named `name`.
local function field_named(fields, name)
  for _, f in ipairs(fields) do
    if f.name == name then return f end
  end
end

-- The page size a Limit's description gives: its maximum, and its default where it names one
-- above 0. (Lua patterns work on bytes: `?` after a Chinese character would make only its last
-- byte optional, so each wording is its own pattern.)
local MAX_WORDINGS = { "最大值为%s*(%d+)", "最大值%s*(%d+)", "最大为%s*(%d+)", "最大%s*(%d+)" }
local DEFAULT_WORDINGS = { "默认值为%s*(%d+)", "默认为%s*(%d+)", "默认值%s*(%d+)", "默认%s*(%d+)" }

local function first_number(text, wordings)
  for _, pattern in ipairs(wordings) do
    local n = math.tointeger(tonumber(text:match(pattern)))
    if n and n > 0 then return n end
  end
end

-- An action pages when its input has Offset and Limit and its output a total (AllTotal where
-- there is one, otherwise TotalCount) beside exactly one list. paging = { offset, offset_type,
-- limit, limit_type, total, list, max_page_size, default_page_size } and what the overrides add
-- (group_items: the list holds groups, and Offset, Limit and the total count the entries of each
-- group's field of that name).
local function derive_paging(model, extra)
  for _, name in ipairs(sorted_keys(model.actions)) do
    local a = model.actions[name]
    local offset, limit = field_named(a.input, "Offset"), field_named(a.input, "Limit")
    local total = field_named(a.output, "AllTotal") or field_named(a.output, "TotalCount")
    local lists = {}
    for _, f in ipairs(a.output) do
      if f.array then lists[#lists + 1] = f end
    end
    if offset and limit and total and #lists == 1 then
      a.paging = {
        offset = offset.name, offset_type = offset.type, limit = limit.name, limit_type = limit.type,
        total = total.name, list = lists[1].name,
        max_page_size = first_number(limit._text, MAX_WORDINGS),
        default_page_size = first_number(limit._text, DEFAULT_WORDINGS),
      }
      if not (a.paging.max_page_size or a.paging.default_page_size) then
        note("%s: its Limit names neither a maximum nor a default page size", name)
      end
    elseif offset and limit then
      note("%s takes Offset and Limit but does not page (%s)", name,
        not total and "no total in its output" or ("%d lists in its output"):format(#lists))
    end
  end
  for _, name in ipairs(sorted_keys(extra)) do
    local a, add = model.actions[name], extra[name]
    if not (a and a.paging) then
      problem("overrides: paging of %s, which does not page", name)
    else
      local list = field_named(a.output, a.paging.list)
      local group = list.struct and model.structs[list.type]
      local inner = group and add.group_items and field_named(group.fields, add.group_items)
      if add.group_items and not (inner and inner.array) then
        problem("overrides: %s's list %s has no list field %s", name, a.paging.list,
          tostring(add.group_items))
      end
      for k, v in pairs(add) do a.paging[k] = v end
    end
  end
end

-- The values a description lists, as { { value = 0, label = "审核中" }, ... } in the document's
-- order: "0 = 审核中，1 = 已通过", "0：待部署 1：部署成功", "0 未开始， 1 成功", "0， 待处理， 1 已处理".
-- A value is a number at the start of the text or after a blank or punctuation, followed by
-- "=", "：" or ":", or a "，" or a blank; its label runs to the next value. The values must
-- increase, or the text is taken for prose and nil is returned.
local SEPARATORS = { "=", ":", ",", "：", "，" }
local BEFORE = { "：", "，", "。", "、", "；" }
local TRAILING = { "，", "。", "、", "；", ",", ";", " " }

local function ends_with_any(s, list)
  for _, x in ipairs(list) do
    if #s >= #x and s:sub(-#x) == x then return x end
  end
end

local function listed_values(text)
  local marks = {}
  local pos = 1
  while true do
    local s, e = text:find("%d+", pos)
    if not s then break end
    local before = text:sub(1, s - 1)
    local after_blank = text:match("^ *", e + 1)
    local at = e + 1 + #after_blank
    local sep
    for _, x in ipairs(SEPARATORS) do
      if text:sub(at, at + #x - 1) == x then sep = x end
    end
    local label_from = at + (sep and #sep or 0)
    label_from = label_from + #text:match("^ *", label_from)
    local starts_value = (s == 1 or before:match("[%s%p]$") or ends_with_any(before, BEFORE))
      and (sep or #after_blank > 0) and label_from <= #text
    if starts_value then
      marks[#marks + 1] = { value = math.tointeger(tonumber(text:sub(s, e))), from = s, label_from = label_from }
    end
    pos = e + 1
  end
  if #marks < 2 then return nil end
  local values = {}
  for i, m in ipairs(marks) do
    if i > 1 and m.value <= marks[i - 1].value then return nil end
    local label = text:sub(m.label_from, (marks[i + 1] and marks[i + 1].from or #text + 1) - 1)
    while true do
      local x = ends_with_any(label, TRAILING)
      if not x then break end
      label = label:sub(1, -#x - 1)
    end
    if label == "" then return nil end
    values[#values + 1] = { value = m.value, label = label }
  end
  return values
end

-- The field a path names: "actions.A.output.F", "actions.A.input.F" or "structs.S.F".
local function field_at(model, path)
  local kind, owner, rest = path:match("^(%a+)%.([%w_]+)%.(.+)$")
  local fields
  if kind == "actions" and model.actions[owner] then
    local side, name = rest:match("^(%a+)%.([%w_]+)$")
    fields = side and model.actions[owner][side]
    rest = name
  elseif kind == "structs" and model.structs[owner] then
    fields = model.structs[owner].fields
  end
  return fields and rest and field_named(fields, rest)
end

-- Each enum of the overrides: its values and labels read from its source field's description,
-- the English name the overrides give each value (they must name exactly the values found, with
-- the same labels), and enum = NAME on every field it lists. A listed field whose description
-- lists values must list some of the source's, with the same labels (a differing label is a
-- note: older pages word some values differently); one whose description lists none must say
-- so in the overrides (unstated = its line), and takes the source's values.
local function derive_enums(model, enums)
  model.enums = {}
  for _, ename in ipairs(sorted_keys(enums)) do
    local e = enums[ename]
    local where = "overrides: enum " .. ename
    local source = field_at(model, e.source)
    local values = source and listed_values(source._text)
    if not source then
      problem("%s: no field %s", where, e.source)
    elseif not values then
      problem("%s: %s (line %d) lists no values: %s", where, e.source, source._line, source._text)
    else
      local found = {}
      for _, v in ipairs(values) do
        found[v.value] = true
        local given = e.names[v.value]
        if not given then
          problem("%s: value %d (%s, line %d) has no name", where, v.value, v.label, source._line)
        elseif given[1] ~= v.label then
          problem("%s: value %d is %q at line %d, not %q", where, v.value, v.label, source._line, given[1])
        else
          v.name = given[2]
        end
      end
      for value in pairs(e.names) do
        if not found[value] then problem("%s: names value %d, which %s does not list", where, value, e.source) end
      end
      model.enums[ename] = { type = source.type, line = source._line, values = values }
      local by_value = {}
      for _, v in ipairs(values) do by_value[v.value] = v.label end
      for _, item in ipairs(e.fields) do
        local path = type(item) == "table" and item[1] or item
        local f = field_at(model, path)
        local listed = f and listed_values(f._text)
        if not f then
          problem("%s: no field %s", where, path)
        elseif f.type ~= source.type then
          problem("%s: %s is %s, the source %s", where, path, f.type, source.type)
        elseif listed then
          for _, v in ipairs(listed) do
            if not by_value[v.value] then
              problem("%s: %s (line %d) lists value %d, which the source does not", where, path, f._line, v.value)
            elseif by_value[v.value] ~= v.label then
              note("%s: %s (line %d) words value %d as %s, the source as %s", where, path, f._line, v.value,
                v.label, by_value[v.value])
            end
          end
        elseif not (type(item) == "table" and item.unstated == f._line) then
          problem("%s: %s (line %d) lists no values; the overrides must say unstated = %d", where, path, f._line,
            f._line)
        end
        if f then f.enum = ename end
      end
    end
  end
end

---------------------------------------------------------------------------------------------------
-- Assemble
---------------------------------------------------------------------------------------------------

local function model_field(row, structs)
  local f = { name = row.name, type = row.type, doc = row.doc, example = row.example }
  if row.array then f.array = true end
  if structs[row.type] then f.struct = true end
  f.required, f.nullable = row.required, row.nullable
  f._text, f._line = row.full, row.line        -- for pass 6b; not written out
  return f
end

local function build(raw, overrides)
  local L = clean(raw)
  local parts = split(L)
  fail_if_problems()
  local ctx = {
    scalars = parse_scalars(L, parts.types, parts.first_action - 1),
    structs = struct_names(L, parts.structs, parts.structs_end),
  }
  local overview = parse_overview(L, parts.overview, parts.overview_end - 1)
  local model = { service = "ssl", version = "2019-12-05", actions = {}, structs = {} }

  local defs = parse_structs(L, parts.structs, parts.structs_end, ctx)
  for _, d in ipairs(defs) do
    if not model.structs[d.name] then
      local fields = {}
      for _, r in ipairs(d.fields) do fields[#fields + 1] = model_field(r, ctx.structs) end
      model.structs[d.name] = { purpose = d.purpose, fields = fields }
    end
  end

  local sections = {}
  for k, s in ipairs(parts.sections) do
    local a = parse_action(L, s, (parts.sections[k + 1] or parts.structs) - 1, ctx)
    if a then
      if model.actions[a.name] then problem("%s has two sections", a.name) end
      sections[#sections + 1] = a
      local o = overview[a.name] or {}
      local m = {
        category = o.category, purpose = o.purpose, rate_limit = o.rate_limit,
        readonly = has_prefix(a.name, READONLY_PREFIXES), input = {}, output = {},
      }
      for _, r in ipairs(a.input) do m.input[#m.input + 1] = model_field(r, ctx.structs) end
      for _, r in ipairs(a.output) do m.output[#m.output + 1] = model_field(r, ctx.structs) end
      local first = a.examples[1]
      if first and (first.request or first.response) then
        m.example = { request = first.request, response = first.response }
      end
      model.actions[a.name] = m
    end
  end

  model.scalars = sorted_keys(ctx.scalars)
  model.scalar_set = ctx.scalars
  check_model(model, overview, sections, defs)
  model.scalar_set = nil
  model.legacy = parse_legacy(L, raw, parts.legacy)
  derive_paging(model, overrides.paging)
  derive_enums(model, overrides.enums)
  return model
end

---------------------------------------------------------------------------------------------------
-- Pass 7: emit
---------------------------------------------------------------------------------------------------

local function counts(model)
  local c = { actions = 0, structs = 0, input = 0, output = 0, struct_fields = 0, legacy = 0 }
  for _, a in pairs(model.actions) do
    c.actions, c.input, c.output = c.actions + 1, c.input + #a.input, c.output + #a.output
  end
  for _, s in pairs(model.structs) do c.structs, c.struct_fields = c.structs + 1, c.struct_fields + #s.fields end
  for _ in pairs(model.legacy.actions) do c.legacy = c.legacy + 1 end
  return c
end

-- Drops the keys the passes keep for themselves (_text, _line).
local function strip_private(t)
  for k, v in pairs(t) do
    if type(k) == "string" and k:sub(1, 1) == "_" then t[k] = nil
    elseif type(v) == "table" then strip_private(v) end
  end
end

local function render(model, luadata)
  strip_private(model)
  local c = counts(model)
  model.seed = SEED_NAME
  local out = {
    "-- model/facts.lua: the Tencent Cloud SSL Certificates API (API 3.0, version 2019-12-05, and the\n",
    "-- legacy 2017 API) as the documents give it: names, types, required flags, rate limits, examples\n",
    "-- and descriptions. GENERATED by tools/gen-facts.lua from the seed ", SEED_NAME, " (`make model-facts\n",
    "-- SEED=...`); do not edit by hand. `make model` builds lua/tcssl/model.lua and docs/api.md from\n",
    "-- this file alone (docs/model-notes.md explains both steps).\n",
    ("-- %d actions, %d structs, %d input parameters, %d output fields, %d struct fields; %d legacy actions.\n")
      :format(c.actions, c.structs, c.input, c.output, c.struct_fields, c.legacy),
    "return ", luadata.emit(model), "\n",
  }
  return table.concat(out), c
end

---------------------------------------------------------------------------------------------------
-- Main
---------------------------------------------------------------------------------------------------

local function tools_dir()
  local script = arg and arg[0] or "tools/gen-facts.lua"
  return script:match("^(.*)/[^/]*$") or "."
end

local function main(args)
  local positional, verbose, overrides_path = {}, false, nil
  local i = 1
  while args[i] do
    local a = args[i]
    if a == "-v" then verbose = true
    elseif a == "--overrides" then
      i = i + 1
      overrides_path = args[i]
    else positional[#positional + 1] = a end
    i = i + 1
  end
  local tools = tools_dir()
  local root = tools .. "/.."
  local luadata = dofile(tools .. "/luadata.lua")
  local seed = positional[1]
  local raw, err
  if seed then
    raw, err = read_lines(seed)
  else
    for _, candidate in ipairs({ root .. "/../shared/seeds/" .. SEED_NAME, "/work/shared/seeds/" .. SEED_NAME }) do
      raw, err = read_lines(candidate)
      if raw then break end
    end
  end
  if not raw then
    io.stderr:write("gen-facts: cannot read the seed: ", tostring(err), "\n")
    os.exit(1)
  end
  overrides_path = overrides_path or (tools .. "/model-overrides.lua")
  local overrides, oerr = luadata.load(overrides_path)
  if not overrides then
    io.stderr:write("gen-facts: cannot load ", overrides_path, ": ", tostring(oerr), "\n")
    os.exit(1)
  end
  local model = build(raw, overrides)
  fail_if_problems()
  local text, c = render(model, luadata)
  local chunk = load(text, "=facts", "t", {})
  if not chunk or type(chunk()) ~= "table" then error("gen-facts: the rendered facts do not load back") end
  luadata.write(positional[2] or (root .. "/model/facts.lua"), text)
  if verbose then
    for _, n in ipairs(notes) do io.stderr:write("note: ", n, "\n") end
  end
  io.stderr:write(("gen-facts: %d actions, %d structs, %d input parameters, %d output fields, "
    .. "%d struct fields, %d legacy actions; %d notes%s\n"):format(c.actions, c.structs, c.input, c.output,
    c.struct_fields, c.legacy, #notes, verbose and "" or " (-v lists them)"))
end

main(arg or {})

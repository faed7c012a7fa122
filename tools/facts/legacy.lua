--[=[ tools/facts/legacy.lua: the legacy 2017 API (CertGetList, CertUpload, CertDelete on
wss.api.qcloud.com), passes 4f and 5 of tools/gen-facts.lua.

Its pages differ from the API 3.0 ones: other table headers, types named Int and Bool, nested
results described by separate tables joined in prose, and examples that lost their bracket lines
in the extraction. The examples are read from the raw seed lines (cleaning drops the lines that
hold their indentation), and where a table's type and an example disagree, the example wins and
a note says so.
]=]

local cjson = require "cjson.safe"
local luadata = require "luadata"
local report = require "facts.report"
local strings = require "facts.strings"
local document = require "facts.document"
local field_tables = require "facts.tables"
local examples = require "facts.examples"
local legacy_readonly = require("facts.overview").legacy_readonly

local problem, note = report.problem, report.note
local trim, starts, collapse, cut = strings.trim, strings.starts, strings.collapse, strings.cut
local sorted_keys = luadata.sorted_keys
local find, equals, prefix = document.find, document.equals, document.prefix
local REQUIRED, DOC_MAX = field_tables.REQUIRED, field_tables.DOC_MAX
local json_kind = examples.json_kind

local M = {}

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

-- The legacy part, from L[from] to the end: { endpoint, path, actions, structs }, each action
-- { purpose, readonly, input, output, example }.
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
    local a = { purpose = overview[s.name], readonly = legacy_readonly(s.name), input = {} }
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

M.parse_legacy = parse_legacy

return M

--[=[ tools/facts/examples.lua: the JSON examples of an action's section (pass 4c of
tools/gen-facts.lua), and json_kind, which the checks and the legacy part use to compare an
example's values with the tables' types.
]=]

local cjson = require "cjson.safe"
local report = require "facts.report"
local strings = require "facts.strings"
local document = require "facts.document"

local problem, note = report.problem, report.note
local starts = strings.starts
local find, equals, prefix = document.find, document.equals, document.prefix

local M = {}

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

-- What a decoded JSON value is, in the tables' words where there is one: "Integer", "Float",
-- "String", "Boolean"; else "null", "empty" ([] and {} decode alike), "array" or "object".
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


M.parse_examples, M.json_kind = parse_examples, json_kind

return M

--[=[ tools/facts/actions.lua: one action's section (pass 4d of tools/gen-facts.lua): its name,
the rate limit it states, its input and output tables and its examples.

A section starts at "1. 接口描述" and has numbered headings (SECTION); the name is only in the
row of the common parameter Action, which is dropped with Version and Region, since every call
sends those and the model lists each action's own parameters.
]=]

local report = require "facts.report"
local document = require "facts.document"
local tables = require "facts.tables"
local examples = require "facts.examples"

local problem = report.problem
local find, equals, slice = document.find, document.equals, document.slice
local TABLE_HEADERS, parse_table = tables.TABLE_HEADERS, tables.parse_table
local parse_examples = examples.parse_examples

local M = {}

local SECTION = {
  input = "2. 输入参数", output = "3. 输出参数", examples = "4. 示例",
  resources = "5. 开发者资源", errors = "6. 错误码",
}
local COMMON = { Action = true, Version = true, Region = true }

-- The section L[from..to] as { name, line, section_rate, input, output, examples }, or nil (and a
-- problem) when it lacks its name, a heading or a table.
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

M.parse_action = parse_action

return M

--[=[ tools/facts/structs.lua: the data structures (pass 4e of tools/gen-facts.lua).

Each is a name, a one-line purpose, "被如下接口引用：" with the actions that use it, and a field
table. The names are read in a first sweep (struct_names), because a field table may name a
struct that is defined further on, and a row's type can only be told from its text when the
struct names are known.
]=]

local report = require "facts.report"
local strings = require "facts.strings"
local document = require "facts.document"
local tables = require "facts.tables"

local problem = report.problem
local starts, is_ident = strings.starts, strings.is_ident
local find, slice, USED_BY = document.find, document.slice, document.USED_BY
local TABLE_HEADERS, parse_table = tables.TABLE_HEADERS, tables.parse_table

local M = {}

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

M.struct_names, M.parse_structs = struct_names, parse_structs

return M

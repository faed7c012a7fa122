--[=[ tools/facts/enums.lua: the status values (pass 6b of tools/gen-facts.lua).

The documents list a status field's values in its description ("0 = 审核中，1 = 已通过, …"), each
page in its own words. tools/model-overrides.lua says which field is each enum's source, the
English name tcssl gives each value, and which fields carry the enum; this pass reads the values
from the source, checks every override against the documents' text, and marks the fields, so
that the waiters and the emulator need no copied table of statuses.
]=]

local luadata = require "luadata"
local report = require "facts.report"

local problem, note = report.problem, report.note
local sorted_keys = luadata.sorted_keys
local field_named = require("facts.fields").field_named

local M = {}

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

M.derive_enums = derive_enums

return M

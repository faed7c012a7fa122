--[=[ tools/facts/paging.lua: how an action pages (pass 6b of tools/gen-facts.lua).

The documents never say in one place that an action pages: it follows from its fields (Offset
and Limit in, a total and one list out), and the page sizes are only in the Limit's prose. The
runtime's page walker (lua/tcssl/pages.lua) reads these facts instead of that prose.
]=]

local luadata = require "luadata"
local report = require "facts.report"

local problem, note = report.problem, report.note
local sorted_keys = luadata.sorted_keys
local field_named = require("facts.fields").field_named

local M = {}

-- The page size a Limit's description gives: its maximum, and its default where it names one
-- above 0. (Lua patterns work on bytes: `?` after a Chinese character would make only its last
-- byte optional, so each wording is its own pattern.)
local MAX_WORDINGS = { "最大值为%s*(%d+)", "最大值%s*(%d+)", "最大为%s*(%d+)", "最大%s*(%d+)" }
local DEFAULT_WORDINGS = { "默认值为%s*(%d+)", "默认为%s*(%d+)", "默认值%s*(%d+)", "默认%s*(%d+)" }

local function first_number(text, wordings)
  if type(text) ~= "string" then return nil end -- a field known only from an example has no text
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

M.derive_paging = derive_paging

return M

--[=[ tools/facts/fields.lua: the model's fields, as tools/gen-facts.lua writes them into
model/facts.lua, and how the passes after the checks look one up.

A field keeps two private keys while the generator runs: _text, the whole description (a field's
doc is cut to 200 characters, and the paging and status facts are read from the whole text), and
_line, its row's line in the seed, for messages. facts/emit.lua drops them before writing.
]=]

local M = {}

-- A table row (facts/tables.lua) as a field of the model; structs is the set of struct names.
local function model_field(row, structs)
  local f = { name = row.name, type = row.type, doc = row.doc, example = row.example }
  if row.array then f.array = true end
  if structs[row.type] then f.struct = true end
  f.required, f.nullable = row.required, row.nullable
  f._text, f._line = row.full, row.line        -- for facts/paging.lua and facts/enums.lua
  return f
end

-- The field of a field list named `name`.
local function field_named(fields, name)
  for _, f in ipairs(fields) do
    if f.name == name then return f end
  end
end

M.model_field, M.field_named = model_field, field_named

return M

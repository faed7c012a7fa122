--[=[ tools/facts/counts.lua: how much a facts table holds. Every generated file's header states
it (tools/gen-facts.lua, tools/gen-model.lua), so that a diff of a regeneration shows at its top
whether actions, structs or fields came or went.

  local counts = require "facts.counts"
  local c = counts.of(facts)   -- { actions, structs, input, output, struct_fields, legacy }
  counts.line(c)               -- "-- 68 actions, 79 structs, …; 3 legacy actions.\n"
]=]

local M = {}

function M.of(model)
  local c = { actions = 0, structs = 0, input = 0, output = 0, struct_fields = 0, legacy = 0 }
  for _, a in pairs(model.actions) do
    c.actions, c.input, c.output = c.actions + 1, c.input + #a.input, c.output + #a.output
  end
  for _, s in pairs(model.structs) do c.structs, c.struct_fields = c.structs + 1, c.struct_fields + #s.fields end
  for _ in pairs(model.legacy.actions) do c.legacy = c.legacy + 1 end
  return c
end

function M.line(c)
  return ("-- %d actions, %d structs, %d input parameters, %d output fields, %d struct fields; %d legacy actions.\n")
    :format(c.actions, c.structs, c.input, c.output, c.struct_fields, c.legacy)
end

return M

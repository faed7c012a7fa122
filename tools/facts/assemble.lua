--[=[ tools/facts/assemble.lua: the passes of tools/gen-facts.lua in order, from the seed's lines
to the model that facts/emit.lua writes.

The order matters: the parameter types and the struct names come before any table, since a
row's type is told by them; the checks run on the API 3.0 model before the paging and status
facts are read from it, so that those are read from fields whose types and references hold.
]=]

local luadata = require "luadata"
local report = require "facts.report"
local document = require "facts.document"
local overview_part = require "facts.overview"
local structs_part = require "facts.structs"
local actions_part = require "facts.actions"
local legacy_part = require "facts.legacy"
local check = require "facts.check"
local paging = require "facts.paging"
local enums = require "facts.enums"
local model_field = require("facts.fields").model_field

local M = {}

-- raw: the seed's lines (document.read_lines); overrides: tools/model-overrides.lua's table.
-- Returns the model; what does not fit is in facts/report.lua (the caller stops on a problem).
function M.build(raw, overrides)
  local L = document.clean(raw)
  local parts = document.split(L)
  report.fail_if_problems()
  local ctx = {
    scalars = overview_part.parse_scalars(L, parts.types, parts.first_action - 1),
    structs = structs_part.struct_names(L, parts.structs, parts.structs_end),
  }
  local overview = overview_part.parse_overview(L, parts.overview, parts.overview_end - 1)
  local model = { service = "ssl", version = "2019-12-05", actions = {}, structs = {} }

  local defs = structs_part.parse_structs(L, parts.structs, parts.structs_end, ctx)
  for _, d in ipairs(defs) do
    if not model.structs[d.name] then
      local fields = {}
      for _, r in ipairs(d.fields) do fields[#fields + 1] = model_field(r, ctx.structs) end
      model.structs[d.name] = { purpose = d.purpose, fields = fields }
    end
  end

  local sections = {}
  for k, s in ipairs(parts.sections) do
    local a = actions_part.parse_action(L, s, (parts.sections[k + 1] or parts.structs) - 1, ctx)
    if a then
      if model.actions[a.name] then report.problem("%s has two sections", a.name) end
      sections[#sections + 1] = a
      local o = overview[a.name] or {}
      local m = {
        category = o.category, purpose = o.purpose, rate_limit = o.rate_limit,
        readonly = overview_part.readonly(a.name), input = {}, output = {},
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

  model.scalars = luadata.sorted_keys(ctx.scalars)
  model.scalar_set = ctx.scalars
  check.check_model(model, overview, sections, defs)
  model.scalar_set = nil
  model.legacy = legacy_part.parse_legacy(L, raw, parts.legacy)
  paging.derive_paging(model, overrides.paging)
  enums.derive_enums(model, overrides.enums)
  return model
end

return M

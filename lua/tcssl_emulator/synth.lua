--- tcssl_emulator.synth: replies made from the model. Every action without a handler answers
-- a success whose fields follow its output model (tcssl.model) in name and type: the field's
-- example (tcssl.model_docs) where it fits, arrays with one element, structs filled recursively.
local json = require "tcssl.json"
local schema = require "tcssl.schema"
local docs = require "tcssl.model_docs"
local views = require "tcssl_emulator.views"

local array = json.array

local M = {}

local MAX_SAMPLE_DEPTH = 6
-- Totals agree with the one-element arrays, so that a caller paging through a list stops.
local TOTAL_FIELDS = { TotalCount = true, AllTotal = true }

-- A field's example (from `fdocs`, the docs of its field list) as plain text ("\"x\"" -> x,
-- "[\"x\", \"y\"]" -> x), or nil.
local function example_text(f, fdocs)
  local example = fdocs and fdocs[f.name] and fdocs[f.name].example
  local ex = type(example) == "string" and example:match("^%s*(.-)%s*$") or ""
  if f.array and ex:sub(1, 1) == "[" then
    local items = json.decode(ex)
    local first = type(items) == "table" and items[1]
    ex = (type(first) == "string" or type(first) == "number" and first % 1 == 0) and tostring(first) or ""
  end
  ex = ex:match('^"(.*)"$') or ex
  if ex == "" or ex == "null" then return nil end
  return ex
end

local function sample_scalar(store, f, fdocs)
  local ex, typ = example_text(f, fdocs), f.type
  if typ == "Integer" then
    if TOTAL_FIELDS[f.name] then return 1 end
    local n = ex and ex:match("^%-?%d+$") and schema.as_integer(ex)
    return type(n) == "number" and n or 0
  elseif typ == "Boolean" then
    return ex ~= "false" and ex ~= "0" -- the documents write some as 1 or 0
  elseif typ == "Float" or typ == "Double" then
    return ex and tonumber(ex) and tonumber(ex) + 0.0 or 0.5
  elseif ex then
    return ex
  elseif typ:find("^Timestamp") or typ == "Date" then
    return views.cst_time(store:now())
  end
  return "example"
end

local sample_fields

-- One value of field f (not the array around it); nil where recursion is cut.
local function sample_value(store, f, fdocs, depth, open)
  if not f.struct then return sample_scalar(store, f, fdocs) end
  local struct = schema.model().structs[f.type]
  if not struct or depth >= MAX_SAMPLE_DEPTH or open[f.type] then return nil end
  open[f.type] = true
  local value = sample_fields(store, struct.fields, docs.structs[f.type].fields, depth + 1, open)
  open[f.type] = nil
  return value
end

function sample_fields(store, fields, fdocs, depth, open)
  local out = {}
  for _, f in ipairs(fields) do
    if f.name ~= "RequestId" then
      local v = sample_value(store, f, fdocs, depth, open)
      if f.array then
        out[f.name] = array({ v })
      elseif v ~= nil then
        out[f.name] = v
      end
    end
  end
  return out
end

--- response(store, action, action_model) -> the contents of a success reply of the action.
function M.response(store, action, action_model)
  return sample_fields(store, action_model.output, docs.actions[action].output, 0, {})
end

--- overlay(out, view, fields) -> out, with the fields of view that the output model's
-- `fields` name copied onto it (nulls included).
function M.overlay(out, view, fields)
  for _, f in ipairs(fields) do
    local v = view[f.name]
    if v ~= nil then out[f.name] = v end
  end
  return out
end

return M

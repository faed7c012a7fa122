--- tcssl_emulator.params: an action's parameters, from the request's text to Lua values the
-- model accepts. Forms and queries are parsed ("a=1&b=2"), flattened names are nested
-- (`Filters.0.Values.1=x`), strings take the types the model gives their fields, and the
-- result is checked by tcssl.schema, so that the emulator and the client answer a wrong
-- parameter with the same code and path.
local schema = require "tcssl.schema"
local errors = require "tcssl_emulator.errors"

local raise = errors.raise

local M = {}

local MAX_PARAM_DEPTH = 8
local MAX_PARAM_INDEX = 10000

--- sorted_keys(t) -> the keys of t in order (as strings compare).
function M.sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  return keys
end
local sorted_keys = M.sorted_keys

local function url_decode(s)
  s = s:gsub("+", " ")
  return (s:gsub("%%(%x%x)", function(hex) return string.char(tonumber(hex, 16)) end))
end

--- parse_form(text) -> { a = "1", b = "2" } of "a=1&b=2"; nil, message on a repeated name.
function M.parse_form(text)
  local params = {}
  for pair in text:gmatch("[^&]+") do
    local name, value = pair:match("^([^=]*)=(.*)$")
    if not name then name, value = pair, "" end
    name, value = url_decode(name), url_decode(value)
    if params[name] ~= nil then return nil, "parameter `" .. name .. "` is repeated" end
    params[name] = value
  end
  return params
end

-- Raises unless every table under node that has numeric keys has exactly the keys 1..n: an
-- array given by flattened names must neither skip an index nor mix indexes with names.
local function check_indexes_dense(node, path)
  local numeric, named = 0, 0
  for k, v in pairs(node) do
    if type(k) == "number" then numeric = numeric + 1 else named = named + 1 end
    if type(v) == "table" then check_indexes_dense(v, path .. "." .. tostring(k)) end
  end
  if numeric > 0 and (named > 0 or numeric ~= #node) then
    raise("InvalidParameter", "The parameter `" .. path:sub(2) .. "` mixes or skips array indexes.")
  end
end

--- unflatten(flat) -> nested tables:
-- { ["CertIds.0"] = "a", ["Tags.0.TagKey"] = "k" } -> { CertIds = { "a" }, Tags = { { TagKey = "k" } } }
function M.unflatten(flat)
  local root = {}
  for _, name in ipairs(sorted_keys(flat)) do
    local segments = {}
    for segment in (name .. "."):gmatch("([^.]*)%.") do segments[#segments + 1] = segment end
    if #segments > MAX_PARAM_DEPTH then
      raise("InvalidParameter", "The parameter `" .. name .. "` is nested too deeply.")
    end
    local node = root
    for i, segment in ipairs(segments) do
      local key = segment
      if segment == "" then
        raise("InvalidParameter", "The parameter name `" .. name .. "` is malformed.")
      elseif segment:match("^%d+$") then
        local index = tonumber(segment)
        if i == 1 or index >= MAX_PARAM_INDEX then
          raise("InvalidParameter", "The parameter name `" .. name .. "` is malformed.")
        end
        key = index + 1
      end
      if i == #segments then
        if node[key] ~= nil then
          raise("InvalidParameter", "The parameter `" .. name .. "` conflicts with another one.")
        end
        node[key] = flat[name]
      else
        local child = node[key]
        if child == nil then
          child = {}
          node[key] = child
        elseif type(child) ~= "table" then
          raise("InvalidParameter", "The parameter `" .. name .. "` conflicts with another one.")
        end
        node = child
      end
    end
  end
  check_indexes_dense(root, "")
  return root
end

-- Strings from flattened parameters (GET queries, v1 forms) take the type the model gives
-- the field; so do decimal strings in JSON bodies, which the documents' own examples send for
-- Integer fields ("ProjectId": "1634827"). Anything else is left for schema.check to reject.
local function coerce_scalar(typ, v)
  if type(v) ~= "string" then return v end
  if typ == "Integer" then
    if v:match("^%-?%d+$") then return schema.as_integer(v) or v end
  elseif typ == "Boolean" then
    if v == "true" then return true elseif v == "false" then return false end
  elseif typ == "Float" or typ == "Double" then
    if v:match("^%-?%d+%.?%d*$") or v:match("^%-?%d*%.%d+$") then return tonumber(v) + 0.0 end
  end
  return v
end

local coerce_fields

local function coerce_field(f, v, structs)
  local function one(x)
    if f.struct then
      if type(x) == "table" and structs[f.type] then coerce_fields(structs[f.type].fields, x, structs) end
      return x
    end
    return coerce_scalar(f.type, x)
  end
  if f.array and type(v) == "table" then
    for i = 1, #v do v[i] = one(v[i]) end
    return v
  end
  return one(v)
end

-- Coerces the fields of t in place, guided by the model's field list.
function coerce_fields(fields, t, structs)
  for _, f in ipairs(fields) do
    local v = t[f.name]
    if v ~= nil then t[f.name] = coerce_field(f, v, structs) end
  end
end

--- check(action_model, params, structs) -> the checked parameters. Coerces and checks them
-- against the action's model the way the client does (tcssl.schema), so that both answer
-- MissingParameter, UnknownParameter or InvalidParameter with the same path.
function M.check(action_model, params, structs)
  coerce_fields(action_model.input, params, structs)
  local checked, err = schema.check(action_model, params)
  if not checked then raise(err.code, err.message) end
  return checked
end

--- required(params, name) -> params[name]; MissingParameter when it is absent or empty.
function M.required(params, name)
  local v = params[name]
  if v == nil or v == "" then
    raise("MissingParameter", "The request is missing a required parameter `" .. name .. "`.")
  end
  return v
end

return M

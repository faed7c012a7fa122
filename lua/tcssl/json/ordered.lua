-- tcssl.json.ordered: the writer behind json.encode(value, options), for output a person reads
-- or compares (the CLI): object keys in a fixed order, and optionally one member a line. A
-- table is an array when it is marked, or when all its keys are positive integers (as cjson
-- decides); holes are written as null, and a sparse table is refused as cjson refuses it (more
-- than 10 slots, over half of them empty). Scalars come out exactly as json.encode writes them.
local json = require "tcssl.json"

local M = {}

local encode, null, MAX_DEPTH = json.encode, json.null, json.MAX_DEPTH
local MESSAGES, is_index, path_step = json.WRITER, json.WRITER.is_index, json.WRITER.path_step
local concat, sort = table.concat, table.sort
local huge = math.huge

local ordered_value

-- A scalar as the compact writer writes it (a nil is a hole in an array: null).
local function scalar_text(v)
  if v == nil then return "null" end
  local tv = type(v)
  if (tv == "table" and not json.is_number(v)) or tv == "function" or tv == "thread"
      or (tv == "userdata" and v ~= null) then
    return nil, "cannot encode a " .. tv .. " value"
  end
  local text, err = encode(v)
  if not text then return nil, (err:gsub("^json%.encode: ", "")) end
  return text
end

-- The length of t written as an array, nil for an object, or false, message.
local function array_length(t)
  local marked = json.is_array(t)
  local max, count = 0, 0
  for k in next, t do
    if type(k) == "number" and is_index(k) then
      if k > max then max = k end
      count = count + 1
    elseif marked then
      return false, "json.array table has a key that is not a positive integer (" .. tostring(k) .. ")"
    else
      return nil
    end
  end
  if count == 0 and not marked then return nil end
  if max > 10 and max > 2 * count then return false, "cannot encode an excessively sparse array" end
  return max
end

local function key_text(k)
  if type(k) == "string" then return k end
  if type(k) == "number" then
    if k ~= k or k == huge or k == -huge then return nil, MESSAGES.nan .. " as a table key" end
    return encode(k)
  end
  return nil, "cannot encode a table key of type " .. type(k)
end

-- rank[order][name]: the place of name in order, built once per order table.
local function ranks_of(w, order)
  local r = w.ranks[order]
  if not r then
    r = {}
    for i = #order, 1, -1 do r[order[i]] = i end
    w.ranks[order] = r
  end
  return r
end

-- Appends the text of t to w.out; on failure returns message, path.
local function ordered_table(w, t, order, depth, indent)
  if depth > MAX_DEPTH then return MESSAGES.depth, nil end
  if w.open[t] then return MESSAGES.cycle, nil end
  local n, why = array_length(t)
  if n == false then return why, "" end
  local out, nl = w.out, w.nl
  local inner = nl and indent .. w.indent or ""
  local sep = nl and ",\n" or ","
  w.open[t] = true
  if n then
    if n == 0 then
      out[#out + 1] = "[]"
    else
      out[#out + 1] = nl and "[\n" or "["
      for i = 1, n do
        out[#out + 1] = inner
        local msg, path = ordered_value(w, t[i], order, depth, inner)
        if msg then return msg, path and path_step(i) .. path end
        out[#out + 1] = i < n and sep or (nl and "\n" .. indent .. "]" or "]")
      end
    end
  else
    local keys, names = {}, {}
    for k in next, t do
      local name, err = key_text(k)
      if not name then return err, "" end
      keys[#keys + 1], names[name] = name, k
    end
    local rank = type(order) == "table" and ranks_of(w, order) or {}
    sort(keys, function(a, b)
      local ra, rb = rank[a] or huge, rank[b] or huge
      if ra ~= rb then return ra < rb end
      return a < b
    end)
    if #keys == 0 then
      out[#out + 1] = "{}"
    else
      out[#out + 1] = nl and "{\n" or "{"
      for i, name in ipairs(keys) do
        out[#out + 1] = inner .. encode(name) .. (nl and ": " or ":")
        local inside = type(order) == "table" and order[name] or nil
        local k = names[name]
        local msg, path = ordered_value(w, t[k], type(inside) == "table" and inside or nil, depth, inner)
        if msg then return msg, path and path_step(k) .. path end
        out[#out + 1] = i < #keys and sep or (nl and "\n" .. indent .. "}" or "}")
      end
    end
  end
  w.open[t] = nil
  return nil
end

ordered_value = function(w, v, order, depth, indent)
  if type(v) == "table" and not json.is_number(v) then
    return ordered_table(w, v, order, depth + 1, indent)
  end
  local text, err = scalar_text(v)
  if not text then return err, "" end
  w.out[#w.out + 1] = text
  return nil
end

--- encode(value, options) -> text | nil, message, path (json.encode formats the message).
function M.encode(value, options)
  local indent = options.indent
  if indent ~= nil and type(indent) ~= "string" then
    return nil, "options.indent must be a string"
  end
  local order = options.order
  if order ~= nil and type(order) ~= "table" then
    return nil, "options.order must be a table"
  end
  local w = { out = {}, open = {}, ranks = {}, indent = indent, nl = indent ~= nil }
  local msg, path = ordered_value(w, value, order, 0, "")
  if msg then return nil, msg, type(value) == "table" and path or nil end
  return concat(w.out)
end

return M

-- Checking, encoding and decoding API values against the generated model (tcssl.model).
-- One mechanism for every action: a walk over the parameters guided by the model's field lists.
local json = require "tcssl.json"
local errors = require "tcssl.error"

local M = {}

local model -- loaded on first use
local function get_model()
  if not model then model = require "tcssl.model" end
  return model
end
M.model = get_model

-- name -> field maps, built once per field list
local index_cache = setmetatable({}, { __mode = "k" })
local function index_of(fields)
  local idx = index_cache[fields]
  if not idx then
    idx = {}
    for _, f in ipairs(fields) do idx[f.name] = f end
    index_cache[fields] = idx
  end
  return idx
end

-- LuaJIT has no integer subtype: numbers stay numbers there (see docs on 64-bit values).
local tointeger = math.tointeger or function(x) return x end
local HAS_INT = math.tointeger ~= nil
local math_type = math.type or function() return nil end -- luacheck: ignore 143

-- Whether a decimal string is beyond 2^53 (what no double holds exactly) and within int64.
-- Such values are decimal strings under LuaJIT, in responses and in parameters alike.
local function beyond_double(s)
  local digits = s:match("^%-?([1-9]%d*)$")
  if not digits or #digits < 16 then return false end
  if #digits == 16 then return digits > "9007199254740992" end
  if #digits < 19 then return true end
  if #digits > 19 then return false end
  return digits <= (s:sub(1, 1) == "-" and "9223372036854775808" or "9223372036854775807")
end
M.beyond_double = beyond_double

local function describe(v)
  local t = type(v)
  if t == "string" then
    return ("the string %q"):format(#v > 40 and v:sub(1, 40) .. "…" or v)
  elseif t == "number" then
    return "the number " .. tostring(v)
  elseif t == "table" then
    return "a table"
  end
  return "a " .. t
end

local function invalid(code, path, message)
  return errors.new("validation", code, message, { path = path })
end

local function is_sequence(t)
  local n = 0
  for k in pairs(t) do
    if type(k) ~= "number" or k < 1 or k % 1 ~= 0 then return false end
    n = n + 1
  end
  return n == #t
end

-- Integers a parameter may hold: the int64 range, [-2^63, 2^63). Under LuaJIT, whose numbers
-- are doubles, a number is taken only up to 2^53 in magnitude: beyond that a double may be the
-- rounded form of another integer (2^53 + 1 is 2^53), so such values come as decimal strings.
local TWO63 = 2 ^ 63
local NUMBER_LIMIT = HAS_INT and TWO63 or 2 ^ 53

-- Why a number is not an Integer parameter, or nil when it is one.
local function not_integer(v)
  if v ~= v or v == math.huge or v == -math.huge then return "not a finite number" end
  if v % 1 ~= 0 then return "non-integral value" end
  if v >= TWO63 or v < -TWO63 then return "outside the 64-bit integer range" end
  if not HAS_INT and (v > NUMBER_LIMIT or v < -NUMBER_LIMIT) then
    return "beyond 2^53, which a LuaJIT number cannot hold exactly: give it as its decimal string"
  end
  return nil
end

-- Scalar checks: return the value to send, or nil, what was expected and why (optional).
local scalar = {
  String = function(v) if type(v) == "string" then return v end return nil, "a string" end,
  Integer = function(v)
    if type(v) == "number" then
      if math_type(v) == "integer" then return v end
      local why = not_integer(v)
      if why then return nil, "an integer", why end
      return tointeger(v) -- an integral float such as 10.0 is sent as the integer 10
    end
    -- a 64-bit value beyond 2^53 as its decimal string: LuaJIT's only exact form of it
    if type(v) == "string" and beyond_double(v) then
      if HAS_INT then return math.tointeger(tonumber(v)) end
      return json.number(v)
    end
    return nil, "an integer"
  end,
  Boolean = function(v) if type(v) == "boolean" then return v end return nil, "true or false" end,
  Float = function(v)
    if type(v) == "number" and v == v and v ~= math.huge and v ~= -math.huge then return v end
    return nil, "a finite number"
  end,
}
scalar.Double = scalar.Float
local function scalar_check(ty)
  return scalar[ty] or scalar.String -- Timestamp, Date, … are strings on the wire
end

local check_object

local function check_value(f, v, path, opts)
  if v == json.null then return v end
  if f.struct then
    if type(v) ~= "table" or (next(v) ~= nil and is_sequence(v) and not getmetatable(v)) then
      return nil, invalid("InvalidParameter", path,
        ("%s must be an object (%s), got %s"):format(path, f.type, describe(v)))
    end
    local s = get_model().structs[f.type]
    return check_object(s.fields, v, path, opts)
  end
  local out, expected, why = scalar_check(f.type)(v)
  if out == nil then
    return nil, invalid("InvalidParameter", path,
      ("%s must be %s%s, got %s"):format(path, expected, why and " (" .. why .. ")" or "", describe(v)))
  end
  return out
end

local function check_field(f, v, path, opts)
  if not f.array then return check_value(f, v, path, opts) end
  if v == json.null then return v end
  if type(v) ~= "table" or not is_sequence(v) then
    return nil, invalid("InvalidParameter", path,
      ("%s must be an array (a Lua sequence) of %s, got %s"):format(path, f.type, describe(v)))
  end
  local out = json.array{}
  for i = 1, #v do
    local item, err = check_value(f, v[i], ("%s[%d]"):format(path, i), opts)
    if item == nil then return nil, err end
    out[i] = item
  end
  return out
end

-- Checks a table of named fields and returns a copy ready for JSON: arrays marked as arrays,
-- integers as integers. Unknown names are errors unless opts.allow_unknown.
function check_object(fields, t, path, opts)
  local idx = index_of(fields)
  local prefix = path and path .. "." or ""
  local out = {}
  for k, v in pairs(t) do
    local f = type(k) == "string" and idx[k]
    if f then
      local value, err = check_field(f, v, prefix .. k, opts)
      if value == nil then return nil, err end
      out[k] = value
    elseif opts.allow_unknown and type(k) == "string" then
      out[k] = v
    else
      return nil, invalid("UnknownParameter", prefix .. tostring(k),
        ("unknown parameter %s%s"):format(prefix .. tostring(k), M.suggest(tostring(k), fields)))
    end
  end
  for _, f in ipairs(fields) do
    if f.required and t[f.name] == nil then
      return nil, invalid("MissingParameter", prefix .. f.name,
        ("missing required parameter %s (%s%s)"):format(prefix .. f.name, f.array and "array of " or "", f.type))
    end
  end
  return out
end

--- check(action, params, opts) -> params ready to encode | nil, err
-- opts.allow_unknown keeps parameters the model does not know (for fields newer than it).
function M.check(action_model, params, opts)
  if params == nil then params = {} end
  if type(params) ~= "table" then
    return nil, invalid("InvalidParameter", "params", "params must be a table, got " .. describe(params))
  end
  return check_object(action_model.input, params, nil, opts or {})
end

-- Decoding: values in a decoded response take the model's Lua types. Integers are already
-- integers (tcssl.json); Float fields become floats, numeric strings in Integer fields integers.
local function fix_scalar(ty, v)
  local tv = type(v)
  if tv == "number" then
    if ty == "Float" or ty == "Double" then return v + 0.0 end
  elseif tv == "string" and ty == "Integer" and v:find("^%-?%d+$") then
    if not HAS_INT and beyond_double(v) then return v end -- LuaJIT: a double would round it
    return tointeger(tonumber(v)) or v
  end
  return v
end

-- The fields of a field list that decoding may change: Float and Double fields, Integer fields
-- (a numeric string becomes an integer) and struct fields whose struct has such fields, however
-- deep. Every other field (strings, booleans, structs of only those) is left alone, so decoding
-- a response visits only what it may convert. Built once per field list, as entries
-- { name, type, array, sub = the struct's field list }. A struct met again while its own plan
-- is being built (a struct that contains itself) is kept, to be safe.
local plan_cache = setmetatable({}, { __mode = "k" })
local building = {}
local function plan_of(fields)
  local plan = plan_cache[fields]
  if plan then return plan end
  plan = {}
  building[fields] = true
  for _, f in ipairs(fields) do
    local keep, sub
    if f.struct then
      local s = get_model().structs[f.type]
      sub = s and s.fields
      keep = s ~= nil and (building[sub] or next(plan_of(sub)) ~= nil)
    else
      keep = f.type == "Float" or f.type == "Double" or f.type == "Integer"
    end
    if keep then plan[#plan + 1] = { name = f.name, type = f.type, array = f.array, sub = sub } end
  end
  building[fields] = nil
  plan_cache[fields] = plan
  return plan
end

-- Most values need nothing: an integer in an Integer field, a table in a struct field. Those
-- are told apart inline, so that a large page costs a field lookup per planned field and a
-- call only where something changes.
local function fix_with(plan, t)
  for j = 1, #plan do
    local p = plan[j]
    local v = t[p.name]
    if v ~= nil then
      local sub = p.sub
      if sub then
        if type(v) == "table" then
          local sp = p.plan
          if not sp then
            sp = plan_of(sub) -- filled on first use: the struct's plan may be building when p is made
            p.plan = sp
          end
          if p.array then
            for i = 1, #v do
              local item = v[i]
              if type(item) == "table" then fix_with(sp, item) end
            end
          else
            fix_with(sp, v)
          end
        end
      elseif p.array then
        if type(v) == "table" then
          local ty = p.type
          for i = 1, #v do v[i] = fix_scalar(ty, v[i]) end
        end
      elseif not (p.type == "Integer" and math_type(v) == "integer") then
        t[p.name] = fix_scalar(p.type, v)
      end
    end
  end
  return t
end

--- decode(action_model, response) converts a decoded Response table in place and returns it.
function M.decode(action_model, response)
  return fix_with(plan_of(action_model.output), response)
end

-- Edit distance for suggestions (names are short: plain dynamic programming is fine).
local function distance(a, b)
  a, b = a:lower(), b:lower()
  local prev = {}
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    local cur = { [0] = i }
    local ca = a:byte(i)
    for j = 1, #b do
      local cost = ca == b:byte(j) and 0 or 1
      cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
    end
    prev = cur
  end
  return prev[#b]
end

--- closest(name, names) -> the closest candidate when it is near enough, else nil
function M.closest(name, names)
  local best, best_d
  for _, cand in ipairs(names) do
    local d = distance(name, cand)
    if not best_d or d < best_d or (d == best_d and cand < best) then best, best_d = cand, d end
  end
  if best and best_d <= math.max(2, math.floor(#name / 3)) then return best end
  return nil
end

function M.suggest(name, fields)
  local names = {}
  for i, f in ipairs(fields) do names[i] = f.name end
  local c = M.closest(name, names)
  return c and ("; did you mean %s?"):format(c) or ""
end

--- actions() -> sorted list of every action name in the model
local action_list
function M.actions()
  if not action_list then
    action_list = {}
    for name in pairs(get_model().actions) do action_list[#action_list + 1] = name end
    table.sort(action_list)
  end
  local copy = {}
  for i, v in ipairs(action_list) do copy[i] = v end
  return copy
end

return M

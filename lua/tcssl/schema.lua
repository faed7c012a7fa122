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

-- name -> field maps, and the list of the required fields, built once per field list
local index_cache = setmetatable({}, { __mode = "k" })
local required_cache = setmetatable({}, { __mode = "k" })
local function index_of(fields)
  local idx = index_cache[fields]
  if not idx then
    idx = {}
    local required = {}
    for _, f in ipairs(fields) do
      idx[f.name] = f
      if f.required then required[#required + 1] = f end
    end
    index_cache[fields], required_cache[fields] = idx, required
  end
  return idx, required_cache[fields]
end

-- LuaJIT has no integer subtype: numbers stay numbers there (see docs on 64-bit values).
-- Lua 5.3+ integers where the runtime has them; LuaJIT takes the fallbacks.
local tointeger = math.tointeger or function(x) return x end -- luacheck: ignore 143
local HAS_INT = math.tointeger ~= nil -- luacheck: ignore 143
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

local is_sequence = json.is_sequence

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
      if HAS_INT then return math.tointeger(tonumber(v)) end -- luacheck: ignore 143
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

-- Arrays go out as JSON arrays: a plain non-empty sequence already does, an empty table needs
-- the mark (a fresh json.array, as the caller's table is left alone).
local array_mt = getmetatable(json.array())

-- Whether a checked value is the one given: 10.0 == 10 in Lua, yet the integer 10 is a change.
local function changed(out, v)
  return out ~= v or math_type(out) ~= math_type(v)
end

local function check_field(f, v, path, opts)
  if not f.array then return check_value(f, v, path, opts) end
  if v == json.null then return v end
  if type(v) ~= "table" or not is_sequence(v) then
    return nil, invalid("InvalidParameter", path,
      ("%s must be an array (a Lua sequence) of %s, got %s"):format(path, f.type, describe(v)))
  end
  local n = #v
  local mt = getmetatable(v)
  -- the caller's table goes out as it is while nothing in it changes; a copy only from the
  -- first item that does (an integral float, a 64-bit decimal string), or to mark it
  local out = (n == 0 or (mt ~= nil and mt ~= array_mt)) and json.array{} or nil
  for i = 1, n do
    local item, err = check_value(f, v[i], ("%s[%d]"):format(path, i), opts)
    if item == nil then return nil, err end
    if out then
      out[i] = item
    elseif changed(item, v[i]) then
      out = json.array{}
      for j = 1, i - 1 do out[j] = v[j] end
      out[i] = item
    end
  end
  return out or v
end

-- Checks a table of named fields and returns it ready for JSON: arrays marked as arrays,
-- integers as integers. Unknown names are errors unless opts.allow_unknown. The caller's
-- table itself when nothing in it changes (and it has no metatable); otherwise a copy, which
-- leaves the caller's table as it was.
function check_object(fields, t, path, opts)
  local idx, required = index_of(fields)
  local prefix = path and path .. "." or ""
  local out = getmetatable(t) ~= nil and {} or nil
  for k, v in pairs(t) do
    local f = type(k) == "string" and idx[k]
    local value = v
    if f then
      local err
      value, err = check_field(f, v, prefix .. k, opts)
      if value == nil then return nil, err end
    elseif not (opts.allow_unknown and type(k) == "string") then
      return nil, invalid("UnknownParameter", prefix .. tostring(k),
        ("unknown parameter %s%s"):format(prefix .. tostring(k), M.suggest(tostring(k), fields)))
    end
    if out then
      out[k] = value
    elseif changed(value, v) then
      out = {}
      for k2, v2 in pairs(t) do out[k2] = v2 end -- every key so far held what it holds here
      out[k] = value
    end
  end
  for i = 1, #required do
    local f = required[i]
    if t[f.name] == nil then
      return nil, invalid("MissingParameter", prefix .. f.name,
        ("missing required parameter %s (%s%s)"):format(prefix .. f.name, f.array and "array of " or "", f.type))
    end
  end
  return out or t
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

--- check_call(action, action_model, params, opts) -> params to send | nil, err
-- What client:call takes, checked before anything else happens: an action name, a params
-- table, and (with a model and opts, false when the client does not validate) params that
-- hold the model's types. params are the caller's: a raising __index or __pairs is a bad
-- parameter, not a raise.
function M.check_call(action, action_model, params, opts)
  -- a name the model has is one (the client looks models up by name)
  if not action_model and (type(action) ~= "string" or not action:find("^%u%w*$")) then
    return nil, errors.new("validation", "InvalidAction",
      "action must be an API action name such as DescribeCertificates")
  end
  if params ~= nil and type(params) ~= "table" then
    return nil, errors.new("validation", "InvalidParameter", "params must be a table", { action = action })
  end
  if not (action_model and opts) then return params end
  local ran, checked, err = pcall(M.check, action_model, params, opts)
  if not ran then
    return nil, errors.new("validation", "InvalidParameter", "params could not be read: " .. tostring(checked),
      { action = action })
  end
  if not checked then
    err.action = action
    return nil, err
  end
  return checked
end

-- Decoding: a decoded response is checked against the model and takes its Lua types, in place.
-- tcssl.json has already made integers integers, marked arrays and dropped nulls (a null is an
-- absent field, never a type error). Each field the model knows must then hold its type:
--   String (and Timestamp, Date, ...) a string; Boolean a boolean; a struct an object; an array
--   field an array whose items hold the field's type;
--   Integer an integer of the int64 range (under LuaJIT a number, or the exact decimal string
--   tcssl.json gives beyond 2^53); a decimal string of such an integer is accepted too and
--   becomes the integer (the documents' own examples send "ProjectId": "0");
--   Float and Double a finite number, which becomes a float.
-- An empty object where an array belongs, or an empty array where an object belongs, counts as
-- empty (and is marked as what the model says). Fields the model does not know are left alone.
-- Anything else is a `protocol` error naming the path of the value (Certificates[3].CertEndTime,
-- indexes from 1 as in parameters).
--
-- The walk that tests the type of every value has two forms with one contract: under Lua 5.4
-- tcssl.core.conform, in C (in Lua 5.4 the walk cost about half of json.decode's own time on
-- the bench's 1,000-certificate page, every string being a type() call; in C about a tenth),
-- and under LuaJIT the Lua walk below, which the JIT makes cheaper than the C API's calls are
-- there. Both list the values that fail the plain test (suspects); settle() then converts them
-- or reports the first that cannot be converted.
local TWO53 = 2 ^ 53

-- What an Integer field's value that is not already an integer becomes, or nil when it is no
-- integer at all.
local function as_integer(v)
  local tv = type(v)
  if tv == "number" then
    if v % 1 ~= 0 or v >= TWO63 or v < -TWO63 then return nil end -- NaN and infinities too
    return tointeger(v) -- -0.0 becomes 0 (Lua 5.4)
  elseif tv == "string" and v:find("^%-?%d+$") then
    if HAS_INT then return math.tointeger(tonumber(v)) end -- luacheck: ignore 143 (nil beyond int64)
    if beyond_double(v) then return v end -- LuaJIT: a double would round it
    local n = tonumber(v)
    if n > TWO53 or n < -TWO53 then return nil end
    return n
  end
  return nil
end

local function as_float(v)
  if type(v) == "number" and v == v and v ~= math.huge and v ~= -math.huge then return v + 0.0 end
  return nil
end

-- The plan tcssl.core.conform reads (see csrc/tidy.c): { codes, subs, name_1, ..., name_n },
-- codes one byte per field (its kind, ARRAY added for arrays), subs the plans of struct fields
-- by position (false when there are none). Built once per field list; plans of structs are
-- shared, so a struct that contains itself has a plan that contains itself.
local STRING, BOOLEAN, INTEGER, FLOAT, STRUCT, ARRAY = 1, 2, 3, 4, 5, 8
local KIND = { Integer = INTEGER, Boolean = BOOLEAN, Float = FLOAT, Double = FLOAT }
local EXPECTED = { [STRING] = "a string", [BOOLEAN] = "true or false",
  [INTEGER] = "an integer of the int64 range", [FLOAT] = "a finite number" }
local struct_name = setmetatable({}, { __mode = "k" }) -- plan -> struct name, for messages
local plan_cache = setmetatable({}, { __mode = "k" })
local function plan_of(fields, name)
  local plan = plan_cache[fields]
  if plan then return plan end
  plan = {}
  plan_cache[fields] = plan
  struct_name[plan] = name
  local codes, subs = {}, false
  for _, f in ipairs(fields) do
    local code, sub
    if f.struct then
      local s = get_model().structs[f.type]
      if s then code, sub = STRUCT, plan_of(s.fields, f.type) end -- a struct the model lacks: unchecked
    else
      code = KIND[f.type] or STRING -- Timestamp, Date, …: strings on the wire
    end
    if code then
      local i = #codes + 1
      codes[i] = string.char(f.array and code + ARRAY or code)
      plan[i + 2] = f.name
      if sub then
        subs = subs or {}
        subs[i] = sub
      end
    end
  end
  plan[1], plan[2] = table.concat(codes), subs
  return plan
end

-- What a value is, for an error message. Strings are not quoted: a response may hold secrets.
local function what_is(v)
  local t = type(v)
  if t == "number" or t == "boolean" then return ("the %s %s"):format(t, tostring(v)) end
  if t == "string" then return ("a string of %d bytes"):format(#v) end
  if t == "table" then return getmetatable(v) == array_mt and "an array" or "an object" end
  return "a " .. t
end

local function empty_table(v, mt)
  return type(v) == "table" and next(v) == nil and getmetatable(v) == mt
end

-- Settles one suspect: converts its value in place and returns nil, or returns what the value
-- had to be.
local function settle(container, key, code, sub)
  local v = container[key]
  if code >= ARRAY then -- not an array
    if empty_table(v, nil) then setmetatable(v, array_mt) return nil end -- {}: an empty array
    local kind = code - ARRAY
    return "an array of " .. (kind == STRUCT and struct_name[sub] .. " objects"
      or EXPECTED[kind]:gsub("^an? ", "") .. " values")
  elseif code == STRUCT then
    if empty_table(v, array_mt) then setmetatable(v, nil) return nil end -- []: an empty object
    return "an object (" .. struct_name[sub] .. ")"
  end
  local fixed
  if code == INTEGER then
    fixed = as_integer(v)
  elseif code == FLOAT then
    fixed = as_float(v)
  end
  if fixed == nil then return EXPECTED[code] end
  container[key] = fixed
  return nil
end

-- The Lua form of tcssl.core.conform (see csrc/tidy.c for the contract): the same plan, the
-- same suspects (container, key, code, plan or false, path), the same depth limit.
local byte, huge = string.byte, math.huge
local MAX_DEPTH = 1000

-- "integer" for what an Integer field may hold as it is: math.type under Lua 5.4 (tcssl.json
-- made every integral float in range an integer), an integral number in range under LuaJIT.
local int_type = math.type or function(v) -- luacheck: ignore 143
  if type(v) == "number" and v % 1 == 0 and v < TWO63 and v >= -TWO63 then return "integer" end
  return nil
end

local function scalar_ok(v, kind)
  if kind == STRING then return type(v) == "string" end
  if kind == BOOLEAN then return type(v) == "boolean" end
  if kind == INTEGER then return int_type(v) == "integer" end
  if kind == FLOAT then
    return type(v) == "number" and math_type(v) ~= "integer" and v == v and v ~= huge and v ~= -huge
  end
  return true
end

-- Adds a suspect: key of container, whose path is keys[1..depth] and then key.
local function suspect(st, container, key, code, sub, depth)
  local parts = {}
  for d = 1, depth + 1 do
    local k = d <= depth and st.keys[d] or key
    parts[d] = type(k) == "number" and ("[%d]"):format(k) or (d > 1 and "." .. k or k)
  end
  local list = st.suspects or {}
  st.suspects = list
  local n = #list
  list[n + 1], list[n + 2], list[n + 3], list[n + 4], list[n + 5] = container, key, code, sub or false,
    table.concat(parts)
end

local walk_object

-- One value against its kind: a struct is walked by its plan, a scalar tested in place.
local function walk_value(st, container, key, v, code, kind, sub, depth)
  if kind == STRUCT then
    if type(v) == "table" and getmetatable(v) == nil then
      st.keys[depth + 1] = key
      walk_object(st, v, sub, depth + 1)
    else
      suspect(st, container, key, code, sub, depth)
    end
  elseif not scalar_ok(v, kind) then
    suspect(st, container, key, code, false, depth)
  end
end

local function walk_items(st, a, kind, sub, depth)
  if depth + 1 > MAX_DEPTH then error("tcssl.schema: tables nested deeper than 1000 levels", 0) end
  for i, item in pairs(a) do walk_value(st, a, i, item, kind, kind, sub, depth) end
end

function walk_object(st, t, plan, depth)
  if depth + 1 > MAX_DEPTH then error("tcssl.schema: tables nested deeper than 1000 levels", 0) end
  local codes, subs = plan[1], plan[2]
  for i = 1, #codes do
    local name = plan[i + 2]
    local v = t[name]
    if v ~= nil then
      local code = byte(codes, i)
      local kind = code >= ARRAY and code - ARRAY or code
      local sub = kind == STRUCT and subs and subs[i]
      if kind == STRUCT and not sub then -- luacheck: ignore 542
        -- a struct without a plan is not checked
      elseif code >= ARRAY then
        if getmetatable(v) == array_mt then
          st.keys[depth + 1] = name
          walk_items(st, v, kind, sub, depth + 1)
        else
          suspect(st, t, name, code, sub, depth)
        end
      else
        walk_value(st, t, name, v, code, kind, sub, depth)
      end
    end
  end
end

local function conform_lua(t, plan)
  local st = { keys = {}, suspects = nil }
  walk_object(st, t, plan, 0)
  return st.suspects
end

local conform = jit and conform_lua or require("tcssl.core").conform
-- both forms and the plans, for the specs that hold the forms to each other
-- as_integer(v): what a value given for an Integer field becomes (a number, or decimal digits as
-- an integer), or nil; under LuaJIT, digits a double would round stay a string. The emulator
-- reads its parameters with it, under either runtime.
M.as_integer = as_integer
M.conformers = { lua = conform_lua, c = require("tcssl.core").conform }
M.plan_of = plan_of

-- read_plan(action_model) -> the plan of the whole reply, {"Response": the output's plan},
-- compiled for tcssl.json.decode (tcssl.core.json_plan), which then runs the same test as it
-- reads the text: no walk afterwards. What it gives back (checked) is false when every value
-- passed, the suspects as conform lists them (their paths begin "Response."), or true when a
-- field the plan names came twice in one object, so that only a walk of the final tables can
-- tell. Made once per field list.
local read_plans = setmetatable({}, { __mode = "k" })
local json_plan = require("tcssl.core").json_plan
function M.read_plan(action_model)
  local fields = action_model.output
  local compiled = read_plans[fields]
  if not compiled then
    compiled = json_plan({ string.char(STRUCT), { plan_of(fields, "Response") }, "Response" })
    read_plans[fields] = compiled
  end
  return compiled
end

--- decode(action_model, response [, fields [, checked]]) -> response | nil, err
-- Checks a decoded Response table against the action's output fields and converts it in place
-- (see above). A value of another type gives a `protocol` error UnexpectedType with `path`, the
-- response's `request_id` and, for an action that changes state, `maybe_applied = true`: the
-- server answered, so it did act. `fields` are copied onto the error (http_status, say).
-- checked is what tcssl.json.decode found reading the reply under read_plan's plan: then only
-- its suspects are looked at (none when it is false); without it the tables are walked.
function M.decode(action_model, response, fields, checked)
  if checked == false then return response end
  local ok, suspects
  if type(checked) == "table" then
    ok, suspects = true, checked
    for i = 5, #suspects, 5 do suspects[i] = suspects[i]:match("^Response%.(.*)") or suspects[i] end
  else
    ok, suspects = pcall(conform, response, plan_of(action_model.output, "Response"), array_mt)
  end
  if not ok then -- deeper than any JSON text tcssl.json reads: a table built by hand
    return nil, errors.new("protocol", "UnexpectedType", "response nested too deeply: " .. tostring(suspects))
  end
  if not suspects then return response end
  for i = 1, #suspects, 5 do
    local container, key = suspects[i], suspects[i + 1]
    local expected = settle(container, key, suspects[i + 2], suspects[i + 3])
    if expected then
      local path = suspects[i + 4]
      local e = errors.new("protocol", "UnexpectedType", ("response field %s must be %s, got %s"):format(
        path, expected, what_is(container[key])), {
        path = path,
        request_id = type(response.RequestId) == "string" and response.RequestId or nil,
        retryable = false,
        maybe_applied = not action_model.readonly,
      })
      for k, v in pairs(fields or {}) do e[k] = v end
      return nil, e
    end
  end
  return response
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

-- tcssl.json: JSON for tcssl.  Decoding is tcssl's own reader, in C
-- (tcssl.core.json_decode, csrc/json.c), which builds the values described
-- below in one pass; encoding is Debian's lua-cjson 2.1.0, with this module
-- fixing its limits around it:
--
--   json.encode(value [, options]) -> text | nil, message
--                          options (any table) makes the output reproducible:
--                          object keys in a fixed order, see "Output" below
--     options.indent       a string such as "  ": one member or element a line,
--                          each level indented by one more copy of it
--     options.order        which keys come first: its list part names them in
--                          order, and order[key] is the order inside the value
--                          at that key (for an array, inside each element)
--   json.decode(text)   -> value | nil, message
--   json.decode(text, plan) -> value, checked | nil, message: the types a
--                          compiled plan (tcssl.schema.read_plan) names are
--                          tested as the text is read (see tcssl.schema.decode)
--   json.null           -> the value that encodes as `null` (cjson.null)
--   json.array(t)       -> t, marked so that it always encodes as an array
--                          (json.array() gives a new empty one)
--   json.is_array(t)    -> true if t carries the array marker
--   json.is_sequence(t) -> true if t's keys are exactly 1..#t (the empty table
--                          is one): a Lua list, whatever it will be sent as
--   json.is_list(t)     -> true if t goes out as a JSON array: marked, or a
--                          non-empty sequence (an unmarked {} is an object)
--   json.number(text)   -> a value written as the JSON number `text`, digit for
--                          digit (a 64-bit integer under LuaJIT, where no Lua
--                          number can hold it); raises if text is not a JSON number
--   json.is_number(v)   -> true for such a value (tostring(v) gives the text)
--   json.MAX_DEPTH      -> 1000, the deepest nesting read or written
--
-- Neither encode nor decode ever raises: every failure is `nil, message`.
-- tcssl uses its own cjson instance (cjson.new()), so the settings of a
-- user's `require "cjson"` are never read or changed.
--
-- Decisions
--
-- * Numbers, decoding (Lua 5.3/5.4).  JSON has one number type; tcssl maps
--   every number whose value is integral and fits in int64 to a Lua integer,
--   and every other number to a float: `10`, `10.0` and `1e1` all decode to
--   the integer 10, `10.5` and `1e300` to floats.  Telling `10` from `10.0`
--   would need a scan of the text whenever it contains a digit followed by
--   `.`, `e` or `E`, and almost every API response does (request ids and
--   fingerprints are hexadecimal); the servers are typed, so an integral
--   value in a float field means the same either way.  Negative zero is kept
--   as the float -0.0.  Integer literals (no `.`, `e`, `E`) of 16 or more
--   digits would be rounded by cjson (it reads every number as a double), so
--   they are read exactly: the whole int64 range, including
--   math.mininteger.  Integer literals beyond int64 become floats.
-- * Numbers, encoding (Lua 5.3/5.4).  Integers are written exactly.  Floats
--   are written with the shortest of %.14g .. %.17g that reads back equal, so
--   they round-trip; integral floats in the int64 range are written as plain
--   integers (10.0 as `10`, 2^60 as `1152921504606846976`), which is what
--   the servers' integer fields accept and what decodes back to the same
--   value.  NaN and infinities cannot be written: `nil, message`.
-- * Numbers under LuaJIT (Lua 5.1 semantics, every number is a double).
--   Decoding: integer literals whose magnitude is above 2^53 decode to their
--   exact decimal string, because no double can hold them; all other numbers
--   are plain Lua numbers.  Encoding: integral doubles with |x| < 2^53 are
--   written as plain integers (cjson's %.14g would write 2^50 as
--   1.1258999068426e+15); other doubles as in 5.4, shortest round-trip form
--   (2^53 + 2 is written 9007199254740994 and so decodes to that string).
--   A decimal string is written as a JSON string: turning it back into a
--   number for an integer field is the caller's business (the model knows
--   the field types: tcssl.schema wraps such strings in json.number for
--   Integer parameters, and leaves them strings in Integer response fields).
--   json.number(text) is written as the bare literal in every runtime.
-- * null.  Decoding drops nulls: an object field with a null value is
--   absent, an array element that is null is a nil hole (`[1,null,3]` gives
--   {1, nil, 3}; `#` of such a table is not reliable; iterate with pairs or
--   with the length of the JSON array if you need it).  A top-level `null`
--   decodes to json.null, because a bare nil would read as a failure.
--   Encoding writes json.null (and cjson.null, the same value) as `null`.
-- * Arrays.  cjson 2.1.0 writes an empty table as `{}`.  json.array(t) marks
--   t (it sets a metatable, replacing any other) so that it is always
--   written as an array, `[]` when empty; a marked table with a key that is
--   not a positive integer is an error.  Decoding marks every JSON array
--   with the same marker and leaves objects without a metatable, so `[]`
--   survives a decode/encode round trip (an array of nothing but nulls
--   decodes to an empty marked table and is written back as `[]`).
--   Other metatables are ignored when encoding: tables are read raw, as
--   cjson reads them (no __pairs, no __index).
-- * Nesting.  1000 levels of arrays/objects, in both directions (cjson's own
--   default).  Deeper input, and tables that contain themselves, give
--   `nil, message`.
-- * Strictness.  Decoding reads RFC 8259 and nothing more: hexadecimal
--   numbers, NaN/Infinity, leading zeros, `+` signs, `1.`, `-2.`, raw
--   control characters (NUL included) in strings, a byte order mark and
--   anything after the value but whitespace are rejected, and so are lone
--   UTF-16 surrogates in \u escapes.  Every valid document is read, a
--   top-level scalar included; a literal such as 1e400 decodes to math.huge.
--   The message names the byte where the text went wrong ("... at byte 17").
-- * Output.  cjson escapes `/` as `\/`; tcssl writes a plain `/`.  Without
--   options, object keys come out in table traversal order (not sorted), as
--   cjson writes them.  With options, the keys that options.order names come
--   first, in its order, and the others follow sorted as strings; with
--   options.indent, a member is written `"key": value` and an empty array or
--   object stays on its line (`[]`, `{}`).  This is what people read (the
--   tcssl command prints it), so it is written by a walk in Lua that takes
--   the scalars' text from the same code as the compact form: the same
--   escapes, numbers and errors.  Strings are bytes: neither direction checks
--   that they are UTF-8.
--
-- How it works
--
-- encode: one walk over the value checks every key and value and copies only
-- the tables on the path to something cjson would write wrongly (a big
-- integer, a float that needs more than 14 digits, a marked empty array).
-- Those leaves are replaced by placeholder strings, TOKEN .. literal; after
-- cjson.encode, every quoted placeholder is replaced by its literal.  The
-- number of replacements is checked against the number of placeholders, so
-- a user string that happens to contain TOKEN is detected, and the encode is
-- redone with a token that does not occur anywhere in cjson's first output.
--
-- decode: tcssl.core.json_decode (csrc/json.c) reads the text and builds the
-- values above directly: no second walk over the tables, no scan of the text.
--
-- Cost, measured on DescribeCertificates responses of 18 KB and 1.8 MB: decode
-- takes about 0.6x the time of cjson.decode alone (which built tables that
-- still needed the walk); encode about 4x cjson.encode (the walk and the
-- copies on placeholder paths).

local cjson = require "cjson"
local core_decode = require("tcssl.core").json_decode

local type, next, pcall, tostring, tonumber = type, next, pcall, tostring, tonumber
local getmetatable, setmetatable, error = getmetatable, setmetatable, error
local find, sub, gsub, format = string.find, string.sub, string.gsub, string.format
local concat = table.concat
local huge = math.huge
local mtype, tointeger = math.type, math.tointeger  -- luacheck: ignore 143

local HAS_INT = mtype ~= nil and tointeger ~= nil  -- Lua 5.3/5.4 integers

local MAX_DEPTH = 1000

local cj = cjson.new()
cj.encode_max_depth(MAX_DEPTH)
cj.encode_number_precision(14)
cj.encode_invalid_numbers(false)
cj.encode_sparse_array(false, 2, 10)
if cj.encode_escape_forward_slash then       -- OpenResty's cjson fork
  cj.encode_escape_forward_slash(false)
end
local cj_encode = cj.encode

local null = cjson.null

local json = {
  null = null,
  MAX_DEPTH = MAX_DEPTH,
}

local array_mt = { __name = "tcssl.json.array" }
-- the marker itself, for the core's reader when a transport decodes a reply (tcssl.transport.curl)
json.array_mt = array_mt

function json.array(t)
  if t == nil then
    t = {}
  elseif type(t) ~= "table" then
    error("json.array: expected a table, got " .. type(t), 2)
  end
  return setmetatable(t, array_mt)
end

function json.is_array(t)
  return type(t) == "table" and getmetatable(t) == array_mt
end

function json.is_sequence(t)
  if type(t) ~= "table" then return false end
  local n, count = #t, 0
  for k in pairs(t) do
    if type(k) ~= "number" or k < 1 or k > n or k % 1 ~= 0 then return false end
    count = count + 1
  end
  return count == n
end
local is_sequence = json.is_sequence

function json.is_list(t)
  if type(t) ~= "table" then return false end
  if getmetatable(t) == array_mt then return true end
  return next(t) ~= nil and is_sequence(t)
end

local number_mt = { __name = "tcssl.json.number" }
number_mt.__tostring = function(n) return n[1] end

-- JSON's number grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
local function is_json_number(text)
  local int, rest = text:match("^%-?(%d+)(.*)$")
  if not int or (#int > 1 and int:sub(1, 1) == "0") then return false end
  rest = rest:gsub("^%.%d+", "", 1)
  rest = rest:gsub("^[eE][+-]?%d+", "", 1)
  return rest == ""
end

function json.number(text)
  if type(text) ~= "string" or not is_json_number(text) then
    error("json.number: expected the text of a JSON number, got " .. tostring(text), 2)
  end
  return setmetatable({ text }, number_mt)
end

function json.is_number(v)
  return type(v) == "table" and getmetatable(v) == number_mt
end

---------------------------------------------------------------------------
-- encoding
---------------------------------------------------------------------------

local TOKEN = "\255tcssl_"

local E_DEPTH = "nesting deeper than " .. MAX_DEPTH .. " levels"
local E_CYCLE = "cannot encode a table that contains itself"
local E_NAN = "cannot encode NaN or infinity"

local SHORTEST = { "%.15g", "%.16g", "%.17g" }

-- The literal for a float that cjson's %.14g would not write exactly.
local function float_literal(x)
  local s = format("%.14g", x)
  if tonumber(s) == x then return nil end
  for i = 1, #SHORTEST do
    s = format(SHORTEST[i], x)
    if tonumber(s) == x then break end
  end
  -- C's printf uses the locale's decimal point; JSON wants '.'
  if find(s, "[^%d.eE+%-]") then s = gsub(s, "[^%d.eE+%-]+", ".") end
  return s
end

-- number_literal(x): nil when cjson writes x exactly (and readably), the
-- exact literal when it does not, false for NaN and infinities.
local number_literal
if HAS_INT then
  number_literal = function(x)
    if mtype(x) == "integer" then
      if x < 100000000000000 and x > -100000000000000 then return nil end
      return format("%d", x)
    end
    if x % 1 == 0 then
      if x < 1e14 and x > -1e14 then return nil end
      local i = tointeger(x)
      if i then return format("%d", i) end
    end
    if x ~= x or x == huge or x == -huge then return false end
    return float_literal(x)
  end
else
  number_literal = function(x)
    if x % 1 == 0 then
      if x < 1e14 and x > -1e14 then return nil end
      if x < 9007199254740992 and x > -9007199254740992 then
        return format("%.0f", x)
      end
    end
    if x ~= x or x == huge or x == -huge then return false end
    return float_literal(x)
  end
end

local is_index
if HAS_INT then
  is_index = function(k) return mtype(k) == "integer" and k >= 1 end
else
  is_index = function(k) return k >= 1 and k % 1 == 0 and k < huge end
end

-- One step of an error path such as $.Tags[2].Value
local function path_step(k)
  if type(k) == "string" then
    if find(k, "^[%a_][%w_]*$") then return "." .. k end
    return "[" .. format("%q", k) .. "]"
  end
  return "[" .. tostring(k) .. "]"
end

local function shallow_copy(t)
  local c = {}
  for k, v in next, t do c[k] = v end
  return c
end

-- walk(t, depth, token) -> replacement, count
--   replacement is t itself when count == 0, else a copy of t (or, for a
--   marked empty array, a placeholder string) with count placeholders.
-- On failure: nil, message, culprit table (depth errors), path.
local function walk(t, depth, token)
  if depth > MAX_DEPTH then return nil, E_DEPTH, t end
  local marked = getmetatable(t) == array_mt
  if marked and next(t) == nil then return token .. "[]", 1 end
  local copy
  local count = 0
  for k, v in next, t do
    local nk = k
    local tk = type(k)
    if marked then
      if tk ~= "number" or not is_index(k) then
        return nil, "json.array table has a key that is not a positive integer ("
          .. tostring(k) .. ")", nil, ""
      end
    elseif tk ~= "string" then
      if tk ~= "number" then
        return nil, "cannot encode a table key of type " .. tk, nil, ""
      else
        local lit = number_literal(k)
        if lit then
          nk = lit
        elseif lit == false then
          return nil, E_NAN .. " as a table key", nil, ""
        end
      end
    end
    local nv = v
    local tv = type(v)
    if tv == "number" then
      local lit = number_literal(v)
      if lit then
        nv = token .. lit
        count = count + 1
      elseif lit == false then
        return nil, E_NAN, nil, path_step(k)
      end
    elseif tv == "table" and getmetatable(v) == number_mt then
      nv = token .. v[1]
      count = count + 1
    elseif tv == "table" then
      local r, n, culprit, path = walk(v, depth + 1, token)
      if r == nil then
        if path then
          path = path_step(k) .. path
        elseif culprit == t then
          n = E_CYCLE
        end
        return nil, n, culprit, path
      end
      if n > 0 then
        nv = r
        count = count + n
      end
    elseif tv ~= "string" and tv ~= "boolean" and v ~= null then
      return nil, "cannot encode a " .. tv .. " value", nil, path_step(k)
    end
    if nv ~= v or nk ~= k then
      if not copy then copy = shallow_copy(t) end
      if nk ~= k then copy[k] = nil end
      copy[nk] = nv
    end
  end
  if copy then return copy, count end
  return t, 0
end

local function encode_error(msg, path)
  if path and path ~= "" then
    return nil, "json.encode: " .. msg .. " at $" .. path
  elseif path then
    return nil, "json.encode: " .. msg .. " at $"
  end
  return nil, "json.encode: " .. msg
end

-- Encode with placeholders; out is cjson's text, before substitution.
local function encode_with(value, token)
  local prepared, count = value, 0
  if type(value) == "table" then
    local r, n, _, path = walk(value, 1, token)
    if r == nil then return nil, n, path end
    prepared, count = r, n
  end
  local ok, out = pcall(cj_encode, prepared)
  if not ok then return nil, tostring(out) end
  return out, count
end

-- Replace every "<token>literal" (quotes included) in out by literal.
-- Returns the new text and the number of replacements.  Plain finds: the
-- same leftmost, non-overlapping matches as gsub(out, '"TOKEN([^"]*)"',
-- "%1"), without a pattern match attempt at every byte.
local function substitute(out, token)
  local parts, np, n = {}, 0, 0
  local last = 1
  local open = '"' .. token
  while true do
    local s, e = find(out, open, last, true)
    if not s then break end
    local c = find(out, '"', e + 1, true)
    parts[np + 1] = sub(out, last, s - 1)
    parts[np + 2] = sub(out, e + 1, c - 1)
    np = np + 2
    n = n + 1
    last = c + 1
  end
  parts[np + 1] = sub(out, last)
  return concat(parts), n
end

-- cjson writes '/' as '\/' and never a bare '/', so every "\/" in its output
-- is that escape (the '\' cannot be the second half of a "\\").
local function unescape_slashes(out)
  local parts, np = {}, 0
  local last = 1
  while true do
    local s = find(out, "\\/", last, true)
    if not s then break end
    parts[np + 1] = sub(out, last, s - 1)
    np = np + 1
    last = s + 1
  end
  if np == 0 then return out end
  parts[np + 1] = sub(out, last)
  return concat(parts)
end

-- What both writers share: the messages for the same faults, which keys are array indexes, and
-- how an error path is written (tcssl.json.ordered reads them here rather than keep copies).
json.WRITER = { depth = E_DEPTH, cycle = E_CYCLE, nan = E_NAN, is_index = is_index, path_step = path_step }

function json.encode(value, options)
  if options ~= nil then
    -- the ordered writer (tcssl.json.ordered) loads on first use: only the CLI asks for it
    if type(options) ~= "table" then return encode_error("options must be a table") end
    local text, msg, path = require("tcssl.json.ordered").encode(value, options)
    if not text then return encode_error(msg, path) end
    return text
  end
  local tv = type(value)
  if tv == "table" and getmetatable(value) == number_mt then
    return value[1]
  elseif tv == "number" then
    local lit = number_literal(value)
    if lit then return lit end
    if lit == false then return encode_error(E_NAN) end
  elseif tv == "function" or tv == "thread" or (tv == "userdata" and value ~= null) then
    return encode_error("cannot encode a " .. tv .. " value")
  end
  local out, count, path = encode_with(value, TOKEN)
  if not out then return encode_error(count, path) end
  if count > 0 then
    local text, n = substitute(out, TOKEN)
    if n ~= count then
      -- A string in the value contains '"' .. TOKEN.  Pick a token that
      -- occurs nowhere in cjson's output: then no string can contain it.
      local i = 1
      local token = TOKEN .. i .. "_"
      while find(out, token, 1, true) do
        i = i + 1
        token = TOKEN .. i .. "_"
      end
      out, count, path = encode_with(value, token)
      if not out then return encode_error(count, path) end
      text = substitute(out, token)
    end
    out = text
  end
  return unescape_slashes(out)
end

---------------------------------------------------------------------------
-- decoding
---------------------------------------------------------------------------

function json.decode(text, plan)
  if type(text) ~= "string" then
    return nil, "json.decode: expected a string, got " .. type(text)
  end
  if plan == nil then
    local v, err = core_decode(text, null, array_mt)
    if v == nil then return nil, "json.decode: " .. err end
    return v
  end
  local ran, v, checked = pcall(core_decode, text, null, array_mt, plan)
  if not ran then return nil, "json.decode: " .. tostring(v) end -- not a compiled plan
  if v == nil then return nil, "json.decode: " .. checked end
  return v, checked
end

return json

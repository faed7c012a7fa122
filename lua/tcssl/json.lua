-- tcssl.json: JSON for tcssl.  Both directions are tcssl's own C: the reader
-- (tcssl.core.json_decode, csrc/json.c) builds the values described below in
-- one pass, and the writer (tcssl.core.json_encode, csrc/json_write.c)
-- writes them in one pass; json.null is lua-cjson's null:
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
-- Neither reads nor changes the settings of a user's `require "cjson"`.
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
--   cjson reads them (no __pairs, no __index).  As cjson decides it, an
--   unmarked table whose keys are all integers from 1 (below 1e14) is an
--   array, its holes null, and one whose largest index is over 10 and over
--   twice its count of items is refused as excessively sparse.
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
-- encode: tcssl.core.json_encode writes the value in one pass over it, each
-- table's keys read first to tell an array from an object; a fault comes back
-- with the keys down to where it is, which json.encode makes a path.  (It
-- replaced cjson.encode with a walk that copied the tables holding what cjson
-- would write wrongly and placeholders substituted after: about 6 us of a
-- call's 90 on a small request, now about 1.)  Number keys are written as the
-- same text as number values, so a key beyond 1e14 or a float key is exact.
--
-- decode: tcssl.core.json_decode (csrc/json.c) reads the text and builds the
-- values above directly: no second walk over the tables, no scan of the text.
--
-- Cost, measured on DescribeCertificates responses of 18 KB and 1.8 MB: decode
-- takes about 0.6x the time of cjson.decode alone (which built tables that
-- still needed the walk).

local cjson = require "cjson"
local core = require "tcssl.core"
local core_decode, core_encode = core.json_decode, core.json_encode

local type, next, pcall, tostring = type, next, pcall, tostring
local getmetatable, setmetatable, error = getmetatable, setmetatable, error
local find, format = string.find, string.format
local huge = math.huge
local mtype, tointeger = math.type, math.tointeger  -- luacheck: ignore 143

local HAS_INT = mtype ~= nil and tointeger ~= nil  -- Lua 5.3/5.4 integers

local MAX_DEPTH = 1000

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

local E_DEPTH = "nesting deeper than " .. MAX_DEPTH .. " levels"
local E_CYCLE = "cannot encode a table that contains itself"
local E_NAN = "cannot encode NaN or infinity"

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

local function encode_error(msg, path)
  if path and path ~= "" then
    return nil, "json.encode: " .. msg .. " at $" .. path
  elseif path then
    return nil, "json.encode: " .. msg .. " at $"
  end
  return nil, "json.encode: " .. msg
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
  local text, msg, keys = core_encode(value, null, array_mt, number_mt)
  if text then return text end
  local path
  if keys then
    path = ""
    for i = 1, #keys do path = path .. path_step(keys[i]) end
  end
  return encode_error(msg, path)
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

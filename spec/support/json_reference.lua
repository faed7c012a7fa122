-- The JSON reader tcssl.json used before it had its own (lua-cjson, then a walk in Lua that
-- drops nulls, makes integers and marks arrays, with a text rewrite for long integer literals
-- and empty arrays), kept as the reference the new reader is compared with on valid documents
-- (spec/unit/json_differential_spec.lua). It always takes the rewrite path, the one that
-- handles every case; the C walk it had for the common case gave the same results.
-- luacheck: read globals math.type math.tointeger
local cjson = require "cjson"
local json = require "tcssl.json"

local type, next, pcall, tonumber = type, next, pcall, tonumber
local setmetatable = setmetatable
local find, sub, byte, rep, gmatch = string.find, string.sub, string.byte, string.rep, string.gmatch
local concat = table.concat
local tointeger = math.tointeger
local HAS_INT = math.type ~= nil and tointeger ~= nil

local cj = cjson.new()
cj.decode_max_depth(json.MAX_DEPTH)
cj.decode_invalid_numbers(false)
local cj_decode = cj.decode
local null = cjson.null
local array_mt = getmetatable(json.array())

local EMPTY_ARRAY = "^%[[ \t\r\n]*%]"

-- The position of the '"' that closes the string literal opened at q, or
-- nil when it is not closed.  Plain finds only: this runs over whole texts.
local function string_end(text, q)
  local e = q + 1
  while true do
    local r = find(text, '"', e, true)
    if not r then return nil end
    local b = r - 1
    while byte(text, b) == 92 do b = b - 1 end      -- backslashes before r
    if (r - 1 - b) % 2 == 0 then return r end
    e = r + 1
  end
end

local LONG_DIGITS = "%d%d%d%d%d%d%d%d%d%d%d%d%d%d%d%d"   -- 16 digits
local NUMBER_REST = "^[%-+.%deE]*"

local function is_number_byte(c)
  return c and ((c >= 48 and c <= 57) or c == 45 or c == 43 or c == 46
                or c == 101 or c == 69)
end

-- Rewrite integer literals of 16 or more digits (when big) and empty arrays
-- (when empty) outside string literals into quoted placeholders
-- mark .. literal.  Returns the text itself when there was nothing to
-- rewrite.  Invalid JSON is left as it is, for cjson to report.
-- Three streams of positions are merged: string starts (plain find of '"'),
-- '[' (plain find) and runs of 16 digits (a pattern find; only for big).
local function rewrite(text, mark, big, empty)
  local parts, np = {}, 0
  local last, pos = 1, 1
  local q = find(text, '"', 1, true)
  local b = empty and find(text, "[", 1, true)
  local d = big and find(text, LONG_DIGITS)
  while b or d do
    if q and q < pos then q = find(text, '"', pos, true) end
    if b and b < pos then b = find(text, "[", pos, true) end
    if d and d < pos then d = find(text, LONG_DIGITS, pos) end
    local s = b
    if d and (not s or d < s) then s = d end
    if not s then break end
    if q and q < s then                         -- a string comes first
      local e = string_end(text, q)
      if not e then break end                   -- unterminated
      pos = e + 1
    elseif s == b then                          -- '['
      local _, e = find(text, EMPTY_ARRAY, s)
      if e then
        parts[np + 1] = sub(text, last, s - 1)
        parts[np + 2] = '"' .. mark .. '[]"'
        np = np + 2
        last = e + 1
        pos = e + 1
      else
        pos = s + 1
      end
    else                                        -- 16 digits, not in a string
      local start = s
      if byte(text, s - 1) == 45 then start = s - 1 end
      local _, e = find(text, NUMBER_REST, s)
      if not is_number_byte(byte(text, start - 1)) then
        local lit = sub(text, start, e)
        if find(lit, "^%-?[1-9]%d*$") then      -- a JSON integer literal
          parts[np + 1] = sub(text, last, start - 1)
          parts[np + 2] = '"' .. mark .. lit .. '"'
          np = np + 2
          last = e + 1
        end
      end
      pos = e + 1
    end
  end
  if np == 0 then return text end
  parts[np + 1] = sub(text, last)
  return concat(parts)
end

local function placeholder_value(lit)
  if lit == "[]" then return setmetatable({}, array_mt) end
  if HAS_INT then
    return tonumber(lit)          -- an integer when it fits in int64
  end
  -- LuaJIT/5.1: exact when |n| <= 2^53, else keep the exact digits
  local digits = byte(lit) == 45 and sub(lit, 2) or lit
  if #digits < 16 or (#digits == 16 and digits <= "9007199254740992") then
    return tonumber(lit)
  end
  return lit
end

local BAD = 2

local function fix(t, mark, ml, empty_arr)
  local k, v = next(t)
  if k == nil then
    if empty_arr then setmetatable(t, array_mt) end
    return nil
  end
  if type(k) == "number" then setmetatable(t, array_mt) end
  repeat
    local tv = type(v)
    if tv == "string" then
      if mark and byte(v) == 255 and (ml == 1 or sub(v, 1, ml) == mark) then
        t[k] = placeholder_value(sub(v, ml + 1))
      end
    elseif tv == "number" then
      if HAS_INT then
        local i = tointeger(v)
        if i and (i ~= 0 or 1 / v > 0) then t[k] = i end
      end
    elseif tv == "table" then
      local r = fix(v, mark, ml, empty_arr)
      if r then return r end
    elseif v == null then
      t[k] = nil
    end
    if mark and type(k) == "string" and byte(k) == 255
       and (ml == 1 or sub(k, 1, ml) == mark) then
      return BAD
    end
    k, v = next(t, k)
  until k == nil
  return nil
end

--- decode(text) -> value | nil, message, as tcssl.json.decode gave them
local function decode(text)
  if find(text, "\0", 1, true) then return nil, "NUL byte" end
  local ml = 1
  for run in gmatch(text, "\255+") do
    if #run >= ml then ml = #run + 1 end
  end
  local mark = rep("\255", ml)
  local src = rewrite(text, mark, true, true)
  if src == text then mark, ml = nil, 0 end
  local ok, v = pcall(cj_decode, src)
  if not ok then return nil, v end
  local tv = type(v)
  if tv == "table" then
    if fix(v, mark, ml, false) then return nil, "invalid JSON" end
  elseif tv == "number" then
    if HAS_INT then
      local i = tointeger(v)
      if i and (i ~= 0 or 1 / v > 0) then v = i end
    end
  elseif tv == "string" then
    if mark and byte(v) == 255 and (ml == 1 or sub(v, 1, ml) == mark) then
      v = placeholder_value(sub(v, ml + 1))
    end
  end
  return v
end

return { decode = decode }

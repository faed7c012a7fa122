-- The JSON writer (tcssl.core.json_encode behind tcssl.json.encode, csrc/json_write.c), held to
-- lua-cjson, an independent writer, where cjson writes a value exactly (small numbers, floats
-- that %.14g holds, strings, booleans, non-empty tables), and to the reader elsewhere: every
-- value it writes reads back as it was. Runs under Lua 5.4 and LuaJIT.
-- luacheck: read globals math.type math.tointeger math.maxinteger math.mininteger (Lua 5.4 only)
local json = require "tcssl.json"
local cjson = require("cjson").new()
local jc = require "spec.support.json_checks"

local HAS_INT, enc, enc_fails = jc.HAS_INT, jc.enc, jc.enc_fails

local function prng(seed)
  local x = seed
  return function(n)
    x = (x * 1103515245 + 12345) % 2147483648
    return x % n + 1
  end
end

-- bytes a string may hold: the escaped ones, '/', UTF-8 and bytes that are none
local BYTES = { "a", "Z", "_", "1", " ", "/", "\\", '"', "\n", "\t", "\r", "\b", "\f", "\0", "\31", "\127",
  "\128", "\255", "é", "\u{1F600}", "\255tcssl_1", "\\/" }

local function gen_string(rnd)
  local t = {}
  for i = 1, rnd(7) - 1 do t[i] = BYTES[rnd(#BYTES)] end
  return table.concat(t)
end

-- values cjson writes exactly: integers below 1e14, floats that %.14g gives back
local EXACT_NUMBERS = { 0, 1, -1, 10, 99999999999999, -99999999999999, 1.5, -0.25, 0.1, 123456.789, 1e300, 1e-300 }
local function gen_exact(rnd, depth, exact)
  local r = rnd(12)
  if r <= 4 then return gen_string(rnd) end
  if r <= 6 then return EXACT_NUMBERS[rnd(#EXACT_NUMBERS)] end
  if r == 7 then return rnd(100000) - 50000 end
  if r == 8 then return rnd(2) == 1 end
  if r == 9 then return json.null end
  if depth > 4 then return gen_string(rnd) end
  local t, n = {}, rnd(5)
  if rnd(2) == 1 then
    for i = 1, n do t[i] = gen_exact(rnd, depth + 1, exact) end
    if rnd(3) == 1 then json.array(t) end
  else
    for _ = 1, n do t[gen_string(rnd)] = gen_exact(rnd, depth + 1, exact) end
  end
  return t
end

-- any value JSON holds, with the numbers cjson would round or write in another form
local NUMBERS = { 1e14, -1e14, 2 ^ 53, 2 ^ 53 + 2, -2 ^ 53, 2 ^ 60, 2 ^ 63, -2 ^ 63, 0.1 + 0.2, 1 / 3, -0.0, 5e-324,
  1e20, 10.0, 2.5e15, 123456789.123456789 }
local function gen_any(rnd, depth)
  local r = rnd(10)
  if r <= 2 then return NUMBERS[rnd(#NUMBERS)] end
  if r == 3 and HAS_INT then return ({ math.maxinteger, math.mininteger, 12345678901234567 })[rnd(3)] end
  if r == 4 then return json.array() end
  if depth > 4 or r == 5 then return gen_exact(rnd, 5) end
  local t = {}
  for i = 1, rnd(4) do
    if rnd(2) == 1 then t[i] = gen_any(rnd, depth + 1) else t["k" .. i] = gen_any(rnd, depth + 1) end
  end
  return t
end

-- whether a and b are the same values, -0 and marks included
local function same(a, b)
  if type(a) ~= type(b) then return false end
  if type(a) == "number" then
    if HAS_INT and math.type(a) ~= math.type(b) and a % 1 ~= 0 then return false end
    return a == b and (a ~= 0 or 1 / a == 1 / b)
  end
  if type(a) ~= "table" then return a == b end
  if json.is_array(a) ~= json.is_array(b) and next(a) == nil then return false end
  for k, v in pairs(a) do
    if not same(v, b[k]) then return false end
  end
  for k in pairs(b) do
    if a[k] == nil then return false end
  end
  return true
end

-- what decoding gives for a value: nulls dropped, integral floats integers (Lua 5.4), the keys
-- of an object its text (a table whose keys are all indexes below 1e14 is an array)
local function decoded_form(v)
  if v == json.null then return nil end
  if HAS_INT and type(v) == "number" and math.type(v) == "float" and v % 1 == 0 and v >= -2 ^ 63 and v < 2 ^ 63
    and not (v == 0 and 1 / v < 0) then
    return math.tointeger(v)
  end
  if type(v) ~= "table" or json.is_number(v) then return v end
  local list = json.is_array(v)
  if next(v) ~= nil then
    list = true
    for k in pairs(v) do
      if type(k) ~= "number" or k < 1 or k % 1 ~= 0 or k >= 1e14 then list = false end
    end
  end
  local out = {}
  for k, item in pairs(v) do
    if not list and type(k) == "number" then k = enc(k) end
    out[k] = decoded_form(item)
  end
  if list then json.array(out) end
  return out
end

describe("the JSON writer", function()
  it("writes what cjson writes wherever cjson is exact, but '/' as itself", function()
    local rnd = prng(20261202)
    for _ = 1, 3000 do
      local v = gen_exact(rnd, 1)
      local theirs = cjson.encode(v):gsub("\\/", "/") -- cjson writes '/' as \/ and never a bare '/'
      if json.is_array(v) and next(v) == nil then theirs = "[]" end
      assert.are.equal(theirs, enc(v))
    end
  end)

  it("writes every value so that it reads back as it was", function()
    local rnd = prng(7)
    for _ = 1, 3000 do
      local v = gen_any(rnd, 1)
      local text = enc(v)
      local back = json.decode(text)
      local want = decoded_form(v)
      if want == nil then want = json.null end
      assert.is_true(same(want, back), text)
    end
  end)

  it("writes numbers exactly, integral floats as integers, -0 as -0", function()
    assert.are.equal("[100000000000000,9007199254740994,-0,0.30000000000000004]",
      enc({ 1e14, 2 ^ 53 + 2, -0.0, 0.1 + 0.2 }))
    assert.are.equal("[4.9406564584125e-324,1e+20,1.5e+300,0.1]", enc({ 5e-324, 1e20, 1.5e300, 0.1 }))
    if HAS_INT then
      assert.are.equal("[9223372036854775807,-9223372036854775808]", enc({ math.maxinteger, math.mininteger }))
      assert.are.equal("9.223372036854776e+18", enc(2.0 ^ 63)) -- beyond int64: the float
      assert.are.equal("1152921504606846976", enc(2 ^ 60))
    else -- beyond 2^53 a double is written as the float it is (json.number writes an exact integer)
      assert.are.equal("9007199254740991", enc(2 ^ 53 - 1))
      assert.are.equal("1.152921504606847e+18", enc(2 ^ 60))
    end
    assert.are.equal("12345678901234567890", enc(json.number("12345678901234567890")))
  end)

  it("writes number keys as the same text, and only keys from 1 below 1e14 make an array", function()
    assert.are.equal('{"100000000000000":1}', enc({ [1e14] = 1 }))
    assert.are.equal('{"0.30000000000000004":1}', enc({ [0.1 + 0.2] = 1 }))
    assert.are.equal('{"0":"a"}', enc({ [0] = "a" }))
    assert.are.equal('{"1.5":true}', enc({ [1.5] = true }))
    assert.are.equal('[1,null,3]', enc({ [1] = 1, [3] = 3 }))
    assert.are.equal('[null,null,null,null,null,null,null,null,null,1]', enc({ [10] = 1 }))
  end)

  it("escapes quotes, backslashes, control bytes and DEL, and nothing else", function()
    assert.are.equal('"\\"\\\\\\b\\t\\n\\f\\r\\u0000\\u001f\\u007f/\128é"', enc('"\\\b\t\n\f\r\0\31\127/\128é'))
    -- a string that holds what an earlier writer used as a placeholder comes out as it is
    assert.are.equal('["\255tcssl_1","\255tcssl_"]', enc({ "\255tcssl_1", "\255tcssl_" }))
  end)

  it("names the place of a fault, and only where it has one", function()
    assert.matches("json%.encode: cannot encode an excessively sparse array at %$%.a%[2%]$",
      enc_fails({ a = { 1, { [40] = 1 } } }))
    assert.matches("sparse array at %$$", enc_fails({ [1000] = 1 }))
    assert.matches("not a positive integer %(x%) at %$%.t$", enc_fails({ t = json.array { x = 1 } }))
    assert.matches("not a positive integer %(true%)", enc_fails(json.array { [true] = 1 }))
    assert.matches("not a positive integer %(table: ", enc_fails(json.array { [{}] = 1 }))
    assert.matches("key of type boolean at %$%[1%]$", enc_fails({ { [true] = 1 } }))
    assert.matches("NaN or infinity as a table key at %$$", enc_fails({ [math.huge] = 1 }))
    assert.matches("NaN or infinity at %$%[2%]$", enc_fails({ 1, 0 / 0 }))
    assert.matches("^json%.encode: cannot encode NaN or infinity$", enc_fails(-math.huge))
    assert.matches("^json%.encode: cannot encode a function value$", enc_fails(print))
    assert.matches("^json%.encode: cannot encode a userdata value at %$%.f$", enc_fails({ f = io.stdout }))
    assert.matches("^json%.encode: nesting deeper than 1000 levels$", enc_fails(({ 1 }) and (function()
      local root = {}
      local t = root
      for _ = 1, 1000 do t[1] = {} t = t[1] end
      return root
    end)()))
  end)

  it("writes long strings and large values, and frees what it grew for them", function()
    local big = ("x\n"):rep(400000)
    local text = enc({ big, big })
    assert.are.equal(#big * 3 + 7, #text)
    local list = {}
    for i = 1, 20000 do list[i] = { i = i, s = "é" } end
    assert.are.same(20000, #json.decode(enc(list)))
    assert.are.equal('{"a":1}', enc({ a = 1 })) -- the buffer starts again small
  end)
end)

-- Specs for tcssl.json, the JSON layer over lua-cjson 2.1.0: arrays, null, strings, bad input,
-- cjson's settings left alone, and encode's options (numbers: json_numbers_spec.lua).
-- Runs under Lua 5.4 and under LuaJIT; the expectations that differ (LuaJIT
-- has no integer subtype) branch on HAS_INT.
-- luacheck: read globals math.type math.maxinteger math.mininteger (Lua 5.4's, used where the runtime has them)

local json = require "tcssl.json"
local jc = require "spec.support.json_checks"

local HAS_INT, enc, dec, enc_fails, dec_fails = jc.HAS_INT, jc.enc, jc.dec, jc.enc_fails, jc.dec_fails

local function nested_arrays(n)
  return string.rep("[", n) .. string.rep("]", n)
end

local function nested_objects(n)
  return string.rep('{"a":', n) .. "1" .. string.rep("}", n)
end

local function nested_tables(n)
  local root = {}
  local t = root
  for _ = 2, n do
    t[1] = {}
    t = t[1]
  end
  return root
end

describe("tcssl.json", function()

  describe("arrays", function()
    it("json.array marks a table and returns it", function()
      local t = {}
      assert.are.equal(t, json.array(t))
      assert.is_true(json.is_array(t))
      assert.is_false(json.is_array({}))
      assert.is_false(json.is_array("[]"))
      assert.is_false(json.is_array(nil))
      assert.is_true(json.is_array(json.array()))
      assert.has_error(function() json.array("x") end)
    end)

    it("writes an empty marked table as [] and a plain one as {}", function()
      assert.are.equal("[]", enc(json.array {}))
      assert.are.equal("{}", enc({}))
      assert.are.equal('{"a":[]}', enc({ a = json.array {} }))
      assert.are.equal('{"a":{}}', enc({ a = {} }))
    end)

    it("writes nested empty arrays", function()
      assert.are.equal("[[],[[]],{}]",
        enc(json.array { json.array {}, json.array { json.array {} }, {} }))
      assert.are.equal("[[[[[]]]]]",
        enc(json.array { json.array { json.array { json.array { json.array {} } } } }))
      local back = dec(enc({ a = { b = { c = json.array {} } } }))
      assert.is_true(json.is_array(back.a.b.c))
      assert.is_nil(next(back.a.b.c))
    end)

    it("writes non-empty marked and unmarked sequences as arrays", function()
      assert.are.equal("[1,2,3]", enc(json.array { 1, 2, 3 }))
      assert.are.equal("[1,2,3]", enc({ 1, 2, 3 }))
      -- under LuaJIT the literal 12345678901234567 is already the double ...568
      assert.are.equal(HAS_INT and '["a",[12345678901234567]]' or '["a",[12345678901234568]]',
        enc(json.array { "a", json.array { 12345678901234567 } }))
    end)

    it("refuses a marked table with keys that are not indexes", function()
      assert.matches("not a positive integer", enc_fails(json.array { 1, x = 2 }))
      assert.matches("not a positive integer", enc_fails({ list = json.array { [0] = 1 } }))
    end)

    it("marks decoded arrays, so [] survives a round trip", function()
      local v = dec('{"a":[],"b":[1,2],"c":{"d":[]}}')
      assert.is_true(json.is_array(v.a))
      assert.is_true(json.is_array(v.b))
      assert.is_true(json.is_array(v.c.d))
      assert.is_false(json.is_array(v))
      assert.is_false(json.is_array(v.c))
      assert.are.same({ a = {}, b = { 1, 2 }, c = { d = {} } }, v)
      assert.are.equal("[]", enc(dec("[]")))
      assert.are.equal('{"a":[]}', enc(dec('{"a":[]}')))
      assert.are.equal('{"a":{}}', enc(dec('{"a":{}}')))
    end)

    it("tells empty arrays from empty objects when both occur", function()
      local v = dec('{"a":[],"b":{},"c":[{}],"d":{"e":[]}}')
      assert.is_true(json.is_array(v.a))
      assert.is_false(json.is_array(v.b))
      assert.is_true(json.is_array(v.c))
      assert.is_false(json.is_array(v.c[1]))
      assert.is_true(json.is_array(v.d.e))
      v = dec('[ [ ] , { } , [\n\t] , {\r\n} ]')
      assert.is_true(json.is_array(v[1]))
      assert.is_false(json.is_array(v[2]))
      assert.is_true(json.is_array(v[3]))
      assert.is_false(json.is_array(v[4]))
    end)

    it("is not fooled by brackets inside strings", function()
      local v = dec('{"s":"[]","o":{}}')
      assert.are.equal("[]", v.s)
      assert.is_false(json.is_array(v.o))
      v = dec('{"s":"{}","a":[]}')
      assert.are.equal("{}", v.s)
      assert.is_true(json.is_array(v.a))
      v = dec('{"s":"x\\"[]\\"","o":{},"a":[],"t":"[ ]"}')
      assert.are.equal('x"[]"', v.s)
      assert.are.equal("[ ]", v.t)
      assert.is_false(json.is_array(v.o))
      assert.is_true(json.is_array(v.a))
      v = dec('[{ }, " [] ", "{}"]')
      assert.is_false(json.is_array(v[1]))
      assert.are.equal(" [] ", v[2])
    end)

    it("refuses excessively sparse arrays, like cjson", function()
      enc_fails({ [1] = 1, [1000] = 2 })
      assert.are.equal("[1,null,3]", enc({ 1, nil, 3 }))
    end)
  end)

  describe("null", function()
    it("removes null fields from objects", function()
      local v = dec('{"a":null,"b":1,"c":{"d":null,"e":"x"}}')
      assert.is_nil(v.a)
      assert.are.equal(1, v.b)
      assert.are.same({ b = 1, c = { e = "x" } }, v)
    end)

    it("turns null array elements into nil holes", function()
      local v = dec("[1,null,3,null]")
      assert.are.equal(1, v[1])
      assert.is_nil(v[2])
      assert.are.equal(3, v[3])
      assert.is_nil(v[4])
      for _, x in pairs(v) do assert.are_not.equal(json.null, x) end
      local only = dec("[null,null]")
      assert.is_true(json.is_array(only))
      assert.is_nil(next(only))
      assert.are.equal("[]", enc(only))
    end)

    it("an object emptied by null removal stays an object", function()
      local v = dec('{"a":{"x":null},"b":[]}')
      assert.is_nil(next(v.a))
      assert.is_false(json.is_array(v.a))
      assert.is_true(json.is_array(v.b))
    end)

    it("decodes a top-level null to json.null", function()
      assert.are.equal(json.null, dec("null"))
      assert.are.equal(json.null, dec("  null\n"))
    end)

    it("writes json.null as null", function()
      assert.are.equal("null", enc(json.null))
      assert.are.equal("null", enc(nil))
      assert.are.equal('{"a":null}', enc({ a = json.null }))
      assert.are.equal("[1,null,2]", enc({ 1, json.null, 2 }))
    end)
  end)

  describe("other values", function()
    it("decodes top-level scalars", function()
      assert.are.equal(true, dec("true"))
      assert.are.equal(false, dec(" false "))
      assert.are.equal("x", dec('"x"'))
      assert.are.equal(1.5, dec("1.5"))
    end)

    it("encodes booleans and strings", function()
      assert.are.equal("true", enc(true))
      assert.are.equal('[false,"x"]', enc({ false, "x" }))
    end)
  end)

  describe("strings", function()
    it("leave digits inside strings alone", function()
      assert.are.equal("12345678901234567890", dec('"12345678901234567890"'))
      assert.are.equal('a"12345678901234567', dec('"a\\"12345678901234567"'))
      local v = dec('["12345678901234567", 12345678901234567, "x\\\\", "\\\\\\"9007199254740993"]')
      assert.are.equal("12345678901234567", v[1])
      if HAS_INT then
        assert.are.equal(12345678901234567, v[2])
      else
        assert.are.equal("12345678901234567", v[2])
      end
      assert.are.equal("x\\", v[3])
      assert.are.equal('\\"9007199254740993', v[4])
      v = dec('{"12345678901234567":"-9223372036854775808","n":-9007199254740993}')
      assert.are.equal("-9223372036854775808", v["12345678901234567"])
      if HAS_INT then
        assert.are.equal(-9007199254740993, v.n)
      else
        assert.are.equal("-9007199254740993", v.n)
      end
    end)

    it("leave strings that look like big numbers alone when encoding", function()
      assert.are.equal('"12345678901234567890"', enc("12345678901234567890"))
      assert.are.equal(HAS_INT and '["12345678901234567",12345678901234567]'
                               or '["12345678901234567",12345678901234568]',
        enc({ "12345678901234567", 12345678901234567 }))
    end)

    it("round-trip escapes and control characters", function()
      local s = 'q"b\\s/n\nt\tc\1z\0e'
      assert.are.equal(s, dec(enc(s)))
      assert.are.equal(s, dec(enc({ s }))[1])
      local back = dec(enc({ [s] = 12345678901234567 }))
      assert.are.equal(s, (next(back)))
    end)

    it("write / without escaping it", function()
      assert.are.equal('"https://example.com/a"', enc("https://example.com/a"))
      assert.are.equal('"a\\\\/b"', enc("a\\/b"))
      assert.are.equal("a\\/b", dec(enc("a\\/b")))
      assert.are.equal('{"a/b":"c/d"}', enc({ ["a/b"] = "c/d" }))
    end)

    it("preserve unicode", function()
      local s = "héllo, 世界 😀 \u{10FFFF}"
      assert.are.equal('"' .. s .. '"', enc(s))
      assert.are.equal(s, dec(enc(s)))
      assert.are.equal("é😀", dec('"\\u00e9\\ud83d\\ude00"'))
      local v = dec('{"名前":"証明書","n":12345678901234567}')
      assert.are.equal("証明書", v["名前"])
    end)

    it("are not confused with the encoder's placeholders", function()
      local value = { "\255tcssl_", "\255tcssl_12", "\255tcssl_1_[]", 12345678901234567,
                      json.array {}, { ["\255tcssl_7"] = 2^60 } }
      local back = dec(enc(value))
      assert.are.equal("\255tcssl_", back[1])
      assert.are.equal("\255tcssl_12", back[2])
      assert.are.equal("\255tcssl_1_[]", back[3])
      if HAS_INT then
        assert.are.equal(12345678901234567, back[4])
      else
        -- written as 12345678901234568, beyond 2^53: read back as its digits
        assert.are.equal("12345678901234568", back[4])
      end
      assert.is_true(json.is_array(back[5]))
      assert.are.equal(2^60, back[6]["\255tcssl_7"])
    end)

    it("are not confused with the decoder's placeholders", function()
      -- raw 0xFF bytes in the text (not UTF-8, but cjson passes them on)
      local text = '["\255", "\255\255[]", "\255\255\25512345678901234567", 12345678901234567, [], {}]'
      local v = dec(text)
      assert.are.equal("\255", v[1])
      assert.are.equal("\255\255[]", v[2])
      assert.are.equal("\255\255\25512345678901234567", v[3])
      if HAS_INT then
        assert.are.equal(12345678901234567, v[4])
      else
        assert.are.equal("12345678901234567", v[4])
      end
      assert.is_true(json.is_array(v[5]))
      assert.is_false(json.is_array(v[6]))
    end)
  end)

  describe("bad input", function()
    it("returns nil and a message for invalid JSON", function()
      local bad = { "", " ", "{", "}", "[1,", "[1,]", '{"a"}', '{"a":1,}', "tru", "nul",
                    "[1 2]", "01", "-012345678901234567", "0x10", "NaN", "-Infinity", "+1",
                    ".5", '"abc', '"\\x"', '"\\ud800"', "[1]x", "{} {}", "'a'",
                    "{12345678901234567:1}", '{"a":1, 12345678901234567:2}', "{[]:1}",
                    "[12345678901234567 1]", "[1]\0", "[1]\0junk", "\0",
                    '{"o":{},[]:1}', '[{}, {"a":1, []:2}]', '{"o":{},12345678901234567:1}' }
      for _, text in ipairs(bad) do
        dec_fails(text)
      end
    end)

    it("reports the byte where the text went wrong", function()
      assert.matches("at byte 21$", dec_fails("[12345678901234567, ]"))
      assert.matches("at byte 2$", dec_fails("{12345678901234567:1}"))
      assert.matches("at byte 4$", dec_fails("[1]x"))
    end)

    it("is strict where cjson was not (RFC 8259)", function()
      local bad = { "1.", "-2.", "[1.]", "1.e5", "1e", "1e+", "-", "-a", "--1", "[-]", "00",
                    "-01", "1.5.5", '"a\\1b"', '"a\\nb\\u12"', '"\\uD800\\u0041"', '"\\uDC00"',
                    '"\\ud83dx"', "[1,2", '{"a":1', '{"a" 1}', "[1,]", '"', "true false",
                    "[true]]", "nulll", "truex", "[tru]", '"abc\\"', "\239\187\191{}" }
      for c = 0, 31 do bad[#bad + 1] = '"a' .. string.char(c) .. 'b"' end
      for _, text in ipairs(bad) do
        assert.matches("at byte %d+$", dec_fails(text))
      end
      assert.matches("control character in a string at byte 3$", dec_fails('"a\nb"'))
      assert.matches("NUL byte at byte 1$", dec_fails("\0"))
      assert.matches("NUL byte after the value at byte 4$", dec_fails("[1]\0junk"))
      assert.matches("lone UTF%-16 surrogate", dec_fails('["\\ud800"]'))
      assert.matches("no digit after '.' at byte 2$", dec_fails("[1.]"))
    end)

    it("accepts every value at the top level, and whitespace around it", function()
      assert.are.equal(0, dec("0"))
      assert.are.equal(-1.5e-7, dec(" \t\r\n-1.5e-7\n"))
      assert.are.equal("", dec('""'))
      assert.are.equal(false, dec("false"))
      assert.are.equal("\0", dec('"\\u0000"'))
      assert.are.equal("\127\255", dec('"\127\255"'))
    end)

    it("returns nil and a message for every truncation of a document", function()
      local doc = '{"a":[1,2,{"b":null}],"c":"x\\"y","d":12345678901234567,"e":[],"f":{}}'
      assert.is_table(dec(doc))
      for n = 0, #doc - 1 do
        dec_fails(doc:sub(1, n))
      end
    end)

    it("returns nil and a message for 10,000-deep nesting", function()
      assert.matches("nested", dec_fails(nested_arrays(10000)))
      assert.matches("nested", dec_fails(nested_objects(10000)))
      assert.matches("nested", dec_fails("[" .. nested_arrays(10000) .. ",12345678901234567]"))
      dec_fails(string.rep("[", 10000))
    end)

    it("accepts nesting up to 1000 levels", function()
      assert.is_table(dec(nested_arrays(1000)))
      assert.is_table(dec(nested_objects(1000)))
      dec_fails(nested_arrays(1001))
      assert.are.equal(string.rep("[", 999) .. "{}" .. string.rep("]", 999),
        enc(nested_tables(1000)))
      assert.matches("nesting", enc_fails(nested_tables(1001)))
      assert.matches("nesting", enc_fails(nested_tables(10000)))
    end)

    it("returns nil and a message for input that is not a string", function()
      for _, v in ipairs { 5, true, {}, print, json.null } do
        assert.matches("expected a string", dec_fails(v))
      end
      assert.matches("expected a string, got nil", dec_fails(nil))
    end)

    it("returns nil and a message for values JSON cannot hold", function()
      assert.matches("function", enc_fails(print))
      assert.matches("function value at %$%.f", enc_fails({ f = print }))
      assert.matches("function value at %$%.a%.b%[3%]", enc_fails({ a = { b = { 1, 2, print } } }))
      assert.matches('at %$%["x y"%]', enc_fails({ ["x y"] = print }))
      assert.matches("thread", enc_fails(coroutine.create(print)))
      assert.matches("userdata", enc_fails(io.stdout))
      assert.matches("userdata", enc_fails({ io.stdout }))
      assert.matches("key of type boolean", enc_fails({ [true] = 1 }))
      assert.matches("key of type table", enc_fails({ x = { [{}] = 1 } }))
    end)

    it("returns nil and a message for tables that contain themselves", function()
      local t = {}
      t.self = t
      assert.matches("contains itself", enc_fails(t))
      local a, b = {}, {}
      a.b, b.a = b, a
      assert.matches("contains itself", enc_fails({ x = a }))
      local arr = json.array {}
      arr[1] = arr
      assert.matches("contains itself", enc_fails(arr))
    end)
  end)

  describe("cjson", function()
    local function settings(c)
      return {
        { c.encode_sparse_array() }, { c.encode_max_depth() }, { c.decode_max_depth() },
        { c.encode_number_precision() }, { c.encode_keep_buffer() },
        { c.encode_invalid_numbers() }, { c.decode_invalid_numbers() },
      }
    end

    it("the global cjson module's settings are unchanged", function()
      local cjson = require "cjson"
      local before = settings(cjson)
      package.loaded["tcssl.json"] = nil
      local fresh = require "tcssl.json"
      fresh.decode('{"a":[12345678901234567,1.5,null],"b":{}}')
      fresh.encode({ a = fresh.array {}, b = 12345678901234567, c = 0.1 })
      fresh.decode(nested_arrays(10000))
      fresh.decode("0x10")
      assert.are.same(before, settings(cjson))
      -- and it still behaves as before
      assert.are.equal(16, cjson.decode("0x10"))
      assert.are.equal("1.2345678901235e+16", cjson.encode(12345678901234567))
      assert.are.equal("{}", cjson.encode({}))
      if HAS_INT then
        assert.are.equal("float", math.type(cjson.decode("10")))
      end
      package.loaded["tcssl.json"] = json
    end)

    it("json.null is cjson.null", function()
      assert.are.equal(require("cjson").null, json.null)
    end)
  end)
end)

describe("json.encode with options", function()
  local function enc_with(v, options)
    local ok, text, err = pcall(json.encode, v, options)
    assert.is_true(ok, "json.encode raised: " .. tostring(text))
    assert.is_string(text, err)
    return text
  end

  it("indents one member or element a line, and keeps empty arrays and objects on theirs", function()
    local v = { b = 1, a = json.array{ 3, "x/y", json.array() }, c = {}, d = { e = true, f = json.null } }
    assert.are.equal(table.concat({
      "{",
      '  "a": [',
      "    3,",
      '    "x/y",',
      "    []",
      "  ],",
      '  "b": 1,',
      '  "c": {},',
      '  "d": {',
      '    "e": true,',
      '    "f": null',
      "  }",
      "}" }, "\n"), enc_with(v, { indent = "  " }))
    assert.are.equal('"a\\"b"', enc_with('a"b', { indent = "  " }))
    assert.are.equal("[]", enc_with(json.array(), { indent = "\t" }))
  end)

  it("puts the keys that order names first, in its order, inside nested values too", function()
    local v = { z = 1, y = 2, list = json.array{ { b = 1, a = 2, c = 3 }, { c = 1 } }, obj = { q = 1, p = 2 } }
    local order = { "y", "list", "z", list = { "c", "b" }, obj = { "q" } }
    assert.are.equal('{"y":2,"list":[{"c":3,"b":1,"a":2},{"c":1}],"z":1,"obj":{"q":1,"p":2}}',
      enc_with(v, { order = order }))
    -- no order: sorted, compact without an indent
    assert.are.equal('{"list":[{"a":2,"b":1,"c":3},{"c":1}],"obj":{"p":2,"q":1},"y":2,"z":1}', enc_with(v, {}))
  end)

  it("writes the scalars as the compact form does", function()
    local v = json.array{ 0.1, 2 ^ 60, -0.0, "\1\127é", json.number("18446744073709551615"), false }
    assert.are.equal(json.encode(v), enc_with(v, {}))
    if HAS_INT then
      assert.are.equal("[9223372036854775807,-9223372036854775808]",
        enc_with(json.array{ math.maxinteger, math.mininteger }, {}))
    end
  end)

  it("decides arrays as cjson does: holes are null, a sparse table is refused", function()
    assert.are.equal("[1,null,3]", enc_with({ [1] = 1, [3] = 3 }, {}))
    assert.are.equal("{}", enc_with({}, {}))
    assert.are.equal('{"1":"a","x":"b"}', enc_with({ "a", x = "b" }, {}))
    assert.matches("sparse", select(2, json.encode({ [20] = 1 }, {})))
  end)

  it("fails as the compact form does, with nil and a message", function()
    local cycle = {}
    cycle.self = cycle
    local cases = {
      { { x = { 0 / 0 } }, "NaN or infinity at %$%.x%[1%]" },
      { cycle, "contains itself" },
      { { [true] = 1 }, "key of type boolean" },
      { json.array{ a = 1 }, "not a positive integer" },
      { { f = print }, "cannot encode a function value at %$%.f" },
    }
    for _, case in ipairs(cases) do
      local ok, text, err = pcall(json.encode, case[1], { indent = "  " })
      assert.is_true(ok, tostring(text))
      assert.is_nil(text)
      assert.matches("^json%.encode: .*" .. case[2], err)
    end
    assert.matches("options must be a table", select(2, json.encode({}, "  ")))
    assert.matches("indent must be a string", select(2, json.encode({}, { indent = 2 })))
  end)
end)

describe("json.is_sequence and json.is_list", function()
  it("is_sequence: keys exactly 1..#t, the empty table included", function()
    assert.is_true(json.is_sequence({}))
    assert.is_true(json.is_sequence({ "a", "b" }))
    assert.is_true(json.is_sequence(json.array{ 1 }))
    assert.is_false(json.is_sequence({ "a", x = 1 }))
    assert.is_false(json.is_sequence({ [1] = "a", [3] = "c" }))
    assert.is_false(json.is_sequence({ [1.5] = "a" }))
    assert.is_false(json.is_sequence("ab"))
  end)

  it("is_list: what goes out as a JSON array, marked or a non-empty sequence", function()
    assert.is_true(json.is_list(json.array()))
    assert.is_true(json.is_list({ "a" }))
    assert.is_false(json.is_list({}))
    assert.is_false(json.is_list({ "a", x = 1 }))
    assert.is_false(json.is_list(nil))
    assert.equal("[]", json.encode(json.array()))
    assert.equal("{}", json.encode({}))
  end)
end)

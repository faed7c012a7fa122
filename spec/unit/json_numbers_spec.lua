-- tcssl.json and numbers: integers exact over the runtime's range, floats that round-trip, and
-- json.number for numbers as text. Runs under Lua 5.4 and under LuaJIT; the expectations that
-- differ (LuaJIT has no integer subtype) branch on HAS_INT.
-- luacheck: read globals math.type math.maxinteger math.mininteger (Lua 5.4's, used where the runtime has them)

local json = require "tcssl.json"
local jc = require "spec.support.json_checks"

local HAS_INT, enc, dec, enc_fails = jc.HAS_INT, jc.enc, jc.dec, jc.enc_fails
local mtype = math.type or function(x)
  return type(x) == "number" and "float" or nil
end

local function is_negative_zero(x)
  return x == 0 and 1 / x < 0
end

describe("tcssl.json", function()

  describe("integers", function()
    if HAS_INT then
      local cases = {
        { 0, "0" }, { 1, "1" }, { -1, "-1" },
        { 99999999999999, "99999999999999" },
        { 100000000000000, "100000000000000" },
        { 9007199254740991, "9007199254740991" },
        { 9007199254740992, "9007199254740992" },
        { 9007199254740993, "9007199254740993" },
        { -9007199254740993, "-9007199254740993" },
        { 12345678901234567, "12345678901234567" },
        { -12345678901234567, "-12345678901234567" },
        { math.maxinteger, "9223372036854775807" },
        { math.mininteger, "-9223372036854775808" },
      }

      it("encodes integers exactly over the whole int64 range", function()
        for _, c in ipairs(cases) do
          assert.are.equal(c[2], enc(c[1]))
        end
      end)

      it("decodes integer literals to exact Lua integers", function()
        for _, c in ipairs(cases) do
          local v = dec(c[2])
          assert.are.equal("integer", math.type(v), c[2])
          assert.are.equal(c[1], v, c[2])
        end
      end)

      it("keeps big integers exact inside arrays and objects, both ways", function()
        local value = { a = { 12345678901234567, math.mininteger, 1, -9007199254740993 },
                        b = { c = math.maxinteger }, d = 10 }
        local back = dec(enc(value))
        assert.are.same(value, back)
        assert.are.equal("integer", math.type(back.a[1]))
        assert.are.equal("integer", math.type(back.b.c))
        local v = dec('{"id":12345678901234567,"list":[9223372036854775807,-9223372036854775808]}')
        assert.are.equal(12345678901234567, v.id)
        assert.are.equal(math.maxinteger, v.list[1])
        assert.are.equal(math.mininteger, v.list[2])
      end)

      it("writes big integers as exact object keys", function()
        assert.are.equal('{"12345678901234567":"x"}', enc({ [12345678901234567] = "x" }))
      end)

      it("decodes integers beyond int64 to floats", function()
        local v = dec("[9223372036854775808,-9223372036854775809,123456789012345678901234567890]")
        assert.are.equal("float", math.type(v[1]))
        assert.are.equal(2^63, v[1])
        assert.are.equal("float", math.type(v[2]))
        assert.are.equal(-2^63, v[2])
        assert.are.equal("float", math.type(v[3]))
        assert.are.equal(1.2345678901234568e29, v[3])
      end)

      it("makes integral numbers integers, whatever their spelling", function()
        -- decision: 10, 10.0 and 1e1 are the same JSON number
        for _, text in ipairs { "10", "10.0", "1e1", "1.0E+1", "100e-1" } do
          local v = dec(text)
          assert.are.equal("integer", math.type(v), text)
          assert.are.equal(10, v, text)
        end
        assert.are.equal("integer", math.type(dec("1e18")))
        assert.are.equal(1000000000000000000, dec("1e18"))
      end)
    else
      it("encodes integral numbers below 2^53 without exponent", function()
        assert.are.equal("0", enc(0))
        assert.are.equal("-1", enc(-1))
        assert.are.equal("100000000000000", enc(1e14))
        assert.are.equal("1125899906842624", enc(2^50))
        assert.are.equal("-1125899906842624", enc(-2^50))
        assert.are.equal("9007199254740991", enc(2^53 - 1))
        assert.are.equal("-9007199254740991", enc(-(2^53 - 1)))
        assert.are.equal("9007199254740992", enc(2^53))
      end)

      it("decodes integers up to 2^53 to numbers", function()
        assert.are.equal(9007199254740991, dec("9007199254740991"))
        assert.are.equal(2^53, dec("9007199254740992"))
        assert.are.equal(-2^53, dec("-9007199254740992"))
        assert.are.equal(1e15, dec("1000000000000000"))
      end)

      it("decodes integers beyond 2^53 to their exact decimal string", function()
        assert.are.equal("9007199254740993", dec("9007199254740993"))
        assert.are.equal("-9007199254740993", dec("-9007199254740993"))
        assert.are.equal("12345678901234567", dec("12345678901234567"))
        assert.are.equal("9223372036854775807", dec("9223372036854775807"))
        assert.are.equal("-9223372036854775808", dec("-9223372036854775808"))
        assert.are.equal("9007199254740994", enc(2^53 + 2))
        assert.are.equal("9007199254740994", dec(enc(2^53 + 2)))
        local v = dec('{"id":12345678901234567,"list":[1,9223372036854775807]}')
        assert.are.equal("12345678901234567", v.id)
        assert.are.equal(1, v.list[1])
        assert.are.equal("9223372036854775807", v.list[2])
      end)

      it("rounds numbers with a fraction or exponent like any double", function()
        assert.are.equal(10, dec("10.0"))
        assert.are.equal(1e18, dec("1e18"))
      end)
    end

    it("decodes 10 to the number 10 (an integer where Lua has them)", function()
      local v = dec("10")
      assert.are.equal(10, v)
      if HAS_INT then assert.are.equal("integer", math.type(v)) end
      assert.are.equal(10, dec("[10]")[1])
      assert.are.equal(10, dec('{"n":10}').n)
    end)

    it("decodes 0, 1 and -1", function()
      assert.are.equal(0, dec("0"))
      assert.are.equal(1, dec("1"))
      assert.are.equal(-1, dec("-1"))
      if HAS_INT then
        assert.are.equal("integer", math.type(dec("0")))
        assert.are.equal("integer", math.type(dec("-1")))
      end
    end)
  end)

  describe("floats", function()
    local values = { 0.1, 0.2, 0.1 + 0.2, 1 / 3, -2.5, math.pi, 1e300, -1e300, 1e-300,
                     5e-324, 2.2250738585072014e-308, 1.7976931348623157e308,
                     123456789.123456789, 1e21 + 0.5e6, 2^60, -(2^62) }

    it("round-trip exactly", function()
      for _, x in ipairs(values) do
        local text = enc(x)
        assert.are.equal(x, dec(text), text)
        assert.are.equal(x, dec(enc({ x }))[1], text)
        assert.are.equal(x, dec(enc({ v = x })).v, text)
      end
    end)

    it("stay floats when they are not integral", function()
      for _, x in ipairs { 0.1, 1 / 3, -2.5, 1e-300 } do
        assert.are.equal("float", mtype(dec(enc(x))))
      end
      assert.are.equal("float", mtype(dec("1e300")))
      assert.are.equal(1e300, dec("1e300"))
    end)

    it("are written in the shortest form that reads back equal", function()
      assert.are.equal("0.1", enc(0.1))
      assert.are.equal("-2.5", enc(-2.5))
      assert.are.equal("0.30000000000000004", enc(0.1 + 0.2))
      assert.are.equal("0.3333333333333333", enc(1 / 3))
      assert.are.equal("1e+300", enc(1e300))
      assert.are.equal("[0.1]", enc({ 0.1 }))
    end)

    it("integral floats are written without a fraction", function()
      assert.are.equal("10", enc(10.0))
      assert.are.equal("1125899906842624", enc(2.0^50))
      assert.are.equal("1000000000000000", enc(1e15))
      assert.are.equal("-100000000000000", enc(-1e14))
      assert.are.equal("1e+300", enc(1e300))
      if HAS_INT then
        assert.are.equal("1152921504606846976", enc(2.0^60))
        assert.are.equal("-9223372036854775808", enc(-2.0^63))
        assert.are.equal("9.223372036854776e+18", enc(2.0^63))
        -- decision: they come back as integers
        assert.are.equal("integer", math.type(dec(enc(10.0))))
        assert.are.equal("integer", math.type(dec(enc(2.0^50))))
      end
    end)

    it("keep the sign of negative zero", function()
      assert.are.equal("-0", enc(-0.0))
      assert.is_true(is_negative_zero(dec(enc(-0.0))))
      assert.is_true(is_negative_zero(dec("-0")))
      assert.is_true(is_negative_zero(dec("-0.0")))
      assert.is_true(is_negative_zero(dec("[-0.0]")[1]))
      assert.is_false(is_negative_zero(dec("0")))
      assert.is_false(is_negative_zero(dec("0.0")))
      if HAS_INT then
        assert.are.equal("float", math.type(dec("-0")))
        assert.are.equal("integer", math.type(dec("0.0")))
      end
    end)

    it("refuse NaN and infinities", function()
      assert.matches("NaN or infinity", enc_fails(0 / 0))
      assert.matches("NaN or infinity", enc_fails(math.huge))
      assert.matches("NaN or infinity", enc_fails(-math.huge))
      assert.matches("NaN or infinity at %$%.a%[2%]", enc_fails({ a = { 1, 0 / 0 } }))
      assert.matches("NaN or infinity", enc_fails({ [math.huge] = 1 }))
    end)

    it("are read right next to long digit runs in strings", function()
      local v = dec('{"s":"12345678901234567","f":1e300,"g":2.5e17,"i":[1e16]}')
      assert.are.equal("12345678901234567", v.s)
      assert.are.equal(1e300, v.f)
      assert.are.equal(2.5e17, v.g)
      assert.are.equal(1e16, v.i[1])
      if HAS_INT then
        assert.are.equal("integer", math.type(v.g))
        assert.are.equal("float", math.type(v.f))
      end
      v = dec('[1.12345678901234567, 12345678901234567e0, -1234567890123456789.5]')
      assert.are.equal(1.12345678901234567, v[1])
      assert.are.equal(12345678901234567e0, v[2])
      assert.are.equal(-1234567890123456789.5, v[3])
    end)

    it("decode a literal beyond the double range to infinity", function()
      assert.are.equal(math.huge, dec("1e400"))
      assert.are.equal(-math.huge, dec("[-1e400]")[1])
    end)
  end)
end)

describe("json.number", function()
  it("writes its text as a bare number, anywhere in a value", function()
    local big = json.number("9223372036854775807")
    assert.is_true(json.is_number(big))
    assert.is_false(json.is_number("9223372036854775807"))
    assert.are.equal("9223372036854775807", tostring(big))
    assert.are.equal("9223372036854775807", enc(big))
    assert.are.equal('{"a":[18446744073709551615,-1.5e-3]}',
      enc({ a = json.array{ json.number("18446744073709551615"), json.number("-1.5e-3") } }))
    -- a string that looks like the placeholder machinery stays a string
    assert.are.equal('["\255tcssl_1",1]', enc(json.array{ "\255tcssl_1", json.number("1") }))
  end)

  it("round-trips a 64-bit integer exactly under either runtime", function()
    local back = dec(enc({ id = json.number("9007199254740993") }))
    if HAS_INT then
      assert.are.equal(9007199254740993, back.id)
    else
      assert.are.equal("9007199254740993", back.id)
    end
  end)

  it("takes only the JSON number grammar", function()
    for _, bad in ipairs({ "", "-", "01", "1.", ".5", "1e", "+1", "0x10", "1 ", "NaN", "1e+" }) do
      assert.has_error(function() json.number(bad) end)
    end
    assert.has_error(function() json.number(1) end)
    for _, good in ipairs({ "0", "-0", "10", "1.25", "1e9", "-2.5E+10" }) do
      assert.are.equal(good, enc(json.number(good)))
    end
  end)
end)

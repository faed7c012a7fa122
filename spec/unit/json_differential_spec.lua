-- tcssl.json.decode (its own reader, csrc/json.c) against the reader it replaced
-- (spec/support/json_reference.lua: lua-cjson and a walk in Lua) on a generated corpus of valid
-- documents: the same values, the same Lua types (integer or float under Lua 5.4, the decimal
-- strings of long integers under LuaJIT), the same array markers, the same dropped nulls.
-- The corpus comes from a fixed seed, so both runtimes read the same texts every run.
-- luacheck: read globals math.type

local json = require "tcssl.json"
local reference = require "spec.support.json_reference"

local HAS_INT = math.type ~= nil
local concat, char, format = table.concat, string.char, string.format

-- Park-Miller: every product stays below 2^53, so doubles (LuaJIT) and integers agree.
local function generator(seed)
  local x = seed
  return function(n)
    x = x * 16807 % 2147483647
    return x % n + 1
  end
end

local KEYS = { "a", "Id", "Certificates", "TotalCount", "", "k\\u00e9y", "x y", "n", "a", "Id",
  "\\\"q\\\"", "日本", "12345678901234567" }
local NUMBERS = { "0", "-0", "1", "-1", "10", "10.0", "1e1", "1E+1", "100e-1", "-0.0", "0e5",
  "1.5", "-2.25", "3.14159265358979", "1e300", "1e400", "-1e400", "1e-400", "123456789012345",
  "9007199254740991", "9007199254740992", "9007199254740993", "-9007199254740993",
  "12345678901234567", "9223372036854775807", "-9223372036854775808", "9223372036854775808",
  "-9223372036854775809", "123456789012345678901234567890", "1e18", "1.0e19", "2e-3",
  "0.1", "100012345678", "-1", "5e-324", "1.7976931348623157e308", "4.5e15", "1e16" }
local STRINGS = { "", "x", "hello world", "a\\\"b", "\\\\", "\\/", "\\b\\f\\n\\r\\t",
  "\\u0041\\u00e9\\u4e2d", "\\ud83d\\ude00", "\\u0000", "é世界😀", "\255\254", "[]", "{}",
  "null", "12345678901234567", "\\u005b\\u005d", "2025-11-24 08:00:00" }
local SPACES = { "", "", "", " ", "\n", "\t", " \r\n " }

local function document(rand, depth)
  local function ws() return SPACES[rand(#SPACES)] end
  local function value(d)
    local kind = rand(d > 5 and 6 or 9)
    if kind <= 2 then return NUMBERS[rand(#NUMBERS)]
    elseif kind == 3 then return '"' .. STRINGS[rand(#STRINGS)] .. '"'
    elseif kind == 4 then return ({ "true", "false", "null", "null" })[rand(4)]
    elseif kind == 5 then return rand(2) == 1 and "[" .. ws() .. "]" or "{" .. ws() .. "}"
    elseif kind == 6 then return '"' .. STRINGS[rand(#STRINGS)] .. STRINGS[rand(#STRINGS)] .. '"'
    elseif kind <= 8 then
      local items = {}
      for i = 1, rand(6) - 1 do items[i] = ws() .. value(d + 1) .. ws() end
      return "[" .. concat(items, ",") .. "]"
    else
      local items = {}
      for i = 1, rand(6) - 1 do
        items[i] = ws() .. '"' .. KEYS[rand(#KEYS)] .. '"' .. ws() .. ":" .. ws() .. value(d + 1) .. ws()
      end
      return "{" .. concat(items, ",") .. "}"
    end
  end
  return ws() .. value(depth) .. ws()
end

-- Why a and b differ, or nil when they are the same decoded value.
local function differ(a, b, path)
  local ta, tb = type(a), type(b)
  if ta ~= tb then return path .. ": " .. ta .. " vs " .. tb end
  if ta == "number" then
    if HAS_INT and math.type(a) ~= math.type(b) then
      return path .. ": " .. math.type(a) .. " vs " .. math.type(b)
    end
    if a ~= b or (a == 0 and 1 / a ~= 1 / b) then return path .. format(": %.17g vs %.17g", a, b) end
    return nil
  end
  if ta ~= "table" then
    if a ~= b then return path .. ": " .. tostring(a) .. " vs " .. tostring(b) end
    return nil
  end
  if getmetatable(a) ~= getmetatable(b) then return path .. ": marked differently" end
  for k, v in pairs(a) do
    local why = differ(v, b[k], path .. "[" .. tostring(k) .. "]")
    if why then return why end
  end
  for k in pairs(b) do
    if a[k] == nil then return path .. "[" .. tostring(k) .. "]: only in the second" end
  end
  return nil
end

local function same_as_reference(text)
  local want, werr = reference.decode(text)
  assert(want ~= nil, "the reference refuses " .. text .. ": " .. tostring(werr))
  local got, err = json.decode(text)
  assert(got ~= nil, "json.decode refuses " .. text .. ": " .. tostring(err))
  local why = differ(got, want, "$")
  assert(why == nil, tostring(why) .. " in " .. text)
end

describe("json.decode against the reader it replaced", function()
  it("agrees on every number, string and literal alone", function()
    for _, t in ipairs(NUMBERS) do same_as_reference(t) end
    for _, t in ipairs(STRINGS) do same_as_reference('"' .. t .. '"') end
    for _, t in ipairs { "true", "false", "null", " null ", "[]", "{}", "[null]", '{"a":null}' } do
      same_as_reference(t)
    end
  end)

  it("agrees on 3,000 generated documents", function()
    local rand = generator(20251202)
    for _ = 1, 3000 do same_as_reference(document(rand, 0)) end
  end)

  it("agrees on duplicate keys, a later null included", function()
    same_as_reference('{"a":1,"a":2}')
    same_as_reference('{"a":1,"a":null}')
    same_as_reference('{"a":null,"a":1}')
    local many = {}
    for i = 1, 200 do many[i] = format('"k%d":%d', i % 70, i) end
    same_as_reference("{" .. concat(many, ",") .. ',"k3":null}')
  end)

  it("agrees on long arrays and objects, and deep nesting", function()
    local items, fields = {}, {}
    for i = 1, 1000 do
      items[i] = i % 7 == 0 and "null" or tostring(i * 12345678901)
      fields[i] = format('"f%d":%s', i, i % 5 == 0 and "null" or '"v' .. i .. '"')
    end
    same_as_reference("[" .. concat(items, ",") .. "]")
    same_as_reference("{" .. concat(fields, ",") .. "}")
    same_as_reference(string.rep('[{"a":', 500) .. "1" .. string.rep("}]", 500))
  end)

  it("agrees when the key cache's slots are filled, shared and evicted", function()
    -- 200 objects of 40 keys out of 600 names: every pair of slots takes more keys than it holds
    local objects, rand = {}, generator(7)
    for i = 1, 200 do
      local fields = {}
      for j = 1, 40 do
        local k = (i * 37 + j * rand(600)) % 600
        fields[j] = format('"name%d":{"n%d":%d}', k, k % 3, j)
      end
      objects[i] = "{" .. concat(fields, ",") .. "}"
    end
    same_as_reference("[" .. concat(objects, ",") .. "]")
  end)

  it("agrees on DescribeCertificates-like pages", function()
    local function certificate(i)
      return format('{"CertificateId":"c%04d","OwnerUin":"100012345678","PackageType":%s,'
        .. '"Status":%d,"IsVip":false,"RenewAble":%s,"CertificateExtra":{"DomainNumber":"1",'
        .. '"ReplacedBy":null,"SMCert":0},"SubjectAltName":["h%d.example.com"],"Tags":[],'
        .. '"ProjectInfo":{"ProjectCreatorUin":100012345678,"ProjectId":"0"},"HostingStatus":-1,'
        .. '"BoundResource":[],"CertEndTime":"2026-02-01 07:59:59","StatusMsg":null}',
        i, i % 4 == 0 and '"2"' or "null", i % 3, tostring(i % 2 == 0), i)
    end
    for _, n in ipairs { 0, 1, 10, 100 } do
      local certs = {}
      for i = 1, n do certs[i] = certificate(i) end
      same_as_reference(format('{"Response":{"TotalCount":%d,"Certificates":[%s],"RequestId":"r-1"}}',
        3 * n, concat(certs, ",")))
    end
  end)

  it("agrees on every byte value inside strings (but control characters)", function()
    local bytes = {}
    for c = 32, 255 do
      if c ~= 34 and c ~= 92 then bytes[#bytes + 1] = char(c) end
    end
    same_as_reference('["' .. concat(bytes) .. '"]')
  end)

  -- the reader scans strings 8 bytes at a time and finds the first quote, backslash or control
  -- character of a word by its bit position: each at every offset of strings up to 24 bytes
  it("agrees on a quote, an escape or a control character at every offset of a string", function()
    for len = 0, 24 do
      for at = 0, len do
        local head, tail = ("a"):rep(at), ("b"):rep(len - at)
        same_as_reference('["' .. head .. '\\n' .. tail .. '","' .. head .. '"]')
        same_as_reference('{"' .. head .. tail .. '":"' .. head .. '\\"' .. tail .. '"}')
        local text = '["' .. head .. "\1" .. tail .. '"]'
        local got, err = json.decode(text)
        assert(got == nil and tostring(err):find("control character in a string at byte " .. (at + 3), 1, true),
          text .. ": " .. tostring(err))
      end
    end
  end)
end)

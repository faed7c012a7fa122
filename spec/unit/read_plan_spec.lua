-- The reply's type test run while the text is read (tcssl.schema.read_plan, csrc/json.c) held
-- to the test run on the decoded tables (tcssl.core.conform and its Lua form): on generated
-- replies of every output field of the model, right and wrong, with duplicate keys, nulls,
-- escaped keys and unknown fields, the two give the same suspects and schema.decode the same
-- result or the same kind of error.
local json = require "tcssl.json"
local schema = require "tcssl.schema"
local core = require "tcssl.core"

local array_mt = getmetatable(json.array())
local model = schema.model()

-- A small generator with its own state, so that every run reads the same replies.
local function prng(seed)
  local x = seed
  return function(n)
    x = (x * 1103515245 + 12345) % 2147483648
    return math.floor(x / 65536) % n + 1
  end
end

local WRONG_VALUES = { '"x"', '"12"', '"-7"', '1.5', '10.0', '-0', '1e400', 'true', 'false', '{}', '[]',
  '[1]', '{"a":1}', '9223372036854775808', '"99999999999999999999"', '"9007199254740993"', '0', '"true"' }

local STRING_TYPE = setmetatable({ Integer = false, Boolean = false, Float = false, Double = false },
  { __index = function() return true end })

-- JSON text for a value of field f, right with probability 7/8, else one of WRONG_VALUES,
-- a null, or (for structs and arrays) a container of wrong items.
local gen_object
local function gen_value(f, rnd, depth, item)
  if rnd(8) == 1 then
    local r = WRONG_VALUES[rnd(#WRONG_VALUES + 1)] or "null"
    -- under LuaJIT an integer beyond 2^53 is decoded as its digits, which the walk takes for a
    -- string (the reader does not: the case below)
    local scalar = not f.struct and (item or not f.array)
    if jit and r == "9223372036854775808" and scalar and STRING_TYPE[f.type] then r = '"x"' end
    return r
  end
  if f.array and not item then
    local parts = {}
    for i = 1, rnd(4) - 1 do parts[i] = gen_value(f, rnd, depth, true) end
    return "[" .. table.concat(parts, ",") .. "]"
  end
  if f.struct then
    local s = model.structs[f.type]
    if not s or depth > 3 then return "{}" end
    return gen_object(s.fields, rnd, depth + 1)
  end
  if f.type == "Integer" then return tostring(rnd(2000) - 1000) end
  if f.type == "Boolean" then return rnd(2) == 1 and "true" or "false" end
  if f.type == "Float" or f.type == "Double" then return tostring(rnd(1000) / 8 + 0.5) end
  return rnd(10) == 1 and '"esc\\"aped\\u00e9"' or ('"v%d"'):format(rnd(100))
end

function gen_object(fields, rnd, depth)
  local parts = {}
  for _, f in ipairs(fields) do
    if rnd(4) ~= 1 then
      local key = ('"%s"'):format(f.name)
      if rnd(30) == 1 then key = ('"%s\\u%04x%s"'):format(f.name:sub(1, 1), f.name:byte(2), f.name:sub(3)) end
      parts[#parts + 1] = key .. ":" .. gen_value(f, rnd, depth)
      local r = rnd(40)
      if r == 1 then -- the same field again, right or wrong
        parts[#parts + 1] = key .. ":" .. gen_value(f, rnd, depth)
      elseif r == 2 then -- and then a null
        parts[#parts + 1] = key .. ":null"
      end
    end
    if rnd(20) == 1 then
      parts[#parts + 1] = ('"Unknown%d":[{"x":%s}]'):format(rnd(9), WRONG_VALUES[rnd(#WRONG_VALUES)])
    end
  end
  if rnd(6) == 1 then -- now and then in another order (the reader guesses the next field from the last object)
    for i = 1, math.floor(#parts / 2) do parts[i], parts[#parts + 1 - i] = parts[#parts + 1 - i], parts[i] end
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

-- The suspects' paths, sorted (the walk lists them in the plan's order, the reader in the
-- text's).
local function paths(suspects, prefix)
  local out = {}
  for i = 5, #(suspects or {}), 5 do out[#out + 1] = prefix .. suspects[i] end
  table.sort(out)
  return out
end

local function compare(action, text)
  local doc = assert(json.decode(text))
  local read, checked = json.decode(text, schema.read_plan(action))
  assert.is_not_nil(checked, text)
  assert.same(doc, read, text) -- the plan's names are the keys the text has
  local walked = schema.conformers.c(doc.Response, schema.plan_of(action.output, "Response"), array_mt)
  if checked ~= true then -- true: a field came twice, only the walk can tell
    assert.same(paths(walked, "Response."), paths(checked or nil, ""), text)
  end
  local res, err = schema.decode(action, doc.Response)
  local res2, err2 = schema.decode(action, read.Response, nil, checked)
  assert.same(res, res2, text)
  assert.equal(err == nil, err2 == nil, text)
  if err then
    assert.same({ err.kind, err.code }, { err2.kind, err2.code }, text)
    -- with more than one value wrong, each form names the first it met
    local listed = {}
    for _, p in ipairs(paths(walked, "")) do listed[p] = true end
    assert.truthy(listed[err.path] and listed[err2.path], text)
  end
  return checked
end

describe("the type test while reading", function()
  it("agrees with the walk on generated replies of every action's output", function()
    local rnd = prng(20261202)
    local names = {}
    for name in pairs(model.actions) do names[#names + 1] = name end
    table.sort(names)
    local seen = { clean = 0, suspects = 0, again = 0 }
    for round = 1, 6 do
      for _, name in ipairs(names) do
        local action = model.actions[name]
        local text = '{"Response":' .. gen_object(action.output, rnd, 1) .. '}'
        local checked = compare(action, text)
        local k = checked == false and "clean" or checked == true and "again" or "suspects"
        seen[k] = seen[k] + 1
        assert.truthy(round <= 6)
      end
    end
    -- the corpus reaches every outcome
    assert.truthy(seen.clean > 20 and seen.suspects > 20 and seen.again > 5, ("%d %d %d"):format(seen.clean,
      seen.suspects, seen.again))
  end)

  it("agrees on pages of alike certificates, once the key cache is made", function()
    local rnd = prng(7)
    local action = model.actions.DescribeCertificates
    local cert
    for _, f in ipairs(action.output) do
      if f.name == "Certificates" then cert = model.structs[f.type].fields end
    end
    -- pages of changing lengths: a planned field's size hint stays from one page to the next
    for round = 1, 20 do
      local items = {}
      for i = 1, round % 3 == 0 and 3 or 40 do items[i] = gen_object(cert, rnd, 2) end
      compare(action, '{"Response":{"TotalCount":40,"Certificates":[' .. table.concat(items, ",")
        .. '],"RequestId":"r"}}')
    end
  end)

  it("says false for a clean reply, true for a field the plan names given twice or nulled after", function()
    local plan = schema.read_plan(model.actions.DescribeCertificates)
    local function checked(text) return select(2, json.decode(text, plan)) end
    assert.is_false(checked('{"Response":{"TotalCount":1,"RequestId":"r"}}'))
    assert.is_true(checked('{"Response":{"TotalCount":"x","TotalCount":1}}'))
    assert.is_true(checked('{"Response":{"TotalCount":"x","TotalCount":null}}'))
    assert.is_true(checked('{"Response":{"RequestId":"a"},"Response":{"RequestId":"b"}}'))
    -- a null before the value, or an unknown field twice, needs no walk
    assert.is_false(checked('{"Response":{"TotalCount":null,"TotalCount":1,"Other":1,"Other":"x"}}'))
    local s = checked('{"Response":{"Total\\u0043ount":"x","Certificates":[{"CertificateId":5},null,[]]}}')
    assert.same({ "Response.Certificates[1].CertificateId", "Response.Certificates[3]", "Response.TotalCount" },
      paths(s, ""))
    -- a null is read as without a plan, broken ones too, with the same message
    for _, doc in ipairs{ '{"Response":{"TotalCount":null}}', '{"Response":{"TotalCount" : null ,"RequestId":"r"}}',
      '{"Response":{"TotalCount":nul}}', '{"Response":{"TotalCount":nullx}}', '{"Response":{"TotalCount":null',
      '{"Response":{"TotalCount":null,}}', '{"Response":{"TotalCount":1,"TotalCount":null}}',
      '{"Response":{"Total\\u0043ount":null,"RequestId":"r"}}',
      '{"Response":{"TotalCount":1,"Total\\u0043ount":null}}' } do
      local want, want_err = json.decode(doc)
      local got, got_err = json.decode(doc, plan)
      assert.same({ want, want_err }, { got, want_err and got_err }, doc)
    end
    -- no plan: json.decode is as before
    assert.equal(1, select("#", json.decode('{"a":1}')))
  end)

  it("works with plans of any shape: a struct in itself, more than 64 fields, unknown kinds", function()
    local plan = { "\5\1", false, "a", "s" }
    plan[2] = { plan }
    local compiled = core.json_plan({ "\5", { plan }, "Response" })
    local text = ('{"a":'):rep(900) .. '{"s":1}' .. ("}"):rep(900)
    local v, checked = json.decode('{"Response":' .. text .. '}', compiled)
    assert.is_table(v)
    assert.equal(1, #checked / 5)
    assert.equal(("Response" .. (".a"):rep(900) .. ".s"), checked[5])
    -- 70 string fields: field 1 and field 65 share a bit of the seen mask, so the walk is asked for
    local codes, wide = {}, { false, false }
    for i = 1, 70 do codes[i], wide[i + 2] = "\1", "f" .. i end
    wide[1] = table.concat(codes)
    local big = core.json_plan({ "\5", { wide }, "Response" })
    assert.is_true(select(2, json.decode('{"Response":{"f1":"x","f65":"y"}}', big)))
    assert.is_false(select(2, json.decode('{"Response":{"f1":"x","f2":"y"}}', big)))
    assert.equal("Response.f70", select(2, json.decode('{"Response":{"f70":7}}', big))[5])
    -- a null takes out what an earlier member of its name set, and nothing a field sharing its
    -- bit set
    for doc, want in pairs{
      ['{"Response":{"f1":"x","f65":null}}'] = { f1 = "x" },
      ['{"Response":{"f65":"y","f1":null}}'] = { f65 = "y" },
      ['{"Response":{"f1":"x","f1":null,"f2":null}}'] = {},
      ['{"Response":{"f2":null,"f1":"x","f2":"z","f2":null}}'] = { f1 = "x" },
    } do
      assert.same({ Response = want }, (json.decode(doc, big)), doc)
    end
    -- names a string would escape are found through the escape, never from the raw text, twice
    -- over (the second read guesses each field from the first)
    local quoted = core.json_plan({ "\1\1", false, 'a"', "a" })
    for _, doc in ipairs{ '{"a":1,"a\\"":2}', '{"a\\"":2,"a":1}' } do
      for _ = 1, 2 do
        local got, found = json.decode(doc, quoted)
        assert.same({ a = 1, ['a"'] = 2 }, got)
        assert.same({ 'a', 'a"' }, paths(found, ""))
      end
    end
    -- an array's objects are made with the size of the last one read there, in this reply or
    -- an earlier one: whatever the sizes, the tables are what the text says
    local item = { "\1\1\1", false, "a", "b", "c" }
    local list = core.json_plan({ "\13", { item }, "L" })
    for _, doc in ipairs{ '{"L":[{"a":"1","b":"2","c":"3"},{"a":"4"}]}', '{"L":[{},{"c":"5","b":"6"}]}',
      '{"L":[{"a":"7","b":"8","c":"9"}]}', '{"L":[[],{"a":"x"},"y"]}', '{"L":[]}' } do
      assert.same((json.decode(doc)), (json.decode(doc, list)), doc)
    end
    -- kinds no walk knows, and a struct without a plan, are not checked
    local odd = core.json_plan({ "\7\5\13", false, "a", "b", "c" })
    assert.is_false(select(2, json.decode('{"a":[],"b":1,"c":{}}', odd)))
    -- the top level not an object: nothing is checked (the envelope reports it)
    assert.is_false(select(2, json.decode('[1]', odd)))
    assert.is_false(select(2, json.decode('"x"', odd)))
  end)

  it("reports a number in a String field under LuaJIT too, where the walk sees digits", function()
    local action = model.actions.DescribeCertificates
    local text = '{"Response":{"RequestId":9223372036854775808}}'
    local read, checked = json.decode(text, schema.read_plan(action))
    local res, err = schema.decode(action, read.Response, nil, checked)
    assert.is_nil(res)
    assert.equal("RequestId", err.path)
    assert.truthy(err.message:find("must be a string", 1, true), err.message)
  end)

  it("refuses what is not a compiled plan with an error value, and bad plans with an error", function()
    local v, err = json.decode('{"a":1}', { "\1", false, "a" })
    assert.is_nil(v)
    assert.truthy(err:find("json_plan", 1, true), err)
    assert.is_nil((json.decode('{"a":1}', 5)))
    assert.is_false(pcall(core.json_plan, {}))
    assert.is_false(pcall(core.json_plan, { "\1", false, 7 }))
    assert.is_false(pcall(core.json_plan, { 5 }))
    assert.is_false(pcall(core.json_plan, "x"))
    -- a malformed text under a plan is the same error as without one
    local plan = schema.read_plan(model.actions.DescribeCertificates)
    assert.same({ json.decode('{"Response":{"TotalCount":1,}}') },
      { json.decode('{"Response":{"TotalCount":1,}}', plan) })
  end)
end)

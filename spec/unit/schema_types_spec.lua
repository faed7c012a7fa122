-- Types at both ends of a call: Integer parameters are exact integers in range or a validation
-- error; values in a response of another type than the model's give a protocol error.
-- luacheck: read globals math.type math.maxinteger math.mininteger (Lua 5.4's, used where the runtime has them)
local tcssl = require "tcssl"
local json = require "tcssl.json"
local schema = require "tcssl.schema"
local fakes = require "spec.support.fakes"

local LUAJIT = jit ~= nil

-- A transport that records what it would send and answers with `body` (a string or a list of
-- them, one per request).
local function recorder(body)
  return fakes.transport(type(body) == "table" and body or { body })
end

local function client(extra, transport, legacy)
  local cfg = { secret_id = "AKIDTYPES", secret_key = "types-spec-key", transport = transport or recorder(),
    rate_limit = false }
  for k, v in pairs(extra or {}) do cfg[k] = v end
  return assert((legacy and tcssl.legacy or tcssl.new)(cfg))
end

-- What one call sends: the POST body, or the query of a GET or legacy request.
local function sent(params, opts)
  opts = opts or {}
  local t = recorder(opts.legacy and '{"code":0,"message":"","codeDesc":"Success","data":{}}' or nil)
  local c = client({ http_method = opts.method }, t, opts.legacy)
  local res, err = c:call(opts.action or "DescribeCertificates", params)
  assert(res, err and tostring(err))
  local r = t.sent[1]
  return r.method == "POST" and not opts.legacy and r.body or (r.url .. "&" .. (r.body or ""))
end

-- A call that validation stops: nothing is sent, the error names the path.
local function rejected(params, path, opts)
  opts = opts or {}
  local t = recorder()
  local c = client({ http_method = opts.method }, t, opts.legacy)
  local res, err = c:call(opts.action or "DescribeCertificates", params)
  assert.is_nil(res)
  assert.equal("validation", err.kind)
  assert.equal("InvalidParameter", err.code)
  assert.equal(path, err.path)
  assert.truthy(err.message:find(path, 1, true))
  assert.equal(0, #t.sent, "nothing is sent when validation fails")
  return err
end

local EVERY_WAY = {
  { method = "POST" },
  { method = "GET" },
  { legacy = true, action = "CertGetList", name = "page" },
}

describe("Integer parameters", function()
  it("reject NaN, infinities, fractions and floats outside the int64 range, over POST, GET and v1", function()
    local bad = { 0 / 0, math.huge, -math.huge, 1.5, -0.25, 2 ^ 63, 2 ^ 64, 2 ^ 64 - 2 ^ 11, -2 ^ 64, 1e300 }
    for _, way in ipairs(EVERY_WAY) do
      local name = way.name or "Limit"
      for _, v in ipairs(bad) do
        local err = rejected({ [name] = v }, name, way)
        assert.truthy(err.message:find("must be an integer", 1, true))
      end
    end
    -- inside an array, with the element's index
    rejected({ CertificateStatus = { 1, 2 ^ 63 } }, "CertificateStatus[2]")
    rejected({ CertificateStatus = { 0 / 0 } }, "CertificateStatus[1]", { method = "GET" })
  end)

  it("say why a number is not an integer", function()
    assert.truthy(rejected({ Limit = 0 / 0 }, "Limit").message:find("not a finite number", 1, true))
    assert.truthy(rejected({ Limit = 2.5 }, "Limit").message:find("non-integral", 1, true))
    assert.truthy(rejected({ Limit = 2 ^ 63 }, "Limit").message:find("64-bit integer range", 1, true))
  end)

  it("send integral floats in range as integers, never in exponent form", function()
    for _, way in ipairs(EVERY_WAY) do
      local name = way.name or "Limit"
      local out = sent({ [name] = 10.0 }, way)
      assert.truthy(out:find(way.method == "POST" and '"' .. name .. '":10[,}]' or "[?&]" .. name .. "=10&"), out)
      assert.falsy(out:find("10.0", 1, true))
    end
    assert.truthy(sent{ CertificateStatus = { 1.0, 2 } }:find('"CertificateStatus":[1,2]', 1, true))
    assert.truthy(sent({ Limit = -0.0 }, { method = "GET" }):find("Limit=0&", 1, true))
  end)

  if LUAJIT then
    it("under LuaJIT take numbers up to 2^53 and larger values as decimal strings only", function()
      assert.truthy(sent{ Limit = 2 ^ 53 }:find('"Limit":9007199254740992', 1, true))
      assert.truthy(sent{ Limit = -2 ^ 53 }:find('"Limit":-9007199254740992', 1, true))
      for _, way in ipairs(EVERY_WAY) do
        local name = way.name or "Limit"
        for _, v in ipairs{ 2 ^ 53 + 2, 2 ^ 60, -2 ^ 63, 2 ^ 62 } do
          local err = rejected({ [name] = v }, name, way)
          assert.truthy(err.message:find("decimal string", 1, true))
        end
        local out = sent({ [name] = "-9223372036854775808" }, way)
        assert.truthy(out:find("-9223372036854775808", 1, true), out)
      end
    end)
  else
    it("under Lua 5.4 take integral floats over the whole int64 range, exactly", function()
      for _, way in ipairs(EVERY_WAY) do
        local name = way.name or "Limit"
        local out = sent({ [name] = 2.0 ^ 62 }, way)
        assert.truthy(out:find("4611686018427387904", 1, true), out)
        out = sent({ [name] = -2.0 ^ 63 }, way)
        assert.truthy(out:find("-9223372036854775808", 1, true), out)
        out = sent({ [name] = math.maxinteger }, way)
        assert.truthy(out:find("9223372036854775807", 1, true), out)
        assert.falsy(out:find("e+", 1, true))
      end
    end)
  end

  it("take a numeric string only beyond 2^53 and within int64, as before", function()
    rejected({ Limit = "10" }, "Limit")
    rejected({ Limit = "10.0" }, "Limit")
    rejected({ Limit = "9223372036854775808" }, "Limit")
    rejected({ page = "1" }, "page", { legacy = true, action = "CertGetList" })
    assert.truthy(sent{ Limit = "9007199254740993" }:find('"Limit":9007199254740993', 1, true))
  end)

  it("are checked by schema.check as well, for any caller", function()
    local action = schema.model().actions.DescribeCertificates
    local out, err = schema.check(action, { Limit = 2 ^ 63 })
    assert.is_nil(out)
    assert.equal("Limit", err.path)
    out = assert(schema.check(action, { Limit = 10.0 }))
    assert.equal(10, out.Limit)
    if math.type then assert.equal("integer", math.type(out.Limit)) end
    assert.equal('{"Limit":10}', json.encode(out))
  end)

  it("are sent from the caller's own table when nothing changes, from a copy otherwise", function()
    local action = schema.model().actions.DescribeCertificates
    local given = { Limit = 10, SearchKey = "a", ExpirationSort = "ASC" }
    assert.equal(given, assert(schema.check(action, given)))
    -- an integral float becomes an integer in a copy; the caller's table keeps its float
    local float = math.type and { Limit = 10.0, SearchKey = "a" } or nil
    if float then
      local out = assert(schema.check(action, float))
      assert.are_not.equal(float, out)
      assert.equal("float", math.type(float.Limit))
      assert.equal("integer", math.type(out.Limit))
      assert.equal("a", out.SearchKey)
    end
    -- an array field: a plain sequence goes as it is, an empty table as a marked copy
    local ids = { "x", "y" }
    local tags = { { TagKey = "k", TagValue = "v" } }
    local out = assert(schema.check(action, { CertIds = ids, Tags = tags }))
    assert.equal(ids, out.CertIds)
    assert.equal(tags, out.Tags)
    local empty = {}
    out = assert(schema.check(action, { CertIds = empty }))
    assert.are_not.equal(empty, out.CertIds)
    assert.equal('{"CertIds":[]}', json.encode(out))
    assert.is_nil(getmetatable(empty))
  end)
end)

-- Point 12: the response side.
local DESCRIBE = schema.model().actions.DescribeCertificates
local array_mt = getmetatable(json.array())

-- decode(text) -> what schema.decode makes of the Response of a DescribeCertificates answer.
-- It is made twice, with the test run on the decoded tables (the walk) and run while the text
-- is read (read_plan), and the two must agree: every case below holds both forms to each other.
local function decode(response_json, action)
  action = action or DESCRIBE
  local text = '{"Response":' .. response_json .. '}'
  local doc = assert(json.decode(text))
  local res, err = schema.decode(action, doc.Response)
  local read, checked = json.decode(text, schema.read_plan(action))
  assert.is_not_nil(checked, text)
  local res2, err2 = schema.decode(action, read.Response, nil, checked)
  assert.same(res, res2, text)
  if err then
    assert.same({ err.kind, err.code, err.path, err.message }, { err2.kind, err2.code, err2.path, err2.message }, text)
  end
  return res, err
end

local function wrong(response_json, path, action)
  local res, err = decode(response_json, action)
  assert.is_nil(res, response_json)
  assert.equal("protocol", err.kind)
  assert.equal("UnexpectedType", err.code)
  assert.equal(path, err.path, response_json)
  assert.truthy(err.message:find(path, 1, true), err.message)
  assert.is_false(err.retryable)
  return err
end

local WRONG = {
  { '{"TotalCount":1e400}', "TotalCount" },
  { '{"TotalCount":-1e400}', "TotalCount" },
  { '{"TotalCount":"abc"}', "TotalCount" },
  { '{"TotalCount":"12abc"}', "TotalCount" },
  { '{"TotalCount":"1.5"}', "TotalCount" },
  { '{"TotalCount":1.5}', "TotalCount" },
  { '{"TotalCount":1e19}', "TotalCount" },
  { '{"TotalCount":18446744073709551615}', "TotalCount" },
  { '{"TotalCount":"99999999999999999999"}', "TotalCount" },
  { '{"TotalCount":"9223372036854775808"}', "TotalCount" },
  { '{"TotalCount":true}', "TotalCount" },
  { '{"TotalCount":{}}', "TotalCount" },
  { '{"TotalCount":[1]}', "TotalCount" },
  { '{"RequestId":7}', "RequestId" },
  { '{"Certificates":{"a":1}}', "Certificates" },
  { '{"Certificates":"none"}', "Certificates" },
  { '{"Certificates":0}', "Certificates" },
  { '{"Certificates":[{},{},{"CertEndTime":5}]}', "Certificates[3].CertEndTime" },
  { '{"Certificates":[{},"x"]}', "Certificates[2]" },
  { '{"Certificates":[[1]]}', "Certificates[1]" },
  { '{"Certificates":[{"CertificateExtra":"x"}]}', "Certificates[1].CertificateExtra" },
  { '{"Certificates":[{"CertificateExtra":[1]}]}', "Certificates[1].CertificateExtra" },
  { '{"Certificates":[{"CertificateExtra":{"SMCert":"no"}}]}', "Certificates[1].CertificateExtra.SMCert" },
  { '{"Certificates":[{"ProjectInfo":{"OwnerUin":false}}]}', "Certificates[1].ProjectInfo.OwnerUin" },
  { '{"Certificates":[{"Alias":{"a":1}}]}', "Certificates[1].Alias" },
  { '{"Certificates":[{"Alias":[]}]}', "Certificates[1].Alias" },
  { '{"Certificates":[{"Alias":12}]}', "Certificates[1].Alias" },
  { '{"Certificates":[{"IsDv":"true"}]}', "Certificates[1].IsDv" },
  { '{"Certificates":[{"IsDv":1}]}', "Certificates[1].IsDv" },
  { '{"Certificates":[{"SubjectAltName":["a",5]}]}', "Certificates[1].SubjectAltName[2]" },
  { '{"Certificates":[{"SubjectAltName":"a"}]}', "Certificates[1].SubjectAltName" },
  { '{"Certificates":[{"SubjectAltName":{"a":"b"}}]}', "Certificates[1].SubjectAltName" },
  -- a null leaves a hole in the array: what follows it is checked all the same
  { '{"Certificates":[{"SubjectAltName":["a",null,null,5]}]}', "Certificates[1].SubjectAltName[4]" },
  { '{"Certificates":[{"Tags":[{"TagKey":"k","TagValue":"v"},{"TagKey":1}]}]}', "Certificates[1].Tags[2].TagKey" },
  { '{"Certificates":[{"Tags":["env"]}]}', "Certificates[1].Tags[1]" },
  { '{"Certificates":[{"HostingConfig":{"MessageTypes":["1",2,"x"]}}]}',
    "Certificates[1].HostingConfig.MessageTypes[3]" },
  { '{"Certificates":[{"HostingConfig":{"MessageTypes":[1.5]}}]}', "Certificates[1].HostingConfig.MessageTypes[1]" },
}

describe("response types", function()
  for _, case in ipairs(WRONG) do
    it("reject " .. case[1], function() wrong(case[1], case[2]) end)
  end

  it("say what the value had to be and what it was, without quoting strings", function()
    local err = wrong('{"Certificates":[{"CertEndTime":5}],"RequestId":"r-7"}', "Certificates[1].CertEndTime")
    assert.equal("response field Certificates[1].CertEndTime must be a string, got the number 5", err.message)
    assert.equal("r-7", err.request_id)
    assert.is_false(err.maybe_applied) -- DescribeCertificates only reads
    err = wrong('{"TotalCount":"-----BEGIN PRIVATE KEY----- secret"}', "TotalCount")
    assert.falsy(err.message:find("secret", 1, true))
    assert.truthy(err.message:find("an integer of the int64 range, got a string of", 1, true))
    err = wrong('{"Certificates":{"a":1}}', "Certificates")
    assert.truthy(err.message:find("must be an array of Certificates objects, got an object", 1, true))
    err = wrong('{"Certificates":[{"CertificateExtra":"x"}]}', "Certificates[1].CertificateExtra")
    assert.truthy(err.message:find("must be an object (CertificateExtra)", 1, true))
  end)

  it("take numeric strings in Integer fields as integers (documented), and integral floats", function()
    local res = assert(decode('{"TotalCount":"007","Certificates":[{"Status":"-3","AutoRenewFlag":10.0,'
      .. '"HostingStatus":-0.0,"CertificateExtra":{"SMCert":"1"},'
      .. '"HostingConfig":{"MessageTypes":["1",2,3.0]}}]}'))
    assert.equal(7, res.TotalCount)
    local c = res.Certificates[1]
    assert.equal(-3, c.Status)
    assert.equal(10, c.AutoRenewFlag)
    assert.equal(0, c.HostingStatus)
    assert.equal(1, c.CertificateExtra.SMCert)
    assert.same({ 1, 2, 3 }, c.HostingConfig.MessageTypes)
    if math.type then
      local all = { res.TotalCount, c.Status, c.AutoRenewFlag, c.HostingStatus, c.HostingConfig.MessageTypes[3] }
      for _, v in ipairs(all) do
        assert.equal("integer", math.type(v))
      end
    end
  end)

  it("keep the whole int64 range exact (decimal strings beyond 2^53 under LuaJIT)", function()
    local res = assert(decode('{"TotalCount":"-9223372036854775808","Certificates":[{"Status":9223372036854775807}]}'))
    assert.equal(LUAJIT and "-9223372036854775808" or math.mininteger, res.TotalCount)
    assert.equal(LUAJIT and "9223372036854775807" or math.maxinteger, res.Certificates[1].Status)
    res = assert(decode('{"TotalCount":1e17}'))
    assert.equal(1e17, res.TotalCount)
  end)

  it("count an empty object as an empty array and an empty array as an empty object", function()
    local res = assert(decode('{"Certificates":{}}'))
    assert.is_true(json.is_array(res.Certificates))
    assert.equal('[]', json.encode(res.Certificates))
    res = assert(decode('{"Certificates":[{"CertificateExtra":[],"Tags":{},"SubjectAltName":{}}]}'))
    local c = res.Certificates[1]
    assert.is_nil(getmetatable(c.CertificateExtra))
    assert.is_true(json.is_array(c.Tags))
    assert.is_true(json.is_array(c.SubjectAltName))
  end)

  it("leave unknown fields alone, of any type, and nulls absent", function()
    local res = assert(decode('{"NewField":[1,"x",{}],"TotalCount":null,"Certificates":[{"Brand":5,'
      .. '"Alias":null,"CertificateExtra":{"Later":{"x":[true]}}}],"RequestId":"r"}'))
    assert.same({ 1, "x", {} }, res.NewField)
    assert.is_nil(res.TotalCount)
    assert.equal(5, res.Certificates[1].Brand)
    assert.is_nil(res.Certificates[1].Alias)
    assert.same({ x = { true } }, res.Certificates[1].CertificateExtra.Later)
  end)

  it("check every action's output: a struct as a string is an error wherever it is", function()
    local model = schema.model()
    local checked = 0
    for name, action in pairs(model.actions) do
      for _, f in ipairs(action.output) do
        if f.name ~= "RequestId" then
          -- a value no model type takes in every field: a string where structs, arrays,
          -- integers, booleans belong, a table where strings belong
          local bad = (f.struct or f.array or f.type == "Integer" or f.type == "Boolean") and '"x"' or '{"a":1}'
          local res, err = decode(('{"%s":%s,"RequestId":"r"}'):format(f.name, bad), action)
          assert.is_nil(res, name .. "." .. f.name)
          assert.equal(f.name, err.path)
          assert.equal(not action.readonly, err.maybe_applied)
          checked = checked + 1
        end
      end
    end
    assert.truthy(checked > 200)
  end)

  it("walk alike in C and in Lua (the LuaJIT form), suspects and paths included", function()
    local c, lua = schema.conformers.c, schema.conformers.lua
    local texts = {}
    for i, case in ipairs(WRONG) do texts[i] = case[1] end
    texts[#texts + 1] = '{"TotalCount":"1","Certificates":[{"Status":"2","Tags":[{"TagKey":1,"TagValue":2}]},'
      .. '{"SubjectAltName":[1,"a",null,true]}],"RequestId":"r"}'
    texts[#texts + 1] = '{"Certificates":[{"CertificateExtra":[],"Tags":{}},{}],"TotalCount":3}'
    local plan = schema.plan_of(DESCRIBE.output)
    for _, text in ipairs(texts) do
      local doc = assert(json.decode('{"Response":' .. text .. '}')).Response
      local a, b = c(doc, plan, array_mt), lua(doc, plan, array_mt)
      assert.equal(a == nil, b == nil, text)
      if a then
        assert.equal(#a, #b, text)
        for i = 1, #a do assert.equal(a[i], b[i], text .. " item " .. i) end
      end
    end
  end)

  it("take odd plans in both forms without a crash: unknown kinds, structs without plan, no names", function()
    for form, walk in pairs(schema.conformers) do
      assert.is_nil(walk({ a = 1, b = "x" }, { "\7\5\1", false, "a", "b" }, array_mt), form)
      assert.is_nil(walk({ a = 1 }, { "\1\1\1", false }, array_mt), form)
      local arr = json.array{ 5 }
      rawset(arr, "x", 6) -- an array with a name in it: a table built by hand
      local suspects = walk({ a = arr }, { "\9", false, "a" }, array_mt)
      assert.equal(10, #suspects, form)
      local paths = { suspects[5], suspects[10] }
      table.sort(paths)
      assert.same({ "a.x", "a[1]" }, paths)
    end
    assert.is_false(pcall(schema.conformers.c, {}, { {} }, array_mt))
    assert.is_false(pcall(schema.conformers.c, {}, {}, nil))
  end)

  it("stop at 1000 levels, in both forms, as an error rather than a crash", function()
    local plan = { "\5", false, "a" }
    plan[2] = { plan }
    local deep = {}
    local t = deep
    for _ = 1, 1100 do t.a = {} t = t.a end
    for form, walk in pairs(schema.conformers) do
      local ok, err = pcall(walk, deep, plan, array_mt)
      assert.is_false(ok, form)
      assert.truthy(tostring(err):find("1000", 1, true), form)
    end
  end)
end)

describe("a reply of the wrong type through a client", function()
  local function answered(action, params, reply, extra)
    local t = recorder(reply)
    local seen
    local cfg = { on_request = function(info) seen = info end, max_retries = 3 }
    for k, v in pairs(extra or {}) do cfg[k] = v end
    local c = client(cfg, t)
    local res, err = c:call(action, params)
    return res, err, t, seen
  end

  it("is a protocol error naming the path, not retried, with the request id", function()
    local res, err, t, seen = answered("DescribeCertificates", {},
      '{"Response":{"TotalCount":3,"Certificates":[{},{},{"CertEndTime":20260101}],"RequestId":"r-types"}}')
    assert.is_nil(res)
    assert.equal("protocol", err.kind)
    assert.equal("UnexpectedType", err.code)
    assert.equal("Certificates[3].CertEndTime", err.path)
    assert.equal("DescribeCertificates", err.action)
    assert.equal("r-types", err.request_id)
    assert.equal(200, err.http_status)
    assert.equal(1, err.attempts)
    assert.is_false(err.retryable)
    assert.is_false(err.maybe_applied)
    assert.equal(1, #t.sent)
    assert.equal("UnexpectedType", seen.error)
    assert.equal("r-types", seen.request_id)
    assert.truthy(tostring(err):find("Certificates[3].CertEndTime", 1, true))
    assert.truthy(tostring(err):find("RequestId r-types", 1, true))
  end)

  it("says maybe_applied for an action that changes state: the server did act", function()
    local cases = {
      { "UploadCertificate", { CertificatePublicKey = "pem" }, '{"CertificateId":5,"RequestId":"r-up"}',
        "CertificateId" },
      { "DeleteCertificate", { CertificateId = "abc" }, '{"DeleteResult":"yes","RequestId":"r-del"}', "DeleteResult" },
      { "UpdateCertificateInstance", { OldCertificateId = "old", CertificateId = "new", ResourceTypes = { "clb" } },
        '{"DeployRecordId":"x1","RequestId":"r-upd"}', "DeployRecordId" },
    }
    for _, case in ipairs(cases) do
      local res, err, t = answered(case[1], case[2], '{"Response":' .. case[3] .. '}')
      assert.is_nil(res, case[1])
      assert.equal("UnexpectedType", err.code)
      assert.equal(case[4], err.path)
      assert.is_true(err.maybe_applied, case[1])
      assert.is_false(err.retryable)
      assert.equal(1, #t.sent, "sent once: " .. case[1])
    end
  end)

  it("works the same over GET", function()
    local res, err = answered("DescribeCertificates", { Limit = 1 }, '{"Response":{"TotalCount":"abc"}}',
      { http_method = "GET" })
    assert.is_nil(res)
    assert.equal("TotalCount", err.path)
  end)

  it("passes a reply of the right types through, converted", function()
    local res = assert(answered("DescribeCertificates", {},
      '{"Response":{"TotalCount":"2","Certificates":[{"CertificateId":"a","Tags":{}}],"Later":"x","RequestId":"r"}}'))
    assert.equal(2, res.TotalCount)
    assert.is_true(json.is_array(res.Certificates[1].Tags))
    assert.equal("x", res.Later)
  end)

  it("leaves actions the model does not know and the legacy API's data unchecked (documented)", function()
    local res = assert(answered("DescribeSomethingNew", {}, '{"Response":{"TotalCount":"abc","RequestId":"r"}}'))
    assert.equal("abc", res.TotalCount)
    local t = recorder('{"code":0,"message":"","codeDesc":"Success","data":{"totalNum":"many","list":{"a":1}}}')
    res = assert(client(nil, t, true):CertGetList{})
    assert.equal("many", res.totalNum)
    assert.same({ a = 1 }, res.list)
  end)
end)

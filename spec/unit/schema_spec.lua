-- Validation, encoding and decoding driven by the generated model, without a network: a
-- recording transport shows what would have been sent.
-- luacheck: read globals math.type math.maxinteger (Lua 5.4's, used where the runtime has them)
local tcssl = require "tcssl"
local json = require "tcssl.json"
local schema = require "tcssl.schema"
local fakes = require "spec.support.fakes"

-- A transport that records each request and answers with the JSON body `response`.
local function recorder(response)
  return fakes.transport{ response }
end

local function client(extra, transport)
  local cfg = { secret_id = "AKIDSCHEMA", secret_key = "schema-spec-key", transport = transport or recorder() }
  for k, v in pairs(extra or {}) do cfg[k] = v end
  return assert(tcssl.new(cfg))
end

local function fails(params, code, path, action)
  local t = recorder()
  local res, err = client(nil, t)[action or "DescribeCertificates"](client(nil, t), params)
  assert.is_nil(res)
  assert.equal("validation", err.kind)
  assert.equal(code, err.code)
  assert.equal(path, err.path)
  assert.equal(0, #t.sent, "nothing is sent when validation fails")
  assert.truthy(tostring(err):find(path, 1, true))
  return err
end

describe("client:<Action> methods", function()
  it("exist for every one of the 68 actions, through one lookup", function()
    local names = tcssl.actions()
    assert.equal(68, #names)
    local c = client()
    for _, name in ipairs(names) do assert.is_function(c[name]) end
    assert.equal(c.DescribeCertificates, client().DescribeCertificates)
  end)

  it("suggest the closest action for a misspelt name", function()
    local res, err = client():DescribeCertificatess{}
    assert.is_nil(res)
    assert.equal("validation", err.kind)
    assert.equal("InvalidAction", err.code)
    assert.truthy(err.message:find("did you mean DescribeCertificates", 1, true))
    assert.is_nil(client().lowercase_thing)
    -- an action name in the wrong case gets the same kind of answer, not a raise
    res, err = client():describeCertificates{}
    assert.is_nil(res)
    assert.equal("InvalidAction", err.code)
    assert.truthy(err.message:find("did you mean DescribeCertificates", 1, true))
    assert.is_nil(client().limiter_that_is_not_there)
  end)
end)

describe("validation before any I/O", function()
  it("rejects wrong scalar types", function()
    fails({ Limit = "10" }, "InvalidParameter", "Limit")
    fails({ SearchKey = 5 }, "InvalidParameter", "SearchKey")
    fails({ Limit = 1.5 }, "InvalidParameter", "Limit")
    fails({ CertificateId = true }, "InvalidParameter", "CertificateId", "DescribeCertificate")
  end)

  it("rejects non-sequences where arrays belong, and bad elements by index", function()
    fails({ CertificateStatus = 1 }, "InvalidParameter", "CertificateStatus")
    fails({ CertificateStatus = { a = 1 } }, "InvalidParameter", "CertificateStatus")
    fails({ CertificateStatus = { 1, "2" } }, "InvalidParameter", "CertificateStatus[2]")
    fails({ CertificateId = "x", InstanceIdList = { "a", 7 } }, "InvalidParameter", "InstanceIdList[2]",
      "DeployCertificateInstance")
  end)

  it("checks nested structs at every depth", function()
    fails({ Tags = { { TagKey = "a", TagValue = "b" }, { TagKey = 1, TagValue = "c" } } },
      "InvalidParameter", "Tags[2].TagKey")
    fails({ Tags = { { TagKey = "a", TagValue = "b", Colour = "red" } } }, "UnknownParameter", "Tags[1].Colour")
    fails({ Tags = { { TagKey = "a" } } }, "MissingParameter", "Tags[1].TagValue")
    fails({ Tags = { "env" } }, "InvalidParameter", "Tags[1]")
    fails({ ResourceTypesRegions = { { ResourceType = "clb", Regions = { "ap-guangzhou", false } } } },
      "InvalidParameter", "ResourceTypesRegions[1].Regions[2]", "UpdateCertificateInstance")
  end)

  it("names unknown and missing parameters, with a suggestion", function()
    local err = fails({ Limt = 10 }, "UnknownParameter", "Limt")
    assert.truthy(err.message:find("did you mean Limit", 1, true))
    fails({}, "MissingParameter", "CertificateId", "DescribeCertificate")
  end)

  it("lets fields newer than the model through when asked", function()
    local t = recorder()
    local c = client({ allow_unknown_fields = true }, t)
    assert.truthy(c:DescribeCertificates{ BrandNewFilter = { 1, 2 }, Limit = 1 })
    local body = json.decode(t.sent[1].body)
    assert.same({ 1, 2 }, body.BrandNewFilter)
    -- types of known fields are still checked
    local res, err = c:DescribeCertificates{ Limit = "1" }
    assert.is_nil(res)
    assert.equal("InvalidParameter", err.code)
  end)

  it("can be turned off entirely", function()
    local t = recorder()
    assert.truthy(client({ validate = false }, t):DescribeCertificates{ Limit = "ten" })
    assert.truthy(t.sent[1].body:find('"Limit":"ten"', 1, true))
  end)
end)

describe("encoding from the model", function()
  it("sends array parameters as JSON arrays, empty ones as []", function()
    local t = recorder()
    assert.truthy(client(nil, t):DescribeCertificates{ CertIds = {}, CertificateStatus = { 1 }, Tags = {} })
    local body = t.sent[1].body
    assert.truthy(body:find('"CertIds":[]', 1, true))
    assert.truthy(body:find('"Tags":[]', 1, true))
    assert.truthy(body:find('"CertificateStatus":[1]', 1, true))
  end)

  -- LuaJIT's numbers are doubles: there 2^53 + 1 is written as its decimal string
  it("sends integers exactly, 64-bit included", function()
    local t = recorder()
    local big = jit and "9007199254740993" or 9007199254740993
    assert.truthy(client(nil, t):DescribeCertificates{ ProjectId = big, Limit = 10.0 })
    local body = t.sent[1].body
    assert.truthy(body:find('"ProjectId":9007199254740993', 1, true))
    assert.truthy(body:find('"Limit":10[,}]'))
  end)

  it("takes a 64-bit Integer as its decimal string beyond 2^53 only, in every runtime", function()
    local t = recorder()
    local c = client(nil, t)
    assert.truthy(c:DescribeCertificates{ ProjectId = "-9223372036854775808" })
    assert.truthy(t.sent[1].body:find('"ProjectId":-9223372036854775808', 1, true))
    local g = recorder()
    assert.truthy(client({ http_method = "GET" }, g):DescribeCertificates{ ProjectId = "9223372036854775807" })
    assert.truthy(g.sent[1].url:find("ProjectId=9223372036854775807", 1, true))
    -- what a number holds exactly must be a number; beyond int64 is no Integer at all
    fails({ ProjectId = "9007199254740992" }, "InvalidParameter", "ProjectId")
    fails({ ProjectId = "9223372036854775808" }, "InvalidParameter", "ProjectId")
    fails({ ProjectId = "09007199254740993" }, "InvalidParameter", "ProjectId")
  end)

  it("sends tcssl.number literals exactly without validation", function()
    local t = recorder()
    local unchecked = client({ validate = false }, t)
    assert.truthy(unchecked:DescribeCertificates{ ProjectId = tcssl.number("18446744073709551615") })
    assert.truthy(t.sent[1].body:find('"ProjectId":18446744073709551615', 1, true))
  end)

  it("flattens GET by the types, with the same content as POST", function()
    local params = { Tags = { { TagKey = "k", TagValue = "v" } }, CertificateStatus = { 1, 2 }, Limit = 5 }
    local tg, tp = recorder(), recorder()
    client({ http_method = "GET" }, tg):DescribeCertificates(params)
    client(nil, tp):DescribeCertificates(params)
    local query = tg.sent[1].url:match("%?(.*)$")
    assert.equal("CertificateStatus.0=1&CertificateStatus.1=2&Limit=5&Tags.0.TagKey=k&Tags.0.TagValue=v", query)
    assert.same(params, json.decode(tp.sent[1].body))
  end)
end)

describe("decoding from the model", function()
  it("types Integer and Float fields, keeps unknown fields, drops nulls", function()
    local body = '{"Response":{"TotalCount":"3","Certificates":[{"CertificateId":"a","ProjectId":"0",'
      .. '"Alias":null,"Brand":"new"}],"NewField":{"x":1},"RequestId":"r"}}'
    local res = assert(client(nil, recorder(body)):DescribeCertificates{})
    assert.equal(3, res.TotalCount)
    if math.type then assert.equal("integer", math.type(res.TotalCount)) end
    assert.equal("a", res.Certificates[1].CertificateId)
    assert.is_nil(res.Certificates[1].Alias)
    assert.equal("new", res.Certificates[1].Brand)
    assert.same({ x = 1 }, res.NewField)
  end)

  it("types numeric strings in Integer fields inside structs, arrays of structs and arrays of integers", function()
    local body = '{"Response":{"TotalCount":1,"Certificates":[{"CertificateId":"a","Status":"1",'
      .. '"CertificateExtra":{"SMCert":"0","DomainNumber":"1"},"HostingConfig":{"MessageTypes":["1",2]},'
      .. '"Tags":[{"TagKey":"k","TagValue":"7"}],"BoundResource":[]},{"Status":2}],"RequestId":"r"}}'
    local res = assert(client(nil, recorder(body)):DescribeCertificates{})
    local c = res.Certificates[1]
    assert.equal(1, c.Status)
    assert.equal(0, c.CertificateExtra.SMCert)
    assert.equal("1", c.CertificateExtra.DomainNumber) -- a String field stays a string
    assert.same({ 1, 2 }, c.HostingConfig.MessageTypes) -- a string that is no integer: schema_types_spec
    assert.equal("7", c.Tags[1].TagValue)
    assert.equal(2, res.Certificates[2].Status)
    assert.is_true(json.is_array(c.BoundResource))
    if math.type then
      assert.equal("integer", math.type(c.Status))
      assert.equal("integer", math.type(c.HostingConfig.MessageTypes[1]))
    end
  end)

  it("keeps 64-bit integers exact: integers in Lua 5.4, decimal strings beyond 2^53 under LuaJIT", function()
    local body = '{"Response":{"TotalCount":9223372036854775807,"Certificates":[{"ProjectId":"1",'
      .. '"CertificateId":"x"}],"RequestId":"r"}}'
    local res = assert(client(nil, recorder(body)):DescribeCertificates{})
    assert.equal(jit and "9223372036854775807" or math.maxinteger, res.TotalCount)
    -- an Integer sent as a string beyond 2^53 stays exact as well
    res = assert(client(nil, recorder('{"Response":{"TotalCount":"9007199254740993","RequestId":"r"}}'))
      :DescribeCertificates{})
    assert.equal(jit and "9007199254740993" or 9007199254740993, res.TotalCount)
    res = assert(client(nil, recorder('{"Response":{"TotalCount":9007199254740992,"RequestId":"r"}}'))
      :DescribeCertificates{})
    assert.equal(9007199254740992, res.TotalCount)
    assert.is_number(res.TotalCount)
  end)
end)

describe("schema helpers", function()
  it("finds close names only when they are close", function()
    assert.equal("DescribeCertificates", schema.closest("describecertificates", tcssl.actions()))
    assert.is_nil(schema.closest("Frobnicate", tcssl.actions()))
  end)
end)

-- The API model in its three generated forms: model/facts.lua (read from the documents by
-- tools/gen-facts.lua), lua/tcssl/model.lua (built from the facts by tools/gen-model.lua) and the
-- reference page docs/api.md (by tools/gen-apidoc.lua): each must equal a fresh generation; the
-- facts must hold together; and they must agree with the documents on points read here
-- independently of the generator (the single-action pages 000-003 and the examples).
-- luacheck: read globals math.tointeger utf8 (Lua 5.4's, used where the runtime has them)
local cjson = require "cjson.safe"
local seeds = require "spec.support.seeds"
local util = require "spec.support.util"

local SEED, seed_path = seeds.SEED, seeds.path
local read, run = util.must_read, util.run

-- the spec also runs under LuaJIT (Lua 5.1)
local function is_integer(x) return type(x) == "number" and x % 1 == 0 end
local function to_integer(x) return is_integer(x) and (math.tointeger and math.tointeger(x) or x) or nil end

local function by_name(fields)
  local t = {}
  for _, f in ipairs(fields) do t[f.name] = f end
  return t
end

local function names(fields)
  local t = {}
  for _, f in ipairs(fields) do t[#t + 1] = f.name end
  return t
end

local model = dofile("model/facts.lua")

-- Fields that the documents' tables lack but their examples carry; the generator adds them with
-- from_example = true (docs/model-notes.md, "Fields only in examples").
local FROM_EXAMPLE = {
  ["DescribeHostApiGatewayInstanceList input"] = { "ResourceType" },
  ["DescribeHostCdnInstanceList input"] = { "ResourceType" },
  ["DescribeHostLighthouseInstanceList input"] = { "ResourceType" },
  ["DescribeHostTeoInstanceList input"] = { "ResourceType" },
  ["UpdateCertificateInstance input"] = { "Regions" },
  ["DescribeManagerDetail output"] = { "Status" },
  ["legacy CertUpload output"] = { "codeDesc" },
}

-- Example fields that stay outside the model because their type cannot be told (model-notes.md).
local UNMODELLED_EXAMPLE_FIELDS = {
  ["legacy CertDelete"] = { data = true },
}

-- Runs a generator into a temporary file and returns its output, or fails the spec.
local function generate(command, ...)
  local tmp = os.tmpname()
  local ok, out = run(command:format(...) .. " " .. ("%q"):format(tmp))
  local fresh = ok and read(tmp) or nil
  os.remove(tmp)
  assert.is_true(ok, out)
  return fresh
end

-- The files tools/gen-model.lua writes under a directory (lua/tcssl for the committed ones):
-- path below it -> text.
local function generated_files(dir)
  local files = {}
  local p = assert(io.popen(("cd %q && ls model.lua model_docs.lua model/*.lua model/*/*.lua"):format(dir)))
  for path in p:lines() do files[path] = read(dir .. "/" .. path) end
  p:close()
  return files
end

-- A fresh generation from the committed facts, in a temporary directory.
local function generate_modules()
  local dir = util.temp_dir("model")
  local ok, out = run(("lua5.4 tools/gen-model.lua model/facts.lua %q"):format(dir))
  local files = generated_files(dir)
  util.remove_dir(dir)
  assert.is_true(ok, out)
  return files
end

local MODULES = { "model.lua", "model_docs.lua" }

describe("the generated model", function()
  local seed = seed_path(SEED)

  it("has facts equal to a fresh reading of the seed, byte for byte", function()
    if not seed then return pending("seed " .. SEED .. " not found") end
    assert.is_true(generate("lua5.4 tools/gen-facts.lua %q", seed) == read("model/facts.lua"),
      "model/facts.lua differs from a fresh reading of the seed: run `make model-facts`")
  end)

  it("equals a fresh generation from the committed facts, byte for byte, file for file", function()
    local fresh, committed = generate_modules(), generated_files("lua/tcssl")
    assert.is_true(fresh["model/actions/DescribeCertificates.lua"] ~= nil)
    for path, text in pairs(fresh) do
      assert.is_true(text == committed[path],
        "lua/tcssl/" .. path .. " differs from a fresh generation: run `make model`")
    end
    for path in pairs(committed) do
      assert.truthy(fresh[path], "lua/tcssl/" .. path .. " is not generated any more: run `make model`")
    end
  end)

  it("is listed in the rockspec, entry for entry", function()
    local listed = {}
    for module, file in read("rockspec/tcssl-scm-1.rockspec"):gmatch('%["(tcssl%.model[%w_.]*)"%] = "([^"]+)"') do
      listed[file] = module
    end
    for path in pairs(generated_files("lua/tcssl")) do
      local module = "tcssl." .. path:gsub("%.lua$", ""):gsub("/", ".")
      assert.equal(module, listed["lua/tcssl/" .. path], path .. " is not in the rockspec: run `make model`")
      listed["lua/tcssl/" .. path] = nil
    end
    assert.same({}, listed)
  end)

  it("regenerates the same bytes twice", function()
    assert.same(generate_modules(), generate_modules())
    if seed then
      assert.equal(generate("lua5.4 tools/gen-facts.lua %q", seed), generate("lua5.4 tools/gen-facts.lua %q", seed))
    end
  end)

  it("says it is generated, from which seed, and not to be edited", function()
    for _, name in ipairs(MODULES) do
      local head = read("lua/tcssl/" .. name):sub(1, 600)
      assert.truthy(head:find("GENERATED by tools/gen-model.lua", 1, true), name)
      assert.truthy(head:find(SEED, 1, true), name)
      assert.truthy(head:find("do not edit by hand", 1, true), name)
    end
    local facts = read("model/facts.lua"):sub(1, 600)
    assert.truthy(facts:find("GENERATED by tools/gen-facts.lua", 1, true))
    assert.truthy(facts:find(SEED, 1, true))
    assert.truthy(facts:find("do not edit by hand", 1, true))
  end)

  it("loads as Lua 5.1 too (LuaJIT, OpenResty)", function()
    local found
    for _, interp in ipairs({ "luajit", "lua5.1" }) do
      if run("command -v " .. interp .. " >/dev/null") then
        found = true
        local ok, out = run(interp .. [[ -e "package.path = './lua/?.lua;' .. package.path ]]
          .. [[local m = assert(loadfile('lua/tcssl/model.lua'))() ]]
          .. [[assert(m.actions.DescribeCertificates.rate_limit == 10) ]]
          .. [[assert(m.structs.Tags.fields[1].name == 'TagKey') assert(m.enums.CertificateStatus.codes.issued == 1) ]]
          .. [[assert(m.legacy.actions.CertGetList.readonly) assert(#m.struct_names() == 79)"]])
        assert.is_true(ok, interp .. ": " .. out)
      end
    end
    if not found then pending("neither luajit nor lua5.1 is installed") end
  end)

  it("names the service, the version and 68 actions", function()
    assert.equal("ssl", model.service)
    assert.equal("2019-12-05", model.version)
    local n = 0
    for _ in pairs(model.actions) do n = n + 1 end
    assert.equal(68, n)
  end)

  it("gives every action a purpose, a positive integer rate limit and a read-only flag", function()
    for name, a in pairs(model.actions) do
      assert.is_true(type(a.purpose) == "string" and a.purpose ~= "", name)
      assert.is_true(is_integer(a.rate_limit) and a.rate_limit > 0, name)
      assert.equal("boolean", type(a.readonly), name)
      -- the rule of docs/model-notes.md: only Describe*, Check* and Download* only read
      local reads = name:match("^Describe") or name:match("^Check") or name:match("^Download")
      assert.equal(reads ~= nil, a.readonly, name)
    end
  end)

  it("types every field, defines every struct referenced and uses every struct defined", function()
    local scalar = {}
    for _, s in ipairs(model.scalars) do scalar[s] = true end
    local used = {}
    local function check(fields, where, required_column)
      assert.equal("table", type(fields), where)
      local seen = {}
      for _, f in ipairs(fields) do
        local at = where .. "." .. tostring(f.name)
        assert.truthy(type(f.name) == "string" and f.name:match("^[%a_][%w_]*$"), at .. ": name")
        assert.is_nil(seen[f.name], at .. ": twice")
        seen[f.name] = true
        assert.equal("string", type(f.type), at .. ": type")
        if f.struct then
          assert.truthy(model.structs[f.type], at .. ": struct " .. f.type .. " not defined")
          used[f.type] = true
        else
          assert.truthy(scalar[f.type], at .. ": " .. f.type .. " is not a scalar type")
          assert.is_nil(model.structs[f.type], at .. ": a struct type without struct = true")
        end
        assert.truthy(f.array == nil or f.array == true, at .. ": array")
        assert.truthy(f.nullable == nil or f.nullable == true, at .. ": nullable")
        assert.equal("string", type(f.doc), at .. ": doc")
        assert.truthy(f.example == nil or type(f.example) == "string", at .. ": example")
        if required_column == true then
          assert.equal("boolean", type(f.required), at .. ": required")
        elseif required_column == false then
          assert.is_nil(f.required, at .. ": output fields have no required column")
        end
      end
    end
    for name, a in pairs(model.actions) do
      check(a.input, name .. " input", true)
      check(a.output, name .. " output", false)
      assert.equal("RequestId", a.output[#a.output].name, name .. ": RequestId last")
      assert.equal("String", a.output[#a.output].type)
      for _, f in ipairs(a.input) do
        assert.is_nil(f.name:match("%.N$"), name .. ": Name.N left in " .. f.name)
        assert.is_nil(({ Action = 1, Version = 1, Region = 1 })[f.name], name .. ": common parameter")
      end
    end
    for name, s in pairs(model.structs) do
      assert.is_true(type(s.purpose) == "string" and s.purpose ~= "", name)
      check(s.fields, name, nil)
    end
    for name in pairs(model.structs) do assert.truthy(used[name], name .. " is never used") end
  end)

  it("reads DescribeCertificates' parameters as the documents give them", function()
    local a = model.actions.DescribeCertificates
    local p = by_name(a.input)
    assert.same({ name = "Offset", type = "Integer", required = false, doc = "分页偏移量，从0开始。 默认为0",
      example = "0" }, p.Offset)
    assert.equal("Integer", p.Limit.type)
    assert.equal("String", p.SearchKey.type)
    assert.same({ "Integer", true, false }, { p.CertificateStatus.type, p.CertificateStatus.array,
      p.CertificateStatus.required })
    assert.is_nil(p.CertificateStatus.struct)
    assert.same({ "Tags", true, true, false }, { p.Tags.type, p.Tags.struct, p.Tags.array, p.Tags.required })
    assert.same({ "TagKey", "TagValue" }, names(model.structs.Tags.fields))
    assert.is_true(model.structs.Tags.fields[1].required)
    assert.same({ "TotalCount", "Certificates", "RequestId" }, names(a.output))
    assert.same({ "Certificates", true, true }, { a.output[2].type, a.output[2].struct, a.output[2].array })
    assert.equal("获取证书列表", a.purpose)
    assert.equal(10, a.rate_limit)
    assert.is_true(a.readonly)
  end)

  it("agrees with the English DescribeCertificates page (seed 000) on every parameter", function()
    local path = seed_path("000_3ef53e309de0b559.txt")
    if not path then return pending("seed 000 not found") end
    local doc = {}
    local in_inputs = false
    for line in io.lines(path) do
      if line:match("^Parameter Name Required Type Description") then
        in_inputs = true
      elseif line:match("^3%. Output Parameters") then
        break
      elseif in_inputs then
        local name, req, rest = line:match("^([%w_.]+) (%a+) (.*)$")
        if name and (req == "Yes" or req == "No") then
          local array, ty = rest:match("^(Array of )(%w+)")
          if not ty then ty = rest:match("^(%w+)") end
          doc[#doc + 1] = { name = name:gsub("%.N$", ""), required = req == "Yes", type = ty, array = array and true }
        end
      end
    end
    local got = {}
    for _, f in ipairs(model.actions.DescribeCertificates.input) do
      got[#got + 1] = { name = f.name, required = f.required, type = f.type, array = f.array }
    end
    local want = {}
    for _, d in ipairs(doc) do
      if not ({ Action = 1, Version = 1, Region = 1 })[d.name] then want[#want + 1] = d end
    end
    assert.same(want, got)
  end)

  it("has every DescribeCertificates parameter of the older Chinese page (seed 002), typed alike", function()
    local path = seed_path("002_e81a0b92df65337c.txt")
    if not path then return pending("seed 002 not found") end
    local p = by_name(model.actions.DescribeCertificates.input)
    local seen = 0
    for line in io.lines(path) do
      if line:match("^3%. 输出参数") then break end
      local name, req, ty = line:match("^([%w_.]+) | (%S+) | ([%w ]+) |")
      if name and (req == "是" or req == "否") and not ({ Action = 1, Version = 1, Region = 1 })[name] then
        seen = seen + 1
        local base = name:gsub("%.N$", "")
        local f = p[base]
        assert.truthy(f, base)
        assert.equal(req == "是", f.required, base)
        assert.equal(ty:gsub("^Array of ", ""), f.type, base)
        assert.equal(ty:match("^Array of ") ~= nil, f.array == true, base)
      end
    end
    assert.is_true(seen >= 15)
  end)

  it("reads UploadCertificate's required parameter", function()
    local p = by_name(model.actions.UploadCertificate.input)
    assert.is_true(p.CertificatePublicKey.required)
    assert.equal("String", p.CertificatePublicKey.type)
    for _, f in ipairs(model.actions.UploadCertificate.input) do
      if f.name ~= "CertificatePublicKey" then assert.is_false(f.required, f.name) end
    end
  end)

  it("agrees with the English DescribeCertificate page (seed 001) on every output field", function()
    local path = seed_path("001_e3e1bf3bae7ff0f4.txt")
    if not path then return pending("seed 001 not found") end
    local want, in_outputs = {}, false
    for line in io.lines(path) do
      if line:match("^Parameter Name | Type | Description") then
        in_outputs = true
      elseif in_outputs and not line:match("^%-%-%-") then
        local name, ty, desc = line:match("^(%w+) | ([%w ]+) | (.*)$")
        if not name then break end
        want[#want + 1] = { name = name, type = ty:gsub("^Array of ", ""), array = ty:match("^Array of ") and true,
          nullable = desc:lower():find("may return null", 1, true) and true or nil }
      end
    end
    local a = model.actions.DescribeCertificate
    local got = {}
    for _, f in ipairs(a.output) do
      got[#got + 1] = { name = f.name, type = f.type, array = f.array, nullable = f.nullable }
    end
    assert.equal(37, #want)
    assert.same(want, got)
    assert.same({ "CertificateId" }, names(a.input))
    assert.is_true(a.input[1].required)
  end)

  it("adds the fields that only the examples carry, and only those", function()
    local got = {}
    local function collect(key, fields)
      for _, f in ipairs(fields) do
        if f.from_example then
          got[key] = got[key] or {}
          table.insert(got[key], f.name)
        end
      end
    end
    for name, a in pairs(model.actions) do
      collect(name .. " input", a.input)
      collect(name .. " output", a.output)
    end
    for name, a in pairs(model.legacy.actions) do
      collect("legacy " .. name .. " input", a.input)
      collect("legacy " .. name .. " output", a.output)
    end
    for name, s in pairs(model.structs) do collect(name, s.fields) end
    assert.same(FROM_EXAMPLE, got)
  end)
end)

-- An example value against the model's fields, independently of the generator: every field
-- known, every value of its type (cjson 2.1 decodes all numbers as floats: integral is Integer).
local SCALAR_OK = {
  String = "string", Timestamp = "string", Date = "string", ["Timestamp ISO8601"] = "string", Binary = "string",
  Boolean = "boolean", Integer = "integer", Float = "number", Double = "number",
}

local function conforms(fields, obj, structs, path, errors, skip)
  local known = by_name(fields)
  for key, value in pairs(obj) do
    local f = known[key]
    local at = path .. "." .. tostring(key)
    if not f then
      if not (skip and skip[key]) then errors[#errors + 1] = at .. " is not a field of the model" end
    elseif value ~= cjson.null then      -- null becomes nil, whatever the model says
      local values = { value }
      if f.array then
        if type(value) ~= "table" or (next(value) ~= nil and #value == 0) then
          errors[#errors + 1] = at .. " is not an array"
        end
        values = type(value) == "table" and value or {}
      end
      for _, v in ipairs(values) do
        if f.struct then
          if type(v) ~= "table" then errors[#errors + 1] = at .. " is not an object"
          else conforms(structs[f.type].fields, v, structs, at, errors) end
        else
          local want = SCALAR_OK[f.type]
          local ok = type(v) == want or (want == "integer" and type(v) == "number" and v == math.floor(v))
            or (want == "number" and type(v) == "number")
          if not ok then
            errors[#errors + 1] = ("%s is %s in the model, %s in the example"):format(at, f.type, type(v))
          end
        end
      end
    end
  end
end

-- Request examples that send a number as a string where the table says Integer; the model keeps
-- Integer (docs/model-notes.md, "Types: table against example").
local STRING_INTEGERS_IN_REQUESTS = {
  "DescribeHostUploadUpdateRecordDetail request.DeployRecordId is Integer in the model, string in the example",
  "DescribeHostUploadUpdateRecordDetail request.Limit is Integer in the model, string in the example",
  "DescribeHostUploadUpdateRecordDetail request.Offset is Integer in the model, string in the example",
  "UploadCertificate request.ProjectId is Integer in the model, string in the example",
}

describe("the model's examples", function()
  it("decode as JSON and conform to the model, for every action that has one", function()
    local with_examples = 0
    local errors = {}
    for name, a in pairs(model.actions) do
      local ex = a.example
      if ex then
        with_examples = with_examples + 1
        if ex.request then
          local req = cjson.decode(ex.request)
          assert.equal("table", type(req), name .. ": request example")
          conforms(a.input, req, model.structs, name .. " request", errors)
        end
        assert.truthy(ex.response, name .. ": response example")
        local resp = cjson.decode(ex.response)
        assert.equal("table", type(resp), name .. ": response example")
        assert.equal("table", type(resp.Response), name .. ": Response object")
        assert.equal("string", type(resp.Response.RequestId), name .. ": RequestId")
        conforms(a.output, resp.Response, model.structs, name .. " Response", errors)
      end
    end
    assert.equal(68, with_examples)
    table.sort(errors)
    assert.same(STRING_INTEGERS_IN_REQUESTS, errors)
  end)

  it("include the legacy responses, rebuilt and conforming", function()
    for name, a in pairs(model.legacy.actions) do
      local resp = cjson.decode(a.example.response)
      assert.equal("table", type(resp), name)
      assert.equal(0, resp.code, name)
      local errors = {}
      conforms(a.output, resp, model.legacy.structs, "legacy " .. name, errors,
        UNMODELLED_EXAMPLE_FIELDS["legacy " .. name])
      assert.same({}, errors)
      assert.truthy(a.example.request:find("&Action=" .. name, 1, true), name)
    end
  end)
end)

describe("the legacy 2017 model", function()
  local legacy = model.legacy

  it("has the endpoint, the path and the three actions", function()
    assert.equal("wss.api.qcloud.com", legacy.endpoint)
    assert.equal("/v2/index.php", legacy.path)
    local n = 0
    for _ in pairs(legacy.actions) do n = n + 1 end
    assert.equal(3, n)
    assert.is_true(legacy.actions.CertGetList.readonly)
    assert.is_false(legacy.actions.CertUpload.readonly)
    assert.is_false(legacy.actions.CertDelete.readonly)
  end)

  it("agrees with the English CertGetList page (seed 003) on the parameters", function()
    local path = seed_path("003_18e58049c70510b7.txt")
    if not path then return pending("seed 003 not found") end
    local want, in_inputs = {}, false
    for line in io.lines(path) do
      if line:match("Parameter Name Required Type Default Description") then
        in_inputs = true
      elseif in_inputs then
        local name, req, ty, default = line:match("^%s*([%w_]+) (%a+) (%a+) (%S+)")
        if not name then break end
        want[#want + 1] = { name = name, required = req == "Yes",
          type = ({ Int = "Integer", String = "String" })[ty],
          default = default ~= "-" and (to_integer(tonumber(default)) or default) or nil }
      end
    end
    local got = {}
    for _, f in ipairs(legacy.actions.CertGetList.input) do
      got[#got + 1] = { name = f.name, required = f.required, type = f.type, default = f.default }
    end
    assert.equal(7, #want)
    assert.same(want, got)
  end)

  it("requires cert and certType for CertUpload and id for CertDelete", function()
    local up = by_name(legacy.actions.CertUpload.input)
    assert.is_true(up.cert.required)
    assert.is_true(up.certType.required)
    assert.is_false(up.key.required)
    assert.same({ "id" }, names(legacy.actions.CertDelete.input))
    assert.is_true(legacy.actions.CertDelete.input[1].required)
  end)

  it("nests CertGetList's data as the example shows it", function()
    local data = by_name(legacy.actions.CertGetList.output).data
    assert.same({ "CertGetListData", true }, { data.type, data.struct })
    local list = by_name(legacy.structs.CertGetListData.fields).list
    assert.same({ "CertGetListItem", true, true }, { list.type, list.struct, list.array })
    local item = by_name(legacy.structs.CertGetListItem.fields)
    assert.equal("CertGetListProjectInfo", item.projectInfo.type)
    assert.same({ "String", true }, { item.subjectAltName.type, item.subjectAltName.array })
  end)
end)

describe("docs/api.md", function()
  it("equals a fresh generation from the facts, byte for byte", function()
    assert.is_true(generate("lua5.4 tools/gen-apidoc.lua model/facts.lua") == read("docs/api.md"),
      "docs/api.md differs from a fresh generation: run `make model`")
  end)

  it("is valid UTF-8, like the model", function()
    if not utf8 then return pending("no utf8 library (Lua 5.1)") end
    assert.truthy(utf8.len(read("docs/api.md")), "docs/api.md")
    assert.truthy(utf8.len(read("lua/tcssl/model.lua")), "lua/tcssl/model.lua")
  end)

  it("has a section per action and per data structure", function()
    local page = read("docs/api.md")
    for name in pairs(model.actions) do
      assert.truthy(page:find("\n### " .. name .. "\n", 1, true), name)
      assert.truthy(page:find("client:" .. name .. "{", 1, true), name .. " example call")
    end
    for name in pairs(model.structs) do assert.truthy(page:find("\n### " .. name .. "\n", 1, true), name) end
  end)
end)

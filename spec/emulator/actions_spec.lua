-- Every action of the model through the client against the emulator: a valid parameter set
-- built from the model for each of the 68 actions, the types of every response field checked
-- against the output model; GET and POST agreeing; the emulator's validation agreeing with the
-- client's; 64-bit integers round-tripping; the three legacy 2017 actions.
-- luacheck: read globals math.type math.tointeger math.maxinteger (Lua 5.4's, used where the runtime has them)
local tcssl = require "tcssl"
local schema = require "tcssl.schema"
local json = require "tcssl.json"
local emulator = require "tcssl_emulator"
local emu = require "spec.support.emulator"
local pki = require "spec.support.pki"

local ID = "AKIDACTIONSSPEC000000000000000000000"
local KEY = "actions-spec-secret-key-0123456789"

-- Lua 5.4 has an integer subtype; under LuaJIT an Integer is an integral number, or the
-- exact decimal string of a value beyond 2^53 (see README, "LuaJIT and 64-bit integers").
local to_integer = math.tointeger or function(x) return x end
local function is_integer(v)
  if math.type then return math.type(v) == "integer" end
  if type(v) == "string" then return schema.beyond_double(v) end
  return type(v) == "number" and v % 1 == 0
end

-- The facts (model/facts.lua) are the runtime model with the documents' examples and descriptions:
-- the parameters are filled from the examples.
local model = dofile("model/facts.lua")
local ACTIONS = schema.actions()
local STORE = {}
for _, name in ipairs(emulator.STORE_ACTIONS) do STORE[name] = true end

local server, certs

setup(function()
  certs = pki.make()
  server = emu.start{ keys = { [ID] = { secret_key = KEY } } }
end)

teardown(function() emu.cleanup(server, certs) end)

before_each(function() server:reset() end)

-- The curl transport, keeping the last response body: the client turns numeric strings in
-- Integer fields into integers, so the types on the wire are checked on the raw body too.
local function recording_transport()
  local inner = require("tcssl.transport.curl").new{}
  local t = {}
  function t.request(_, ...)
    local status, headers, body = inner:request(...)
    t.last_body = body
    return status, headers, body
  end
  function t.close() inner:close() end
  return t
end

local clients = {}
local function client(extra)
  -- hundreds of calls per action here: the rate limiter has its own specs (resilience_spec)
  local cfg = { endpoint = server.host, scheme = "http", secret_id = ID, secret_key = KEY, timeout = 10,
    transport = recording_transport(), rate_limit = false }
  local key = {}
  for k, v in pairs(extra or {}) do
    cfg[k] = v
    key[#key + 1] = k .. "=" .. tostring(v)
  end
  table.sort(key)
  key = table.concat(key, ",")
  clients[key] = clients[key] or assert(tcssl.new(cfg)) -- one connection per variant
  return clients[key]
end

local function legacy_client(extra)
  local cfg = { endpoint = server.host, scheme = "http", secret_id = ID, secret_key = KEY, timeout = 10,
    rate_limit = false }
  for k, v in pairs(extra or {}) do cfg[k] = v end
  return assert(tcssl.legacy(cfg))
end

-------------------------------------------------------------------------------
-- Parameters from the model
-------------------------------------------------------------------------------

-- The model's example for a field as text ("[\"a\"]" -> a, "\"a\"" -> a), or nil.
local function example_text(f)
  local ex = f.example
  if type(ex) ~= "string" then return nil end
  if f.array and ex:sub(1, 1) == "[" then
    local list = json.decode(ex)
    ex = type(list) == "table" and list[1] ~= nil and tostring(list[1]) or nil
  end
  ex = ex and (ex:match('^"(.*)"$') or ex)
  if ex == "" then return nil end
  return ex
end

local fill_fields

-- A valid value for one element of field f: the example where it fits the type.
local function fill_value(f)
  if f.struct then return fill_fields(model.structs[f.type].fields, true) end
  local ex = example_text(f)
  if f.type == "Integer" then
    return ex and ex:match("^%-?%d+$") and to_integer(tonumber(ex)) or 1
  elseif f.type == "Boolean" then
    return ex ~= "false"
  elseif f.type == "Float" or f.type == "Double" then
    return ex and tonumber(ex) or 1.5
  end
  return ex or "example"
end

local function fill(f)
  if f.array then return { fill_value(f) } end
  return fill_value(f)
end

-- Required fields (or every field, when all) filled from the model.
function fill_fields(fields, all)
  local t = {}
  for _, f in ipairs(fields) do
    if all or f.required then t[f.name] = fill(f) end
  end
  return t
end

-- Values that must be real for the store-backed actions.
local function store_values(id)
  return {
    CertificateId = id, OldCertificateId = id, CertificateIds = { id }, CertificateIdList = { id },
    CertIds = { id }, CertificatePublicKey = certs.leaf_cert_pem, CertificatePrivateKey = certs.leaf_key_pem,
  }
end

local function has_struct_array(f) return f.struct and f.array end

-- A valid parameter set: required fields, plus every field `extra` selects, plus the private
-- key beside a certificate (an SVR upload needs both).
local function params_for(name, id, extra)
  local a = model.actions[name]
  local real = store_values(id)
  local p = {}
  for _, f in ipairs(a.input) do
    if f.required or (extra and extra(f)) or f.name == "CertificatePrivateKey" then
      if real[f.name] ~= nil then p[f.name] = real[f.name] else p[f.name] = fill(f) end
    end
  end
  return p
end

local TAGS = { name = "Tags", type = "Tags", struct = true, array = true }

-- Uploads the test certificate with the tags the filled parameters use; returns its id.
local function upload_fixture()
  local tags = fill(TAGS)
  local res = assert(client():UploadCertificate{
    CertificatePublicKey = certs.leaf_cert_pem, CertificatePrivateKey = certs.leaf_key_pem,
    Alias = "fixture", Tags = tags,
  })
  return res.CertificateId
end

-------------------------------------------------------------------------------
-- Real state for the actions that need more than an uploaded certificate: an order whose
-- validation has not finished, a deployment, an update onto a second certificate.
-------------------------------------------------------------------------------

local MAX_CALLS = 10 -- bounds every loop that waits for the emulator's tasks

-- Deploys certificate `id` to a load balancer listener; returns the new record's id.
local function deploy(c, id)
  local rec = assert(c:DeployCertificateInstance{ CertificateId = id, ResourceType = "clb",
    InstanceIdList = { "lb-actions|lbl-actions" } })
  assert.equal(1, rec.DeployStatus)
  assert.is_true(rec.DeployRecordId > 0)
  return rec.DeployRecordId
end

-- Polls a record's detail until nothing runs (the emulator finishes it at a set poll).
local function finish(c, action, record_id)
  for _ = 1, MAX_CALLS do
    local res = assert(c[action](c, { DeployRecordId = tostring(record_id) }))
    if res.RunningTotalCount == 0 then return res end
  end
  error(action .. " " .. tostring(record_id) .. " did not finish in " .. MAX_CALLS .. " polls")
end

-- UpdateCertificateInstance's parameters moving the clb listener that `old` is deployed to
-- (deployed here, and finished) onto a second upload of the certificate.
local function update_params(c, old, extra)
  local done = finish(c, "DescribeHostDeployRecordDetail", deploy(c, old))
  assert.equal(1, done.SuccessTotalCount)
  local region = done.DeployRecordDetailList[1].Region
  local p = params_for("UpdateCertificateInstance", old, extra)
  p.CertificateId = assert(c:UploadCertificate{ CertificatePublicKey = certs.leaf_cert_pem,
    CertificatePrivateKey = certs.leaf_key_pem, Repeatable = true }).CertificateId
  p.CertificatePrivateKey = nil -- CertificateId names the new certificate
  p.ResourceTypes, p.ResourceTypesRegions = { "clb" }, { { ResourceType = "clb", Regions = { region } } }
  return p
end

local function created(res) return tonumber(res.DeployRecordId) > 0 end

-- UpdateCertificateInstance until the task exists (it answers DeployRecordId 0 before).
local function create_update(c, p)
  for _ = 1, MAX_CALLS do
    local res = assert(c:UpdateCertificateInstance(p))
    if created(res) then return res end
  end
  error("UpdateCertificateInstance did not create its task in " .. MAX_CALLS .. " calls")
end

-- name -> function(c, id) -> params [, done(res)]: the parameters on real state (id is the
-- uploaded certificate); with done, the action is called again until done(res), at most
-- MAX_CALLS times, and the last answer is checked.
local PREPARE = {
  CompleteCertificate = function(c)
    local order = assert(c:ApplyCertificate{ DvAuthMethod = "DNS", DomainName = "complete.tcssl.test" })
    return params_for("CompleteCertificate", order.CertificateId)
  end,
  UpdateCertificateInstance = function(c, id)
    return update_params(c, id), created
  end,
  DescribeHostDeployRecordDetail = function(c, id)
    local p = params_for("DescribeHostDeployRecordDetail", id)
    p.DeployRecordId = tostring(deploy(c, id))
    return p
  end,
  DescribeHostUpdateRecordDetail = function(c, id)
    local p = params_for("DescribeHostUpdateRecordDetail", id)
    p.DeployRecordId = tostring(create_update(c, update_params(c, id)).DeployRecordId)
    return p
  end,
}

-------------------------------------------------------------------------------
-- Type checks against the output model
-------------------------------------------------------------------------------

local function is_sequence(t)
  local n = 0
  for k in pairs(t) do
    if type(k) ~= "number" or not is_integer(k) or k < 1 then return false end
    n = n + 1
  end
  return n == #t
end

local check_fields

local function check_value(f, v, path, structs, complete)
  if f.struct then
    assert(type(v) == "table" and not json.is_array(v), path .. " should be an object (" .. f.type .. ")")
    check_fields(structs[f.type].fields, v, path .. ".", structs, complete)
  elseif f.type == "Integer" then
    assert(is_integer(v), path .. " should be an integer, got " .. tostring(v))
  elseif f.type == "Boolean" then
    assert(type(v) == "boolean", path .. " should be a boolean, got " .. tostring(v))
  elseif f.type == "Float" or f.type == "Double" then
    assert(type(v) == "number", path .. " should be a number, got " .. tostring(v))
  else
    assert(type(v) == "string", path .. " should be a string (" .. f.type .. "), got " .. tostring(v))
  end
end

-- Every field present has its model's type, recursively; nothing the model lacks; with
-- complete, every field of the model is present (synthesized responses fill them all).
function check_fields(fields, t, prefix, structs, complete)
  local by_name = {}
  for _, f in ipairs(fields) do by_name[f.name] = f end
  for k, v in pairs(t) do
    local f = by_name[k]
    assert(f, prefix .. tostring(k) .. " is not in the output model")
    local path = prefix .. k
    if f.array then
      assert(type(v) == "table" and is_sequence(v), path .. " should be an array")
      if complete then assert(#v > 0, path .. " should have an element") end
      for i, item in ipairs(v) do check_value(f, item, ("%s[%d]"):format(path, i), structs, complete) end
    else
      check_value(f, v, path, structs, complete)
    end
  end
  if complete then
    for _, f in ipairs(fields) do assert(t[f.name] ~= nil, prefix .. f.name .. " is missing") end
  end
end

-- Deep copy without RequestId and the given keys, for comparisons.
local function strip(v, drop)
  if type(v) ~= "table" then return v end
  local out = {}
  for k, x in pairs(v) do
    if k ~= "RequestId" and not (drop and drop[k]) then out[k] = strip(x, drop) end
  end
  return out
end

-------------------------------------------------------------------------------

describe("every action against the emulator", function()
  it("knows 68 actions, some of them served from the store", function()
    assert.equal(68, #ACTIONS)
    for name in pairs(STORE) do assert.is_table(model.actions[name], name) end
    assert.is_true(STORE.UploadCertificate and STORE.DescribeCertificates and STORE.DescribeCertificate
      and STORE.DeleteCertificate)
  end)

  for _, name in ipairs(ACTIONS) do
    it(("answers %s with the types of its output model"):format(name), function()
      local id = upload_fixture()
      local c = client()
      local params, done
      if PREPARE[name] then params, done = PREPARE[name](c, id) else params = params_for(name, id) end
      local res, err
      for _ = 1, done and MAX_CALLS or 1 do
        res, err = c[name](c, params)
        assert(res, tostring(err))
        if not done or done(res) then break end
      end
      if done then assert.is_true(done(res), name .. " did not get there in " .. MAX_CALLS .. " calls") end
      assert.is_string(res.RequestId)
      -- the prepared records hold the one clb listener
      if PREPARE[name] and name:find("RecordDetail$") then assert.equal(1, res.TotalCount) end
      check_fields(model.actions[name].output, res, name .. ".", model.structs, not STORE[name])
      local wire = assert(json.decode(c.transport.last_body)).Response
      check_fields(model.actions[name].output, wire, "wire " .. name .. ".", model.structs, not STORE[name])
    end)
  end
end)

describe("the certificate store behind the actions", function()
  it("changes aliases and projects, checks existence, deletes several", function()
    local c = client()
    local id = upload_fixture()
    assert.equal(id, assert(c:ModifyCertificateAlias{ CertificateId = id, Alias = "renamed" }).CertificateId)
    assert.equal("renamed", assert(c:DescribeCertificate{ CertificateId = id }).Alias)
    local moved = assert(c:ModifyCertificateProject{ CertificateIdList = { id, "nothere1" }, ProjectId = 7 })
    assert.same({ { id }, { "nothere1" } }, { moved.SuccessCertificates, moved.FailCertificates })
    assert.equal(1, assert(c:DescribeCertificates{ ProjectId = 7 }).TotalCount)
    assert.equal(id, assert(c:CheckCertificateExist{ CertificatePublicKey = certs.leaf_cert_pem }).RepeatCertId)
    local detail = assert(c:DescribeCertificateDetail{ CertificateId = id })
    assert.same({ id, "renamed", certs.leaf_cert_pem, "RSA 2048" },
      { detail.CertificateId, detail.Alias, detail.CertificatePublicKey, detail.EncryptAlgorithm })
    local second = assert(c:UploadCertificate{ CertificatePublicKey = certs.leaf_cert_pem,
      CertificatePrivateKey = certs.leaf_key_pem, Repeatable = true }).CertificateId
    local del = assert(c:DeleteCertificates{ CertificateIds = { id, second, "nothere1" } })
    assert.same({ id, second }, del.Success)
    assert.equal("nothere1", del.Fail[1].CertId)
    assert.equal(0, assert(c:DescribeCertificates{}).TotalCount)
    assert.equal("", assert(c:CheckCertificateExist{ CertificatePublicKey = certs.leaf_cert_pem }).RepeatCertId)
    local _, err = c:DescribeCertificateDetail{ CertificateId = id }
    assert.equal("FailedOperation.CertificateNotFound", err.code)
  end)
end)

describe("the documented errors of orders, updates and records", function()
  -- fails(code, label, c:Action{ ... }): the call last, so that both its results arrive
  local function fails(code, label, res, err)
    assert.is_nil(res, label)
    assert.equal("api", err.kind, label)
    assert.equal(code, err.code, label .. ": " .. tostring(err))
    return err
  end

  it("answers CompleteCertificate on an uploaded, an issued or an unknown certificate with "
    .. "FailedOperation.CertificateNotFoundOrAudited", function()
    local c = client()
    local code = "FailedOperation.CertificateNotFoundOrAudited"
    local uploaded = upload_fixture()
    local err = fails(code, "uploaded", c:CompleteCertificate{ CertificateId = uploaded })
    assert.truthy(err.message:find(uploaded, 1, true))
    fails(code, "unknown", c:CompleteCertificate{ CertificateId = "nothere1" })
    -- a DNS_AUTO order validates at once; the emulator issues it at a set DescribeCertificate poll
    local order = assert(c:ApplyCertificate{ DvAuthMethod = "DNS_AUTO", DomainName = "issued.tcssl.test" })
      .CertificateId
    local status
    for _ = 1, MAX_CALLS do
      status = assert(c:DescribeCertificate{ CertificateId = order }).Status
      if status == 1 then break end
    end
    assert.equal(1, status)
    err = fails(code, "issued", c:CompleteCertificate{ CertificateId = order })
    assert.truthy(err.message:find("issued", 1, true))
    -- an order whose validation has not finished is answered, also when asked again
    local pending = assert(c:ApplyCertificate{ DvAuthMethod = "DNS", DomainName = "pending.tcssl.test" })
      .CertificateId
    for _ = 1, 2 do
      assert.equal(pending, assert(c:CompleteCertificate{ CertificateId = pending }).CertificateId)
    end
  end)

  it("answers UpdateCertificateInstance without a new certificate with InvalidParameter.WithDetailReason",
    function()
    local c = client()
    local old = upload_fixture()
    local p = update_params(c, old)
    p.CertificateId = nil
    local err = fails("InvalidParameter.WithDetailReason", "no new certificate", c:UpdateCertificateInstance(p))
    assert.truthy(err.message:find("CertificateId", 1, true))
    p.CertificatePrivateKey = certs.leaf_key_pem -- a key alone names no certificate either
    fails("InvalidParameter.WithDetailReason", "a key alone", c:UpdateCertificateInstance(p))
    assert.equal(0, assert(c:DescribeHostUpdateRecord{ OldCertificateId = old }).TotalCount)
  end)

  it("answers the detail of a record that does not exist with FailedOperation.CertificateDeployNotExist",
    function()
    local c = client()
    local code = "FailedOperation.CertificateDeployNotExist"
    local id = upload_fixture()
    for _, action in ipairs{ "DescribeHostDeployRecordDetail", "DescribeHostUpdateRecordDetail" } do
      for _, record_id in ipairs{ "999999", "x1" } do
        local err = fails(code, action .. " " .. record_id, c[action](c, { DeployRecordId = record_id }))
        assert.truthy(err.message:find(record_id, 1, true))
      end
    end
    -- a deployment record is not an update record, nor the reverse
    local deployed = tostring(deploy(c, id))
    assert(c:DescribeHostDeployRecordDetail{ DeployRecordId = deployed })
    fails(code, "deployment as update", c:DescribeHostUpdateRecordDetail{ DeployRecordId = deployed })
    local updated = tostring(create_update(c, update_params(c, upload_fixture())).DeployRecordId)
    assert(c:DescribeHostUpdateRecordDetail{ DeployRecordId = updated })
    fails(code, "update as deployment", c:DescribeHostDeployRecordDetail{ DeployRecordId = updated })
  end)
end)

describe("GET and POST", function()
  local with_struct_arrays = {}
  for _, name in ipairs(ACTIONS) do
    for _, f in ipairs(model.actions[name].input) do
      if has_struct_array(f) then
        with_struct_arrays[#with_struct_arrays + 1] = name
        break
      end
    end
  end

  it("covers the actions with arrays of structs", function()
    assert.is_true(#with_struct_arrays >= 10, #with_struct_arrays .. " actions")
  end)

  for _, name in ipairs(with_struct_arrays) do
    it(("agree for %s"):format(name), function()
      local id = upload_fixture()
      local params, running = params_for(name, id, has_struct_array), nil
      if name == "UpdateCertificateInstance" then
        -- a new request is answered DeployRecordId 0 and then with a new task, so both methods
        -- ask while the task runs: both are answered with it
        params = update_params(client(), id, has_struct_array)
        running = create_update(client(), params).DeployRecordId
      end
      local post = assert(client():call(name, params))
      local get = assert(client{ http_method = "GET" }:call(name, params))
      if running then assert.same({ running, 0 }, { get.DeployRecordId, get.DeployStatus }) end
      if name == "UploadCertificate" then
        -- two new certificates: the same answer but for the id, and the same stored data
        local c = client()
        local a = assert(c:DescribeCertificate{ CertificateId = post.CertificateId })
        local b = assert(c:DescribeCertificate{ CertificateId = get.CertificateId })
        local drop = { CertificateId = true, InsertTime = true }
        assert.same(strip(a, drop), strip(b, drop))
        assert.same(params.Tags, b.Tags)
        post, get = strip(post, drop), strip(get, drop)
      end
      assert.same(strip(post), strip(get))
      if name == "DescribeCertificates" then assert.equal(1, get.TotalCount) end
    end)
  end
end)

describe("the emulator's validation", function()
  -- Invalid variants of a valid parameter set: { label, params }, one error each.
  local function wrong_scalar(f)
    if f.type == "Integer" then return 1.5 end
    if f.type == "Boolean" then return "yes" end
    if f.type == "Float" or f.type == "Double" then return "many" end
    return { bogus = "x" } -- a table where a string belongs
  end

  local function copy(t)
    local out = {}
    for k, v in pairs(t) do out[k] = type(v) == "table" and copy(v) or v end
    return out
  end

  local function variants(name, valid)
    local out = {}
    local function add(label, edit)
      local p = copy(valid)
      edit(p)
      out[#out + 1] = { label, p }
    end
    add("unknown parameter", function(p) p.NoSuchParameter = "x" end)
    for _, f in ipairs(model.actions[name].input) do
      if f.required then add("missing " .. f.name, function(p) p[f.name] = nil end) end
      if f.array then
        add(f.name .. " not an array", function(p) p[f.name] = "not-an-array" end)
      end
      if f.struct then
        local fields = model.structs[f.type].fields
        add(f.name .. " not an object", function(p) p[f.name] = f.array and { "x" } or "x" end)
        local function nested(edit)
          return function(p)
            local item = fill_fields(fields, true)
            edit(item)
            p[f.name] = f.array and { fill_fields(fields, true), item } or item
          end
        end
        add(f.name .. " nested unknown", nested(function(item) item.Bogus = "x" end))
        for _, g in ipairs(fields) do
          if not g.struct then
            add(f.name .. "." .. g.name .. " wrong type", nested(function(item) item[g.name] = wrong_scalar(g) end))
          end
        end
      else
        add(f.name .. " wrong type", function(p)
          p[f.name] = f.array and { fill_value(f), wrong_scalar(f) } or wrong_scalar(f)
        end)
      end
    end
    return out
  end

  for _, method in ipairs{ "POST", "GET" } do
    it(("answers with the client's codes and paths for every action over %s"):format(method), function()
      local strict = client{ http_method = method }
      local loose = client{ http_method = method, validate = false }
      local checked = 0
      for _, name in ipairs(ACTIONS) do
        local valid = params_for(name, "abcdefgh")
        for _, case in ipairs(variants(name, valid)) do
          local label = name .. ": " .. case[1]
          local res, cerr = strict:call(name, case[2])
          assert.is_nil(res, label)
          assert.equal("validation", cerr.kind, label)
          local res2, eerr = loose:call(name, case[2])
          assert.is_nil(res2, label)
          assert.equal("api", eerr.kind, label .. ": " .. tostring(eerr))
          assert.equal(cerr.code, eerr.code, label .. ": " .. tostring(eerr))
          assert.truthy(eerr.message:find(cerr.path, 1, true), label .. ": " .. eerr.message)
          checked = checked + 1
        end
      end
      assert.is_true(checked > 400, checked .. " cases")
    end)
  end

  it("takes flattened strings by the model's types and rejects what does not convert", function()
    local get = client{ http_method = "GET", validate = false }
    local id = upload_fixture()
    assert.equal(1, assert(get:DescribeCertificates{ Limit = "5", Deployable = "1", CertIds = { id },
      CertificateStatus = { "1", "3" } }).TotalCount)
    local del = assert(get:DeleteCertificate{ CertificateId = id, IsCheckResource = "false" })
    assert.is_true(del.DeleteResult)
    local _, err = get:DescribeCertificates{ Limit = "5x" }
    assert.equal("InvalidParameter", err.code)
    _, err = get:DeleteCertificate{ CertificateId = id, IsCheckResource = "yes" }
    assert.equal("InvalidParameter", err.code)
    assert.truthy(err.message:find("IsCheckResource", 1, true))
  end)
end)

describe("64-bit integers", function()
  -- 2^53 + 1: a double would make it ...992. LuaJIT has only doubles: there a value beyond
  -- 2^53 is given as its decimal string, the form LuaJIT decodes such values to.
  local BIG = jit and "9007199254740993" or 9007199254740993
  local BELOW = 9007199254740992 -- 2^53, exact as a double
  local TOP = jit and "9223372036854775807" or math.maxinteger

  for _, method in ipairs{ "POST", "GET" } do
    it("round-trip exactly over " .. method, function()
      local c = client{ http_method = method }
      local id = assert(c:UploadCertificate{ CertificatePublicKey = certs.leaf_cert_pem,
        CertificatePrivateKey = certs.leaf_key_pem, ProjectId = BIG }).CertificateId
      assert.equal("9007199254740993", assert(c:DescribeCertificate{ CertificateId = id }).ProjectId)
      local list = assert(c:DescribeCertificates{ ProjectId = BIG })
      assert.equal(1, list.TotalCount)
      assert.equal("9007199254740993", list.Certificates[1].ProjectId)
      assert.equal("9007199254740993", list.Certificates[1].ProjectInfo.ProjectId)
      assert.equal(0, assert(c:DescribeCertificates{ ProjectId = BELOW }).TotalCount)
      assert(c:ModifyCertificateProject{ CertificateIdList = { id }, ProjectId = TOP })
      assert.equal("9223372036854775807", assert(c:DescribeCertificate{ CertificateId = id }).ProjectId)
      assert.equal(1, assert(c:DescribeCertificates{ ProjectId = TOP }).TotalCount)
    end)
  end
end)

describe("the legacy 2017 API", function()
  local legacy_model = model.legacy

  for _, sign in ipairs{ "HmacSHA1", "HmacSHA256" } do
    for _, method in ipairs{ "GET", "POST" } do
      it(("uploads, lists and deletes with %s over %s"):format(sign, method), function()
        local lc = legacy_client{ sign_method = sign, http_method = method }
        local up = assert(lc:CertUpload{ cert = certs.leaf_cert_pem, certType = "SVR", key = certs.leaf_key_pem,
          alias = "legacy " .. sign })
        assert.matches("^%w+$", up.id)
        check_fields(legacy_model.structs.CertUploadData.fields, up, "data.", legacy_model.structs, true)

        local list = assert(lc:CertGetList{})
        assert.equal(1, list.totalNum)
        check_fields(legacy_model.structs.CertGetListData.fields, list, "data.", legacy_model.structs)
        local item = list.list[1]
        assert.same({ up.id, "SVR", "upload", pki.LEAF_CN, "legacy " .. sign, 1 },
          { item.id, item.certType, item.from, item.domain, item.alias, item.status })
        assert.same(pki.LEAF_SANS, item.subjectAltName)
        assert.equal("2034-01-01 08:00:00", item.certEndTime)

        -- one store for both APIs
        local v3 = assert(client():DescribeCertificate{ CertificateId = up.id })
        assert.equal("legacy " .. sign, v3.Alias)

        assert.same({}, assert(lc:CertDelete{ id = up.id }))
        assert.equal(0, assert(lc:CertGetList{}).totalNum)
        assert.equal(0, assert(client():DescribeCertificates{}).TotalCount)
      end)
    end
  end

  it("filters and pages CertGetList", function()
    local lc = legacy_client()
    local ca = assert(lc:CertUpload{ cert = certs.ca_cert_pem, certType = "CA" }).id
    local ids = {}
    for i = 1, 3 do
      ids[i] = assert(lc:CertUpload{ cert = certs.leaf_cert_pem, certType = "SVR", key = certs.leaf_key_pem,
        alias = "alias-" .. i }).id
    end
    local function ids_of(params)
      local r = assert(lc:CertGetList(params))
      local out = {}
      for i, item in ipairs(r.list) do out[i] = item.id end
      return out, r.totalNum
    end
    local all, total = ids_of{}
    assert.same({ ids[3], ids[2], ids[1], ca }, all) -- newest first
    assert.equal(4, total)
    local page, n = ids_of{ page = 2, count = 2 }
    assert.same({ ids[1], ca }, page)
    assert.equal(4, n)
    assert.same({ ca }, (ids_of{ certType = "CA" }))
    assert.same({ ids[2] }, (ids_of{ id = ids[2] }))
    -- a hyphen: random alphanumeric certificate ids can never contain the key
    assert.same({ ids[1] }, (ids_of{ searchKey = "ALIAS-1" }))
    assert.equal(3, select(2, ids_of{ altDomain = "www.upload.tcssl.test" }))
    assert.equal(0, select(2, ids_of{ altDomain = "other.test" }))
    local with = assert(lc:CertGetList{ id = ids[1], withCert = 1 })
    assert.equal(certs.leaf_cert_pem, with.list[1].cert)
    assert.is_nil(assert(lc:CertGetList{ id = ids[1] }).list[1].cert)
  end)

  it("answers errors in the legacy envelope with the API 3.0 code as codeDesc", function()
    local lc = legacy_client()
    local function fails(c, action, params, code, number)
      local res, err = c:call(action, params)
      assert.is_nil(res, action)
      assert.equal("api", err.kind)
      assert.equal(code, err.code)
      assert.equal(number, err.legacy_code)
    end
    fails(lc, "CertDelete", { id = "nothere1" }, "FailedOperation.CertificateNotFound", 5000)
    fails(lc, "CertUpload", { cert = certs.leaf_cert_pem, certType = "SVR", key = certs.other_key_pem },
      "FailedOperation.CertificateMismatch", 5000)
    fails(lc, "DescribeCertificates", {}, "InvalidAction", 6100)
    fails(legacy_client{ secret_key = "wrong-key" }, "CertGetList", {}, "AuthFailure.SignatureFailure", 4100)
    fails(legacy_client{ secret_id = "AKIDNOBODY" }, "CertGetList", {}, "AuthFailure.SecretIdNotFound", 4104)
    -- a wrong clock is corrected from the Date header and the call signed again
    assert(legacy_client{ clock = function() return os.time() - 3600 end }:CertGetList{})
    local loose = legacy_client{ validate = false }
    fails(loose, "CertUpload", { certType = "SVR" }, "MissingParameter", 4000)
    fails(loose, "CertGetList", { page = "first" }, "InvalidParameter", 4000)
    fails(loose, "CertGetList", { pages = 1 }, "UnknownParameter", 4000)
    fails(loose, "CertGetList", { page = 0 }, "InvalidParameterValue", 4000)
  end)

  it("passes injected faults through in its own envelope", function()
    server:fault{ type = "api_error", code = "RequestLimitExceeded", message = "slow" }
    local _, err = legacy_client{ max_retries = 0 }:CertGetList{}
    assert.equal("RequestLimitExceeded", err.code)
    assert.equal(4400, err.legacy_code)
    assert.is_true(err.retryable)
  end)
end)

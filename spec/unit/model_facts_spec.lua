-- The facts the model carries beyond names and types: how actions page and the status enums,
-- read from the documents at generation time (tools/gen-facts.lua, tools/model-overrides.lua),
-- and the runtime modules that use them instead of reading description text or copying tables.
local schema = require "tcssl.schema"
local pages = require "tcssl.pages"
local waiters = require "tcssl.waiters"
local seeds = require "spec.support.seeds"
local util = require "spec.support.util"

local SEED = seeds.SEED
local read, run = util.must_read, util.run

local function seed_path() return seeds.path(SEED) end

local facts = dofile("model/facts.lua")
local model = schema.model()

local function field(fields, name)
  for _, f in ipairs(fields) do
    if f.name == name then return f end
  end
end

describe("paging facts", function()
  it("say how DescribeCertificates pages: names, types, total, list and the documented sizes", function()
    assert.same({ offset = "Offset", offset_type = "Integer", limit = "Limit", limit_type = "Integer",
      total = "TotalCount", list = "Certificates", max_page_size = 1000, default_page_size = 10 },
      facts.actions.DescribeCertificates.paging)
    assert.same(facts.actions.DescribeCertificates.paging, model.actions.DescribeCertificates.paging)
  end)

  it("keep each action's own types, totals, defaults and groups", function()
    local p = facts.actions
    local gateway = p.DescribeHostApiGatewayInstanceList.paging
    assert.same({ "String", "Integer", 200 }, { gateway.offset_type, gateway.limit_type, gateway.max_page_size })
    assert.equal("AllTotal", p.DescribeCertificateOperateLogs.paging.total)
    assert.same({ 20 }, { p.DescribePackages.paging.default_page_size, p.DescribePackages.paging.max_page_size })
    local groups = p.DescribeHostUpdateRecordDetail.paging
    assert.same({ "String", "String", "RecordDetailList", "List" },
      { groups.offset_type, groups.limit_type, groups.list, groups.group_items })
  end)

  it("are absent where an action takes Offset and Limit but has no total", function()
    for _, name in ipairs({ "DescribeCertificateBindResourceTaskDetail", "DescribeHostUploadUpdateRecordDetail",
      "DescribeCertificate", "UploadCertificate" }) do
      assert.is_nil(facts.actions[name].paging, name)
    end
    local n = 0
    for _, a in pairs(facts.actions) do
      if a.paging then n = n + 1 end
    end
    assert.equal(17, n)
  end)

  it("are what pages.info reports, for every paged action", function()
    for _, name in ipairs(schema.actions()) do
      local p = facts.actions[name].paging
      local info = pages.info(name)
      if p then
        assert.same({ p.offset, p.limit, p.total, p.list, p.max_page_size or p.default_page_size,
          p.max_page_size ~= nil }, { info.offset, info.limit, info.total, info.items, info.page_size,
          info.documented_max }, name)
      else
        assert.is_nil(info, name)
      end
    end
  end)
end)

describe("enum facts", function()
  it("give CertificateStatus's values, the documents' labels and tcssl's names, with the source line", function()
    local e = facts.enums.CertificateStatus
    assert.equal("Integer", e.type)
    assert.equal(16, #e.values)
    assert.same({ value = 0, label = "审核中", name = "under review" }, e.values[1])
    assert.same({ value = 1, label = "已通过", name = "issued" }, e.values[2])
    assert.same({ value = 15, label = "证书迁移中", name = "migrating" }, e.values[16])
    assert.equal(9246, e.line)
  end)

  it("mark the fields that carry them, stated in the documents or not", function()
    assert.equal("CertificateStatus", field(facts.actions.DescribeCertificate.output, "Status").enum)
    assert.equal("CertificateStatus", field(facts.structs.Certificates.fields, "Status").enum)
    assert.equal("ResourceStatus", field(facts.structs.UpdateRecordDetail.fields, "Status").enum)
    -- "部署状态" only: the overrides give it the values of UpdateRecordDetail's
    assert.equal("ResourceStatus", field(facts.structs.DeployRecordDetail.fields, "Status").enum)
    assert.is_nil(field(facts.structs.DeployRecordItem.fields, "Status").enum)
  end)

  it("reach the runtime model both ways, and the waiters take theirs from it", function()
    local e = model.enums.CertificateStatus
    assert.same({ "issued", 1, "review failed" }, { e.names[1], e.codes.issued, e.names[2] })
    assert.same(e.names, waiters.CERTIFICATE_STATUS)
    assert.equal(1, waiters.CERTIFICATE_ISSUED)
    assert.same({ [2] = "CertificateReviewFailed", [3] = "CertificateExpired", [6] = "CertificateCancelled",
      [7] = "CertificateCancelled", [9] = "CertificateRevoked", [10] = "CertificateRevoked",
      [14] = "CertificateRefunded" }, waiters.CERTIFICATE_FAILED)
    assert.same({ [5] = true, [8] = true, [12] = true, [13] = true }, waiters.CERTIFICATE_NEEDS_ACTION)
    assert.same({ [0] = "pending", [1] = "success", [2] = "failed", [3] = "running", [4] = "rolled back",
      [5] = "rollback failed", [6] = "no resource" }, waiters.RECORD_STATUS)
    assert.same(model.enums.ResourceStatus.names, waiters.RECORD_STATUS)
  end)
end)

-- Lua source without its comments (good enough for these files: no "--" inside strings).
local function code_of(path)
  local out = {}
  for line in (read(path) .. "\n"):gmatch("([^\n]*)\n") do out[#out + 1] = line:gsub("%-%-.*$", "") end
  return table.concat(out, "\n")
end

describe("the modules that use the facts", function()
  it("hold no description text and no status table of their own", function()
    for _, path in ipairs({ "lua/tcssl/pages.lua", "lua/tcssl/waiters.lua" }) do
      assert.is_nil(code_of(path):find("[\128-\255]"), path .. " has non-ASCII text outside its comments")
    end
    local users = { "lua/tcssl/pages.lua", "lua/tcssl/waiters.lua", "lua/tcssl/flows.lua",
      "lua/tcssl_emulator/store.lua", "lua/tcssl_emulator/views.lua", "lua/tcssl_emulator/certificates.lua",
      "lua/tcssl_emulator/tasks.lua", "lua/tcssl_emulator/issuer.lua", "lua/tcssl_emulator/legacy.lua" }
    for _, path in ipairs(users) do
      assert.is_nil(code_of(path):find("%[%d+%]%s*=%s*[\"%d]"), path .. " has a table keyed by status numbers")
    end
    for _, path in ipairs(util.lines("ls lua/tcssl_emulator/*.lua")) do users[#users + 1] = path end
    for _, path in ipairs(users) do
      local code = code_of(path)
      for name, e in pairs(facts.enums) do
        for _, v in ipairs(e.values) do
          assert.is_nil(code:find('"' .. v.label .. '"', 1, true), path .. " copies " .. name .. "'s " .. v.label)
        end
      end
    end
  end)
end)

describe("tools/gen-facts.lua", function()
  local seed = seed_path()

  -- Runs the generator with overrides changed by `edit` (a function of the file's text).
  local function with_overrides(edit)
    local tmp, out = util.tmpfile(edit(read("tools/model-overrides.lua"))), os.tmpname()
    local ok, text = run(("lua5.4 tools/gen-facts.lua %q %q --overrides %q"):format(seed, out, tmp))
    os.remove(tmp)
    os.remove(out)
    return ok, text
  end

  it("stops when an override names a value with a label the documents do not give", function()
    if not seed then return pending("seed " .. SEED .. " not found") end
    local ok, out = with_overrides(function(s) return (s:gsub('"已通过", "issued"', '"已颁发", "issued"')) end)
    assert.is_falsy(ok)
    assert.matches('value 1 is "已通过" at line 9246, not "已颁发"', out, 1, true)
  end)

  it("stops when a field without values in its text is not marked unstated at its line", function()
    if not seed then return pending("seed " .. SEED .. " not found") end
    local ok, out = with_overrides(function(s) return (s:gsub("unstated = 28797", "unstated = 1")) end)
    assert.is_falsy(ok)
    assert.matches("structs.DeployRecordDetail.Status (line 28797) lists no values", out, 1, true)
  end)

  it("stops when a value the documents list has no name", function()
    if not seed then return pending("seed " .. SEED .. " not found") end
    local ok, out = with_overrides(function(s) return (s:gsub('%[6%] = { "无资源，无需部署", "no resource" },', "")) end)
    assert.is_falsy(ok)
    assert.matches("value 6 (无资源，无需部署, line 30748) has no name", out, 1, true)
  end)
end)

describe("the runtime model", function()
  it("carries no descriptions or examples: tcssl.model_docs has them", function()
    local docs = require "tcssl.model_docs"
    local function check(fields, where)
      for _, f in ipairs(fields) do
        assert.same({}, { f.doc, f.example, f.nullable, f.from_example }, where .. "." .. f.name)
      end
    end
    for name, a in pairs(model.actions) do
      assert.same({}, { a.purpose, a.category, a.example }, name)
      check(a.input, name)
      check(a.output, name)
      assert.equal(facts.actions[name].purpose, docs.actions[name].purpose)
    end
    for name, s in pairs(facts.structs) do
      check(model.structs[name].fields, name)
      assert.equal(s.purpose, docs.structs[name].purpose)
    end
    assert.equal("分页偏移量，从0开始。 默认为0", docs.actions.DescribeCertificates.input.Offset.doc)
    assert.equal("0", docs.actions.DescribeCertificates.input.Offset.example)
    assert.equal("已通过", docs.enums.CertificateStatus[1])
  end)

  it("is what a call loads, without tcssl.model_docs", function()
    local script = [[
      package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
      package.cpath = "./" .. arg[1] .. "/?.so;" .. package.cpath
      local tcssl = require "tcssl"
      local body = '{"Response":{"TotalCount":0,"Certificates":[],"RequestId":"r"}}'
      local client = assert(tcssl.new{ secret_id = "AKIDx", secret_key = "k", region = "ap-guangzhou",
        transport = { request = function() return 200, {}, body end } })
      assert(client:DescribeCertificates{ Limit = 10 })
      print(package.loaded["tcssl.model"] ~= nil, package.loaded["tcssl.model_docs"] ~= nil)
    ]]
    local path = util.tmpfile(script)
    local interp = type(jit) == "table" and "luajit" or "lua5.4"
    local core_dir = type(jit) == "table" and "build/luajit" or "lua"
    local ok, out = run(("%s %q %s"):format(interp, path, core_dir))
    os.remove(path)
    assert.is_true(ok, out)
    assert.matches("^true\tfalse\n", out)
  end)
end)

-- tcssl.pages: how actions page (read from the model), and walking every item.
local pages = require "tcssl.pages"
local errors = require "tcssl.error"

-- A stand-in client serving `total` numbered items of DescribeCertificates; `opts` may cap
-- the page size, lie about the total, or fail a given call.
local function fake_client(total, opts)
  opts = opts or {}
  local c = { calls = {} }
  function c.call(_, action, params)
    c.calls[#c.calls + 1] = { action = action, params = params }
    if opts.fail_at == #c.calls then
      return nil, errors.new("network", "ConnectFailed", "no route", { retryable = true })
    end
    local offset, limit = tonumber(params.Offset), tonumber(params.Limit)
    limit = math.min(limit, opts.cap or limit)
    local items = {}
    for i = offset + 1, math.min(offset + limit, total) do items[#items + 1] = { CertificateId = "c" .. i } end
    local key = pages.info(action).items
    return { TotalCount = opts.claimed_total or total, [key] = items, RequestId = "r" .. #c.calls }
  end
  return c
end

describe("how an action pages", function()
  it("is read from the model: fields, their types and the documented page size", function()
    local certs = assert(pages.info("DescribeCertificates"))
    assert.same({ "Offset", "Limit", "TotalCount", "Certificates", 1000, "Integer" },
      { certs.offset, certs.limit, certs.total, certs.items, certs.page_size, certs.limit_type })
    local updates = assert(pages.info("DescribeHostUpdateRecordDetail"))
    assert.same({ "RecordDetailList", 200, "String", "String" },
      { updates.items, updates.page_size, updates.offset_type, updates.limit_type })
    assert.equal("AllTotal", assert(pages.info("DescribeCertificateOperateLogs")).total)
    -- no maximum documented: the documented default
    local clb = assert(pages.info("DescribeHostUpdateRecord"))
    assert.same({ 10, false }, { clb.page_size, clb.documented_max })
  end)

  it("refuses actions that do not page", function()
    for _, action in ipairs({ "DescribeCertificate", "DescribeCertificateBindResourceTaskDetail",
      "DescribeHostUploadUpdateRecordDetail", "NoSuchAction" }) do
      local info, err = pages.info(action)
      assert.is_nil(info, action)
      assert.equal("validation", err.kind)
    end
  end)
end)

describe("walking every item", function()
  it("reads page after page up to the total, with the largest documented page", function()
    local c = fake_client(2500)
    local all, total = pages.all(c, "DescribeCertificates", { SearchKey = "x" })
    assert.equal(2500, #all)
    assert.equal(2500, total)
    assert.equal("c2500", all[2500].CertificateId)
    assert.equal(3, #c.calls)
    assert.same({ 0, 1000, "x" }, { c.calls[1].params.Offset, c.calls[1].params.Limit, c.calls[1].params.SearchKey })
    assert.equal(2000, c.calls[3].params.Offset)
  end)

  it("sends Offset and Limit as strings where the model says so", function()
    local c = fake_client(3)
    local n = 0
    for _ in pages.each(c, "DescribeHostUpdateRecordDetail", { DeployRecordId = "1" }) do n = n + 1 end
    assert.equal(3, n)
    assert.same({ "0", "200" }, { c.calls[1].params.Offset, c.calls[1].params.Limit })
  end)

  it("moves on by the resources inside the groups of DescribeHostUpdateRecordDetail", function()
    -- Offset, Limit and TotalCount count resources; the list holds one group per type
    local resources = { "clb", "clb", "cdn", "cdn", "waf" }
    local calls = 0
    local c = { call = function(_, _, params)
      calls = calls + 1
      local offset, limit = tonumber(params.Offset), tonumber(params.Limit)
      local groups, by_type = {}, {}
      for i = offset + 1, math.min(offset + limit, #resources) do
        local t = resources[i]
        if not by_type[t] then
          by_type[t] = { ResourceType = t, List = {}, TotalCount = 0 }
          groups[#groups + 1] = by_type[t]
        end
        local g = by_type[t]
        g.List[#g.List + 1] = { Id = i }
        g.TotalCount = #g.List
      end
      return { TotalCount = #resources, RecordDetailList = groups, RequestId = "r" }
    end }
    local all = assert(pages.all(c, "DescribeHostUpdateRecordDetail", { DeployRecordId = "1" }, { page_size = 2 }))
    local seen = {}
    for _, g in ipairs(all) do
      for _, item in ipairs(g.List) do
        assert.is_nil(seen[item.Id], "resource " .. item.Id .. " twice")
        seen[item.Id] = g.ResourceType
      end
    end
    assert.same({ "clb", "clb", "cdn", "cdn", "waf" }, seen)
    assert.equal(3, calls)
  end)

  it("keeps going when the server caps the page below what was asked", function()
    local c = fake_client(250, { cap = 100 })
    assert.equal(250, #assert(pages.all(c, "DescribeCertificates", {})))
    assert.equal(3, #c.calls)
  end)

  it("stops on an empty page even when the total promises more", function()
    local c = fake_client(15, { claimed_total = 1000000 })
    local all = assert(pages.all(c, "DescribeCertificates", {}, { page_size = 10 }))
    assert.equal(15, #all)
    assert.equal(3, #c.calls)
  end)

  it("honours page_size, offset, max_items and max_pages", function()
    local c = fake_client(100)
    local all = assert(pages.all(c, "DescribeCertificates", {}, { page_size = 7, offset = 50, max_items = 20 }))
    assert.same({ "c51", "c70" }, { all[1].CertificateId, all[20].CertificateId })
    assert.equal(20, #all)
    assert.equal(6, c.calls[3].params.Limit) -- the last page asks only for what is left
    local pager = assert(pages.new(fake_client(100), "DescribeCertificates", {}, { page_size = 10, max_pages = 2 }))
    local n = 0
    for _ in pager:items() do n = n + 1 end
    assert.equal(20, n)
    assert.is_true(pager.truncated)
    -- a page size above the documented maximum is brought down to it
    local big = fake_client(5)
    assert(pages.all(big, "DescribeHostDeployRecordDetail", { DeployRecordId = "1" }, { page_size = 5000 }))
    assert.equal(200, big.calls[1].params.Limit)
  end)

  it("ends the loop with false and the error when a page fails, never silently", function()
    local c = fake_client(30, { fail_at = 2 })
    local seen, failure = {}, nil
    for item, err in pages.each(c, "DescribeCertificates", {}, { page_size = 10 }) do
      if not item then
        failure = err
        break
      end
      seen[#seen + 1] = item
    end
    assert.equal(10, #seen)
    assert.equal("ConnectFailed", failure.code)
    local all, err = pages.all(fake_client(30, { fail_at = 3 }), "DescribeCertificates", {}, { page_size = 10 })
    assert.is_nil(all)
    assert.equal("ConnectFailed", err.code)
    -- a bad action or option is an error from the iterator too
    local item, verr = pages.each(c, "DescribeCertificate", {})()
    assert.is_false(item)
    assert.equal("NotPaged", verr.code)
    assert.equal("InvalidParameter", select(2, pages.new(c, "DescribeCertificates", {}, { page_size = 0 })).code)
    assert.equal("InvalidParameter", select(2, pages.new(c, "DescribeCertificates", "x")).code)
  end)
end)

-- tcssl.waiters: deadlines, backoff, rate floors and failure statuses, with an injected clock
-- (no spec here waits for real time to order events).
local waiters = require "tcssl.waiters"
local errors = require "tcssl.error"
local fakes = require "spec.support.fakes"

-- A fake clock: sleep moves it forward and records each wait in clock.slept.
local fake_clock = fakes.time

-- A client whose action answers come from a script: answers[action] is a list of
-- { result } or { nil, err } taken in order (the last one repeats).
local function scripted(answers, clock)
  local c = { sleep = clock and clock.sleep, monotonic = clock and clock.monotonic, calls = {} }
  setmetatable(c, { __index = function(_, action)
    return function(_, params)
      c.calls[#c.calls + 1] = { action = action, params = params }
      local list = answers[action]
      local n = 0
      for _, call in ipairs(c.calls) do if call.action == action then n = n + 1 end end
      local answer = list[math.min(n, #list)]
      return answer[1], answer[2]
    end
  end })
  return c
end

describe("the polling loop", function()
  it("backs off from the first interval up to the maximum and stops at the deadline", function()
    local clock = fake_clock()
    local res, err = waiters.poll(function() return "pending", { n = 1 } end,
      { interval = 1, backoff = 2, max_interval = 5, timeout = 20, sleep = clock.sleep, now = clock.monotonic,
        what = "the spec" })
    assert.is_nil(res)
    assert.equal("timeout", err.kind)
    assert.equal("WaitTimeout", err.code)
    assert.same({ n = 1 }, err.result)
    assert.same({ 1, 2, 4, 5, 5 }, clock.slept) -- 17s slept; a sixth wait would pass the deadline
    assert.matches("the spec", err.message)
  end)

  it("never polls faster than the rate limit allows", function()
    local clock = fake_clock()
    local n = 0
    assert.equal("ok", waiters.poll(function()
      n = n + 1
      if n == 3 then return "done", "ok" end
      return "pending"
    end, { interval = 0.001, rate = 10, sleep = clock.sleep, now = clock.monotonic }))
    assert.same({ 0.1, 0.1 }, clock.slept)
  end)

  it("rides out a few retryable errors but stops at others", function()
    local clock = fake_clock()
    local n = 0
    local flaky = errors.new("network", "ConnectFailed", "refused", { retryable = true })
    assert.equal("ok", waiters.poll(function()
      n = n + 1
      if n <= 2 then return nil, flaky end
      return "done", "ok"
    end, { interval = 0.5, sleep = clock.sleep, now = clock.monotonic }))
    local res, err = waiters.poll(function() return nil, flaky end,
      { interval = 0.5, tolerate_errors = 1, sleep = clock.sleep, now = clock.monotonic })
    assert.is_nil(res)
    assert.equal("ConnectFailed", err.code)
    local fatal = errors.new("api", "AuthFailure.SignatureFailure", "no")
    assert.equal(fatal, select(2, waiters.poll(function() return nil, fatal end,
      { sleep = clock.sleep, now = clock.monotonic })))
  end)

  it("reports progress and checks its options", function()
    local clock, seen = fake_clock(), {}
    local n = 0
    waiters.poll(function()
      n = n + 1
      return n == 2 and "done" or "pending", n
    end, { interval = 1, sleep = clock.sleep, now = clock.monotonic, what = "x",
      on_progress = function(info) seen[#seen + 1] = info.state .. "@" .. info.polls end })
    assert.same({ "pending@1", "done@2" }, seen)
    for _, bad in ipairs({ { timeout = 0 }, { interval = -1 }, { backoff = 0.5 }, { max_polls = "x" } }) do
      local res, err = waiters.poll(function() return "done" end, bad)
      assert.is_nil(res)
      assert.equal("validation", err.kind)
    end
  end)

  it("refuses to block where it cannot wait", function()
    local res, err = waiters.poll(function() return "pending" end,
      { sleep = function() return nil, "cannot wait in the OpenResty log phase" end })
    assert.is_nil(res)
    assert.equal("CannotWait", err.code)
  end)
end)

describe("certificate issuance", function()
  it("waits through the review and returns the issued certificate", function()
    local clock = fake_clock()
    local c = scripted({ DescribeCertificate = { { { Status = 0 } }, { { Status = 4 } },
      { { Status = 1, CertificateId = "abc" } } } }, clock)
    local res = assert(waiters.certificate_issued(c, "abc", { interval = 1 }))
    assert.equal("abc", res.CertificateId)
    assert.equal(3, #c.calls)
    assert.equal(2, #clock.slept)
  end)

  it("turns the documented failure statuses into errors", function()
    local cases = { [2] = "CertificateReviewFailed", [3] = "CertificateExpired", [7] = "CertificateCancelled",
      [10] = "CertificateRevoked", [14] = "CertificateRefunded", [13] = "CertificateNeedsAction",
      [5] = "CertificateNeedsAction" }
    for status, code in pairs(cases) do
      local c = scripted({ DescribeCertificate = { { { Status = status, StatusMsg = "why", RequestId = "rid" } } } },
        fake_clock())
      local res, err = waiters.certificate_issued(c, "abc")
      assert.is_nil(res)
      assert.same({ "state", code, status, "rid" }, { err.kind, err.code, err.status, err.request_id })
    end
    assert.equal("validation", select(2, waiters.certificate_issued(scripted({}), "")).kind)
  end)

  it("passes API errors through", function()
    local missing = errors.new("api", "FailedOperation.CertificateNotFound", "x")
    local c = scripted({ DescribeCertificate = { { nil, missing } } }, fake_clock())
    assert.equal("FailedOperation.CertificateNotFound", select(2, waiters.certificate_issued(c, "abc")).code)
  end)
end)

describe("deployment and update records", function()
  local function detail(running, statuses)
    local list = {}
    for i, s in ipairs(statuses) do
      list[i] = { Id = i, Status = s, ResourceType = "clb", InstanceId = "lb-" .. i, ErrorMsg = s == 2 and "bad" or "" }
    end
    return { { TotalCount = #list, RunningTotalCount = running, SuccessTotalCount = 0, FailedTotalCount = 0,
      RecordDetailList = { { ResourceType = "clb", List = list, TotalCount = #list } } } }
  end

  it("waits until no resource runs and returns each resource", function()
    local clock = fake_clock()
    local c = scripted({ DescribeHostUpdateRecordDetail = { detail(2, { 3, 0 }), detail(0, { 1, 3 }),
      detail(0, { 1, 6 }) } }, clock)
    local summary = assert(waiters.update_finished(c, 42, { interval = 1 }))
    assert.equal(3, #c.calls)
    assert.equal("42", c.calls[1].params.DeployRecordId)
    assert.same({ "success", "no resource" }, { summary.resources[1].state, summary.resources[2].state })
    assert.equal("42", summary.record_id)
  end)

  it("reports failed resources as an error that carries the summary", function()
    local c = scripted({ DescribeHostUpdateRecordDetail = { detail(0, { 1, 2 }) } }, fake_clock())
    local res, err = waiters.update_finished(c, "7")
    assert.is_nil(res)
    assert.same({ "state", "UpdateFailed" }, { err.kind, err.code })
    assert.matches("1 of 2", err.message)
    assert.equal("bad", err.result.resources[2].ErrorMsg)
    assert.equal("validation", select(2, waiters.update_finished(c, 0)).kind)
    assert.equal("validation", select(2, waiters.deploy_finished(c, "x1")).kind)
  end)

  it("reads every page of a long record", function()
    local function page(offset)
      local list = {}
      for i = offset + 1, math.min(offset + 200, 450) do list[#list + 1] = { Id = i, Status = 1 } end
      return { TotalCount = 450, RunningTotalCount = 0, DeployRecordDetailList = list }
    end
    local c = { monotonic = fake_clock().monotonic, sleep = fake_clock().sleep, calls = 0 }
    function c.call() error("the waiter calls the action's method") end
    function c.DescribeHostDeployRecordDetail(_, params)
      c.calls = c.calls + 1
      return page(params.Offset)
    end
    local summary = assert(waiters.deploy_finished(c, 9))
    assert.equal(450, #summary.resources)
    assert.equal(3, c.calls)
  end)

  it("calls UpdateCertificateInstance again while DeployRecordId is 0", function()
    local clock = fake_clock()
    local c = scripted({ UpdateCertificateInstance = { { { DeployRecordId = 0 } }, { { DeployRecordId = 0 } },
      { { DeployRecordId = 99, DeployStatus = 1 } } } }, clock)
    local res = assert(waiters.update_record(c, { OldCertificateId = "a" }, { interval = 0.5 }))
    assert.equal(99, res.DeployRecordId)
    assert.equal(3, #c.calls)
    local never = scripted({ UpdateCertificateInstance = { { { DeployRecordId = 0 } } } }, fake_clock())
    local _, err = waiters.update_record(never, {}, { timeout = 5, interval = 1 })
    assert.equal("WaitTimeout", err.code)
  end)
end)

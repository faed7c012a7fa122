--- tcssl.waiters: waiting for the API's slow work to finish.
--
--   local waiters = require "tcssl.waiters"
--   local cert, err = waiters.certificate_issued(client, "abcd1234", { timeout = 600 })
--   local rec, err = waiters.update_record(client, { OldCertificateId = old, CertificateId = new,
--                                                    ResourceTypes = { "cdn" } })
--   local done, err = waiters.update_finished(client, rec.DeployRecordId)
--
-- Every waiter polls with a deadline (`timeout`, seconds), a first `interval` that grows by
-- `backoff` up to `max_interval`, never faster than the action's documented rate limit, and
-- sleeps with the client's sleep (runtime.sleep: nanosleep in plain Lua, ngx.sleep inside
-- OpenResty). Failures the API reports (a certificate whose review failed, a resource that did
-- not take the new certificate) are returned as errors of kind "state", with the last answer
-- in err.result; running out of time is an error of kind "timeout", code "WaitTimeout".
--
-- Options of every waiter: timeout (default 300), interval (2), max_interval (30), backoff
-- (1.5), max_polls (10000), on_progress (function(info) called after each poll with what,
-- polls, elapsed, state and detail), sleep and now (injected clocks, for tests),
-- tolerate_errors (consecutive retryable errors to ride out, default 3).
--
-- This module runs under Lua 5.1 / LuaJIT too (OpenResty).
local errors = require "tcssl.error"
local runtime = require "tcssl.runtime"
local schema = require "tcssl.schema"

local M = {}

M.DEFAULTS = {
  timeout = 300, interval = 2, max_interval = 30, backoff = 1.5, max_polls = 10000,
  tolerate_errors = 3,
}

local function state_error(code, message, fields)
  return errors.new("state", code, message, fields)
end

local function option(opts, name)
  local v = opts[name]
  if v == nil then return M.DEFAULTS[name] end
  return v
end

local function check_options(opts)
  for _, name in ipairs({ "timeout", "interval", "max_interval", "backoff", "max_polls" }) do
    local v = option(opts, name)
    if type(v) ~= "number" or v ~= v or v <= 0 or v == math.huge then
      return nil, errors.new("validation", "InvalidParameter", name .. " must be a positive number")
    end
  end
  if option(opts, "backoff") < 1 then
    return nil, errors.new("validation", "InvalidParameter", "backoff must be at least 1")
  end
  return true
end

--- poll(check, opts) -> value | nil, err
-- The loop under every waiter. check(poll_number) returns "done", value; or "pending", detail
-- (detail goes to on_progress and into a timeout's err.result); or nil, err to stop with err.
-- opts.client lends its sleep and clock; opts.rate (requests per second) sets the shortest
-- interval; opts.what names the wait in messages.
function M.poll(check, opts)
  if type(check) ~= "function" then
    return nil, errors.new("validation", "InvalidArgument", "poll needs a check function")
  end
  opts = opts or {}
  if type(opts) ~= "table" then return nil, errors.new("validation", "InvalidParameter", "opts must be a table") end
  local ok, oerr = check_options(opts)
  if not ok then return nil, oerr end
  local client = opts.client
  local sleep = opts.sleep or (client and rawget(client, "sleep")) or runtime.sleep
  local now = opts.now or (client and rawget(client, "monotonic")) or runtime.now
  local what = opts.what or "the operation"
  local started = now()
  local deadline = started + option(opts, "timeout")
  local interval = option(opts, "interval")
  local floor_interval = opts.rate and opts.rate > 0 and 1 / opts.rate or 0
  local max_interval = math.max(option(opts, "max_interval"), floor_interval)
  local tolerate = option(opts, "tolerate_errors")
  local failures, last = 0, nil
  for polls = 1, option(opts, "max_polls") do
    local state, value = check(polls)
    if state == "done" then
      if opts.on_progress then
        pcall(opts.on_progress, { what = what, polls = polls, elapsed = now() - started, state = "done",
          detail = value, final = true })
      end
      return value
    elseif state == "pending" then
      failures, last = 0, value
    elseif state == nil and errors.is(value) and value.retryable and failures < tolerate then
      failures = failures + 1 -- a poll that failed in transit: try again at the next turn
    else
      return nil, value
    end
    local elapsed = now() - started
    if opts.on_progress then
      pcall(opts.on_progress, { what = what, polls = polls, elapsed = elapsed,
        state = state or "retrying", detail = last })
    end
    local wait = math.max(interval, floor_interval)
    if now() + wait > deadline then
      return nil, errors.new("timeout", "WaitTimeout",
        ("gave up waiting for %s after %.1fs (%d polls)"):format(what, elapsed, polls),
        { result = last, polls = polls, retryable = true })
    end
    local slept, serr = sleep(wait)
    if slept == nil and serr then
      return nil, errors.new("config", "CannotWait", serr)
    end
    interval = math.min(max_interval, interval * option(opts, "backoff"))
  end
  return nil, errors.new("timeout", "WaitTimeout",
    ("gave up waiting for %s after %d polls"):format(what, option(opts, "max_polls")),
    { result = last, retryable = true })
end

local function check_client(client)
  if type(client) ~= "table" or type(client.call) ~= "function" then
    return nil, errors.new("validation", "InvalidArgument", "expected a client from tcssl.new")
  end
  return true
end

local function rate_of(action)
  local model = schema.model().actions[action]
  return model and model.rate_limit or 10
end

local function with(opts, extra)
  local out = {}
  for k, v in pairs(opts or {}) do out[k] = v end
  for k, v in pairs(extra) do
    if out[k] == nil then out[k] = v end
  end
  return out
end

-------------------------------------------------------------------------------
-- Certificates
-------------------------------------------------------------------------------

-- The status enums come from the generated model (the documents' values; the English names
-- are the ones tools/model-overrides.lua gives them). The tables below say what a waiter does
-- on each, by those names.
local enums = schema.model().enums

local function copy(t)
  local out = {}
  for k, v in pairs(t) do out[k] = v end
  return out
end

-- { [name] = v } -> { [the enum's value of name] = v }; a name the model does not have is an
-- error of tcssl itself (the spec loads this module).
local function by_code(enum, by_name)
  local out = {}
  for name, v in pairs(by_name) do
    local code = enum.codes[name]
    if code == nil then error("tcssl.waiters: the model has no status " .. name, 2) end
    out[code] = v
  end
  return out
end

-- DescribeCertificate's Status: value -> English name.
M.CERTIFICATE_STATUS = copy(enums.CertificateStatus.names)
M.CERTIFICATE_ISSUED = enums.CertificateStatus.codes.issued
-- Statuses from which a certificate will not be issued, and statuses that wait for the
-- account holder rather than for the CA. Any other status (under review, DNS record added,
-- reissuing, migrating, and codes newer than the documents) is worth waiting on.
M.CERTIFICATE_FAILED = by_code(enums.CertificateStatus, {
  ["review failed"] = "CertificateReviewFailed", expired = "CertificateExpired",
  cancelling = "CertificateCancelled", cancelled = "CertificateCancelled",
  revoking = "CertificateRevoked", revoked = "CertificateRevoked", refunded = "CertificateRefunded",
})
M.CERTIFICATE_NEEDS_ACTION = by_code(enums.CertificateStatus, {
  ["waiting for company information"] = true, ["waiting for the confirmation letter"] = true,
  ["waiting for the revocation letter"] = true, ["waiting for information (free certificate)"] = true,
})

--- certificate_issued(client, certificate_id [, opts]) -> DescribeCertificate's answer | nil, err
function M.certificate_issued(client, id, opts)
  local ok, cerr = check_client(client)
  if not ok then return nil, cerr end
  if type(id) ~= "string" or id == "" then
    return nil, errors.new("validation", "InvalidParameter", "certificate id must be a non-empty string")
  end
  return M.poll(function()
    local res, err = client:DescribeCertificate{ CertificateId = id }
    if not res then return nil, err end
    local status = res.Status
    local name = M.CERTIFICATE_STATUS[status] or ("status " .. tostring(status))
    local fields = { result = res, status = status, certificate_id = id, request_id = res.RequestId }
    if status == M.CERTIFICATE_ISSUED then return "done", res end
    local failed = M.CERTIFICATE_FAILED[status]
    if failed then
      return nil, state_error(failed, ("certificate %s will not be issued: %s%s"):format(id, name,
        res.StatusMsg and (" (" .. tostring(res.StatusMsg) .. ")") or ""), fields)
    end
    if M.CERTIFICATE_NEEDS_ACTION[status] then
      return nil, state_error("CertificateNeedsAction", ("certificate %s is %s: that needs the account "
        .. "holder, not time"):format(id, name), fields)
    end
    return "pending", { status = status, status_name = name, status_msg = res.StatusMsg }
  end, with(opts, { client = client, rate = rate_of("DescribeCertificate"),
    what = "certificate " .. id .. " to be issued", timeout = 1800 }))
end

-------------------------------------------------------------------------------
-- Deployments and updates
-------------------------------------------------------------------------------

-- Status of a deployment or update record's resources (UpdateRecordDetail.Status and
-- DeployRecordDetail.Status): value -> English name.
M.RECORD_STATUS = copy(enums.ResourceStatus.names)
local RUNNING = by_code(enums.ResourceStatus, { pending = true, running = true })
local FAILED = by_code(enums.ResourceStatus, { failed = true, ["rollback failed"] = true })

local MAX_DETAIL_PAGES = 50

-- Reads every resource of a record: `fetch(offset, limit)` returns the page's resources, the
-- response. Returns { total, success, failed, running, resources } | nil, err.
local function read_record(fetch, page_size)
  local resources, res = {}, nil
  for _ = 1, MAX_DETAIL_PAGES do
    local items, err
    items, res, err = fetch(#resources, page_size)
    if not items then return nil, err end
    for _, item in ipairs(items) do resources[#resources + 1] = item end
    local total = tonumber(res.TotalCount) or 0
    if #items == 0 or #resources >= total then break end
  end
  local summary = { total = tonumber(res.TotalCount) or #resources, success = res.SuccessTotalCount or 0,
    failed = res.FailedTotalCount or 0, running = res.RunningTotalCount or 0, resources = resources,
    request_id = res.RequestId }
  local busy = (tonumber(summary.running) or 0) > 0
  for _, r in ipairs(resources) do
    r.state = M.RECORD_STATUS[r.Status] or ("status " .. tostring(r.Status))
    busy = busy or RUNNING[r.Status] == true
  end
  summary.finished = not busy
  return summary
end

local function finished_or_failed(kind, id, summary)
  local failed = {}
  for _, r in ipairs(summary.resources) do
    if FAILED[r.Status] then failed[#failed + 1] = r end
  end
  summary.record_id = id
  if #failed == 0 then return "done", summary end
  local first = failed[1]
  return nil, state_error(kind == "update" and "UpdateFailed" or "DeployFailed",
    ("%d of %d resources of %s record %s failed%s"):format(#failed, #summary.resources, kind, id,
      first.ErrorMsg and first.ErrorMsg ~= "" and (" (first: " .. first.ErrorMsg .. ")") or ""),
    { result = summary, record_id = id, request_id = summary.request_id })
end

-- Waits until a deploy or update record has no resource pending or running. `action` is the
-- record-detail action; `page(client, id, offset, limit)` returns one page of resources.
local function record_finished(kind, action, what, page)
  return function(client, id, opts)
    local ok, cerr = check_client(client)
    if not ok then return nil, cerr end
    id = tostring(id or "")
    if not id:find("^%d+$") or id == "0" then
      return nil, errors.new("validation", "InvalidParameter", "a DeployRecordId is a positive number")
    end
    local function fetch(offset, limit) return page(client, id, offset, limit) end
    return M.poll(function()
      local summary, err = read_record(fetch, 200)
      if not summary then return nil, err end
      if not summary.finished then return "pending", summary end
      return finished_or_failed(kind, id, summary)
    end, with(opts, { client = client, rate = rate_of(action), what = what .. " " .. id }))
  end
end

--- update_finished(client, deploy_record_id [, opts]) -> summary | nil, err
-- Waits on DescribeHostUpdateRecordDetail (the records UpdateCertificateInstance starts) until
-- no resource is pending or running. summary: { record_id, total, success, failed, running,
-- finished, resources = { UpdateRecordDetail + ResourceType, state }, … }. When any resource
-- failed the answer is nil, err (kind "state", code "UpdateFailed") with the summary in
-- err.result.
M.update_finished = record_finished("update", "DescribeHostUpdateRecordDetail", "update record",
  function(client, id, offset, limit)
    local res, err = client:DescribeHostUpdateRecordDetail{ DeployRecordId = id, Offset = tostring(offset),
      Limit = tostring(limit) }
    if not res then return nil, nil, err end
    local items = {}
    for _, group in ipairs(res.RecordDetailList or {}) do
      for _, item in ipairs(group.List or {}) do
        item.ResourceType = item.ResourceType or group.ResourceType
        items[#items + 1] = item
      end
    end
    return items, res
  end)

--- deploy_finished(client, deploy_record_id [, opts]) -> summary | nil, err
-- The same for DescribeHostDeployRecordDetail (the records DeployCertificateInstance starts);
-- a failure is code "DeployFailed".
M.deploy_finished = record_finished("deploy", "DescribeHostDeployRecordDetail", "deployment record",
  function(client, id, offset, limit)
    local res, err = client:DescribeHostDeployRecordDetail{ DeployRecordId = id, Offset = offset, Limit = limit }
    if not res then return nil, nil, err end
    return res.DeployRecordDetailList or {}, res
  end)

--- update_record(client, params [, opts]) -> UpdateCertificateInstance's answer | nil, err
-- The documented loop: UpdateCertificateInstance answers DeployRecordId 0 while it is still
-- creating the update task, and is to be called again until the id is above 0. The answer's
-- DeployStatus is 1 for a new task, 0 when a task already running was returned instead.
function M.update_record(client, params, opts)
  local ok, cerr = check_client(client)
  if not ok then return nil, cerr end
  return M.poll(function()
    local res, err = client:UpdateCertificateInstance(params)
    if not res then return nil, err end
    local id = tonumber(res.DeployRecordId)
    if id and id > 0 then return "done", res end
    return "pending", { progress = res.UpdateSyncProgress }
  end, with(opts, { client = client, rate = rate_of("UpdateCertificateInstance"),
    what = "UpdateCertificateInstance to create its task", tolerate_errors = 0 }))
end

return M

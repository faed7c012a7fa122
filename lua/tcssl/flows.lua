--- tcssl.flows: the jobs people script around the API, each a few calls in the right order.
--
--   local flows = require "tcssl.flows"
--   -- a renewed certificate from certbot onto every CDN domain and CLB listener of the old one
--   local report, err = flows.renew(client, { cert = fullchain_pem, key = key_pem, replace = "abcd1234",
--     resource_types = { "cdn", "clb" }, regions = { "ap-guangzhou" } })
--   print(flows.format_renew(report or err.report))
--   -- certificates ending within 30 days
--   local soon = assert(flows.expiring(client, { days = 30 }))
--   print(flows.expiring_table(soon)); print(flows.expiring_json(soon))
--   -- a free DV certificate: the callback publishes the DNS records
--   local got = assert(flows.issue_free(client, { domain = "www.example.com",
--     on_validation = function(records) ... return true end }))
--   assert(require("tcssl.certs").write_file("www.example.com.key", got.download.key)) -- 0600, atomic
--
-- Failures return nil, err, report: the report says which step failed and what had been done
-- before it, so the job can be run again (renew and issue_free are safe to repeat).
--
-- This module runs under Lua 5.1 / LuaJIT too (OpenResty).
local errors = require "tcssl.error"
local certs = require "tcssl.certs"
local pages = require "tcssl.pages"
local waiters = require "tcssl.waiters"
local json = require "tcssl.json"

local M = {}

local function invalid(message, code)
  return errors.new("validation", code or "InvalidParameter", message)
end

-- A report that records its steps; fail() ends the flow with the report beside the error.
local function new_report(fields)
  local report = fields
  report.steps, report.warnings, report.ok = {}, {}, false
  return report
end

local function step(report, name, message)
  report.steps[#report.steps + 1] = { name = name, ok = true, message = message }
end

local function fail(report, name, err)
  report.steps[#report.steps + 1] = { name = name, ok = false, message = tostring(err) }
  report.failed_step, report.error, report.ok = name, err, false
  if errors.is(err) then err.report = report end
  return nil, err, report
end

local function check_client(client)
  if type(client) ~= "table" or type(client.call) ~= "function" then
    return invalid("expected a client from tcssl.new", "InvalidArgument")
  end
end

local function waiter_options(opts, extra)
  local out = {}
  for _, k in ipairs({ "timeout", "interval", "max_interval", "backoff", "max_polls", "on_progress",
    "sleep", "now", "tolerate_errors" }) do
    out[k] = opts[k]
  end
  for k, v in pairs(extra or {}) do out[k] = v end
  return out
end

-- A list from "a,b c" or { "a", "b" }; nil for nil; false for anything else (a bad option).
local function list_of(v)
  if type(v) == "string" then
    local out = {}
    for word in v:gmatch("[^,%s]+") do out[#out + 1] = word end
    return out
  end
  if v == nil then return nil end
  if type(v) ~= "table" then return false end
  for _, x in ipairs(v) do
    if type(x) ~= "string" then return false end
  end
  return v
end

-------------------------------------------------------------------------------
-- renew
-------------------------------------------------------------------------------

-- Resource types UpdateCertificateInstance takes, and those that need regions.
M.RESOURCE_TYPES = { "clb", "cdn", "waf", "live", "ddos", "teo", "apigateway", "vod", "tke", "tcb", "tse", "cos" }
M.REGIONAL = { clb = true, tke = true, apigateway = true, waf = true, tcb = true, tse = true, cos = true }
-- Types DescribeDeployedResources can list, under its own names.
M.LISTABLE = { clb = "clb", cdn = "cdn", live = "live", waf = "waf", ddos = "antiddos", teo = "teo" }
local KNOWN_TYPE = {}
for _, t in ipairs(M.RESOURCE_TYPES) do KNOWN_TYPE[t] = true end

local function resource_regions(client, opts, types)
  local per_type = opts.resource_regions or {}
  if type(per_type) ~= "table" then return nil, invalid("resource_regions must be a table of lists") end
  local default = list_of(opts.regions)
  if default == false then return nil, invalid("regions must be a list of region names") end
  if not default or #default == 0 then
    local region = rawget(client, "config") and client.config.region
    default = region and { region } or nil
  end
  local out, by_type = {}, {}
  for _, t in ipairs(types) do
    if M.REGIONAL[t] then
      local regions = list_of(per_type[t])
      if regions == false then
        return nil, invalid(("resource_regions.%s must be a list of region names"):format(t))
      end
      regions = regions or default
      if not regions or #regions == 0 then
        return nil, invalid(("%s is a regional resource type: give its regions (regions or resource_regions)")
          :format(t))
      end
      out[#out + 1] = { ResourceType = t, Regions = regions }
      by_type[t] = regions
    end
  end
  return out, by_type
end

-- The resources of `types` that use certificate `id`, as DescribeDeployedResources lists them:
-- { [type] = { name, … } } and their number; types it cannot list are left out.
local function deployed(client, id, types)
  local found, total = {}, 0
  for _, t in ipairs(types) do
    local listed_as = M.LISTABLE[t]
    if listed_as then
      local res, err = client:DescribeDeployedResources{ CertificateIds = { id }, ResourceType = listed_as }
      if not res then return nil, err end
      local names = {}
      for _, entry in ipairs(res.DeployedResources or {}) do
        if entry.CertificateId == id then
          for _, name in ipairs(entry.Resources or {}) do names[#names + 1] = name end
        end
      end
      found[t] = names
      total = total + #names
    end
  end
  return found, total
end

local function resource_rows(summary)
  local rows = {}
  for _, r in ipairs(summary and summary.resources or {}) do
    local domains = {}
    for _, d in ipairs(r.Domains or {}) do domains[#domains + 1] = d end
    rows[#rows + 1] = {
      type = r.ResourceType, instance_id = r.InstanceId, instance_name = r.InstanceName,
      listener_id = r.ListenerId ~= "" and r.ListenerId or nil, region = r.Region ~= "" and r.Region or nil,
      domains = domains, status = r.state or waiters.RECORD_STATUS[r.Status], code = r.Status,
      error = r.ErrorMsg ~= "" and r.ErrorMsg or nil,
    }
  end
  return rows
end

--- renew(client, opts) -> report | nil, err, report
-- Uploads a renewed certificate (unless one with the same SHA-256 fingerprint is already
-- stored), moves every resource of the chosen types from the old certificate onto it with
-- UpdateCertificateInstance (calling again while it answers DeployRecordId 0, as documented),
-- waits for the update, and reports each resource. Running it again after it succeeded
-- finds the certificate stored and nothing left on the old one: it changes nothing.
--
-- opts: cert (PEM: the certificate, or the full chain; any order), key (PEM), chain (more
-- PEM, optional), replace (the old CertificateId), resource_types (list or "clb,cdn"),
-- regions (for the regional types; default the client's region) or resource_regions
-- ({ clb = { "ap-guangzhou" } }), alias, project_id, tags (for the upload), allow_expired,
-- keep_old_notifications (default false: ExpiringNotificationSwitch = 1 silences the old
-- certificate's expiry notices), wait (default true), and the waiter options (timeout,
-- interval, on_progress, …).
--
-- report: ok, old_certificate_id, certificate_id, uploaded (false when reused),
-- fingerprint, domain, not_after, record_id, resources ({ type, instance_id, region, domains,
-- status, error }), before ({ [type] = names } on the old certificate), nothing_to_do,
-- unbound (nothing to do because no resource uses the old or the new certificate: a hook's
-- fixed `replace` after an earlier renewal moved everything on), steps ({ name, ok, message }),
-- warnings, and on failure failed_step and error.
function M.renew(client, opts)
  if type(opts) ~= "table" then opts = {} end
  local report = new_report{ old_certificate_id = opts.replace, resources = {}, before = {} }
  local cerr = check_client(client)
  if cerr then return fail(report, "check", cerr) end
  for _, name in ipairs({ "cert", "key", "chain", "alias" }) do
    if opts[name] ~= nil and type(opts[name]) ~= "string" then
      return fail(report, "check", invalid(name .. " must be a string"))
    end
  end

  -- check: the inputs make sense before anything is sent
  if type(opts.replace) ~= "string" or not opts.replace:find("^[%w%-_]+$") then
    return fail(report, "check", invalid("replace must be the CertificateId of the certificate to replace"))
  end
  local types = list_of(opts.resource_types)
  if type(types) ~= "table" or #types == 0 then
    return fail(report, "check",
      invalid("resource_types must name the resource types to move, e.g. { \"cdn\", \"clb\" }"))
  end
  local seen_type = {}
  for _, t in ipairs(types) do
    if not KNOWN_TYPE[t] then
      return fail(report, "check", invalid(("unknown resource type %s (known: %s)"):format(tostring(t),
        table.concat(M.RESOURCE_TYPES, ", "))))
    end
    if seen_type[t] then return fail(report, "check", invalid("resource type " .. t .. " is named twice")) end
    seen_type[t] = true
  end
  local regions, regions_by_type = resource_regions(client, opts, types)
  if not regions then return fail(report, "check", regions_by_type) end
  local pem = (opts.cert or "") .. "\n" .. (opts.chain or "")
  local fullchain, info = certs.normalize_pem(pem)
  if not fullchain then return fail(report, "check", info) end
  if info.certificates.linked < #info.certificates then
    report.warnings[#report.warnings + 1] = ("%d certificate(s) in the text do not belong to the chain")
      :format(#info.certificates - info.certificates.linked)
  end
  local key, kerr = certs.normalize_key(opts.key or "")
  if not key then return fail(report, "check", kerr) end
  local leaf = info.certificates[1]
  local matches, merr = certs.key_matches(leaf.pem, key)
  if matches == nil then return fail(report, "check", merr) end
  if not matches then
    return fail(report, "check", invalid("the private key does not belong to the certificate", "CertificateMismatch"))
  end
  local now = (opts.clock or os.time)()
  if leaf.not_after and leaf.not_after <= now and not opts.allow_expired then
    return fail(report, "check", invalid("the new certificate expired on " .. leaf.not_after_utc, "CertificateExpired"))
  end
  report.fingerprint, report.domain = leaf.sha256, leaf.common_name or leaf.sans[1]
  report.not_after = leaf.not_after
  step(report, "check", ("%s, valid until %s, SHA-256 %s"):format(report.domain or "?", leaf.not_after_utc,
    leaf.sha256:sub(1, 16) .. "…"))

  -- old: the certificate being replaced exists
  local old, oerr = client:DescribeCertificate{ CertificateId = opts.replace }
  if not old then return fail(report, "old", oerr) end
  if old.Domain and old.Domain ~= "" and not certs.covers(leaf, old.Domain) then
    report.warnings[#report.warnings + 1] = ("the new certificate does not cover %s, the old one's domain")
      :format(old.Domain)
  end
  step(report, "old", ("%s (%s, ends %s)"):format(opts.replace, old.Domain or "?", old.CertEndTime or "?"))

  -- upload: unless the same certificate is stored already
  local exist, eerr = client:CheckCertificateExist{ CertificatePublicKey = fullchain }
  if not exist then return fail(report, "upload", eerr) end
  local new_id = exist.RepeatCertId ~= "" and exist.RepeatCertId or nil
  if new_id == opts.replace then
    report.certificate_id, report.uploaded, report.nothing_to_do, report.ok = new_id, false, true, true
    step(report, "upload", "this certificate is the one being replaced: nothing to do")
    return report
  end
  if new_id then
    report.uploaded = false
    step(report, "upload", "already stored as " .. new_id)
  else
    local up, uerr = client:UploadCertificate{
      CertificatePublicKey = fullchain, CertificatePrivateKey = key, CertificateType = "SVR",
      Alias = opts.alias or ("renewal of " .. opts.replace), ProjectId = opts.project_id, Tags = opts.tags,
      Repeatable = false,
    }
    if not up then return fail(report, "upload", uerr) end
    new_id = up.RepeatCertId ~= nil and up.RepeatCertId ~= "" and up.RepeatCertId or up.CertificateId
    report.uploaded = new_id == up.CertificateId and (up.RepeatCertId or "") == ""
    step(report, "upload", (report.uploaded and "uploaded as " or "already stored as ") .. new_id)
  end
  report.certificate_id = new_id

  -- find: what still uses the old certificate
  local before, total = deployed(client, opts.replace, types)
  if not before then return fail(report, "find", total) end
  report.before = before
  local unlisted = {}
  for _, t in ipairs(types) do
    if not M.LISTABLE[t] then unlisted[#unlisted + 1] = t end
  end
  local function nothing_left(why)
    report.nothing_to_do, report.ok = true, true
    local now_on, n = deployed(client, new_id, types)
    if now_on then
      for _, t in ipairs(types) do
        for _, name in ipairs(now_on[t] or {}) do
          report.resources[#report.resources + 1] = { type = t, instance_id = name, status = "already",
            region = nil, domains = {} }
        end
      end
      why = why .. (n > 0 and ("; %d already use %s"):format(n, new_id) or "")
    end
    if not now_on or n == 0 then
      -- Neither certificate is in use: a hook run with a fixed --replace after an earlier
      -- renewal moved everything on. Say so, rather than succeed at nothing.
      report.unbound = true
      report.warnings[#report.warnings + 1] = ("no resource uses %s or the new certificate %s: if an "
        .. "earlier renewal moved them, replace the certificate they use now (examples/deploy-hook.sh "
        .. "keeps track of it)"):format(opts.replace, new_id)
    end
    step(report, "update", why)
    return report
  end
  if total == 0 and #unlisted == 0 then
    step(report, "find", "no resource of " .. table.concat(types, ", ") .. " uses " .. opts.replace)
    return nothing_left("nothing to move")
  end
  step(report, "find", ("%d resource(s) on %s%s"):format(total, opts.replace,
    #unlisted > 0 and (" (not listable: " .. table.concat(unlisted, ", ") .. ")") or ""))

  -- update: create the task, calling again while DeployRecordId is 0
  local params = {
    OldCertificateId = opts.replace, CertificateId = new_id, ResourceTypes = types,
    ExpiringNotificationSwitch = opts.keep_old_notifications and 0 or 1,
  }
  if #regions > 0 then params.ResourceTypesRegions = regions end
  local task, terr = waiters.update_record(client, params,
    waiter_options(opts, { timeout = opts.timeout or 120 }))
  if not task then
    if errors.is(terr) and terr.code == "FailedOperation.CertificateDeployInstanceEmpty" then
      return nothing_left("no resource of the chosen types uses " .. opts.replace)
    end
    return fail(report, "update", terr)
  end
  report.record_id = task.DeployRecordId
  if task.DeployStatus == 0 then
    report.warnings[#report.warnings + 1] = ("an update of %s was already running (record %s): "
      .. "waited for that one"):format(opts.replace, tostring(task.DeployRecordId))
  end
  step(report, "update", "update record " .. tostring(task.DeployRecordId))
  report.regions = regions_by_type

  if opts.wait == false then
    report.ok = true
    return report
  end
  -- wait: until no resource is pending or running
  local summary, werr = waiters.update_finished(client, task.DeployRecordId, waiter_options(opts))
  if not summary then
    report.resources = resource_rows(errors.is(werr) and werr.result)
    return fail(report, "wait", werr)
  end
  report.resources = resource_rows(summary)
  step(report, "wait", ("%d resource(s) updated"):format(#report.resources))
  report.ok = true
  return report
end

--- format_renew(report) -> text: the report for people, one line per step and per resource.
function M.format_renew(report)
  if type(report) ~= "table" or type(report.steps) ~= "table" then return "" end
  local lines = {}
  for _, s in ipairs(report.steps) do
    lines[#lines + 1] = ("%-6s %-7s %s"):format(s.ok and "ok" or "FAILED", s.name, s.message or "")
  end
  for _, w in ipairs(report.warnings or {}) do lines[#lines + 1] = "warning: " .. w end
  for _, r in ipairs(report.resources or {}) do
    local where = r.instance_id or "?"
    if r.listener_id then where = where .. "/" .. r.listener_id end
    lines[#lines + 1] = ("  %-5s %-28s %-14s %-10s %s%s"):format(r.type or "?", where, r.region or "-",
      r.status or "?", table.concat(r.domains or {}, ","), r.error and ("  (" .. r.error .. ")") or "")
  end
  if report.ok then
    lines[#lines + 1] = report.nothing_to_do and "renew: nothing to do" or
      ("renew: done, %s replaces %s"):format(tostring(report.certificate_id), tostring(report.old_certificate_id))
  elseif report.failed_step == "check" then
    lines[#lines + 1] = "renew: nothing was sent; correct the input and run again"
  else
    lines[#lines + 1] = ("renew: failed at step %s; running it again goes on from what was done")
      :format(tostring(report.failed_step))
  end
  return table.concat(lines, "\n")
end

local function error_fields(err)
  if not errors.is(err) then return err ~= nil and { message = tostring(err) } or nil end
  return { kind = err.kind, code = err.code, message = err.message, request_id = err.request_id }
end

--- renew_json(report) -> JSON text of a renew report (errors as { kind, code, message, request_id }).
function M.renew_json(report)
  if type(report) ~= "table" then return nil, "renew_json: expected a renew report" end
  local steps, resources, warnings = json.array(), json.array(), json.array()
  for i, s in ipairs(report.steps or {}) do steps[i] = { Name = s.name, Ok = s.ok, Message = s.message } end
  for i, r in ipairs(report.resources or {}) do
    resources[i] = { ResourceType = r.type, InstanceId = r.instance_id, ListenerId = r.listener_id, Region = r.region,
      Domains = json.array(r.domains or {}), Status = r.status, Error = r.error }
  end
  for i, w in ipairs(report.warnings or {}) do warnings[i] = w end
  return json.encode{
    Ok = report.ok == true, OldCertificateId = report.old_certificate_id, CertificateId = report.certificate_id,
    Uploaded = report.uploaded, Fingerprint = report.fingerprint, Domain = report.domain,
    NotAfter = report.not_after and certs.format_utc(report.not_after) or nil,
    DeployRecordId = report.record_id, NothingToDo = report.nothing_to_do == true,
    Unbound = report.unbound == true, Resources = resources,
    Steps = steps, Warnings = warnings, FailedStep = report.failed_step, Error = error_fields(report.error),
  }
end

-------------------------------------------------------------------------------
-- expiring
-------------------------------------------------------------------------------

--- expiring(client, opts) -> report | nil, err
-- Certificates (issued, status 1) whose end time is within `days` (default 30) of now;
-- with include_expired, also those already past it (status 1 or 3). Soonest first.
-- opts: days, include_expired, params (extra
-- DescribeCertificates filters such as ProjectId or SearchKey), max_items, time (the Unix
-- time taken as now, default os.time()).
-- report: { days, now, generated (UTC text), certificates = { { id, domain, alias, sans,
-- status, expired, ends (API text, UTC+8), not_after (Unix), not_after_utc, days_left } } }.
function M.expiring(client, opts)
  opts = opts or {}
  local cerr = check_client(client)
  if cerr then return nil, cerr end
  local days = opts.days or 30
  if type(days) ~= "number" or days < 0 or days > 36500 or days ~= days then
    return nil, invalid("days must be a number of days from 0 to 36500")
  end
  local now = opts.time or os.time()
  if type(now) ~= "number" then return nil, invalid("time must be a Unix time") end
  if opts.params ~= nil and type(opts.params) ~= "table" then return nil, invalid("params must be a table") end
  local limit = now + days * 86400
  local params = { ExpirationSort = "ASC" }
  for k, v in pairs(opts.params or {}) do params[k] = v end
  local found = {}
  for item, err in pages.each(client, "DescribeCertificates", params, { max_items = opts.max_items }) do
    if not item then return nil, err end
    local ends = type(item.CertEndTime) == "string" and certs.parse_api_time(item.CertEndTime)
    local status = item.Status
    local issued = status == 1 or status == 3
    if ends and issued and ends <= limit and (opts.include_expired or ends > now) then
      local sans = {}
      for _, n in ipairs(item.SubjectAltName or {}) do sans[#sans + 1] = n end
      found[#found + 1] = {
        id = item.CertificateId, domain = item.Domain, alias = item.Alias ~= "" and item.Alias or nil,
        sans = sans, status = status, expired = ends <= now, ends = item.CertEndTime, not_after = ends,
        not_after_utc = certs.format_utc(ends), days_left = math.floor((ends - now) / 86400),
        project_id = item.ProjectId,
      }
    end
  end
  table.sort(found, function(a, b)
    if a.not_after ~= b.not_after then return a.not_after < b.not_after end
    return a.id < b.id
  end)
  return { days = days, now = now, generated = certs.format_utc(now), certificates = found }
end

--- expiring_table(report) -> text table (ID, domain, ends in UTC+8 as the API gives it, days left).
function M.expiring_table(report)
  if type(report) ~= "table" or type(report.certificates) ~= "table" then return "" end
  local rows = { { "ID", "DOMAIN", "ENDS (UTC+8)", "DAYS", "ALIAS" } }
  for _, c in ipairs(report.certificates) do
    rows[#rows + 1] = { c.id, c.domain or "", c.ends, c.expired and "expired" or tostring(c.days_left), c.alias or "" }
  end
  local widths = {}
  for _, row in ipairs(rows) do
    for i, cell in ipairs(row) do widths[i] = math.max(widths[i] or 0, #cell) end
  end
  local lines = {}
  for _, row in ipairs(rows) do
    local cells = {}
    for i, cell in ipairs(row) do cells[i] = cell .. string.rep(" ", widths[i] - #cell) end
    lines[#lines + 1] = (table.concat(cells, "  "):gsub("%s+$", ""))
  end
  lines[#lines + 1] = ("%d certificate(s) end within %s days (as of %s)"):format(#report.certificates,
    tostring(report.days), report.generated)
  return table.concat(lines, "\n")
end

--- expiring_json(report) -> JSON text of the report (certificates always an array).
function M.expiring_json(report)
  if type(report) ~= "table" or type(report.certificates) ~= "table" then
    return nil, "expiring_json: expected an expiring report"
  end
  local list = {}
  for i, c in ipairs(report.certificates) do
    list[i] = {
      CertificateId = c.id, Domain = c.domain, Alias = c.alias, SubjectAltName = json.array(c.sans),
      Status = c.status, Expired = c.expired, CertEndTime = c.ends, NotAfter = c.not_after_utc,
      DaysLeft = c.days_left,
    }
  end
  return json.encode{ Days = report.days, GeneratedAt = report.generated, Certificates = json.array(list) }
end

-------------------------------------------------------------------------------
-- issue_free
-------------------------------------------------------------------------------

-- The validation records of an order, from DescribeCertificate's DvAuthDetail.
local function validation_records(res, domain)
  local detail = res.DvAuthDetail
  if type(detail) ~= "table" then return {} end
  local entries = detail.DvAuths
  if type(entries) ~= "table" or #entries == 0 then
    entries = { { DvAuthKey = detail.DvAuthKey, DvAuthValue = detail.DvAuthValue, DvAuthDomain = detail.DvAuthDomain,
      DvAuthPath = detail.DvAuthPath, DvAuthSubDomain = detail.DvAuthKeySubDomain } }
  end
  local records = {}
  for _, e in ipairs(entries) do
    if type(e.DvAuthValue) == "string" and e.DvAuthValue ~= "" then
      local kind = e.DvAuthVerifyType
      if not kind or kind == "" then kind = (e.DvAuthPath and e.DvAuthPath ~= "") and "FILE" or "TXT" end
      local record = { type = kind, name = e.DvAuthKey, subdomain = e.DvAuthSubDomain, value = e.DvAuthValue,
        domain = e.DvAuthDomain or domain }
      if kind == "FILE" then
        record.path = (e.DvAuthPath or "") .. (e.DvAuthKey or "")
        record.url = "http://" .. (e.DvAuthDomain or domain) .. record.path
      end
      records[#records + 1] = record
    end
  end
  return records
end

local ALGORITHMS = { RSA = "2048", ECC = "prime256v1" }
local METHODS = { DNS = true, DNS_AUTO = true, FILE = true }

--- issue_free(client, opts) -> result | nil, err, result
-- A free DV certificate: ApplyCertificate, the validation records from DescribeCertificate
-- handed to opts.on_validation(records, info) (it publishes them, returns true, or nil and a
-- message to stop), CompleteCertificate, a wait until it is issued, and the download.
-- opts: domain, method ("DNS" default, "DNS_AUTO" needs no callback, "FILE"), algorithm
-- ("RSA" or "ECC"), alias, project_id, old_certificate_id (a renewal), certificate_id (go
-- on with an order made before, e.g. after a failure), download (default true),
-- service_type (see certs.download), and the waiter options.
-- result: certificate_id, domain, method, records ({ type, name, subdomain, value, domain,
-- path, url }), certificate (DescribeCertificate's answer), download ({ cert, chain,
-- fullchain, key, files }), steps.
function M.issue_free(client, opts)
  if type(opts) ~= "table" then opts = {} end
  local method = opts.method or "DNS"
  local result = new_report{ domain = opts.domain, method = method, certificate_id = opts.certificate_id, records = {} }
  local cerr = check_client(client)
  if cerr then return fail(result, "check", cerr) end
  if opts.certificate_id ~= nil and (type(opts.certificate_id) ~= "string" or opts.certificate_id == "") then
    return fail(result, "check", invalid("certificate_id must be the CertificateId of an order"))
  end
  if type(opts.domain) ~= "string" or not opts.domain:find("^[%w*][%w%-%.]*%.[%w%-]+$") then
    return fail(result, "check", invalid("domain must be a domain name such as www.example.com"))
  end
  if not METHODS[method] then return fail(result, "check", invalid("method must be DNS, DNS_AUTO or FILE")) end
  if method ~= "DNS_AUTO" and type(opts.on_validation) ~= "function" then
    return fail(result, "check", invalid("on_validation(records) must publish the validation records for " .. method))
  end
  local algorithm = opts.algorithm or "RSA"
  if not ALGORITHMS[algorithm] then return fail(result, "check", invalid("algorithm must be RSA or ECC")) end

  -- apply (or go on with an existing order)
  local id = opts.certificate_id
  if id then
    step(result, "apply", "going on with order " .. id)
  else
    local applied, aerr = client:ApplyCertificate{
      DvAuthMethod = method, DomainName = opts.domain, CsrEncryptAlgo = algorithm,
      CsrKeyParameter = ALGORITHMS[algorithm], Alias = opts.alias, ProjectId = opts.project_id,
      OldCertificateId = opts.old_certificate_id,
    }
    if not applied then return fail(result, "apply", aerr) end
    id = applied.CertificateId
    step(result, "apply", "order " .. id)
  end
  result.certificate_id = id

  -- records: the order's validation values (they may take a moment to appear)
  local issued_already = false
  local records, rerr = waiters.poll(function()
    local res, err = client:DescribeCertificate{ CertificateId = id }
    if not res then return nil, err end
    if res.Status == waiters.CERTIFICATE_ISSUED then
      issued_already = true
      return "done", {}
    end
    local failed = waiters.CERTIFICATE_FAILED[res.Status]
    if failed then
      return nil, errors.new("state", failed, ("order %s ended: %s"):format(id,
        waiters.CERTIFICATE_STATUS[res.Status] or tostring(res.Status)), { result = res, status = res.Status })
    end
    local list = validation_records(res, opts.domain)
    if #list > 0 or method == "DNS_AUTO" then return "done", list end
    return "pending", res
  end, waiter_options(opts, { client = client, timeout = opts.records_timeout or 120, interval = opts.interval or 1,
    what = "the validation records of " .. id }))
  if not records then return fail(result, "records", rerr) end
  result.records = records
  step(result, "records", issued_already and "already issued" or (#records .. " validation record(s)"))

  if not issued_already then
    -- publish: the caller's callback
    if method ~= "DNS_AUTO" then
      local ok, done, why = pcall(opts.on_validation, records, { certificate_id = id, domain = opts.domain,
        method = method })
      if not ok or not done then
        return fail(result, "publish", errors.new("validation", "ValidationAborted",
          "the validation records were not published: " .. tostring(ok and (why or "it returned " .. tostring(done))
          or done)))
      end
      step(result, "publish", "records published")
      local completed, comp_err = client:CompleteCertificate{ CertificateId = id }
      if not completed then return fail(result, "complete", comp_err) end
      step(result, "complete", "validation requested")
    end
    -- wait: until issued (failure statuses are errors)
    local cert, werr = waiters.certificate_issued(client, id, waiter_options(opts))
    if not cert then return fail(result, "wait", werr) end
    result.certificate = cert
    step(result, "wait", ("issued, ends %s"):format(tostring(cert.CertEndTime)))
  else
    local cert, derr = client:DescribeCertificate{ CertificateId = id }
    if not cert then return fail(result, "wait", derr) end
    result.certificate = cert
  end

  if opts.download ~= false then
    local dl, derr = certs.download(client, id, { service_type = opts.service_type, timeout = opts.download_timeout })
    if not dl then return fail(result, "download", derr) end
    result.download = dl
    step(result, "download", ("%d file(s)%s"):format(#dl.files, dl.key and ", with the private key" or ""))
  end
  result.ok = true
  return result
end

return M

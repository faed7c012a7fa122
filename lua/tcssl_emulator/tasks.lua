--- tcssl_emulator.tasks: the emulator's cloud resources and the asynchronous tasks that move certificates onto them:
-- DeployCertificateInstance (deployment records, DescribeHostDeployRecord[Detail]) and
-- UpdateCertificateInstance (update records, DescribeHostUpdateRecord[Detail]), plus
-- DescribeDeployedResources.
--
-- Resources are bound to certificates by DeployCertificateInstance, or directly through the
-- control endpoint POST /__emulator/resources (for tests: a resource can be told to fail).
-- A record finishes "later": at the settings.task_polls-th poll of its Describe…Detail, or
-- settings.task_seconds after it was created, whichever comes first; only then do its
-- resources change certificate. UpdateCertificateInstance answers DeployRecordId 0 for the
-- first settings.update_pending_calls calls of a request, as the documents describe ("0
-- means the task is still being created; call again"). As documented, it needs the new
-- certificate (CertificateId, or CertificatePublicKey with CertificatePrivateKey): without
-- one it answers InvalidParameter.WithDetailReason; a Describe…RecordDetail of a record that
-- does not exist answers FailedOperation.CertificateDeployNotExist.
--
-- Its state is the store's resources, records, record_seq and update_pending
-- (tcssl_emulator.store); M.handlers are its actions.
local json = require "tcssl.json"
local schema = require "tcssl.schema"
local errors = require "tcssl_emulator.errors"
local pem = require "tcssl_emulator.pem"
local views = require "tcssl_emulator.views"
local certificates = require "tcssl_emulator.certificates"

local raise = errors.raise
local array, null = json.array, json.null

local M = {}

-- Statuses by their English names, from the model: of one resource of a record
-- (ResourceStatus), of a deployment record (RecordStatus), of an update's progress (SyncStatus).
local ENUMS = schema.model().enums
local RES, RECORD, SYNC = ENUMS.ResourceStatus.codes, ENUMS.RecordStatus.codes, ENUMS.SyncStatus.codes
local CERT = ENUMS.CertificateStatus.codes

-- Resource types of UpdateCertificateInstance; the ones that need regions.
M.UPDATE_TYPES = {
  clb = true, cdn = true, waf = true, live = true, ddos = true, teo = true, apigateway = true,
  vod = true, tke = true, tcb = true, tse = true, cos = true,
}
M.DEPLOY_TYPES = { lighthouse = true }
for k in pairs(M.UPDATE_TYPES) do M.DEPLOY_TYPES[k] = true end
M.REGIONAL = { clb = true, tke = true, apigateway = true, waf = true, tcb = true, tse = true, cos = true,
  lighthouse = true }
-- DescribeDeployedResources names Anti-DDoS "antiddos"; the other actions say "ddos".
local DESCRIBE_TYPE = { antiddos = "ddos" }
-- Types whose DescribeDeployedResources entries are domains rather than instance ids.
local BY_DOMAIN = { cdn = true, live = true, teo = true, vod = true }

M.MAX_RESOURCES = 10000
local MAX_RECORDS = 10000
local MAX_PENDING = 10000
local DEFAULT_REGION = "ap-guangzhou"

local function resource_key(rtype, instance_id, listener_id)
  return rtype .. "|" .. instance_id .. "|" .. (listener_id or "")
end

local function count(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n
end

--- resource_count(store) -> how many resources are bound.
function M.resource_count(store)
  return count(store.resources)
end

--- bind(store, spec) -> resource: binds (or rebinds) one resource to a certificate.
function M.bind(store, spec)
  local key = resource_key(spec.type, spec.instance_id, spec.listener_id)
  local r = store.resources[key]
  if not r then
    if M.resource_count(store) >= M.MAX_RESOURCES then raise("LimitExceeded", "Too many resources.") end
    r = { key = key, type = spec.type, instance_id = spec.instance_id, listener_id = spec.listener_id,
      seq = store:next_seq() }
    store.resources[key] = r
  end
  r.cert_id = spec.cert_id
  r.region = spec.region or r.region or (M.REGIONAL[spec.type] and DEFAULT_REGION or "")
  r.domains = spec.domains or r.domains or {}
  r.instance_name = spec.instance_name or r.instance_name or spec.instance_id
  if spec.fail ~= nil then r.fail = spec.fail end
  return r
end

--- resources(store [, keep]) -> the resources (those keep(r) is true of), oldest binding first.
function M.resources(store, keep)
  local out = {}
  for _, r in pairs(store.resources) do
    if not keep or keep(r) then out[#out + 1] = r end
  end
  table.sort(out, function(a, b) return a.seq < b.seq end)
  return out
end

-------------------------------------------------------------------------------
-- Records
-------------------------------------------------------------------------------

local function new_record(store, kind, fields)
  if count(store.records) >= MAX_RECORDS then raise("LimitExceeded", "Too many task records.") end
  store.record_seq = store.record_seq + 1
  local rec = { id = 170000 + store.record_seq, kind = kind, created = store:now(), polls = 0,
    finished = false, items = {} }
  for k, v in pairs(fields) do rec[k] = v end
  rec.updated = rec.created
  store.records[rec.id] = rec
  return rec
end

local function add_item(store, rec, r)
  rec.items[#rec.items + 1] = { id = rec.id * 100 + #rec.items + 1, resource = r, status = RES.running, error = "",
    old_cert_id = r.cert_id }
  r.busy = store:now()
end

-- Finishes a record: every resource takes the new certificate, or fails when told to.
local function complete(store, rec)
  for _, item in ipairs(rec.items) do
    if item.resource.fail then
      item.status, item.error = RES.failed, "emulated failure: the resource refused the certificate"
    else
      item.status = RES.success
      item.resource.cert_id = rec.cert_id
    end
    item.resource.busy = nil
  end
  rec.finished, rec.updated = true, store:now()
end

-- Finishes records that are due by time (called before every API request).
function M.settle(store)
  local now = store:now()
  for _, rec in pairs(store.records) do
    if not rec.finished and now - rec.created >= store.settings.task_seconds then complete(store, rec) end
  end
end

-- A poll of a record's detail: counts it and finishes it when enough polls were made.
local function poll(store, rec)
  rec.polls = rec.polls + 1
  if not rec.finished and rec.polls >= store.settings.task_polls then complete(store, rec) end
end

-- A record's state, in its resources' values: running until it finishes, then failed when a
-- resource failed, else success.
local function record_status(rec)
  if not rec.finished then return RES.running end
  for _, item in ipairs(rec.items) do
    if item.status == RES.failed then return RES.failed end
  end
  return RES.success
end

-- The same as a deployment record's Status (DeployRecordInfo: not started, success, failed);
-- a record still running has not finished starting.
local function deploy_record_status(rec)
  local status = record_status(rec)
  if status == RES.success then return RECORD.success end
  if status == RES.failed then return RECORD.failed end
  return RECORD["not started"]
end

local function counts(rec)
  local ok, failed, running = 0, 0, 0
  for _, item in ipairs(rec.items) do
    if item.status == RES.success then ok = ok + 1
    elseif item.status == RES.failed then failed = failed + 1
    else running = running + 1 end
  end
  return ok, failed, running
end

-- Offset and Limit of `action`, which some actions take as strings. The page size defaults to
-- the one the documents give and is cut to their maximum (the model's paging), or to 1000
-- where they name none.
local function paging(p, action)
  local facts = schema.model().actions[action].paging
  local default, max = facts.default_page_size or 10, facts.max_page_size or 1000
  local function number(name, fallback)
    local v = p[name]
    if v == nil or v == "" then return fallback end
    if type(v) == "string" then
      if not v:match("^%d+$") then raise("InvalidParameter", "The parameter `" .. name .. "` should be Integer.") end
      v = schema.as_integer(v)
      if type(v) ~= "number" then v = nil end -- beyond int64 (or, under LuaJIT, beyond 2^53)
    end
    if not v or v < 0 then raise("InvalidParameterValue", name .. " must not be negative.") end
    return v
  end
  return number("Offset", 0), math.min(number("Limit", default), max)
end

-- The record a Describe…RecordDetail names. Both actions' error tables list
-- FailedOperation.CertificateDeployNotExist ("证书部署记录不存在": the deployment record does
-- not exist), the answer for an id that names no record, or a record of the other kind (an
-- update record is not a deployment record, nor the reverse).
local RECORD_NAMES = { deploy = "deployment record", update = "update record" }
local function find_record(store, id, kind)
  local n = type(id) == "string" and id:match("^%d+$") and tonumber(id) or id
  local rec = store.records[n]
  if rec and rec.kind == kind then return rec end
  raise("FailedOperation.CertificateDeployNotExist", ("The %s `%s` does not exist."):format(RECORD_NAMES[kind],
    tostring(id)))
end

-------------------------------------------------------------------------------
-- Views
-------------------------------------------------------------------------------

local function iso_time(t)
  return os.date("!%Y-%m-%dT%H:%M:%S.000000Z", math.floor(t))
end

-- UpdateRecordDetail (its times as the documents' example writes them: ISO 8601, UTC).
local function update_detail_view(rec, item)
  local r = item.resource
  return {
    Id = item.id, CertId = rec.cert_id, OldCertId = item.old_cert_id or "", Domains = views.list(r.domains),
    ResourceType = r.type, Region = r.region, Status = item.status, ErrorMsg = item.error,
    CreateTime = iso_time(rec.created), UpdateTime = iso_time(rec.updated),
    InstanceId = r.instance_id, InstanceName = r.instance_name, ListenerId = r.listener_id or "",
    ListenerName = r.listener_id or "", Protocol = r.type == "clb" and "HTTPS" or "", SniSwitch = 0,
    Bucket = r.type == "cos" and r.instance_id or "", Port = r.type == "clb" and 443 or 0,
    Namespace = "", SecretName = "", EnvId = "", TCBType = "", Url = "",
  }
end

local function deploy_detail_view(rec, item)
  local r = item.resource
  return {
    Id = item.id, CertId = rec.cert_id, OldCertId = item.old_cert_id or "", InstanceId = r.instance_id,
    InstanceName = r.instance_name, ListenerId = r.listener_id or "", Domains = views.list(r.domains),
    Protocol = r.type == "clb" and "HTTPS" or "", Status = item.status, ErrorMsg = item.error,
    CreateTime = views.cst_time(rec.created), UpdateTime = views.cst_time(rec.updated),
    ListenerName = r.listener_id or "", SniSwitch = 0, Bucket = r.type == "cos" and r.instance_id or "",
    Namespace = "", SecretName = "", Port = r.type == "clb" and 443 or 0, EnvId = "", TCBType = "",
    Region = r.region, Url = array(),
  }
end

-- UpdateSyncProgress of an update request: one entry per resource type, per region.
local function sync_progress(types, regions_of, status, totals)
  local out = array()
  for _, t in ipairs(types) do
    local regions = array()
    for _, region in ipairs(regions_of[t] or { "" }) do
      local total = totals and totals[t .. "|" .. region] or 0
      regions[#regions + 1] = { Region = region, TotalCount = total, OffsetCount = status == SYNC.done and total or 0,
        Status = status }
    end
    out[#out + 1] = { ResourceType = t, UpdateSyncProgressRegions = regions, Status = status }
  end
  return out
end

-------------------------------------------------------------------------------
-- Handlers
-------------------------------------------------------------------------------

local H = {}
M.handlers = H

-- "lb-1|lbl-2|www.example.com" for clb listeners (the domain with SNI); a domain or an
-- instance id for the other types.
local function parse_instance(rtype, text)
  if rtype == "clb" then
    local lb, listener, domain = text:match("^([^|]+)|?([^|]*)|?([^|]*)$")
    if not lb then raise("InvalidParameterValue", "InstanceIdList has a malformed clb entry `" .. text .. "`.") end
    return lb, listener ~= "" and listener or nil, domain ~= "" and { domain } or nil
  end
  return text, nil, text:find(".", 1, true) and { text } or nil
end

H.DeployCertificateInstance = function(store, p, ctx)
  local cert = store:find_certificate(p.CertificateId)
  local rtype = p.ResourceType or "clb"
  if rtype == "" then rtype = "clb" end
  if not M.DEPLOY_TYPES[rtype] then
    raise("FailedOperation.CertificateHostResourceTypeInvalid", "Resource type `" .. rtype .. "` is not supported.")
  end
  if store:status_of(cert) ~= CERT.issued or cert.type ~= "SVR" then
    raise("FailedOperation.CertificateNotAvailable", "The certificate cannot be deployed in its current status.")
  end
  if #p.InstanceIdList == 0 or #p.InstanceIdList > 100 then
    raise("InvalidParameterValue", "InstanceIdList must list 1 to 100 instances.")
  end
  -- a deployment already running for this certificate is answered instead of a new one
  for _, rec in pairs(store.records) do
    if rec.kind == "deploy" and rec.cert_id == cert.id and not rec.finished then
      return { DeployRecordId = rec.id, DeployStatus = 0 }
    end
  end
  local region = M.REGIONAL[rtype] and (ctx.region or DEFAULT_REGION) or ""
  local rec = new_record(store, "deploy", { cert_id = cert.id, types = { rtype } })
  for _, text in ipairs(p.InstanceIdList) do
    local instance, listener, domains = parse_instance(rtype, text)
    local key = resource_key(rtype, instance, listener)
    local r = store.resources[key] or M.bind(store, { type = rtype, instance_id = instance,
      listener_id = listener, domains = domains, region = region })
    add_item(store, rec, r)
  end
  return { DeployRecordId = rec.id, DeployStatus = 1 }
end

-- The answer of a record's detail action: the record p.DeployRecordId names (polled, so it
-- moves on), its counts, and under list_field what page(rec, first, last) makes of the items
-- Offset and Limit select.
local DETAIL_ACTIONS = { deploy = "DescribeHostDeployRecordDetail", update = "DescribeHostUpdateRecordDetail" }
local function record_detail(store, p, kind, list_field, page)
  local offset, limit = paging(p, DETAIL_ACTIONS[kind])
  local rec = find_record(store, p.DeployRecordId, kind)
  poll(store, rec)
  local ok, failed, running = counts(rec)
  return { TotalCount = #rec.items, [list_field] = page(rec, offset + 1, math.min(offset + limit, #rec.items)),
    SuccessTotalCount = ok, FailedTotalCount = failed, RunningTotalCount = running }
end

H.DescribeHostDeployRecordDetail = function(store, p)
  return record_detail(store, p, "deploy", "DeployRecordDetailList", function(rec, first, last)
    local list = array()
    for i = first, last do list[#list + 1] = deploy_detail_view(rec, rec.items[i]) end
    return list
  end)
end

H.DescribeHostDeployRecord = function(store, p)
  local cert = store:find_certificate(p.CertificateId)
  local offset, limit = paging(p, "DescribeHostDeployRecord")
  local matches = {}
  for _, rec in pairs(store.records) do
    if rec.kind == "deploy" and rec.cert_id == cert.id and (not p.ResourceType or p.ResourceType == ""
        or rec.types[1] == p.ResourceType) then
      matches[#matches + 1] = rec
    end
  end
  table.sort(matches, function(a, b) return a.id > b.id end)
  local list = array()
  for i = offset + 1, math.min(offset + limit, #matches) do
    local rec = matches[i]
    local first = rec.items[1] and rec.items[1].resource
    list[#list + 1] = { Id = rec.id, CertId = rec.cert_id, ResourceType = rec.types[1],
      Region = first and first.region or "", Status = deploy_record_status(rec),
      CreateTime = views.cst_time(rec.created), UpdateTime = views.cst_time(rec.updated) }
  end
  return { TotalCount = #matches, DeployRecordList = list }
end

-- The regions wanted for each regional type: ResourceTypesRegions, else the older Regions
-- field (it applies to every regional type).
local function wanted_regions(p, types)
  local regions_of = {}
  for _, entry in ipairs(p.ResourceTypesRegions or {}) do
    if entry.ResourceType and entry.Regions and #entry.Regions > 0 then
      regions_of[entry.ResourceType] = entry.Regions
    end
  end
  for _, t in ipairs(types) do
    if M.REGIONAL[t] and not regions_of[t] then
      if p.Regions and #p.Regions > 0 then
        regions_of[t] = p.Regions
      else
        raise("InvalidParameter.WithDetailReason",
          "ResourceTypesRegions must give the regions of `" .. t .. "` (it is a regional resource type).")
      end
    end
  end
  return regions_of
end

-- The new certificate of an update: CertificateId (a stored certificate), or the certificate
-- sent with the request, uploaded when the task is created. Returns the stored certificate or
-- nil, and a key that names it in either case.
local function new_certificate(store, p)
  if p.CertificateId and p.CertificateId ~= "" then
    local cert = store:find_certificate(p.CertificateId)
    return cert, cert.id
  end
  if not p.CertificatePrivateKey or p.CertificatePrivateKey == "" then
    raise("MissingParameter", "CertificatePublicKey needs CertificatePrivateKey.")
  end
  local leaf = pem.certificate(p.CertificatePublicKey)
  return nil, "sha256:" .. leaf.sha256
end

local function upload_new(store, p)
  local uploaded = certificates.upload(store, {
    CertificatePublicKey = p.CertificatePublicKey, CertificatePrivateKey = p.CertificatePrivateKey,
    Repeatable = true, ProjectId = p.ProjectId, Tags = p.Tags,
  })
  local cert = store.certs[uploaded.CertificateId]
  if p.Repeatable == false then
    for _, other in pairs(store.certs) do
      if other ~= cert and other.fingerprint == cert.fingerprint then
        store.certs[cert.id] = nil
        raise("FailedOperation.CertificateExists", "The same certificate was uploaded before (" .. other.id .. ").")
      end
    end
  end
  if p.AllowDownload == false then cert.no_download = true end
  return cert
end

local function check_deployable(store, cert)
  if store:status_of(cert) ~= CERT.issued or cert.type ~= "SVR" then
    raise("FailedOperation.CertificateNotAvailable", "The new certificate cannot be deployed in its current status.")
  end
end

H.UpdateCertificateInstance = function(store, p)
  -- The new certificate is CertificateId, or else CertificatePublicKey with
  -- CertificatePrivateKey ("不传该参数，则公钥证书和私钥证书必传"). A request with neither
  -- answers InvalidParameter.WithDetailReason, the parameter error of the action's own
  -- error table (the detail says what is missing).
  if (p.CertificateId == nil or p.CertificateId == "") and (p.CertificatePublicKey == nil
      or p.CertificatePublicKey == "") then
    raise("InvalidParameter.WithDetailReason", "Name the new certificate: CertificateId, or CertificatePublicKey "
      .. "with CertificatePrivateKey.")
  end
  local old = store:find_certificate(p.OldCertificateId)
  local types, seen = {}, {}
  for _, t in ipairs(p.ResourceTypes) do
    if not M.UPDATE_TYPES[t] then
      raise("FailedOperation.CertificateHostResourceTypeInvalid", "Resource type `" .. t .. "` is not supported.")
    end
    if not seen[t] then seen[t], types[#types + 1] = true, t end
  end
  if #types == 0 then raise("InvalidParameterValue", "ResourceTypes must name at least one resource type.") end
  table.sort(types)
  local regions_of = wanted_regions(p, types)
  -- a task already running for the old certificate is returned instead of a new one
  for _, rec in pairs(store.records) do
    if rec.kind == "update" and rec.old_cert_id == old.id and not rec.finished then
      return { DeployRecordId = rec.id, DeployStatus = 0, UpdateSyncProgress = sync_progress(rec.types,
        rec.regions_of, SYNC.running) }
    end
  end
  local new, new_key = new_certificate(store, p)
  if new then
    if new.id == old.id then raise("FailedOperation.InvalidParam", "The new and the old certificate are the same.") end
    check_deployable(store, new)
  end

  local region_set = {}
  for t, list in pairs(regions_of) do
    region_set[t] = {}
    for _, r in ipairs(list) do region_set[t][r] = true end
  end
  local targets = M.resources(store, function(r)
    return r.cert_id == old.id and seen[r.type] and (not M.REGIONAL[r.type] or region_set[r.type][r.region])
  end)

  -- the documented creation loop: DeployRecordId 0 until the task exists
  local region_text = {}
  for _, t in ipairs(types) do region_text[#region_text + 1] = table.concat(regions_of[t] or {}, ",") end
  local key = table.concat({ old.id, new_key, table.concat(types, ","), table.concat(region_text, ";") }, "|")
  local pending = store.update_pending[key]
  if pending == nil then
    if count(store.update_pending) >= MAX_PENDING then store.update_pending = {} end
    pending = store.settings.update_pending_calls
  end
  if pending > 0 then
    store.update_pending[key] = pending - 1
    local totals = {}
    for _, r in ipairs(targets) do
      local k = r.type .. "|" .. (M.REGIONAL[r.type] and r.region or "")
      totals[k] = (totals[k] or 0) + 1
    end
    return { DeployRecordId = 0, DeployStatus = 0,
      UpdateSyncProgress = sync_progress(types, regions_of, SYNC.running, totals) }
  end
  store.update_pending[key] = nil

  if #targets == 0 then
    raise("FailedOperation.CertificateDeployInstanceEmpty",
      "No resource of the chosen types uses certificate " .. old.id .. "; there is nothing to update.")
  end
  if not new then
    new = upload_new(store, p)
    check_deployable(store, new)
  end
  local rec = new_record(store, "update", { cert_id = new.id, old_cert_id = old.id, types = types,
    regions_of = regions_of })
  for _, r in ipairs(targets) do add_item(store, rec, r) end
  if p.ExpiringNotificationSwitch == 1 then old.ignore_expiring = true end
  return { DeployRecordId = rec.id, DeployStatus = 1, UpdateSyncProgress = sync_progress(types, regions_of, SYNC.done) }
end

-- The page's resources grouped by type; each group's TotalCount counts the whole record's.
H.DescribeHostUpdateRecordDetail = function(store, p)
  return record_detail(store, p, "update", "RecordDetailList", function(rec, first, last)
    local groups, by_type, totals = array(), {}, {}
    for _, item in ipairs(rec.items) do
      local t = item.resource.type
      totals[t] = (totals[t] or 0) + 1
    end
    for i = first, last do
      local item = rec.items[i]
      local t = item.resource.type
      local group = by_type[t]
      if not group then
        group = { ResourceType = t, List = array(), TotalCount = totals[t] }
        by_type[t] = group
        groups[#groups + 1] = group
      end
      group.List[#group.List + 1] = update_detail_view(rec, item)
    end
    return groups
  end)
end

H.DescribeHostUpdateRecord = function(store, p)
  local offset, limit = paging(p, "DescribeHostUpdateRecord")
  local matches = {}
  for _, rec in pairs(store.records) do
    if rec.kind == "update" and (not p.CertificateId or p.CertificateId == "" or rec.cert_id == p.CertificateId)
        and (not p.OldCertificateId or p.OldCertificateId == "" or rec.old_cert_id == p.OldCertificateId) then
      matches[#matches + 1] = rec
    end
  end
  table.sort(matches, function(a, b) return a.id > b.id end)
  local list = array()
  for i = offset + 1, math.min(offset + limit, #matches) do
    local rec = matches[i]
    local regions, seen = array(), {}
    for _, item in ipairs(rec.items) do
      local region = item.resource.region
      if region ~= "" and not seen[region] then seen[region], regions[#regions + 1] = true, region end
    end
    list[#list + 1] = { Id = rec.id, CertId = rec.cert_id, OldCertId = rec.old_cert_id,
      ResourceTypes = views.list(rec.types), Regions = regions, Status = record_status(rec),
      CreateTime = views.cst_time(rec.created), UpdateTime = views.cst_time(rec.updated) }
  end
  return { TotalCount = #matches, DeployRecordList = list }
end

H.DescribeDeployedResources = function(store, p)
  local rtype = DESCRIBE_TYPE[p.ResourceType] or p.ResourceType
  local out = array()
  for _, id in ipairs(p.CertificateIds) do
    if store.certs[id] then
      local names = array()
      for _, r in ipairs(M.resources(store, function(r) return r.cert_id == id and r.type == rtype end)) do
        names[#names + 1] = BY_DOMAIN[rtype] and r.domains[1] or r.instance_id
      end
      out[#out + 1] = { CertificateId = id, Count = #names, Type = p.ResourceType, ResourceIds = null,
        Resources = names }
    end
  end
  return { DeployedResources = out }
end

return M

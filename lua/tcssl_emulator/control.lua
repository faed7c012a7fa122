--- tcssl_emulator.control: the control endpoints under /__emulator/, unsigned, for tests and
-- for whoever runs the emulator:
--
--   GET  stats      counters: connections, requests, api_requests, certificates, faults_pending,
--                   and per_second: the API and metadata requests of each wall-clock second,
--                   [ { "second": 1764650000, "action": "DescribeCertificates", "region": ..,
--                   "account": the SecretId, "count": 3 } ] (metadata: "metadata:<path>")
--   POST fault      arms a fault (tcssl_emulator.faults), or shifts the clock
--   POST reset-faults
--                   disarms the faults, undoes the clock fault and zeroes the counters of stats
--   POST reset-store
--                   forgets what the requests made (tcssl_emulator.store: certificates,
--                   resources, tasks and records, settings, temporary keys)
--   POST reset      both of the above
--   GET/POST config shows or changes the settings of "later" (store.SETTINGS)
--   GET/POST resources
--                   lists or binds cloud resources (tcssl_emulator.tasks):
--                   { "resources": [ { "ResourceType": "clb", "InstanceId": "lb-1",
--                   "ListenerId": "lbl-1", "Region": "ap-guangzhou", "Domains": [...],
--                   "CertificateId": "...", "Fail": true } ] }
--   POST shutdown   stops the server once it has answered
local json = require "tcssl.json"
local store_module = require "tcssl_emulator.store"
local faults = require "tcssl_emulator.faults"
local tasks = require "tcssl_emulator.tasks"
local views = require "tcssl_emulator.views"

local M = {}

M.PREFIX = "/__emulator/"

local MAX_BIND = 1000 -- resources bound by one request

local function body_of(req)
  return json.decode(req.body ~= "" and req.body or "null")
end

local function config(store, req)
  if req.method == "POST" then
    local spec = body_of(req)
    if type(spec) ~= "table" then return 400, { error = "expected a JSON object of settings" } end
    for name, value in pairs(spec) do
      local limits = store_module.SETTING_LIMITS[name]
      if not limits then return 400, { error = "unknown setting " .. tostring(name) } end
      if type(value) ~= "number" or value ~= value or value < limits[1] or value > limits[2] then
        return 400, { error = ("%s must be a number from %s to %s"):format(name, limits[1], limits[2]) }
      end
    end
    for name, value in pairs(spec) do store.settings[name] = value end
  end
  return 200, store.settings
end

local function list_resources(store)
  local out = json.array()
  for _, r in ipairs(tasks.resources(store)) do
    out[#out + 1] = { ResourceType = r.type, InstanceId = r.instance_id, ListenerId = r.listener_id,
      Region = r.region, Domains = views.list(r.domains), CertificateId = r.cert_id, Fail = r.fail == true }
  end
  return out
end

local function resources(store, req)
  if req.method == "GET" then return 200, { resources = list_resources(store) } end
  local spec = body_of(req)
  if type(spec) ~= "table" or type(spec.resources) ~= "table" then
    return 400, { error = "expected { \"resources\": [ ... ] }" }
  end
  if #spec.resources > MAX_BIND then return 400, { error = "at most 1000 resources at a time" } end
  for i, r in ipairs(spec.resources) do
    local function bad(why) return 400, { error = ("resources[%d]: %s"):format(i, why) } end
    if type(r) ~= "table" then return bad("must be an object") end
    if not tasks.DEPLOY_TYPES[r.ResourceType] then return bad("unknown ResourceType") end
    if type(r.InstanceId) ~= "string" or r.InstanceId == "" or #r.InstanceId > 200 then
      return bad("InstanceId must be a string")
    end
    if type(r.CertificateId) ~= "string" or not store.certs[r.CertificateId] then
      return bad("CertificateId must name a stored certificate")
    end
    if r.Region ~= nil and type(r.Region) ~= "string" then return bad("Region must be a string") end
    if r.ListenerId ~= nil and type(r.ListenerId) ~= "string" then return bad("ListenerId must be a string") end
    local domains = {}
    for _, d in ipairs(type(r.Domains) == "table" and r.Domains or {}) do
      if type(d) == "string" then domains[#domains + 1] = d end
    end
    if tasks.resource_count(store) >= tasks.MAX_RESOURCES then return 400, { error = "too many resources" } end
    tasks.bind(store, { type = r.ResourceType, instance_id = r.InstanceId, listener_id = r.ListenerId,
      region = r.Region, domains = domains, cert_id = r.CertificateId, fail = r.Fail == true,
      instance_name = type(r.InstanceName) == "string" and r.InstanceName or nil })
  end
  return 200, { ok = true, resources = tasks.resource_count(store) }
end

-- The per-second request log keeps at most this many (second, action, region, account) rows.
local MAX_LOG_ROWS = 20000

--- note(server, time, req, action [, region]): counts one request in the per-second log of
-- stats, under the second it arrived in (wall clock).
function M.note(server, time, req, action, region)
  local log = server.stats.per_second
  if not log then
    log = { rows = {}, n = 0 }
    server.stats.per_second = log
  end
  local account = (req.headers.authorization or ""):match("Credential=([^/%s]+)/") or "-"
  local key = ("%d %s %s %s"):format(math.floor(time), tostring(action or "-"), tostring(region or "-"), account)
  local row = log.rows[key]
  if not row then
    if log.n >= MAX_LOG_ROWS then return end
    log.n = log.n + 1
    row = { second = math.floor(time), action = action or "-", region = region or "-", account = account,
      count = 0 }
    log.rows[key] = row
  end
  row.count = row.count + 1
end

local function per_second(server)
  local out = json.array()
  local log = server.stats.per_second
  for _, row in pairs(log and log.rows or {}) do out[#out + 1] = row end
  table.sort(out, function(a, b)
    if a.second ~= b.second then return a.second < b.second end
    return a.action .. a.region .. a.account < b.action .. b.region .. b.account
  end)
  return out
end

--- respond(server, req) -> status, result (a table, written as JSON), and "shutdown" when
-- the server is to stop after answering.
function M.respond(server, req)
  local store = server.store
  local name = req.path:sub(#M.PREFIX + 1)
  local post = req.method == "POST"
  if name == "stats" then
    local s = server.stats
    local pending = 0
    for _, f in ipairs(server.faults) do pending = pending + f.count end
    return 200, { connections = s.connections, requests = s.requests, api_requests = s.api_requests,
      certificates = store:certificate_count(), faults_pending = pending, per_second = per_second(server) }
  elseif not post and (name == "fault" or name == "reset" or name == "reset-faults"
      or name == "reset-store" or name == "shutdown") then
    return 405, { error = "use POST" }
  elseif name == "fault" then
    local fault, err = faults.parse(body_of(req))
    if not fault then return 400, { error = err } end
    if fault.type == "clock" then
      store.clock_offset = fault.offset
    elseif #server.faults >= faults.MAX_ARMED then
      return 400, { error = "too many armed faults" }
    else
      server.faults[#server.faults + 1] = fault
    end
    return 200, { ok = true }
  elseif name == "reset" then
    server:reset()
    return 200, { ok = true }
  elseif name == "reset-faults" then
    server:reset_faults()
    return 200, { ok = true }
  elseif name == "reset-store" then
    server:reset_store()
    return 200, { ok = true }
  elseif name == "config" then
    return config(store, req)
  elseif name == "resources" then
    return resources(store, req)
  elseif name == "shutdown" then
    return 200, { ok = true }, "shutdown"
  end
  return 404, { error = "unknown control endpoint" }
end

return M

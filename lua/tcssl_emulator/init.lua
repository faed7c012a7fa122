--- tcssl_emulator: a stateful local stand-in for the Tencent Cloud SSL Certificates API
-- (API 3.0, version 2019-12-05, service `ssl`, and the legacy 2017 API on /v2/index.php).
--
-- It verifies TC3-HMAC-SHA256 and v1 (HmacSHA1 / HmacSHA256) signatures with tcssl.core and
-- checks every request's parameters against the model (tcssl.model, through tcssl.schema, so
-- with the client's codes). It keeps uploaded certificates in memory for UploadCertificate,
-- DescribeCertificates, DescribeCertificate, DeleteCertificate and a few cheap store effects
-- (M.STORE_ACTIONS), serves the legacy CertGetList, CertUpload and CertDelete from the same
-- store, and answers every other action of the model with a success synthesized from its
-- output model. Control endpoints under /__emulator/ (no signature) report counters and
-- inject faults.
--
-- The server is one process, one select() loop, one coroutine per connection, every socket
-- non-blocking. Nothing here does I/O at require time.
--
--   local emulator = require "tcssl_emulator"
--   local server = assert(emulator.new{ port = 0, keys = { AKIDxxx = { secret_key = "..." } } })
--   print(server:url())
--   server:run()                        -- until /__emulator/shutdown or max_lifetime

local socket = require "socket"
local core = require "tcssl.core"
local json = require "tcssl.json"
local schema = require "tcssl.schema"
local docs = require "tcssl.model_docs"
local cloud = require "tcssl_emulator.cloud"
local resources = require "tcssl_emulator.tasks"
local issuer = require "tcssl_emulator.issuer"

local M = {
  _VERSION = "0.1.0",
  API_VERSION = "2019-12-05",
  SERVICE = "ssl",
  DEMO_SECRET_ID = "AKIDEMULATOR",
  DEMO_SECRET_KEY = "tcssl-emulator-demo-secret-key-0",
}

local gettime = socket.gettime
local floor, max, min, abs = math.floor, math.max, math.min, math.abs
local concat, sort = table.concat, table.sort
local yield = coroutine.yield

-- How much "later" the emulator's asynchronous work finishes (see tcssl_emulator.tasks and
-- tcssl_emulator.issuer); POST /__emulator/config changes them, /reset restores them.
M.SETTINGS = {
  task_polls = 2,             -- a deployment or update record finishes at its 2nd detail poll...
  task_seconds = 30,          -- ...or this long after it was created
  update_pending_calls = 1,   -- UpdateCertificateInstance answers DeployRecordId 0 this often first
  issue_polls = 2,            -- an order is issued at its 2nd DescribeCertificate(Detail) poll...
  issue_seconds = 30,         -- ...or this long after validation started
}
local SETTING_LIMITS = {
  task_polls = { 1, 1000 }, task_seconds = { 0, 86400 }, update_pending_calls = { 0, 1000 },
  issue_polls = { 1, 1000 }, issue_seconds = { 0, 86400 },
}

local DEFAULTS = {
  host = "127.0.0.1",
  port = 0,
  max_lifetime = 300,         -- seconds; the process exits by itself after this (0: never)
  idle_timeout = 30,          -- seconds a connection may wait for I/O
  request_timeout = 20,       -- seconds a request's head and body may take to arrive in all
  max_connections = 500,      -- stays well below select()'s FD_SETSIZE
}

local MAX_HEAD_BYTES = 64 * 1024
local MAX_HEADERS = 100
local MAX_BODY_BYTES = 10 * 1024 * 1024
local MAX_DRAIN_BYTES = 4 * MAX_BODY_BYTES   -- oversized bodies up to this are read and dropped
local MAX_REQUESTS_PER_CONNECTION = 100000
local MAX_ACCEPTS_PER_STEP = 64
local READ_CHUNK = 64 * 1024
local SIGNATURE_WINDOW = 300                 -- seconds, "相差超过5分钟" fails
local CST_OFFSET = 8 * 3600                  -- the API reports times in China Standard Time
local EXPIRING_WINDOW = 30 * 86400           -- "证书即将到期的30天内为即将过期"
local CONTROL_PREFIX = "/__emulator/"
local MAX_CERTIFICATES = 10000
local MAX_FAULTS = 1000

-------------------------------------------------------------------------------
-- Small helpers
-------------------------------------------------------------------------------

local function trim(s)
  return (s:gsub("^%s+", ""):gsub("%s+$", ""))
end

local function cst_time(t)
  return os.date("!%Y-%m-%d %H:%M:%S", floor(t) + CST_OFFSET)
end

local function utc_date(t)
  return os.date("!%Y-%m-%d", floor(t))
end

local function http_date(t)
  return os.date("!%a, %d %b %Y %H:%M:%S GMT", floor(t))
end

local function url_decode(s)
  s = s:gsub("+", " ")
  return (s:gsub("%%(%x%x)", function(hex) return string.char(tonumber(hex, 16)) end))
end

-- Parses "a=1&b=2" into { a = "1", b = "2" }; nil, message on a repeated name.
local function parse_form(text)
  local params = {}
  for pair in text:gmatch("[^&]+") do
    local name, value = pair:match("^([^=]*)=(.*)$")
    if not name then name, value = pair, "" end
    name, value = url_decode(name), url_decode(value)
    if params[name] ~= nil then return nil, "parameter `" .. name .. "` is repeated" end
    params[name] = value
  end
  return params
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  return keys
end

-- Replies are written by tcssl.json: json.array marks arrays (`[]` when empty), json.null
-- is JSON null.
local array, null = json.array, json.null


-------------------------------------------------------------------------------
-- API errors: raised as tables inside request handling, turned into the error envelope.
-------------------------------------------------------------------------------

local ApiError = {}
ApiError.__index = ApiError
ApiError.__tostring = function(e) return e.code .. ": " .. e.message end

local function raise(code, message)
  error(setmetatable({ code = code, message = message }, ApiError), 0)
end

local function is_api_error(e)
  return getmetatable(e) == ApiError
end

-------------------------------------------------------------------------------
-- Parameters: unflattening (`Filters.0.Values.1=x`), coercion by the model's types, checking.
-------------------------------------------------------------------------------

local MAX_PARAM_DEPTH = 8
local MAX_PARAM_INDEX = 10000

-- Checks that every table holding numeric keys holds exactly 1..n and nothing else.
local function check_arrays(node, path)
  local numeric, named = 0, 0
  for k, v in pairs(node) do
    if type(k) == "number" then numeric = numeric + 1 else named = named + 1 end
    if type(v) == "table" then check_arrays(v, path .. "." .. tostring(k)) end
  end
  if numeric > 0 and (named > 0 or numeric ~= #node) then
    raise("InvalidParameter", "The parameter `" .. path:sub(2) .. "` mixes or skips array indexes.")
  end
end

-- { ["CertIds.0"] = "a", ["Tags.0.TagKey"] = "k" } -> { CertIds = { "a" }, Tags = { { TagKey = "k" } } }
local function unflatten(flat)
  local root = {}
  for _, name in ipairs(sorted_keys(flat)) do
    local segments = {}
    for segment in (name .. "."):gmatch("([^.]*)%.") do segments[#segments + 1] = segment end
    if #segments > MAX_PARAM_DEPTH then
      raise("InvalidParameter", "The parameter `" .. name .. "` is nested too deeply.")
    end
    local node = root
    for i, segment in ipairs(segments) do
      local key = segment
      if segment == "" then
        raise("InvalidParameter", "The parameter name `" .. name .. "` is malformed.")
      elseif segment:match("^%d+$") then
        local index = tonumber(segment)
        if i == 1 or index >= MAX_PARAM_INDEX then
          raise("InvalidParameter", "The parameter name `" .. name .. "` is malformed.")
        end
        key = index + 1
      end
      if i == #segments then
        if node[key] ~= nil then
          raise("InvalidParameter", "The parameter `" .. name .. "` conflicts with another one.")
        end
        node[key] = flat[name]
      else
        local child = node[key]
        if child == nil then
          child = {}
          node[key] = child
        elseif type(child) ~= "table" then
          raise("InvalidParameter", "The parameter `" .. name .. "` conflicts with another one.")
        end
        node = child
      end
    end
  end
  check_arrays(root, "")
  return root
end

-- Strings from flattened parameters (GET queries, v1 forms) take the type the model gives
-- the field; so do decimal strings in JSON bodies, which the documents' own examples send for
-- Integer fields ("ProjectId": "1634827"). Anything else is left for schema.check to reject.
local function coerce_scalar(typ, v)
  if type(v) ~= "string" then return v end
  if typ == "Integer" then
    if v:match("^%-?%d+$") then return math.tointeger(tonumber(v)) or v end
  elseif typ == "Boolean" then
    if v == "true" then return true elseif v == "false" then return false end
  elseif typ == "Float" or typ == "Double" then
    if v:match("^%-?%d+%.?%d*$") or v:match("^%-?%d*%.%d+$") then return tonumber(v) + 0.0 end
  end
  return v
end

local coerce_fields

local function coerce_field(f, v, structs)
  local function one(x)
    if f.struct then
      if type(x) == "table" and structs[f.type] then coerce_fields(structs[f.type].fields, x, structs) end
      return x
    end
    return coerce_scalar(f.type, x)
  end
  if f.array and type(v) == "table" then
    for i = 1, #v do v[i] = one(v[i]) end
    return v
  end
  return one(v)
end

-- Coerces the fields of t in place, guided by the model's field list.
function coerce_fields(fields, t, structs)
  for _, f in ipairs(fields) do
    local v = t[f.name]
    if v ~= nil then t[f.name] = coerce_field(f, v, structs) end
  end
end

-- Coerces and checks params against the action's model the way the client does (tcssl.schema),
-- so both answer MissingParameter, UnknownParameter or InvalidParameter with the same path.
local function check_params(action_model, params, structs)
  coerce_fields(action_model.input, params, structs)
  local checked, err = schema.check(action_model, params)
  if not checked then raise(err.code, err.message) end
  return checked
end

local function require_param(params, name)
  local v = params[name]
  if v == nil or v == "" then
    raise("MissingParameter", "The request is missing a required parameter `" .. name .. "`.")
  end
  return v
end

-------------------------------------------------------------------------------
-- Certificates: parsing uploads with OpenSSL through tcssl.core (lua-luaossl reads freed
-- memory on some malformed input, so the emulator does not use it).
-------------------------------------------------------------------------------

local function key_algorithm(info)
  local kind = info.key_type == "EC" and "ECC" or info.key_type
  return kind, kind .. " " .. tostring(info.key_bits)
end

-- Returns the parsed leaf, the parsed chain (leaf first), or raises the documented codes.
local function parse_certificate_pem(text)
  if not text:find("-----BEGIN CERTIFICATE-----", 1, true) then
    raise("FailedOperation.CertificateInvalid", "The certificate content is not a PEM certificate.")
  end
  local chain, err = core.x509_parse(text)
  if not chain then
    raise("FailedOperation.CertificateParseError", "The certificate could not be parsed: " .. err .. ".")
  end
  if #chain > 10 then
    raise("FailedOperation.CertificateChainError", "The certificate chain is too long.")
  end
  return chain[1], chain
end

local function check_private_key(cert_pem, key_pem)
  if key_pem:find("ENCRYPTED", 1, true) or not core.private_key_info(key_pem) then
    raise("FailedOperation.CertificateParseError", "The private key could not be parsed.")
  end
  if not core.key_matches(cert_pem, key_pem) then
    raise("FailedOperation.CertificateMismatch", "The certificate and the private key do not match.")
  end
end

local function validity_months(not_before, not_after)
  return tostring(floor((not_after - not_before) / (86400 * 30.44) + 0.5))
end

local function copy_list(list)
  local out = array()
  for i, v in ipairs(list or {}) do out[i] = v end
  return out
end

local function copy_tags(tags)
  local out = array()
  for i, tag in ipairs(tags or {}) do
    out[i] = { TagKey = tag.TagKey or "", TagValue = tag.TagValue or "" }
  end
  return out
end

-- Certificate statuses, from the model (the documents' values, English names) and its docs
-- (the documents' labels).
local CERTIFICATE_STATUS = schema.model().enums.CertificateStatus
local CERT = CERTIFICATE_STATUS.codes
local CERTIFICATE_LABELS = docs.enums.CertificateStatus

-- A certificate's StatusName: for issued and expired certificates the wording of the
-- documents' examples ("证书已颁发", "Certificate issued"); for the others the status's label
-- (zh-CN) or its English name, capitalised (en-US).
local TEXT = {
  ["zh-CN"] = { issued = "证书已颁发", expired = "证书已过期", project = "默认项目",
    status = function(status) return CERTIFICATE_LABELS[status] end },
  ["en-US"] = { issued = "Certificate issued", expired = "Certificate expired", project = "Default Project",
    status = function(status)
      local name = CERTIFICATE_STATUS.names[status]
      return name and (name:sub(1, 1):upper() .. name:sub(2))
    end },
}

-- Status of a certificate: orders (ApplyCertificate) carry theirs until issued; issued and
-- uploaded ones are issued, or expired once their time is over.
local function status_of(server, cert)
  if cert.status and cert.status ~= CERT.issued then return cert.status end
  return cert.not_after < server:now() and CERT.expired or CERT.issued
end

local function status_name(status, text)
  if status == CERT.issued then return text.issued elseif status == CERT.expired then return text.expired end
  return text.status(status) or tostring(status)
end

-- Times of a certificate; an order not issued yet has none (null).
local function time_or_null(t)
  if t == nil then return null end
  return cst_time(t)
end

local function expiring(cert, now)
  return cert.not_after ~= nil and cert.not_after >= now and cert.not_after - now <= EXPIRING_WINDOW
end

-- Fields common to DescribeCertificates' Certificates items and DescribeCertificate.
local function base_view(server, cert, lang)
  local now = server:now()
  local status = status_of(server, cert)
  local text = TEXT[lang] or TEXT["zh-CN"]
  local is_ca = cert.type == "CA"
  return {
    OwnerUin = server.owner_uin,
    ProjectId = tostring(cert.project_id),
    From = cert.from or "upload",
    CertificateType = cert.type,
    PackageType = cert.package_type or null,
    ProductZhName = cert.product or null,
    Domain = cert.domain,
    Alias = cert.alias,
    Status = status,
    StatusMsg = cert.status_msg or null,
    StatusName = status_name(status, text),
    VerifyType = cert.verify_type or null,
    VulnerabilityStatus = "INACTIVE",
    CertBeginTime = time_or_null(cert.not_before),
    CertEndTime = time_or_null(cert.not_after),
    ValidityPeriod = cert.not_after and validity_months(cert.not_before, cert.not_after) or "3",
    InsertTime = cst_time(cert.inserted),
    CertificateId = cert.id,
    PackageTypeName = cert.product or null,
    SubjectAltName = copy_list(cert.sans),
    IsVip = false,
    IsDv = cert.applied == true,
    IsWildcard = cert.wildcard,
    IsVulnerability = false,
    RenewAble = false,
    Deployable = not is_ca and (status == CERT.issued),
    Tags = copy_tags(cert.tags),
    CAEncryptAlgorithms = copy_list(is_ca and cert.ca_algorithms),
    CACommonNames = copy_list(is_ca and cert.ca_names),
    CAEndTimes = copy_list(is_ca and cert.ca_end_times),
    CertificateExtra = {
      DomainNumber = tostring(#cert.sans),
      OriginCertificateId = null,
      ReplacedBy = null,
      ReplacedFor = null,
      RenewOrder = null,
      SMCert = 0,
      CompanyType = null,
    },
  }, now, text
end

local function list_view(server, cert, lang)
  local view, now, text = base_view(server, cert, lang)
  view.ProjectInfo = {
    ProjectId = tostring(cert.project_id),
    OwnerUin = 0,
    ProjectName = text.project,
    ProjectCreatorUin = 0,
    ProjectCreateTime = "0000-00-00 00:00:00",
    ProjectResume = text.project,
  }
  view.BoundResource = null
  view.IsIgnore = cert.ignore_expiring == true
  view.IsSM = false
  view.EncryptAlgorithm = cert.algorithm
  view.PreAuditInfo = null
  view.AutoRenewFlag = 0
  view.HostingStatus = -1
  view.HostingCompleteTime = ""
  view.HostingRenewCertId = ""
  view.HostingResourceTypes = array()
  view.HostingConfig = null
  view.HasRenewOrder = ""
  view.ReplaceOriCertIsDelete = false
  view.IsExpiring = expiring(cert, now)
  view.DVAuthDeadline = null
  view.ValidationPassedTime = null
  view.CertSANs = copy_list(cert.sans)
  view.AwaitingValidationMsg = null
  local status = status_of(server, cert)
  view.AllowDownload = not cert.no_download and (status == CERT.issued or status == CERT.expired)
  view.IsDNSPODResolve = false
  view.IsPackage = false
  view.KeyPasswordCustomFlag = false
  -- the emulator writes no JKS key stores, and key stores need a key it kept
  view.SupportDownloadType = {
    NGINX = true, APACHE = true, TOMCAT = cert.key_pem ~= nil, IIS = cert.key_pem ~= nil, JKS = false,
    OTHER = true, ROOT = true,
  }
  view.CertRevokedTime = null
  view.IsHostingUploadRenewCert = false
  return view
end

local function detail_view(server, cert, lang)
  local view = base_view(server, cert, lang)
  view.OrderId = cert.order_id or null
  view.DvAuthDetail = issuer.dv_detail(cert) or null
  view.VulnerabilityReport = null
  view.SubmittedData = null
  view.DvRevokeAuthDetail = array()
  return view
end

-------------------------------------------------------------------------------
-- Responses synthesized from the model. Every action without a handler below answers a
-- success whose fields follow its output model (tcssl.model) in name and type: the field's
-- example (tcssl.model_docs) where it fits, arrays with one element, structs filled recursively.
-------------------------------------------------------------------------------

local MAX_SAMPLE_DEPTH = 6
-- Totals agree with the one-element arrays, so that a caller paging through a list stops.
local TOTAL_FIELDS = { TotalCount = true, AllTotal = true }

-- A field's example (from `fdocs`, the docs of its field list) as plain text ("\"x\"" -> x,
-- "[\"x\", \"y\"]" -> x), or nil.
local function example_text(f, fdocs)
  local example = fdocs and fdocs[f.name] and fdocs[f.name].example
  local ex = type(example) == "string" and trim(example) or ""
  if f.array and ex:sub(1, 1) == "[" then
    local list = json.decode(ex)
    local first = type(list) == "table" and list[1]
    ex = (type(first) == "string" or math.type(first) == "integer") and tostring(first) or ""
  end
  ex = ex:match('^"(.*)"$') or ex
  if ex == "" or ex == "null" then return nil end
  return ex
end

local function sample_scalar(server, f, fdocs)
  local ex, typ = example_text(f, fdocs), f.type
  if typ == "Integer" then
    if TOTAL_FIELDS[f.name] then return 1 end
    return ex and ex:match("^%-?%d+$") and math.tointeger(tonumber(ex)) or 0
  elseif typ == "Boolean" then
    return ex ~= "false" and ex ~= "0" -- the documents write some as 1 or 0
  elseif typ == "Float" or typ == "Double" then
    return ex and tonumber(ex) and tonumber(ex) + 0.0 or 0.5
  elseif ex then
    return ex
  elseif typ:find("^Timestamp") or typ == "Date" then
    return cst_time(server:now())
  end
  return "example"
end

local sample_fields

-- One value of field f (not the array around it); nil where recursion is cut.
local function sample_value(server, f, fdocs, depth, open)
  if not f.struct then return sample_scalar(server, f, fdocs) end
  local struct = schema.model().structs[f.type]
  if not struct or depth >= MAX_SAMPLE_DEPTH or open[f.type] then return nil end
  open[f.type] = true
  local value = sample_fields(server, struct.fields, docs.structs[f.type].fields, depth + 1, open)
  open[f.type] = nil
  return value
end

function sample_fields(server, fields, fdocs, depth, open)
  local out = {}
  for _, f in ipairs(fields) do
    if f.name ~= "RequestId" then
      local v = sample_value(server, f, fdocs, depth, open)
      if f.array then
        out[f.name] = array({ v })
      elseif v ~= nil then
        out[f.name] = v
      end
    end
  end
  return out
end

local function synthesize(server, action, action_model)
  return sample_fields(server, action_model.output, docs.actions[action].output, 0, {})
end

-- Copies the fields of view that the output model knows onto out (nulls included).
local function overlay(out, view, fields)
  for _, f in ipairs(fields) do
    local v = view[f.name]
    if v ~= nil then out[f.name] = v end
  end
  return out
end

-------------------------------------------------------------------------------
-- Actions with state: the certificate store. handler(server, params, ctx, action_model)
-- gets parameters already checked against the model.
-------------------------------------------------------------------------------

local HANDLERS = {}

HANDLERS.UploadCertificate = function(server, p)
  local pem = require_param(p, "CertificatePublicKey")
  local cert_type = p.CertificateType or "SVR"
  if cert_type ~= "SVR" and cert_type ~= "CA" then
    raise("InvalidParameterValue", "CertificateType must be SVR or CA.")
  end
  local leaf, chain = parse_certificate_pem(pem)
  local key_pem = p.CertificatePrivateKey
  if key_pem == "" then key_pem = nil end
  if cert_type == "SVR" and not key_pem then
    raise("MissingParameter", "The request is missing a required parameter `CertificatePrivateKey`.")
  end
  if key_pem then check_private_key(pem, key_pem) end
  if cert_type == "CA" and not leaf.is_ca then
    raise("FailedOperation.CertificateCaError", "The certificate is not a CA certificate.")
  end

  if server:certificate_count() >= MAX_CERTIFICATES then
    raise("LimitExceeded", "The emulator holds at most " .. MAX_CERTIFICATES .. " certificates.")
  end
  local fingerprint = leaf.sha256
  if p.Repeatable == false then
    for _, existing in pairs(server.certs) do
      if existing.fingerprint == fingerprint and existing.type == cert_type then
        return { CertificateId = existing.id, RepeatCertId = existing.id }
      end
    end
  end

  local not_before, not_after = leaf.not_before, leaf.not_after
  local sans = copy_list(leaf.dns_names)
  for _, ip in ipairs(leaf.ip_addresses) do sans[#sans + 1] = ip end
  local cn = leaf.common_name
  if #sans == 0 and cn then sans[1] = cn end
  local wildcard = false
  for _, name in ipairs(sans) do wildcard = wildcard or name:sub(1, 2) == "*." end
  local _, algorithm = key_algorithm(leaf)
  local cert = {
    id = server:new_certificate_id(),
    seq = server:next_seq(),
    type = cert_type,
    pem = pem, -- the certificate only: private keys are checked, never kept
    alias = p.Alias or "",
    project_id = p.ProjectId or 0,
    tags = p.Tags,
    domain = cn or sans[1] or "",
    sans = sans,
    wildcard = wildcard,
    not_before = not_before,
    not_after = not_after,
    inserted = server:now(),
    algorithm = algorithm,
    fingerprint = fingerprint,
    sha1 = leaf.sha1,
  }
  if cert_type == "CA" then
    cert.ca_algorithms, cert.ca_names, cert.ca_end_times = {}, {}, {}
    for i, crt in ipairs(chain) do
      cert.ca_algorithms[i] = (key_algorithm(crt))
      cert.ca_names[i] = crt.common_name or ""
      cert.ca_end_times[i] = cst_time(crt.not_after)
    end
  end
  server.certs[cert.id] = cert
  return { CertificateId = cert.id, RepeatCertId = "" }
end

local function contains(haystack, needle)
  return haystack:lower():find(needle, 1, true) ~= nil
end

local function has_tags(cert, wanted)
  for _, want in ipairs(wanted) do
    local found = false
    for _, tag in ipairs(cert.tags or {}) do
      if tag.TagKey == want.TagKey and tag.TagValue == want.TagValue then
        found = true
      end
    end
    if not found then return false end
  end
  return true
end

local function in_list(list, value)
  for _, v in ipairs(list) do if v == value then return true end end
  return false
end

-- Certificates newest first (the API's default order).
local function newest_first(a, b)
  return a.seq > b.seq
end

HANDLERS.DescribeCertificates = function(server, p, ctx)
  local paging = schema.model().actions.DescribeCertificates.paging
  local offset = p.Offset or 0
  local limit = p.Limit or paging.default_page_size
  if offset < 0 then raise("InvalidParameterValue", "Offset must not be negative.") end
  if limit < 0 then raise("InvalidParameterValue", "Limit must not be negative.") end
  limit = min(limit, paging.max_page_size) -- "最大值1000，如超过1000按1000处理"
  local sort_order = p.ExpirationSort
  if sort_order ~= nil and sort_order ~= "ASC" and sort_order ~= "DESC" then
    raise("InvalidParameterValue", "ExpirationSort must be ASC or DESC.")
  end
  local search = p.SearchKey and p.SearchKey:lower()
  local now = server:now()

  local matches = {}
  for _, cert in pairs(server.certs) do
    local ok = true
    if search and search ~= "" then
      ok = contains(cert.id, search) or contains(cert.alias, search) or contains(cert.domain, search)
    end
    if ok and p.CertIds and #p.CertIds > 0 then ok = in_list(p.CertIds, cert.id) end
    if ok and p.CertificateType and p.CertificateType ~= "" then ok = cert.type == p.CertificateType end
    if ok and p.ProjectId then ok = cert.project_id == p.ProjectId end
    if ok and p.FilterSource and p.FilterSource ~= "" then
      ok = (p.FilterSource == "buy") == (cert.applied == true)
    end
    if ok and p.CertificateStatus and #p.CertificateStatus > 0 then
      ok = in_list(p.CertificateStatus, status_of(server, cert))
    end
    if ok and p.FilterExpiring == 1 then ok = expiring(cert, now) end
    if ok and p.Deployable then ok = (cert.type ~= "CA") == (p.Deployable == 1) end
    -- no certificate here is SM or renewable; orders wait to be issued until they are
    if ok and (p.IsSM == 1 or p.Renew == 1) then ok = false end
    if ok and p.IsPendingIssue == 1 then
      local s = status_of(server, cert)
      ok = s == CERT["under review"] or s == CERT["DNS record added automatically"]
    end
    if ok and p.Tags and #p.Tags > 0 then ok = has_tags(cert, p.Tags) end
    if ok then matches[#matches + 1] = cert end
  end

  sort(matches, function(a, b)
    -- orders without an end time sort after every certificate that has one
    local ea, eb = a.not_after or math.huge, b.not_after or math.huge
    if sort_order and ea ~= eb then
      if sort_order == "ASC" then return ea < eb end
      return ea > eb
    end
    return newest_first(a, b)
  end)

  local page = array()
  for i = offset + 1, min(offset + limit, #matches) do
    page[#page + 1] = list_view(server, matches[i], ctx.language)
  end
  return { TotalCount = #matches, Certificates = page }
end

local function find_certificate(server, id)
  if id == "" then raise("MissingParameter", "The request is missing a required parameter `CertificateId`.") end
  local cert = server.certs[id]
  if not cert then
    raise("FailedOperation.CertificateNotFound", "The certificate `" .. id .. "` does not exist.")
  end
  return cert
end

HANDLERS.DescribeCertificate = function(server, p, ctx)
  local cert = find_certificate(server, p.CertificateId)
  issuer.progress(server, cert, true)
  return detail_view(server, cert, ctx.language)
end

HANDLERS.DeleteCertificate = function(server, p)
  local cert = find_certificate(server, p.CertificateId)
  server.certs[cert.id] = nil
  if p.IsCheckResource then
    -- Checking bound resources makes the real deletion asynchronous: DeleteResult false plus
    -- a task id. Nothing is ever bound here, so the "task" has already finished.
    return { DeleteResult = false, TaskId = tostring(server:next_seq() + 1000000) }
  end
  return { DeleteResult = true }
end

-- Cheap store effects on top of a synthesized response.

HANDLERS.DescribeCertificateDetail = function(server, p, ctx, action_model)
  local cert = find_certificate(server, p.CertificateId)
  issuer.progress(server, cert, true)
  local out = overlay(synthesize(server, "DescribeCertificateDetail", action_model), detail_view(server, cert,
    ctx.language), action_model.output)
  out.CertificatePublicKey = cert.pem or ""
  out.CertificatePrivateKey = cert.key_pem or "" -- kept only for certificates the emulator issued
  out.EncryptCert, out.EncryptPrivateKey, out.EncryptCertFingerprint = "", "", "" -- SM certificates only
  out.TypeName = cert.product or null
  out.CertFingerprint = cert.sha1 and cert.sha1:upper() or "" -- "签名证书 SHA1指纹"
  out.EncryptAlgorithm = cert.algorithm
  return out
end

HANDLERS.ModifyCertificateAlias = function(server, p)
  local cert = find_certificate(server, p.CertificateId)
  cert.alias = p.Alias or ""
  return { CertificateId = cert.id }
end

HANDLERS.ModifyCertificateProject = function(server, p)
  local done, failed = array(), array()
  for _, id in ipairs(p.CertificateIdList) do
    local cert = server.certs[id]
    if cert then cert.project_id = p.ProjectId end
    local list = cert and done or failed
    list[#list + 1] = id
  end
  return { SuccessCertificates = done, FailCertificates = failed }
end

HANDLERS.DeleteCertificates = function(server, p)
  local done, failed, tasks = array(), array(), array()
  for _, id in ipairs(p.CertificateIds) do
    if server.certs[id] then
      server.certs[id] = nil
      done[#done + 1] = id
      tasks[#tasks + 1] = { CertId = id, TaskId = tostring(server:next_seq() + 1000000) }
    else
      failed[#failed + 1] = { CertId = id, Msg = "The certificate does not exist." }
    end
  end
  return { Success = done, Fail = failed, CertTaskIds = tasks }
end

HANDLERS.CheckCertificateExist = function(server, p)
  local leaf = parse_certificate_pem(p.CertificatePublicKey)
  local found = {}
  for _, cert in pairs(server.certs) do
    if cert.fingerprint == leaf.sha256 then found[#found + 1] = cert end
  end
  sort(found, newest_first)
  return { RepeatCertId = found[1] and found[1].id or "" }
end

-- Creates and stores a certificate record (orders of ApplyCertificate); fields as the upload
-- handler sets them.
local function new_certificate(server, fields)
  if server:certificate_count() >= MAX_CERTIFICATES then
    raise("LimitExceeded", "The emulator holds at most " .. MAX_CERTIFICATES .. " certificates.")
  end
  local cert = { id = server:new_certificate_id(), seq = server:next_seq(), inserted = server:now() }
  for k, v in pairs(fields) do cert[k] = v end
  server.certs[cert.id] = cert
  return cert
end

-- Resources, deployments and updates (tcssl_emulator.tasks); free certificates and downloads
-- (tcssl_emulator.issuer). Both get the helpers they share with this file.
local KIT = {
  raise = raise, array = array, null = null, copy = copy_list, cst_time = cst_time,
  find_certificate = find_certificate, status_of = status_of,
  parse_certificate_pem = parse_certificate_pem, new_certificate = new_certificate, handlers = HANDLERS,
}
resources.install(HANDLERS, KIT)
issuer.install(HANDLERS, KIT)

--- The actions answered from the certificate store rather than synthesized from the model.
M.STORE_ACTIONS = {}
for name in pairs(HANDLERS) do M.STORE_ACTIONS[#M.STORE_ACTIONS + 1] = name end
sort(M.STORE_ACTIONS)

-------------------------------------------------------------------------------
-- The legacy 2017 API: CertGetList, CertUpload and CertDelete on /v2/index.php, v1 signatures,
-- the {code, message, codeDesc, data} envelope, the same certificate store.
-------------------------------------------------------------------------------

local LEGACY_PATH = "/v2/index.php"

-- Numeric codes of the legacy envelope. The documents (seeds 003 and the end of 004) only
-- point to a "公共错误码" page they do not include, so these are the API 2.0 common error
-- codes as that page listed them: 4000 invalid parameter, 4100 authentication failed,
-- 4104 SecretId not found, 4105 token error, 4200 request expired, 4400 over quota,
-- 4600 protocol not supported, 5000 resource operation failed, 6000 internal error,
-- 6100 action not supported in this version. codeDesc carries the API 3.0 code string
-- (e.g. 4100 with "AuthFailure.SignatureFailure"), so clients see the same err.code on both.
local LEGACY_CODES = {
  ["AuthFailure.SecretIdNotFound"] = 4104, ["AuthFailure.TokenFailure"] = 4105,
  ["AuthFailure.SignatureExpire"] = 4200, AuthFailure = 4100,
  InvalidParameter = 4000, InvalidParameterValue = 4000, MissingParameter = 4000,
  UnknownParameter = 4000, RequestSizeLimitExceeded = 4000,
  LimitExceeded = 4400, RequestLimitExceeded = 4400, UnsupportedProtocol = 4600,
  FailedOperation = 5000, InternalError = 6000, InvalidAction = 6100,
}

local function legacy_code(code)
  return LEGACY_CODES[code] or LEGACY_CODES[code:match("^[^.]+")] or 5000
end

-- The response envelope of either API for a result or an error ({ code, message }).
local function envelope(ctx, result, err)
  if ctx.legacy then
    if err then return { code = legacy_code(err.code), message = err.message, codeDesc = err.code } end
    return { code = 0, message = "", codeDesc = "Success", data = result }
  end
  local response = err and { Error = { Code = err.code, Message = err.message } } or result
  response.RequestId = ctx.request_id
  return { Response = response }
end

local function covers(cert, domain)
  for _, name in ipairs(cert.sans) do
    if name == domain or (name:sub(1, 2) == "*." and domain:match("^[^.]+(%..+)$") == name:sub(2)) then
      return true
    end
  end
  return false
end

-- A CertGetList item (field names and kinds as in the documents' example).
local function legacy_item(server, cert, with_cert)
  local status = status_of(server, cert)
  local text = TEXT["zh-CN"]
  local item = {
    ownerUin = server.owner_uin, projectId = tostring(cert.project_id), from = cert.from or "upload", type = "0",
    certType = cert.type, productZhName = cert.product or "", domain = cert.domain, alias = cert.alias,
    status = status, vulnerability_status = "INACTIVE", statusMsg = null, verifyType = cert.verify_type or "",
    certBeginTime = cert.not_before and cst_time(cert.not_before) or "",
    certEndTime = cert.not_after and cst_time(cert.not_after) or "",
    validityPeriod = cert.not_after and validity_months(cert.not_before, cert.not_after) or "3",
    insertTime = cst_time(cert.inserted),
    projectInfo = {
      projectId = tostring(cert.project_id), ownerUin = 0, name = text.project, creatorUin = 0,
      createTime = "0000-00-00 00:00:00", info = text.project,
    },
    id = cert.id, subjectAltName = copy_list(cert.sans), type_name = "",
    status_name = status_name(status, text),
    is_vip = false, is_dv = false, is_wildcard = cert.wildcard, is_vulnerability = false,
  }
  if with_cert then item.cert = cert.pem or "" end
  return item
end

local LEGACY = {}

LEGACY.CertUpload = function(server, p)
  local r = HANDLERS.UploadCertificate(server, {
    CertificatePublicKey = p.cert, CertificatePrivateKey = p.key, CertificateType = p.certType, Alias = p.alias,
  })
  return { id = r.CertificateId }
end

LEGACY.CertDelete = function(server, p)
  server.certs[find_certificate(server, p.id).id] = nil
  return array()
end

LEGACY.CertGetList = function(server, p)
  local page, count = p.page or 1, p.count or 20
  if page < 1 then raise("InvalidParameterValue", "page starts at 1.") end
  if count < 0 then raise("InvalidParameterValue", "count must not be negative.") end
  local search = p.searchKey and p.searchKey:lower() or ""
  local matches = {}
  for _, cert in pairs(server.certs) do
    if (search == "" or contains(cert.id, search) or contains(cert.alias, search) or contains(cert.domain, search))
      and (not p.certType or p.certType == "" or cert.type == p.certType)
      and (not p.id or p.id == "" or cert.id == p.id)
      and (not p.altDomain or p.altDomain == "" or covers(cert, p.altDomain:lower())) then
      matches[#matches + 1] = cert
    end
  end
  sort(matches, newest_first)
  local list = array()
  for i = (page - 1) * count + 1, min(page * count, #matches) do
    list[#list + 1] = legacy_item(server, matches[i], p.withCert == 1)
  end
  return { totalNum = #matches, list = list }
end

-------------------------------------------------------------------------------
-- Signature verification
-------------------------------------------------------------------------------

-- Parameters of signature v1 that are not the action's own.
local V1_COMMON = {
  Action = true, Version = true, Timestamp = true, Nonce = true, SecretId = true, Region = true,
  Token = true, Language = true, SignatureMethod = true, Signature = true, RequestClient = true,
}

local BAD_SIGNATURE = "The provided credentials could not be validated. Please check your signature is correct."

local function parse_tc3_authorization(value)
  local algorithm, rest = value:match("^%s*(%S+)%s+(.-)%s*$")
  if algorithm ~= "TC3-HMAC-SHA256" then return nil end
  local fields = {}
  for part in (rest .. ","):gmatch("([^,]*),") do
    local name, v = part:match("^%s*(%a+)=(%S*)%s*$")
    if not name or fields[name] then return nil end
    fields[name] = v
  end
  if not (fields.Credential and fields.SignedHeaders and fields.Signature) then return nil end
  local id, date, service, terminator = fields.Credential:match("^([^/]+)/([^/]+)/([^/]+)/([^/]+)$")
  if not id or terminator ~= "tc3_request" or not date:match("^%d%d%d%d%-%d%d%-%d%d$") then
    return nil
  end
  local names, seen = {}, {}
  if #fields.SignedHeaders > 1024 then return nil end
  for name in (fields.SignedHeaders .. ";"):gmatch("([^;]*);") do
    if not name:match("^[%l%d%-]+$") or seen[name] then return nil end
    seen[name] = true
    names[#names + 1] = name
  end
  if not (seen["content-type"] and seen.host) or #names > 30 then return nil end
  return { secret_id = id, date = date, service = service, signed = names, signature = fields.Signature }
end

local function check_timestamp(server, text)
  if not text or text == "" then
    raise("MissingParameter", "The request is missing a required parameter `Timestamp`.")
  end
  if not text:match("^%d+$") or #text > 12 then
    raise("InvalidParameter", "The parameter `Timestamp` should be Integer.")
  end
  local ts = tonumber(text)
  local now = floor(server:now())
  if abs(now - ts) > SIGNATURE_WINDOW then
    raise("AuthFailure.SignatureExpire", string.format(
      "Signature expired. Timestamp %d differs from the server time %d by more than %d seconds.",
      ts, now, SIGNATURE_WINDOW))
  end
  return ts
end

local function lookup_key(server, secret_id, token)
  local key = server.keys[secret_id]
  if not key then raise("AuthFailure.SecretIdNotFound", "The SecretId is not found.") end
  if key.expires and server:now() >= key.expires then
    raise("AuthFailure.TokenFailure", "The temporary credentials have expired.")
  end
  if token == "" then token = nil end
  if key.token then
    if not server:same(token, key.token) then
      raise("AuthFailure.TokenFailure", "The token is missing or invalid.")
    end
  elseif token then
    raise("AuthFailure.TokenFailure", "A token was sent for a permanent key.")
  end
  return key
end

local function verify_tc3(server, req, service)
  local auth = parse_tc3_authorization(req.headers.authorization)
  if not auth then
    raise("AuthFailure.InvalidAuthorization", "The Authorization header does not follow the TC3-HMAC-SHA256 format.")
  end
  local ts = check_timestamp(server, req.headers["x-tc-timestamp"])
  if auth.date ~= utc_date(ts) then
    raise("AuthFailure.SignatureFailure", "The credential date must be the UTC date of X-TC-Timestamp.")
  end
  if auth.service ~= service then
    raise("AuthFailure.SignatureFailure", "The credential scope names service `" .. auth.service
      .. "`, expected `" .. service .. "`.")
  end
  local key = lookup_key(server, auth.secret_id, req.headers["x-tc-token"])

  -- Canonical headers use lowercase, trimmed values (signing method v3, step 1).
  local extra = {}
  for _, name in ipairs(auth.signed) do
    local value = req.headers[name]
    if value == nil then
      raise("AuthFailure.SignatureFailure", "The signed header `" .. name .. "` is not in the request.")
    end
    if name ~= "content-type" and name ~= "host" then extra[name] = trim(value):lower() end
  end
  local _, expected = core.tc3_sign{
    secret_id = auth.secret_id,
    secret_key = key.secret_key,
    service = auth.service,
    host = trim(req.headers.host):lower(),
    method = req.method,
    query = req.method == "GET" and req.query or "",
    content_type = trim(req.headers["content-type"]):lower(),
    payload = req.method == "POST" and req.body or "",
    timestamp = ts,
    headers = extra,
  }
  if not server:same(expected, auth.signature) then
    raise("AuthFailure.SignatureFailure", BAD_SIGNATURE)
  end
end

local function verify_v1(server, req, params)
  for _, name in ipairs({ "SecretId", "Signature", "Nonce" }) do require_param(params, name) end
  if not params.Nonce:match("^%d+$") or #params.Nonce > 19 or not params.Nonce:match("[1-9]") then
    raise("InvalidParameter", "The parameter `Nonce` must be a positive integer.")
  end
  local ts = check_timestamp(server, params.Timestamp)
  local key = lookup_key(server, params.SecretId, params.Token)
  local pieces = {}
  for _, name in ipairs(sorted_keys(params)) do
    if name ~= "Signature" then pieces[#pieces + 1] = name .. "=" .. params[name] end
  end
  local method = params.SignatureMethod == "HmacSHA256" and "HmacSHA256" or "HmacSHA1"
  local text = req.method .. trim(req.headers.host or "") .. req.path .. "?" .. concat(pieces, "&")
  local expected = core.v1_sign(method, key.secret_key, text)
  if not server:same(expected, params.Signature) then
    raise("AuthFailure.SignatureFailure", BAD_SIGNATURE)
  end
  server:check_replay(params.SecretId .. "/" .. params.Nonce .. "/" .. ts .. "/" .. params.Signature, ts)
  return ts
end

local function check_version(version, expected, service)
  if not version or version == "" then
    raise("MissingParameter", "The request is missing a required parameter `Version`.")
  end
  if version ~= expected then
    raise("NoSuchVersion", "The API version `" .. version .. "` does not exist for service `" .. service .. "`.")
  end
end

local function media_type(req)
  return (req.headers["content-type"] or ""):match("^%s*([^;%s]*)"):lower()
end

-- The services the emulator answers over API 3.0: the SSL API, and STS for credentials.
local SERVICES = {
  ssl = { service = M.SERVICE, version = M.API_VERSION },
  sts = { service = "sts", version = cloud.STS_VERSION },
}

local function service_of(req)
  return req.headers["x-tc-version"] == cloud.STS_VERSION and SERVICES.sts or SERVICES.ssl
end

-- Returns action, params (nested Lua tables), language. STS's AssumeRoleWithWebIdentity
-- comes unsigned (Authorization: SKIP), as the official SDKs send it.
local function read_tc3_request(server, req, api)
  local action = req.headers["x-tc-action"]
  if not action or action == "" then
    raise("MissingParameter", "The request is missing a required parameter `Action`.")
  end
  check_version(req.headers["x-tc-version"], api.version, api.service)
  local sts = api.service == "sts" and cloud.STS_ACTIONS[action]
  if not (sts and not sts.signed and trim(req.headers.authorization) == "SKIP") then
    verify_tc3(server, req, api.service)
  end

  local params
  local media = media_type(req)
  -- signing v3: GET takes application/x-www-form-urlencoded only; a POST form body needs v1
  if req.method == "GET" and media ~= "application/x-www-form-urlencoded" then
    raise("InvalidParameter", "A GET request must have Content-Type application/x-www-form-urlencoded.")
  end
  if req.method == "POST" and media == "application/x-www-form-urlencoded" then
    raise("AuthFailure.InvalidAuthorization", "A form-encoded POST body takes signature v1, not TC3-HMAC-SHA256.")
  end
  if req.method == "GET" then
    local flat, err = parse_form(req.query)
    if not flat then raise("InvalidParameter", err) end
    params = unflatten(flat)
  elseif media == "application/json" then
    local body = req.body:match("^%s*$") and "{}" or req.body
    local decoded = json.decode(body) -- integers exact up to 64 bits, nulls dropped
    if type(decoded) ~= "table" or json.is_array(decoded) then
      raise("InvalidParameter", "The request body is not a JSON object.")
    end
    params = decoded
  elseif media == "application/x-www-form-urlencoded" then
    local flat, err = parse_form(req.body)
    if not flat then raise("InvalidParameter", err) end
    params = unflatten(flat)
  elseif media == "multipart/form-data" then
    raise("UnsupportedOperation", "multipart/form-data requests are not supported by the emulator.")
  else
    raise("InvalidParameter", "Unsupported Content-Type `" .. media .. "`.")
  end
  return action, params, req.headers["x-tc-language"]
end

-- The legacy API (req.legacy) has no Version parameter; otherwise the same as API 3.0's v1.
local function read_v1_request(server, req)
  local text
  if req.method == "GET" then
    text = req.query
  elseif media_type(req) == "application/x-www-form-urlencoded" then
    text = req.body
  else
    raise("AuthFailure.InvalidAuthorization", "The request has neither an Authorization header nor v1 form parameters.")
  end
  local flat, err = parse_form(text)
  if not flat then raise("InvalidParameter", err) end
  local action = require_param(flat, "Action")
  if not req.legacy then check_version(flat.Version, M.API_VERSION, M.SERVICE) end
  verify_v1(server, req, flat)
  local own = {}
  for name, value in pairs(flat) do
    if not V1_COMMON[name] then own[name] = value end
  end
  return action, unflatten(own), flat.Language
end

-------------------------------------------------------------------------------
-- Faults
-------------------------------------------------------------------------------

local FAULT_TYPES = {
  delay = true, reset = true, http500 = true, html = true, truncated = true,
  truncated_chunked = true, truncated_close = true, invalid_json = true, deep_json = true, big = true,
  api_error = true, clock = true,
}

local function number_field(spec, name, default, low, high)
  local v = spec[name]
  if v == nil then return default end
  if type(v) ~= "number" or v ~= v or v < low or v > high then
    return nil, string.format("%s must be a number between %s and %s", name, low, high)
  end
  return v
end

-- Validates a fault request body; returns a fault record or nil, message.
local function make_fault(spec)
  if type(spec) ~= "table" or not FAULT_TYPES[spec.type] then
    return nil, "type must be one of: delay, reset, http500, html, truncated, truncated_chunked, "
      .. "invalid_json, deep_json, big, api_error, clock"
  end
  local count, err = number_field(spec, "count", 1, 1, 1000000)
  if not count then return nil, err end
  if spec.action ~= nil and (type(spec.action) ~= "string" or not spec.action:match("^%u%w*$")) then
    return nil, "action must be an action name such as UpdateCertificateInstance"
  end
  local fault = { type = spec.type, count = floor(count), action = spec.action }
  local checks = {
    delay = { "seconds", 1, 0, 3600 },
    html = { "status", 200, 100, 599 },
    big = { "bytes", 1024 * 1024, 0, 1024 * 1024 * 1024 },
    deep_json = { "depth", 10000, 1, 1000000 },
    clock = { "offset", 0, -1e9, 1e9 },
  }
  local check = checks[spec.type]
  if check then
    local value, message = number_field(spec, check[1], check[2], check[3], check[4])
    if not value then return nil, message end
    fault[check[1]] = value
  end
  if spec.type == "api_error" then
    if spec.code ~= nil and (type(spec.code) ~= "string" or spec.code == "") then
      return nil, "code must be a non-empty string"
    end
    if spec.message ~= nil and type(spec.message) ~= "string" then return nil, "message must be a string" end
    fault.code = spec.code or "InternalError"
    fault.message = spec.message or "Injected by the emulator."
  end
  return fault
end

-------------------------------------------------------------------------------
-- HTTP connections. Every method that does I/O runs inside the connection's coroutine and
-- yields "read", "write" or "sleep" to the server loop when it would block.
-------------------------------------------------------------------------------

local REASONS = {
  [100] = "Continue", [200] = "OK", [400] = "Bad Request", [404] = "Not Found",
  [405] = "Method Not Allowed", [408] = "Request Timeout", [413] = "Payload Too Large",
  [431] = "Request Header Fields Too Large",
  [500] = "Internal Server Error", [501] = "Not Implemented", [502] = "Bad Gateway",
  [503] = "Service Unavailable", [504] = "Gateway Timeout",
}

local Conn = {}
Conn.__index = Conn

local function new_conn(server, sock, tls)
  return setmetatable({ server = server, sock = sock, tls = tls, buf = "", eof = false, served = 0 }, Conn)
end

-- What to wait for after a non-blocking call failed with err; nil for a real error.
-- `direction` is what a plain "timeout" means: "read" for receives, "write" for sends.
local function would_block(err, direction)
  if err == "timeout" then return direction end
  if err == "wantread" then return "read" end
  if err == "wantwrite" then return "write" end
end

function Conn:handshake()
  for _ = 1, 1000 do
    local ok, err = self.sock:dohandshake()
    if ok then return true end
    local wait = would_block(err, "read")
    if not wait then return nil, err end
    yield(wait)
  end
  return nil, "handshake did not finish"
end

-- Waits for the socket; false when the server resumed the connection because its request
-- ran past request_timeout (see Server:step).
local function wait_for(wait)
  return yield(wait) ~= "request timeout"
end

-- Appends whatever is available to self.buf, waiting if nothing is.
function Conn:fill()
  while not self.eof do
    local data, err, partial = self.sock:receive(READ_CHUNK)
    local got = data or partial
    if got and got ~= "" then
      -- a later request on a kept-alive connection is timed from its first byte
      if self.reading then
        self.request_bytes = true
        self.request_started = self.request_started or gettime()
      end
      self.buf = self.buf .. got
      if err == "closed" then self.eof = true end
      return true
    end
    local wait = would_block(err, "read")
    if not wait then
      self.eof = true
      return nil, err
    end
    if not wait_for(wait) then return nil, "request timeout" end
  end
  return nil, "closed"
end

-- Reads exactly n bytes (or drops them when discard is set).
function Conn:read_exact(n, discard)
  local parts, have = {}, 0
  if self.buf ~= "" then
    local take = self.buf:sub(1, n)
    self.buf = self.buf:sub(n + 1)
    parts[1], have = take, #take
  end
  while have < n do
    local data, err, partial = self.sock:receive(min(n - have, READ_CHUNK))
    local got = data or partial
    if got and got ~= "" then
      have = have + #got
      if not discard then parts[#parts + 1] = got end
    end
    if not data then
      local wait = would_block(err, "read")
      if not wait then
        self.eof = true
        return nil, err
      end
      if (not got or got == "") and not wait_for(wait) then return nil, "request timeout" end
    end
  end
  return discard and "" or concat(parts)
end

function Conn:read_line(limit)
  for _ = 1, limit + 2 do -- each fill adds at least one byte
    local pos = self.buf:find("\n", 1, true)
    if pos then
      local line = self.buf:sub(1, pos - 1):gsub("\r$", "")
      self.buf = self.buf:sub(pos + 1)
      return line
    end
    if #self.buf > limit then return nil, "line too long" end
    local ok, err = self:fill()
    if not ok then return nil, err end
  end
  return nil, "line too long"
end

function Conn:send(data)
  local i, n = 1, #data
  while i <= n do
    local last, err, partial = self.sock:send(data, i)
    if last then
      i = last + 1
    else
      if partial and partial >= i then i = partial + 1 end
      local wait = would_block(err, "write")
      if not wait then return nil, err end
      yield(wait)
    end
  end
  return true
end

function Conn:head(status, headers)
  local ok, now = pcall(self.server.now, self.server)
  local lines = {
    "HTTP/1.1 " .. status .. " " .. (REASONS[status] or "Status"),
    "Date: " .. http_date(ok and now or os.time()),
    "Server: tcssl-emulator",
  }
  for _, h in ipairs(headers) do lines[#lines + 1] = h[1] .. ": " .. h[2] end
  self.status = status
  return concat(lines, "\r\n") .. "\r\n\r\n"
end

function Conn:send_head(status, headers)
  return self:send(self:head(status, headers))
end

-- A complete response with Content-Length.
function Conn:respond(status, content_type, body, close)
  local headers = {
    { "Content-Type", content_type },
    { "Content-Length", tostring(#body) },
  }
  if close then
    headers[#headers + 1] = { "Connection", "close" }
  elseif self.http10 then
    headers[#headers + 1] = { "Connection", "keep-alive" }
  end
  return self:send(self:head(status, headers) .. body)
end

function Conn:close()
  if not self.closed then
    self.closed = true
    self.sock:close()
  end
end

-- Closes so that the peer sees a TCP reset, not an orderly end of stream.
function Conn:abort()
  if self.closed then return end
  self.closed = true
  if not self.tls then
    self.sock:setoption("linger", { on = true, timeout = 0 })
    self.sock:close()
    return
  end
  -- lua-sec offers no setoption, and its close() sends close_notify first. So: set SO_LINGER 0
  -- on the descriptor through a bare luasocket object and close it (the reset), then park a
  -- fresh socket on the freed number (the lowest free descriptor is reused) so that lua-sec's
  -- own close hits that placeholder instead of whatever the number is given to next.
  local fd = self.sock:getfd()
  local proxy = socket.tcp4()
  proxy:close()
  proxy:setfd(fd)
  proxy:setoption("linger", { on = true, timeout = 0 })
  proxy:close()
  local placeholder = socket.tcp4()
  if placeholder and placeholder:getfd() == fd then
    self.sock:close()
    placeholder:setfd(-1)
  else
    if placeholder then placeholder:close() end
    M._lingering[#M._lingering + 1] = self.sock -- never closed: its descriptor is already gone
  end
end
M._lingering = {}

local function wants_close(req)
  local connection = (req.headers.connection or ""):lower()
  if connection:find("close", 1, true) then return true end
  if req.http10 then return not connection:find("keep-alive", 1, true) end
  return false
end

-- Reads one request. Returns req, or nil, message [, status to answer with].
-- The whole read is bounded by the server's request_timeout: the first request's from the
-- accept, a later one's from its first byte (Conn:fill); idle_timeout bounds each wait.
function Conn:read_request()
  self.reading, self.request_bytes = true, self.buf ~= ""
  if self.served > 0 then self.request_started = self.request_bytes and gettime() or nil end
  local head_end
  for _ = 1, MAX_HEAD_BYTES do
    self.buf = self.buf:gsub("^\r?\n", "") -- tolerate blank lines between requests
    local _, e = self.buf:find("\r?\n\r?\n")
    if e then
      head_end = e
      break
    end
    if #self.buf > MAX_HEAD_BYTES then return nil, "request head too large", 431 end
    local ok, err = self:fill()
    if not ok then return nil, err end
  end
  if not head_end then return nil, "request head too large", 431 end
  local head = self.buf:sub(1, head_end)
  self.buf = self.buf:sub(head_end + 1)
  if #head > MAX_HEAD_BYTES then return nil, "request head too large", 431 end

  local lines = {}
  for line in head:gmatch("([^\n]*)\n") do lines[#lines + 1] = line:gsub("\r$", "") end
  local method, target, major, minor = lines[1]:match("^(%u+) (%S+) HTTP/(%d)%.(%d)$")
  if not method then return nil, "malformed request line", 400 end
  local req = { method = method, target = target, headers = {}, http10 = major == "1" and minor == "0" }
  if #lines > MAX_HEADERS + 2 then return nil, "too many headers", 431 end
  for i = 2, #lines do
    local line = lines[i]
    if line ~= "" then
      local name, value = line:match("^([!#$%%&'*+%-.^_`|~%w]+):[ \t]*(.-)[ \t]*$")
      if not name then return nil, "malformed header line", 400 end
      name = name:lower()
      local previous = req.headers[name]
      req.headers[name] = previous and (previous .. ", " .. value) or value
    end
  end
  -- absolute-form, as an HTTP proxy forwards it: keep the path and query
  target = target:match("^https?://[^/?#]+(/.*)$") or target:match("^https?://[^/?#]+$") and "/" or target
  req.path, req.query = target:match("^([^?]*)%??(.*)$")
  if req.path:sub(1, 1) ~= "/" then return nil, "request target must be a path", 400 end
  if not req.headers.host and not req.http10 then return nil, "missing Host header", 400 end
  req.close = wants_close(req)
  return self:read_body(req)
end

function Conn:read_body(req)
  local te = req.headers["transfer-encoding"]
  local cl = req.headers["content-length"]
  if te and cl then return nil, "both Transfer-Encoding and Content-Length", 400 end
  if te then
    if te:lower() ~= "chunked" then return nil, "unsupported Transfer-Encoding", 501 end
    return self:read_chunked(req)
  end
  if not cl then
    req.body = ""
    return req
  end
  if not cl:match("^%d+$") or #cl > 15 then return nil, "malformed Content-Length", 400 end
  local length = tonumber(cl)
  if length > MAX_BODY_BYTES then
    req.too_large = true
    req.body = ""
    if length > MAX_DRAIN_BYTES then
      req.close = true
      return req
    end
    self:continue(req)
    local ok, err = self:read_exact(length, true)
    if not ok then return nil, err end
    return req
  end
  self:continue(req)
  local body, err = self:read_exact(length)
  if not body then return nil, err end
  req.body = body
  return req
end

function Conn:continue(req)
  local expect = req.headers.expect
  if expect and expect:lower() == "100-continue" and not req.http10 then
    self:send("HTTP/1.1 100 Continue\r\n\r\n")
  end
end

function Conn:read_chunked(req)
  self:continue(req)
  local parts, total = {}, 0
  for _ = 1, MAX_BODY_BYTES do
    local line, err = self:read_line(4096)
    if not line then return nil, err end
    local hex = line:match("^%s*(%x+)")
    -- eight hex digits already exceed the body cap; longer ones would wrap around
    local size = hex and #hex <= 8 and tonumber(hex, 16)
    if not size then return nil, "malformed chunk size", 400 end
    if size == 0 then
      for _ = 1, MAX_HEADERS do -- trailers, ignored
        local trailer, terr = self:read_line(4096)
        if not trailer then return nil, terr end
        if trailer == "" then break end
      end
      req.body = concat(parts)
      return req
    end
    total = total + size
    if total > MAX_BODY_BYTES then
      req.too_large, req.close, req.body = true, true, ""
      return req
    end
    local data, derr = self:read_exact(size)
    if not data then return nil, derr end
    parts[#parts + 1] = data
    local crlf = self:read_line(2)
    if crlf ~= "" then return nil, "malformed chunk", 400 end
  end
  return nil, "too many chunks", 400
end

function Conn:sleep(seconds)
  self.wake = gettime() + seconds
  yield("sleep")
end

-------------------------------------------------------------------------------
-- The server
-------------------------------------------------------------------------------

local Server = {}
Server.__index = Server

local function read_urandom(n)
  local f = io.open("/dev/urandom", "rb")
  if not f then return nil end
  local bytes = f:read(n)
  f:close()
  return bytes
end

local function normalize_keys(keys)
  local out = {}
  for id, key in pairs(keys) do
    if type(key) == "string" then key = { secret_key = key } end
    assert(type(id) == "string" and type(key) == "table" and type(key.secret_key) == "string",
      "keys must map SecretId to { secret_key = ..., token = ... }")
    out[id] = { secret_key = key.secret_key, token = key.token }
  end
  return out
end

--- Creates a server listening on opts.host:opts.port. Returns server or nil, message.
-- opts: host, port (0 picks a free one), keys, tls = { cert = path, key = path },
-- max_lifetime, idle_timeout, request_timeout, max_connections, clock (function returning
-- Unix time), log (function receiving one line per request; never given secrets).
function M.new(opts)
  opts = opts or {}
  local self = setmetatable({}, Server)
  self.host = opts.host or DEFAULTS.host
  self.keys = normalize_keys(opts.keys or { [M.DEMO_SECRET_ID] = { secret_key = M.DEMO_SECRET_KEY } })
  self.clock = opts.clock or os.time
  self.log = opts.log
  self.max_lifetime = opts.max_lifetime or DEFAULTS.max_lifetime
  self.idle_timeout = opts.idle_timeout or DEFAULTS.idle_timeout
  self.request_timeout = opts.request_timeout or DEFAULTS.request_timeout
  self.max_connections = min(opts.max_connections or DEFAULTS.max_connections, (socket._SETSIZE or 1024) - 24)
  self.owner_uin = opts.owner_uin or "100000000001"
  self.metadata_role = opts.metadata_role
  self.web_identity_token = opts.web_identity_token
  self.initial_settings = {}
  for k, v in pairs(M.SETTINGS) do self.initial_settings[k] = v end
  for k, v in pairs(opts.settings or {}) do
    assert(SETTING_LIMITS[k] and type(v) == "number", "unknown or malformed setting " .. tostring(k))
    self.initial_settings[k] = v
  end
  self.raise = raise
  self.seed = (read_urandom(32) or "") .. tostring(self) .. tostring(gettime()) .. tostring(os.clock())
  self.compare_key = core.sha256(self.seed .. "compare")
  self.counter = 0

  if opts.tls then
    local ssl = require "ssl"
    local ctx, err = ssl.newcontext{
      mode = "server", protocol = "any", certificate = opts.tls.cert, key = opts.tls.key,
    }
    if not ctx then return nil, "TLS setup failed: " .. tostring(err) end
    self.ssl, self.tls_context = ssl, ctx
  end

  local listener, err = socket.bind(self.host, opts.port or DEFAULTS.port, 128)
  if not listener then return nil, "cannot listen on " .. self.host .. ": " .. tostring(err) end
  listener:settimeout(0)
  self.listener = listener
  local _, port = listener:getsockname()
  self.port = tonumber(port)
  self.conns, self.conn_count, self.conn_seq = {}, 0, 0
  -- 0: no limit, for a long-running emulator a user starts by hand
  self.expires_at = self.max_lifetime > 0 and gettime() + self.max_lifetime or math.huge
  self:reset()
  return self
end

function Server:url()
  local host = self.host:find(":", 1, true) and ("[" .. self.host .. "]") or self.host
  return (self.tls_context and "https" or "http") .. "://" .. host .. ":" .. self.port
end

--- The emulator's clock for signatures, Date headers and InsertTime (the clock fault shifts it).
function Server:now()
  return self.clock() + self.clock_offset
end

function Server:reset()
  self.epoch = (self.epoch or 0) + 1 -- connections accepted before a reset are not counted after it
  self.certs = {}
  self.settings = {}
  for k, v in pairs(self.initial_settings) do self.settings[k] = v end
  resources.reset(self)
  issuer.reset(self)
  self.faults = {}
  self.clock_offset = 0
  -- evicted: connections closed to make room; request_timeouts: cut at request_timeout
  self.stats = { connections = 0, requests = 0, api_requests = 0, evicted = 0, request_timeouts = 0 }
  self.nonces, self.nonce_count = {}, 0
  for id, key in pairs(self.keys) do
    if key.expires then self.keys[id] = nil end -- temporary keys from STS or the metadata service
  end
end

function Server:certificate_count()
  local n = 0
  for _ in pairs(self.certs) do n = n + 1 end
  return n
end

function Server:next_seq()
  self.counter = self.counter + 1
  return self.counter
end

function Server:random_bytes(n)
  local out, have = {}, 0
  while have < n do
    local block = core.sha256(self.seed .. self:next_seq())
    out[#out + 1] = block
    have = have + #block
  end
  return concat(out):sub(1, n)
end

local ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

function Server:random_token(n)
  local bytes, out = self:random_bytes(n), {}
  for i = 1, n do
    local k = bytes:byte(i) % #ALNUM + 1
    out[i] = ALNUM:sub(k, k)
  end
  return concat(out)
end

function Server:new_certificate_id()
  for _ = 1, 100 do
    local id = self:random_token(8)
    if not self.certs[id] then return id end
  end
  error("could not find a free certificate id")
end

function Server:request_id()
  local h = core.hex(self:random_bytes(16))
  local variant = ("89ab"):sub(h:byte(17) % 4 + 1, h:byte(17) % 4 + 1)
  return h:sub(1, 8) .. "-" .. h:sub(9, 12) .. "-4" .. h:sub(14, 16) .. "-" .. variant .. h:sub(18, 20)
    .. "-" .. h:sub(21, 32)
end

-- Equality that does not leak where two strings differ: compares keyed digests of both.
function Server:same(a, b)
  if type(a) ~= "string" or type(b) ~= "string" then return false end
  return core.hmac("sha256", self.compare_key, a) == core.hmac("sha256", self.compare_key, b)
end

-- Nonce and Timestamp guard v1 against replays: the same signed request seen again within the
-- signature window is refused. Old entries are dropped as the window moves; the table is bounded.
local MAX_NONCES = 100000
function Server:check_replay(id, ts)
  local now = self:now()
  local seen = self.nonces
  if seen[id] then
    raise("AuthFailure.SignatureFailure", "This Nonce and Timestamp were already used (replayed request).")
  end
  if self.nonce_count >= MAX_NONCES then
    for k, t in pairs(seen) do
      if now - t > SIGNATURE_WINDOW then seen[k] = nil; self.nonce_count = self.nonce_count - 1 end
    end
    if self.nonce_count >= MAX_NONCES then
      self.nonces, self.nonce_count = {}, 0
      seen = self.nonces
    end
  end
  seen[id] = ts
  self.nonce_count = self.nonce_count + 1
end

-- The first armed fault for this request: a fault with an `action` waits for a request of
-- that action (its X-TC-Action header); one without takes the next request.
function Server:take_fault(req)
  for i, fault in ipairs(self.faults) do
    if not fault.action or (req and req.headers["x-tc-action"] == fault.action) then
      fault.count = fault.count - 1
      if fault.count <= 0 then table.remove(self.faults, i) end
      return fault
    end
  end
  return nil
end

-- Reads, checks and answers one API request; returns the result or raises an API error.
function Server:answer(req, ctx)
  if req.too_large then
    raise("RequestSizeLimitExceeded", "The request body exceeds " .. MAX_BODY_BYTES .. " bytes.")
  end
  if req.method ~= "GET" and req.method ~= "POST" then
    raise("UnsupportedProtocol", "Only GET and POST requests are supported.")
  end
  local model = schema.model()
  if req.legacy then
    local action, params = read_v1_request(self, req)
    ctx.action = action
    local action_model = model.legacy.actions[action]
    if not action_model then raise("InvalidAction", "The action `" .. action .. "` does not exist.") end
    return LEGACY[action](self, check_params(action_model, params, model.legacy.structs), ctx)
  end
  local action, params, language
  local api = service_of(req)
  if api.service == "sts" then
    if not req.headers.authorization then raise("AuthFailure.InvalidAuthorization", "STS takes TC3 requests.") end
    action, params = read_tc3_request(self, req, api)
    ctx.action = action
    local sts = cloud.STS_ACTIONS[action]
    if not sts then raise("InvalidAction", "The action `" .. action .. "` does not exist.") end
    return sts.handler(self, params)
  end
  if req.headers.authorization then
    action, params, language = read_tc3_request(self, req, api)
  else
    action, params, language = read_v1_request(self, req)
  end
  ctx.action, ctx.language = action, language
  local action_model = model.actions[action]
  if not action_model then raise("InvalidAction", "The action `" .. action .. "` does not exist.") end
  local p = check_params(action_model, params, model.structs)
  ctx.region = req.headers["x-tc-region"] or p.Region
  ctx.host, ctx.scheme = req.headers.host, self.tls_context and "https" or "http"
  resources.settle(self)
  issuer.settle(self)
  local handler = HANDLERS[action]
  if handler then return handler(self, p, ctx, action_model) end
  return synthesize(self, action, action_model)
end

local INTERNAL_ERROR = { code = "InternalError", message = "An internal error occurred." }

-- API request -> the JSON text of the envelope, and the request's context.
function Server:api_response(req)
  local ctx = { request_id = self:request_id(), legacy = req.legacy }
  local ok, result = pcall(self.answer, self, req, ctx)
  local err
  if not ok then
    err = result
    if not is_api_error(result) then
      self:note("internal error: " .. tostring(result))
      err = INTERNAL_ERROR
    end
  end
  local text, why = json.encode(envelope(ctx, ok and result or nil, err))
  if not text then
    self:note("encoding error: " .. tostring(why))
    text = json.encode(envelope(ctx, nil, INTERNAL_ERROR))
  end
  return text, ctx
end

local HTML_PAGE = [[<!DOCTYPE html>
<html><head><title>502 Bad Gateway</title></head>
<body><h1>502 Bad Gateway</h1><p>The upstream API server did not answer (emulated gateway page).</p>
<hr><address>tcssl-emulator gateway</address></body></html>
]]

-- Plays an armed fault. Returns "close" when the connection must end, "normal" to answer normally.
function Server:play_fault(conn, fault, req)
  local kind = fault.type
  if kind == "delay" then
    conn:sleep(fault.seconds)
    return "normal"
  elseif kind == "reset" then
    conn:abort()
    return "close"
  elseif kind == "http500" then
    conn:respond(500, "text/plain; charset=utf-8", "Internal Server Error (injected by tcssl-emulator)\n", req.close)
  elseif kind == "html" then
    conn:respond(fault.status, "text/html; charset=utf-8", HTML_PAGE, req.close)
  elseif kind == "invalid_json" then
    conn:respond(200, "application/json", '{"Response": {"RequestId": "not-json", "Certificates": [}', req.close)
  elseif kind == "deep_json" then
    conn:respond(200, "application/json", string.rep("[", fault.depth) .. string.rep("]", fault.depth), req.close)
  elseif kind == "api_error" then
    local body = json.encode(envelope({ request_id = self:request_id(), legacy = req.legacy }, nil,
      { code = fault.code, message = fault.message }))
    conn:respond(200, "application/json", body, req.close)
  elseif kind == "truncated" then
    local body = self:api_response(req)
    conn:send_head(200, { { "Content-Type", "application/json" }, { "Content-Length", tostring(#body + 1024) } })
    conn:send(body:sub(1, max(1, floor(#body / 2))))
    conn.status = 200
    return "close"
  elseif kind == "truncated_close" then
    -- no Content-Length: the body ends where the connection does, half way through
    local body = self:api_response(req)
    conn:send_head(200, { { "Content-Type", "application/json" }, { "Connection", "close" } })
    conn:send(body:sub(1, max(1, floor(#body / 2))))
    conn.status = 200
    return "close"
  elseif kind == "truncated_chunked" then
    local body = self:api_response(req)
    local part = body:sub(1, max(1, floor(#body / 2)))
    conn:send_head(200, { { "Content-Type", "application/json" }, { "Transfer-Encoding", "chunked" } })
    conn:send(string.format("%x\r\n%s\r\n", #part, part))
    conn.status = 200
    return "close"
  elseif kind == "big" then
    self:send_big(conn, fault.bytes, req.close)
  end
  return req.close and "close" or "done"
end

-- A syntactically valid envelope of exactly `bytes` bytes when that is large enough, padded
-- with a filler field; streamed so that large sizes need no large string.
function Server:send_big(conn, bytes, close)
  local prefix = '{"Response":{"RequestId":"' .. self:request_id() .. '","Padding":"'
  local suffix = '"}}'
  local headers = { { "Content-Type", "application/json" }, { "Content-Length", ("%d"):format(bytes) } }
  if close then headers[#headers + 1] = { "Connection", "close" } end
  conn:send_head(200, headers)
  conn.status = 200
  local filler = bytes - #prefix - #suffix
  if filler < 0 then
    return conn:send(string.rep("x", bytes))
  end
  conn:send(prefix)
  local block = string.rep("x", 64 * 1024)
  while filler > 0 do
    local n = min(filler, #block)
    if not conn:send(n == #block and block or block:sub(1, n)) then return end
    filler = filler - n
  end
  conn:send(suffix)
end

function Server:handle_api(conn, req)
  self.stats.api_requests = self.stats.api_requests + 1
  if req.method ~= "GET" and req.method ~= "POST" then req.close = true end -- e.g. HEAD: no framing
  local fault = self:take_fault(req)
  if fault then
    local outcome = self:play_fault(conn, fault, req)
    if outcome ~= "normal" then return outcome ~= "close" end
  end
  local body, ctx = self:api_response(req)
  conn.action = ctx.action
  conn:respond(200, "application/json", body, req.close)
  return not req.close
end

-- The metadata service: faults apply as to API requests; answers are plain, not envelopes.
function Server:handle_metadata(conn, req)
  self.stats.api_requests = self.stats.api_requests + 1
  local fault = self:take_fault()
  if fault then
    local outcome = self:play_fault(conn, fault, req)
    if outcome ~= "normal" then return outcome ~= "close" end
  end
  local status, ctype, body = cloud.metadata(self, req.path)
  conn:respond(status, ctype, body, req.close)
  return not req.close
end

-- The links DescribeDownloadCertificateUrl hands out (unsigned, like a presigned URL).
function Server:handle_download(conn, req)
  local ok, status, ctype, body = pcall(issuer.download, self, req.path)
  if not ok then
    self:note("download error: " .. tostring(status))
    status, ctype, body = 500, "text/plain", "Internal Server Error\n"
  end
  conn:respond(status, ctype, body, req.close)
  return not req.close
end

-- POST /__emulator/config { "task_polls": 1, ... } changes settings; GET shows them.
function Server:control_config(req)
  if req.method == "POST" then
    local spec = json.decode(req.body ~= "" and req.body or "null")
    if type(spec) ~= "table" then return 400, { error = "expected a JSON object of settings" } end
    for name, value in pairs(spec) do
      local limits = SETTING_LIMITS[name]
      if not limits then return 400, { error = "unknown setting " .. tostring(name) } end
      if type(value) ~= "number" or value ~= value or value < limits[1] or value > limits[2] then
        return 400, { error = ("%s must be a number from %s to %s"):format(name, limits[1], limits[2]) }
      end
    end
    for name, value in pairs(spec) do self.settings[name] = value end
  end
  return 200, self.settings
end

function Server:control_response(req)
  local name = req.path:sub(#CONTROL_PREFIX + 1)
  local post = req.method == "POST"
  if name == "stats" then
    local s = self.stats
    local pending = 0
    for _, f in ipairs(self.faults) do pending = pending + f.count end
    return 200, { connections = s.connections, requests = s.requests, api_requests = s.api_requests,
      certificates = self:certificate_count(), faults_pending = pending }
  elseif not post and (name == "fault" or name == "reset" or name == "shutdown") then
    return 405, { error = "use POST" }
  elseif name == "fault" then
    local spec = json.decode(req.body ~= "" and req.body or "null")
    local fault, err = make_fault(spec)
    if not fault then return 400, { error = err } end
    if fault.type == "clock" then
      self.clock_offset = fault.offset
    elseif #self.faults >= MAX_FAULTS then
      return 400, { error = "too many armed faults" }
    else
      self.faults[#self.faults + 1] = fault
    end
    return 200, { ok = true }
  elseif name == "reset" then
    self:reset()
    return 200, { ok = true }
  elseif name == "config" then
    return self:control_config(req)
  elseif name == "resources" then
    return resources.control_resources(self, req, json.decode)
  elseif name == "shutdown" then
    return 200, { ok = true }, "shutdown"
  end
  return 404, { error = "unknown control endpoint" }
end

function Server:handle_control(conn, req)
  local ok, status, result, after = pcall(self.control_response, self, req)
  if not ok then
    self:note("control error: " .. tostring(status))
    status, result = 500, { error = "internal error" }
  end
  local close = req.close or after == "shutdown"
  conn:respond(status, "application/json", json.encode(result), close)
  if after == "shutdown" then self.stopping = true end
  return not close
end

-- Handles one request; returns true to keep the connection open.
function Server:dispatch(conn, req)
  conn.http10 = req.http10
  conn.status, conn.action = nil, nil
  local started = gettime()
  local keep
  if req.path:sub(1, #CONTROL_PREFIX) == CONTROL_PREFIX then
    -- A connection opened for control calls does not count as one of the API clients'.
    if conn.served == 0 and conn.epoch == self.epoch then
      self.stats.connections = self.stats.connections - 1
    end
    keep = self:handle_control(conn, req)
  else
    self.stats.requests = self.stats.requests + 1
    if req.path == "/" or req.path == LEGACY_PATH then
      req.legacy = req.path == LEGACY_PATH
      keep = self:handle_api(conn, req)
    elseif req.path:sub(1, #cloud.METADATA_PREFIX) == cloud.METADATA_PREFIX then
      keep = self:handle_metadata(conn, req)
    elseif req.path:sub(1, #issuer.DOWNLOAD_PREFIX) == issuer.DOWNLOAD_PREFIX and req.method == "GET" then
      keep = self:handle_download(conn, req)
    else
      conn:respond(404, "text/plain; charset=utf-8", "Not Found\n", req.close)
      keep = not req.close
    end
  end
  conn.served = conn.served + 1
  if self.log then
    self.log(string.format("%s %s %s -> %s (%.1f ms)", req.method, req.path, conn.action or "-",
      tostring(conn.status or "reset"), (gettime() - started) * 1000))
  end
  return keep
end

function Server:note(message)
  if self.log then self.log(message) end
end

-- The body of a connection's coroutine.
function Server:serve(conn)
  if conn.tls then
    local ok = conn:handshake()
    if not ok then return end
  end
  for _ = 1, MAX_REQUESTS_PER_CONNECTION do
    local req, err, status = conn:read_request()
    conn.reading, conn.request_started = false, nil
    if not req and conn.timed_out then
      -- too slow in all: answered when part of a request had come, else just closed
      if not conn.request_bytes then return end
      status, err = 408, "the request did not arrive within " .. self.request_timeout .. " s"
    end
    if not req then
      if status then
        conn:respond(status, "text/plain; charset=utf-8", (REASONS[status] or "Error") .. ": " .. err .. "\n", true)
      end
      return
    end
    if not self:dispatch(conn, req) or self.stopping then return end
  end
end

-- Whether a connection may be closed to make room for a new one: it has not sent a whole
-- request yet and waits for more of it (nothing of its is being answered).
local function evictable(conn)
  return conn.served == 0 and conn.reading and conn.wait == "read"
end

-- The connection a newcomer displaces when every slot is taken: the oldest evictable one.
function Server:eviction_victim()
  local victim
  for conn in pairs(self.conns) do
    if evictable(conn) and (not victim or conn.seq < victim.seq) then victim = conn end
  end
  return victim
end

-- Accepts what is waiting. When every slot is taken, each newcomer takes the place of the
-- oldest connection that has not sent a whole request, so slow or silent clients cannot
-- keep others out; with none such, newcomers wait in the listen queue.
function Server:accept()
  for _ = 1, MAX_ACCEPTS_PER_STEP do
    local victim
    if self.conn_count >= self.max_connections then
      victim = self:eviction_victim()
      if not victim then return end
    end
    local client = self.listener:accept()
    if not client then return end
    if victim then
      self.stats.evicted = self.stats.evicted + 1
      self:drop(victim)
    end
    client:settimeout(0)
    client:setoption("tcp-nodelay", true)
    local sock = client
    if self.tls_context then
      sock = self.ssl.wrap(client, self.tls_context)
      if sock then sock:settimeout(0) end
    end
    if not sock then
      client:close()
    else
      local conn = new_conn(self, sock, self.tls_context ~= nil)
      conn.epoch = self.epoch
      self.conn_seq = self.conn_seq + 1
      conn.seq = self.conn_seq
      -- the first request (and a TLS handshake before it) is timed from the accept
      conn.reading, conn.request_started = true, gettime()
      self.stats.connections = self.stats.connections + 1
      conn.co = coroutine.create(function() return self:serve(conn) end)
      self.conns[conn] = true
      self.conn_count = self.conn_count + 1
      self:resume(conn)
    end
  end
end

function Server:drop(conn)
  if self.conns[conn] then
    self.conns[conn] = nil
    self.conn_count = self.conn_count - 1
  end
  conn:close()
end

-- signal is what the connection's pending yield returns ("request timeout" or nothing).
function Server:resume(conn, signal)
  local ok, wait = coroutine.resume(conn.co, signal)
  if not ok then
    self:note("connection error: " .. tostring(wait))
    self:drop(conn)
  elseif coroutine.status(conn.co) == "dead" then
    self:drop(conn)
  else
    conn.wait = wait
    if wait ~= "sleep" then
      -- idleness restarts at every byte; the request's whole read does not
      local deadline = gettime() + self.idle_timeout
      if conn.request_started then deadline = min(deadline, conn.request_started + self.request_timeout) end
      conn.deadline = deadline
    end
  end
end

-- A connection past its deadline: one whose request took too long in all is resumed once
-- to answer 408 and close; any other (idle, or already told) is closed.
function Server:expire(conn, now)
  if conn.request_started and not conn.timed_out and now >= conn.request_started + self.request_timeout then
    conn.timed_out = true
    self.stats.request_timeouts = self.stats.request_timeouts + 1
    self:resume(conn, "request timeout")
  else
    self:drop(conn)
  end
end

--- Runs one iteration of the loop, waiting at most `timeout` seconds (default 1) for I/O.
-- Returns false once the server has stopped (shutdown request or max_lifetime).
function Server:step(timeout)
  if self.closed then return false end
  local now = gettime()
  if now >= self.expires_at then
    self:note("max lifetime reached")
    self:close()
    return false
  end
  local wait = min(timeout or 1, self.expires_at - now)
  local recvt, sendt, ready = {}, {}, {}
  local room = self.conn_count < self.max_connections
  for conn in pairs(self.conns) do
    room = room or evictable(conn)
    if conn.wait == "read" then
      -- lua-sec may hold decrypted bytes that select() cannot see
      if conn.sock.dirty and conn.sock:dirty() then
        ready[conn] = true
        wait = 0
      else
        recvt[#recvt + 1] = conn.sock
      end
      wait = min(wait, conn.deadline - now)
    elseif conn.wait == "write" then
      sendt[#sendt + 1] = conn.sock
      wait = min(wait, conn.deadline - now)
    elseif conn.wait == "sleep" then
      wait = min(wait, conn.wake - now)
    end
  end

  if room then recvt[#recvt + 1] = self.listener end
  local readable, writable = socket.select(recvt, sendt, max(wait, 0))
  readable, writable = readable or {}, writable or {}
  if readable[self.listener] then self:accept() end

  now = gettime()
  local due, expired = {}, {}
  for conn in pairs(self.conns) do
    local kind = conn.wait
    if ready[conn] or readable[conn.sock] or writable[conn.sock] then
      due[#due + 1] = conn
    elseif kind == "sleep" then
      if now >= conn.wake then due[#due + 1] = conn end
    elseif now >= conn.deadline then
      expired[#expired + 1] = conn
    end
  end
  for _, conn in ipairs(due) do
    if self.conns[conn] then self:resume(conn) end
  end
  for _, conn in ipairs(expired) do
    if self.conns[conn] then self:expire(conn, now) end
  end

  if self.stopping then
    self:close()
    return false
  end
  return true
end

--- Serves until shutdown or max_lifetime.
function Server:run()
  while self:step(1) do end
end

function Server:close()
  if self.closed then return end
  self.closed = true
  for conn in pairs(self.conns) do conn:close() end
  self.conns, self.conn_count = {}, 0
  self.listener:close()
end

M.Server = Server
return M

--- tcssl_emulator.legacy: the legacy 2017 API on /v2/index.php: CertGetList, CertUpload and
-- CertDelete, signed with v1, in the {code, message, codeDesc, data} envelope, over the same
-- certificate store as API 3.0.
local json = require "tcssl.json"
local schema = require "tcssl.schema"
local errors = require "tcssl_emulator.errors"
local params = require "tcssl_emulator.params"
local views = require "tcssl_emulator.views"
local certificates = require "tcssl_emulator.certificates"

local raise = errors.raise
local array, null = json.array, json.null
local min, sort = math.min, table.sort

local M = {}

M.PATH = "/v2/index.php"

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

--- envelope(result, err) -> the legacy reply around a result, or an error ({ code, message }).
function M.envelope(result, err)
  if err then return { code = legacy_code(err.code), message = err.message, codeDesc = err.code } end
  return { code = 0, message = "", codeDesc = "Success", data = result }
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
local function list_item(store, cert, with_cert)
  local status = store:status_of(cert)
  local text = views.TEXT["zh-CN"]
  local item = {
    ownerUin = store.owner_uin, projectId = tostring(cert.project_id), from = cert.from or "upload", type = "0",
    certType = cert.type, productZhName = cert.product or "", domain = cert.domain, alias = cert.alias,
    status = status, vulnerability_status = "INACTIVE", statusMsg = null, verifyType = cert.verify_type or "",
    certBeginTime = cert.not_before and views.cst_time(cert.not_before) or "",
    certEndTime = cert.not_after and views.cst_time(cert.not_after) or "",
    validityPeriod = cert.not_after and views.validity_months(cert.not_before, cert.not_after) or "3",
    insertTime = views.cst_time(cert.inserted),
    projectInfo = {
      projectId = tostring(cert.project_id), ownerUin = 0, name = text.project, creatorUin = 0,
      createTime = "0000-00-00 00:00:00", info = text.project,
    },
    id = cert.id, subjectAltName = views.list(cert.sans), type_name = "",
    status_name = views.status_name(status, text),
    is_vip = false, is_dv = false, is_wildcard = cert.wildcard, is_vulnerability = false,
  }
  if with_cert then item.cert = cert.pem or "" end
  return item
end

local H = {}

H.CertUpload = function(store, p)
  local r = certificates.upload(store, {
    CertificatePublicKey = p.cert, CertificatePrivateKey = p.key, CertificateType = p.certType, Alias = p.alias,
  })
  return { id = r.CertificateId }
end

H.CertDelete = function(store, p)
  store.certs[store:find_certificate(p.id).id] = nil
  return array()
end

H.CertGetList = function(store, p)
  local page, count = p.page or 1, p.count or 20
  if page < 1 then raise("InvalidParameterValue", "page starts at 1.") end
  if count < 0 then raise("InvalidParameterValue", "count must not be negative.") end
  local search = p.searchKey and p.searchKey:lower() or ""
  local matches = {}
  for _, cert in pairs(store.certs) do
    if (search == "" or certificates.matches_search(cert, search))
      and (not p.certType or p.certType == "" or cert.type == p.certType)
      and (not p.id or p.id == "" or cert.id == p.id)
      and (not p.altDomain or p.altDomain == "" or covers(cert, p.altDomain:lower())) then
      matches[#matches + 1] = cert
    end
  end
  sort(matches, certificates.newest_first)
  local list = array()
  for i = (page - 1) * count + 1, min(page * count, #matches) do
    list[#list + 1] = list_item(store, matches[i], p.withCert == 1)
  end
  return { totalNum = #matches, list = list }
end

--- answer(store, action, p) -> the reply's data: the action's own parameters p checked
-- against the legacy model, then its handler.
function M.answer(store, action, p)
  local model = schema.model().legacy
  local action_model = model.actions[action]
  if not action_model then raise("InvalidAction", "The action `" .. action .. "` does not exist.") end
  return H[action](store, params.check(action_model, p, model.structs))
end

return M

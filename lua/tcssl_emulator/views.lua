--- tcssl_emulator.views: how a stored certificate looks in replies (DescribeCertificates'
-- items, DescribeCertificate, the legacy CertGetList), and the ways replies write times and
-- lists, which the other parts share.
local json = require "tcssl.json"
local schema = require "tcssl.schema"
local docs = require "tcssl.model_docs"

local array, null = json.array, json.null
local floor = math.floor

local M = {}

local CST_OFFSET = 8 * 3600                  -- the API reports times in China Standard Time
local EXPIRING_WINDOW = 30 * 86400           -- "证书即将到期的30天内为即将过期"

--- cst_time(t) -> "2024-01-02 15:04:05", Unix time t in China Standard Time.
-- The emulator writes its times with os.date, not with tcssl.dates: the client reads them with
-- tcssl.dates, and a second implementation is what catches a mistake one of them makes.
function M.cst_time(t)
  return os.date("!%Y-%m-%d %H:%M:%S", floor(t) + CST_OFFSET)
end
local cst_time = M.cst_time

--- list(t) -> a copy of the sequence t (nil: empty) that is written as a JSON array.
function M.list(t)
  local out = array()
  for i, v in ipairs(t or {}) do out[i] = v end
  return out
end
local list = M.list

local function copy_tags(tags)
  local out = array()
  for i, tag in ipairs(tags or {}) do
    out[i] = { TagKey = tag.TagKey or "", TagValue = tag.TagValue or "" }
  end
  return out
end

--- validity_months(not_before, not_after) -> the ValidityPeriod text ("3", "12").
function M.validity_months(not_before, not_after)
  return tostring(floor((not_after - not_before) / (86400 * 30.44) + 0.5))
end
local validity_months = M.validity_months

-- Certificate statuses, from the model (the documents' values, English names) and its docs
-- (the documents' labels).
local CERTIFICATE_STATUS = schema.model().enums.CertificateStatus
local CERT = CERTIFICATE_STATUS.codes
local CERTIFICATE_LABELS = docs.enums.CertificateStatus

--- TEXT[language]: the words of replies in each language. A certificate's StatusName: for
-- issued and expired certificates the wording of the documents' examples ("证书已颁发",
-- "Certificate issued"); for the others the status's label (zh-CN) or its English name,
-- capitalised (en-US).
M.TEXT = {
  ["zh-CN"] = { issued = "证书已颁发", expired = "证书已过期", project = "默认项目",
    status = function(status) return CERTIFICATE_LABELS[status] end },
  ["en-US"] = { issued = "Certificate issued", expired = "Certificate expired", project = "Default Project",
    status = function(status)
      local name = CERTIFICATE_STATUS.names[status]
      return name and (name:sub(1, 1):upper() .. name:sub(2))
    end },
}
local TEXT = M.TEXT

--- status_name(status, text) -> the StatusName of a status in the words `text` (M.TEXT).
function M.status_name(status, text)
  if status == CERT.issued then return text.issued elseif status == CERT.expired then return text.expired end
  return text.status(status) or tostring(status)
end
local status_name = M.status_name

-- Times of a certificate; an order not issued yet has none (null).
local function time_or_null(t)
  if t == nil then return null end
  return cst_time(t)
end

--- expiring(cert, now) -> whether the certificate ends within the documents' 30 days.
function M.expiring(cert, now)
  return cert.not_after ~= nil and cert.not_after >= now and cert.not_after - now <= EXPIRING_WINDOW
end
local expiring = M.expiring

-- Fields common to DescribeCertificates' Certificates items and DescribeCertificate.
local function base_view(store, cert, lang)
  local now = store:now()
  local status = store:status_of(cert)
  local text = TEXT[lang] or TEXT["zh-CN"]
  local is_ca = cert.type == "CA"
  return {
    OwnerUin = store.owner_uin,
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
    SubjectAltName = list(cert.sans),
    IsVip = false,
    IsDv = cert.applied == true,
    IsWildcard = cert.wildcard,
    IsVulnerability = false,
    RenewAble = false,
    Deployable = not is_ca and (status == CERT.issued),
    Tags = copy_tags(cert.tags),
    CAEncryptAlgorithms = list(is_ca and cert.ca_algorithms),
    CACommonNames = list(is_ca and cert.ca_names),
    CAEndTimes = list(is_ca and cert.ca_end_times),
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

--- item(store, cert, lang) -> an item of DescribeCertificates' Certificates.
function M.item(store, cert, lang)
  local view, now, text = base_view(store, cert, lang)
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
  view.CertSANs = list(cert.sans)
  view.AwaitingValidationMsg = null
  local status = store:status_of(cert)
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

-- DvAuthDetail of an order (its validation values, tcssl_emulator.issuer), or nil.
local function dv_detail(cert)
  local dv = cert.dv
  if not dv then return nil end
  return {
    DvAuthKey = dv.key, DvAuthValue = dv.value, DvAuthDomain = dv.domain, DvAuthPath = dv.path,
    DvAuthKeySubDomain = dv.subdomain,
    DvAuths = array({ { DvAuthKey = dv.key, DvAuthValue = dv.value, DvAuthDomain = dv.domain,
      DvAuthPath = dv.path, DvAuthSubDomain = dv.subdomain, DvAuthVerifyType = dv.verify_type } }),
  }
end

--- detail(store, cert, lang) -> DescribeCertificate's answer.
function M.detail(store, cert, lang)
  local view = base_view(store, cert, lang)
  view.OrderId = cert.order_id or null
  view.DvAuthDetail = dv_detail(cert) or null
  view.VulnerabilityReport = null
  view.SubmittedData = null
  view.DvRevokeAuthDetail = array()
  return view
end

return M

--- tcssl_emulator.issuer: the emulator's certificate authority: free DV certificates (ApplyCertificate,
-- CompleteCertificate, CheckCertificateDomainVerification) and downloads
-- (DownloadCertificate, DescribeDownloadCertificateUrl and the link it hands out).
--
-- ApplyCertificate creates an order with DNS (TXT) or FILE validation values. Validation
-- starts with CompleteCertificate (at once for DNS_AUTO; asking again while it runs is
-- harmless; on an uploaded or issued certificate it answers the documented
-- FailedOperation.CertificateNotFoundOrAudited), and the certificate is issued
-- "later": at the settings.issue_polls-th DescribeCertificate / DescribeCertificateDetail of
-- it, or settings.issue_seconds after validation started. Domains under `.invalid` (RFC 2606)
-- never validate: their orders end in status 2 (review failed), so failures can be tested.
-- Issued certificates are real X.509 certificates from a CA the emulator makes at first use
-- (lua-luaossl); their private keys are kept, since the cloud made them, and downloaded.
--
-- Archives are real zips (tcssl.core.zip, libzip). The documents say only that Content is a
-- base64 zip and that a download link's file is named like `xxx.com_nginx.zip`; the layout
-- here follows that name: one folder `<domain>_<type>` per store type, with the files that
-- store type uses (a wildcard's `*` becomes `_`):
--   nginx   <d>_bundle.crt (certificate + chain), <d>_bundle.pem (the same), <d>.key
--   apache  <d>.crt (certificate), root_bundle.crt (chain), <d>.key
--   iis     <d>.pfx (PKCS#12: key, certificate, chain), keystorePass.txt
--   tomcat  <d>.pfx (PKCS#12, keystoreType="PKCS12"), keystorePass.txt
--   other   <d>.pem (certificate + chain), <d>.key
--   root    root_bundle.crt (chain)
-- A certificate uploaded with its private key keeps it (in memory, as the API does) and its
-- archives carry it; one uploaded without (a CA certificate) has archives without the .key
-- files and the key stores. JKS keystores are not written.
--
-- Its state is the store's ca and downloads (tcssl_emulator.store); M.handlers are its actions.
local core = require "tcssl.core"
local json = require "tcssl.json"
local schema = require "tcssl.schema"
local errors = require "tcssl_emulator.errors"
local views = require "tcssl_emulator.views"
local mint = require "tcssl_emulator.mint"

local raise = errors.raise
local array = json.array

local M = {}

-- Certificate statuses by their English names (the model's CertificateStatus).
local CERT = schema.model().enums.CertificateStatus.codes

M.SERVICE_TYPES = { "nginx", "apache", "iis", "tomcat", "other", "root" }
local KNOWN_TYPES = { nginx = true, apache = true, iis = true, tomcat = true, other = true, root = true,
  jks = true }
local INVALID_SUFFIX = "%.invalid$"
local MAX_DOWNLOADS = 1000
local DOWNLOAD_TTL = 3600
M.DOWNLOAD_PREFIX = "/__download/"

local FREE_PRODUCT = "TrustAsia C1 DV Free"

-------------------------------------------------------------------------------
-- Minting (lua-luaossl): only from values the emulator chose itself, never from input bytes.
-------------------------------------------------------------------------------

local function sign_certificate(spec)
  spec.org = "tcssl emulator"
  if spec.issuer then spec.issuer_cert, spec.issuer = spec.issuer, nil end
  if not spec.ca then spec.dns = { spec.cn } end
  return mint.certificate(spec)
end

local function authority(store)
  if not store.ca then
    local pkey = require "openssl.pkey"
    local key = pkey.new{ type = "EC", curve = "prime256v1" }
    local now = math.floor(store:now())
    local crt = sign_certificate{ cn = "tcssl Emulator DV CA", key = key, ca = true, serial = store:next_seq(),
      not_before = now - 86400, not_after = now + 20 * 365 * 86400 }
    store.ca = { key = key, cert = crt, pem = crt:toPEM() }
  end
  return store.ca
end

-- Issues the order's certificate: a new key (RSA 2048 or ECC P-256, as ordered) and a
-- 90-day certificate for the domain, signed by the emulator's CA.
local function issue(store, cert)
  local pkey = require "openssl.pkey"
  local ca = authority(store)
  local key
  if cert.key_algorithm == "ECC" then
    key = pkey.new{ type = "EC", curve = "prime256v1" }
  else
    key = pkey.new{ type = "RSA", bits = 2048 }
  end
  local now = math.floor(store:now())
  local crt = sign_certificate{ cn = cert.domain, key = key, issuer = ca.cert, issuer_key = ca.key,
    serial = now * 1000 + store:next_seq() % 1000, not_before = now, not_after = now + 90 * 86400 - 1 }
  local leaf_pem = crt:toPEM()
  local leaf = assert(core.x509_parse(leaf_pem))[1]
  cert.pem = leaf_pem .. ca.pem
  cert.chain_pem = ca.pem
  cert.key_pem = key:toPEM("private")
  cert.not_before, cert.not_after = leaf.not_before, leaf.not_after
  cert.fingerprint, cert.sha1 = leaf.sha256, leaf.sha1
  cert.sans = views.list(leaf.dns_names)
  cert.algorithm = cert.key_algorithm == "ECC" and "ECC 256" or "RSA 2048"
  cert.status, cert.status_msg = CERT.issued, nil
  cert.validation.done = true
  cert.issued_at = now
end

-------------------------------------------------------------------------------
-- Orders
-------------------------------------------------------------------------------

local function valid_domain(d)
  if type(d) ~= "string" or #d > 253 or not d:find("%.") then return false end
  local name = d:gsub("^%*%.", "")
  for label in (name .. "."):gmatch("([^.]*)%.") do
    if #label > 63 or not (label:find("^%w$") or label:find("^%w[%w%-]*%w$")) then return false end
  end
  return true
end

-- The order's validation values, shaped as the documents' examples show them.
local function dv_values(store, domain, method)
  local token = core.hex(store:random_bytes(16))
  local base = domain:gsub("^%*%.", "")
  if method == "FILE" then
    return { verify_type = "FILE", key = token .. ".txt", value = store:random_token(48), domain = base,
      path = "/.well-known/pki-validation/", subdomain = "" }
  end
  local sub = "_" .. token
  return { verify_type = "TXT", key = sub .. "." .. base, value = store:random_token(48), domain = base,
    path = "", subdomain = sub }
end

local H = {}
M.handlers = H

H.ApplyCertificate = function(store, p)
  local method = p.DvAuthMethod
  if method ~= "DNS_AUTO" and method ~= "DNS" and method ~= "FILE" then
    raise("InvalidParameterValue", "DvAuthMethod must be DNS_AUTO, DNS or FILE.")
  end
  local domain = (p.DomainName or ""):lower()
  if not valid_domain(domain) then raise("InvalidParameterValue", "DomainName is not a domain name.") end
  if method == "FILE" and domain:sub(1, 2) == "*." then
    raise("InvalidParameterValue", "A wildcard domain cannot be validated with FILE.")
  end
  if p.PackageType and p.PackageType ~= "" and p.PackageType ~= "83" then
    raise("InvalidParameterValue", "PackageType can only be 83 (TrustAsia C1 DV Free).")
  end
  if p.ValidityPeriod and p.ValidityPeriod ~= "" and p.ValidityPeriod ~= "3" then
    raise("InvalidParameterValue", "ValidityPeriod can only be 3 (months).")
  end
  local algo = p.CsrEncryptAlgo and p.CsrEncryptAlgo ~= "" and p.CsrEncryptAlgo or "RSA"
  if algo == "RSA" then
    if p.CsrKeyParameter and p.CsrKeyParameter ~= "" and p.CsrKeyParameter ~= "2048" then
      raise("InvalidParameterValue", "RSA keys can only be 2048 bits.")
    end
  elseif algo == "ECC" then
    if not p.CsrKeyParameter or p.CsrKeyParameter == "" then
      raise("MissingParameter", "The request is missing a required parameter `CsrKeyParameter`.")
    elseif p.CsrKeyParameter ~= "prime256v1" then
      raise("InvalidParameterValue", "ECC keys can only be prime256v1.")
    end
  else
    raise("InvalidParameterValue", "CsrEncryptAlgo must be RSA or ECC.")
  end
  if p.OldCertificateId and p.OldCertificateId ~= "" then store:find_certificate(p.OldCertificateId) end
  local cert = store:add_certificate({
    type = "SVR", from = "trustasia", package_type = "83", product = FREE_PRODUCT, applied = true,
    alias = p.Alias or "", project_id = p.ProjectId or 0, domain = domain, sans = array({ domain }),
    wildcard = domain:sub(1, 2) == "*.", verify_type = method, key_algorithm = algo,
    key_password = p.CsrKeyPassword, old_id = p.OldCertificateId, order_id = "emu_" .. store:random_token(12),
    status = method == "DNS_AUTO" and CERT["DNS record added automatically"] or CERT["under review"],
    status_msg = "PENDING-DCV",
    dv = dv_values(store, domain, method), algorithm = algo == "ECC" and "ECC 256" or "RSA 2048",
  })
  if method == "DNS_AUTO" then
    cert.validation = { started = store:now(), polls = 0 }
  end
  return { CertificateId = cert.id }
end

-- The action's error table lists FailedOperation.CertificateNotFoundOrAudited ("该证书不存在或已
-- 签发": the certificate does not exist or is already issued) and no CertificateNotFound, so
-- that is the answer for an unknown id, an uploaded certificate (no order to validate) and an
-- order already issued.
local NOT_FOUND_OR_AUDITED = "FailedOperation.CertificateNotFoundOrAudited"

H.CompleteCertificate = function(store, p)
  if p.CertificateId == "" then
    raise("MissingParameter", "The request is missing a required parameter `CertificateId`.")
  end
  local cert = store.certs[p.CertificateId]
  if not cert then
    raise(NOT_FOUND_OR_AUDITED, "The certificate `" .. p.CertificateId .. "` does not exist.")
  end
  if not cert.applied then
    raise(NOT_FOUND_OR_AUDITED, "Certificate " .. cert.id .. " was uploaded, not applied for: there is no "
      .. "validation to start.")
  end
  if cert.status == CERT.issued or cert.status == CERT.expired then
    raise(NOT_FOUND_OR_AUDITED, "Certificate " .. cert.id .. " is already issued.")
  end
  if cert.status == CERT["review failed"] or cert.status == CERT.cancelled then
    raise("FailedOperation", "The order of certificate " .. cert.id .. " has already failed.")
  end
  if not cert.validation then
    cert.validation = { started = store:now(), polls = 0 }
    cert.status_msg = "WAIT-ISSUE"
  end
  return { CertificateId = cert.id }
end

--- progress(store, cert, polled): moves a validating order on; `polled` counts a poll.
function M.progress(store, cert, polled)
  local v = cert.validation
  if not v or v.done then return end
  if polled then v.polls = v.polls + 1 end
  local due = v.polls >= store.settings.issue_polls or store:now() - v.started >= store.settings.issue_seconds
  if not due then return end
  if cert.domain:find(INVALID_SUFFIX) then
    v.done = true
    cert.status, cert.status_msg = CERT["review failed"], "域名验证超时，订单自动关闭，请您重新进行证书申请"
    return
  end
  issue(store, cert)
end

-- Orders that are due by time (called before every API request).
function M.settle(store)
  for _, cert in pairs(store.certs) do
    if cert.validation and not cert.validation.done then M.progress(store, cert, false) end
  end
end

H.CheckCertificateDomainVerification = function(store, p)
  local cert = store:find_certificate(p.CertificateId)
  local status = store:status_of(cert)
  local issued = status == CERT.issued or status == CERT.expired
  local out = array()
  local validating = cert.validation and not cert.validation.done
  for _, name in ipairs(cert.sans) do
    local passed = issued or validating
    out[#out + 1] = {
      Domain = name, VerifyType = cert.verify_type or "DNS", LocalCheck = passed and 1 or -1,
      CaCheck = issued and 2 or -1, LocalCheckFailReason = passed and "" or "txt record not found",
      CheckValue = array(passed and cert.dv and { cert.dv.value } or {}), Frequently = false, Issued = issued,
    }
  end
  return { VerificationResults = out }
end

-------------------------------------------------------------------------------
-- Archives
-------------------------------------------------------------------------------

local function file_stem(cert)
  return (cert.domain ~= "" and cert.domain or cert.id):gsub("%*", "_"):gsub("[^%w%.%-_]", "_")
end

-- The leaf and chain of a stored certificate, as PEM text.
local CERT_BLOCK = "%-%-%-%-%-BEGIN CERTIFICATE%-%-%-%-%-.-%-%-%-%-%-END CERTIFICATE%-%-%-%-%-"
local function pem_parts(cert)
  local blocks = {}
  for block in cert.pem:gsub("\r\n?", "\n"):gmatch(CERT_BLOCK) do
    blocks[#blocks + 1] = block .. "\n"
  end
  local chain = table.concat(blocks, "", 2)
  return blocks[1] or cert.pem, chain, table.concat(blocks)
end

local function keystore(store, cert, leaf, chain)
  local pkey = require "openssl.pkey"
  local x509 = require "openssl.x509"
  -- luaossl takes the certificate from the stack: the one that matches the key
  local stack = require("openssl.x509.chain").new()
  stack:add(x509.new(leaf))
  for block in chain:gmatch(CERT_BLOCK) do
    stack:add(x509.new(block))
  end
  local password = cert.key_password and cert.key_password ~= "" and cert.key_password or store:random_token(12)
  local p12 = require("openssl.pkcs12").new{ key = pkey.new(cert.key_pem), certs = stack, password = password }
  return tostring(p12), password
end

-- { { name, data }, … } of one store type, inside the folder `prefix`.
local function layout(store, cert, stype, prefix)
  local d = file_stem(cert)
  local leaf, chain, full = pem_parts(cert)
  local key = cert.key_pem
  local files = {}
  local function add(name, data)
    if data and data ~= "" then files[#files + 1] = { name = prefix .. name, data = data } end
  end
  if stype == "nginx" then
    add(d .. "_bundle.crt", full)
    add(d .. "_bundle.pem", full)
    add(d .. ".key", key)
  elseif stype == "apache" then
    add(d .. ".crt", leaf)
    add("root_bundle.crt", chain)
    add(d .. ".key", key)
  elseif stype == "iis" or stype == "tomcat" then
    if key then
      local pfx, password = keystore(store, cert, leaf, chain)
      add(d .. ".pfx", pfx)
      add("keystorePass.txt", password .. "\n")
    end
  elseif stype == "other" then
    add(d .. ".pem", full)
    add(d .. ".key", key)
  elseif stype == "root" then
    add("root_bundle.crt", chain)
  end
  return files
end

local function downloadable(store, cert)
  local status = store:status_of(cert)
  if status ~= CERT.issued and status ~= CERT.expired then
    return false, "FailedOperation.CertificateStatusNotAllowDownload", "The certificate is not issued yet."
  end
  if cert.no_download then
    return false, "FailedOperation.CertificateNotAllowDownload", "The certificate does not allow downloads."
  end
  return true
end

local function archive(cert, files)
  local zip, err = core.zip(files, { mtime = math.max(315532800, math.floor(cert.inserted)) })
  if not zip then error("cannot write the archive: " .. tostring(err)) end
  return zip
end

H.DownloadCertificate = function(store, p)
  local cert = store:find_certificate(p.CertificateId)
  local ok, code, message = downloadable(store, cert)
  if not ok then
    raise(code == "FailedOperation.CertificateStatusNotAllowDownload" and "FailedOperation.InvalidCertificateStatusCode"
      or code, message)
  end
  local files = {}
  for _, stype in ipairs(M.SERVICE_TYPES) do
    for _, f in ipairs(layout(store, cert, stype, file_stem(cert) .. "_" .. stype .. "/")) do files[#files + 1] = f end
  end
  return { Content = core.base64(archive(cert, files)), ContentType = "application/zip" }
end

H.DescribeDownloadCertificateUrl = function(store, p, ctx)
  local cert = store:find_certificate(p.CertificateId)
  local stype = (p.ServiceType and p.ServiceType ~= "" and p.ServiceType or "nginx"):lower()
  if not KNOWN_TYPES[stype] or stype == "jks" then
    raise("FailedOperation.CertificateDownloadServiceTypeNotSupport",
      "The emulator offers " .. table.concat(M.SERVICE_TYPES, ", ") .. " archives.")
  end
  local ok, code, message = downloadable(store, cert)
  if not ok then raise(code, message) end
  if (stype == "iis" or stype == "tomcat") and not cert.key_pem then
    raise("FailedOperation.CertificateDownloadServiceTypeNotSupport",
      "No private key is kept for this certificate, so there is no " .. stype .. " key store.")
  end
  local count = 0
  for token, d in pairs(store.downloads) do
    if d.expires < store:now() then store.downloads[token] = nil else count = count + 1 end
  end
  if count >= MAX_DOWNLOADS then store.downloads = {} end
  local token = store:random_token(32)
  local filename = file_stem(cert) .. "_" .. stype .. ".zip"
  store.downloads[token] = { cert_id = cert.id, type = stype, expires = store:now() + DOWNLOAD_TTL,
    filename = filename }
  local host = ctx.host and ctx.host:match("^[%w%.%-%[%]:]+$") or ctx.address
  return {
    DownloadCertificateUrl = ctx.scheme .. "://" .. host .. M.DOWNLOAD_PREFIX .. token .. "/" .. filename,
    DownloadFilename = filename,
  }
end

--- download(store, path) -> status, content type, body: the link DescribeDownloadCertificateUrl gave.
function M.download(store, path)
  local token = path:sub(#M.DOWNLOAD_PREFIX + 1):match("^(%w+)/[^/]+$")
  local d = token and store.downloads[token]
  if not d or d.expires < store:now() then return 404, "text/plain", "Not Found\n" end
  local cert = store.certs[d.cert_id]
  if not cert or not downloadable(store, cert) then return 404, "text/plain", "Not Found\n" end
  local prefix = file_stem(cert) .. "_" .. d.type .. "/"
  return 200, "application/zip", archive(cert, layout(store, cert, d.type, prefix))
end

return M

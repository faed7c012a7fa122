--- tcssl_emulator.certificates: the API 3.0 actions of the certificate store: UploadCertificate,
-- DescribeCertificates, DescribeCertificate, DescribeCertificateDetail, DeleteCertificate(s),
-- ModifyCertificateAlias, ModifyCertificateProject and CheckCertificateExist.
--
-- Each handler(store, params, ctx, action_model) gets the store (tcssl_emulator.store) and the
-- parameters already checked against the model, and returns the reply's contents or raises
-- an API error (tcssl_emulator.errors).
local json = require "tcssl.json"
local schema = require "tcssl.schema"
local errors = require "tcssl_emulator.errors"
local params = require "tcssl_emulator.params"
local pem = require "tcssl_emulator.pem"
local views = require "tcssl_emulator.views"
local synth = require "tcssl_emulator.synth"
local issuer = require "tcssl_emulator.issuer"

local raise = errors.raise
local array, null = json.array, json.null
local list = views.list
local min, sort = math.min, table.sort

-- Certificate statuses by their English names (the model's CertificateStatus).
local CERT = schema.model().enums.CertificateStatus.codes

local M = {}
local H = {}
M.handlers = H

H.UploadCertificate = function(store, p)
  local cert_pem = params.required(p, "CertificatePublicKey")
  local cert_type = p.CertificateType or "SVR"
  if cert_type ~= "SVR" and cert_type ~= "CA" then
    raise("InvalidParameterValue", "CertificateType must be SVR or CA.")
  end
  local leaf, chain = pem.certificate(cert_pem)
  local key_pem = p.CertificatePrivateKey
  if key_pem == "" then key_pem = nil end
  if cert_type == "SVR" and not key_pem then
    raise("MissingParameter", "The request is missing a required parameter `CertificatePrivateKey`.")
  end
  if key_pem then pem.check_key(cert_pem, key_pem) end
  if cert_type == "CA" and not leaf.is_ca then
    raise("FailedOperation.CertificateCaError", "The certificate is not a CA certificate.")
  end

  store:check_room()
  local fingerprint = leaf.sha256
  if p.Repeatable == false then
    for _, existing in pairs(store.certs) do
      if existing.fingerprint == fingerprint and existing.type == cert_type then
        return { CertificateId = existing.id, RepeatCertId = existing.id }
      end
    end
  end

  local not_before, not_after = leaf.not_before, leaf.not_after
  local sans = list(leaf.dns_names)
  for _, ip in ipairs(leaf.ip_addresses) do sans[#sans + 1] = ip end
  local cn = leaf.common_name
  if #sans == 0 and cn then sans[1] = cn end
  local wildcard = false
  for _, name in ipairs(sans) do wildcard = wildcard or name:sub(1, 2) == "*." end
  local _, algorithm = pem.key_algorithm(leaf)
  local cert = store:add_certificate{
    type = cert_type,
    pem = cert_pem,
    -- the private key, checked, is kept in memory as the API keeps it: DownloadCertificate's
    -- archives and DescribeCertificateDetail's CertificatePrivateKey hand it back; no log shows it
    key_pem = key_pem,
    alias = p.Alias or "",
    project_id = p.ProjectId or 0,
    tags = p.Tags,
    domain = cn or sans[1] or "",
    sans = sans,
    wildcard = wildcard,
    not_before = not_before,
    not_after = not_after,
    algorithm = algorithm,
    fingerprint = fingerprint,
    sha1 = leaf.sha1,
  }
  if cert_type == "CA" then
    cert.ca_algorithms, cert.ca_names, cert.ca_end_times = {}, {}, {}
    for i, crt in ipairs(chain) do
      cert.ca_algorithms[i] = (pem.key_algorithm(crt))
      cert.ca_names[i] = crt.common_name or ""
      cert.ca_end_times[i] = views.cst_time(crt.not_after)
    end
  end
  return { CertificateId = cert.id, RepeatCertId = "" }
end

local function contains(haystack, needle)
  return haystack:lower():find(needle, 1, true) ~= nil
end

--- matches_search(cert, search) -> whether the id, alias or domain holds `search` (lowercase).
function M.matches_search(cert, search)
  return contains(cert.id, search) or contains(cert.alias, search) or contains(cert.domain, search)
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

local function in_list(values, value)
  for _, v in ipairs(values) do if v == value then return true end end
  return false
end

--- newest_first(a, b): the order of certificates in lists, newest first (the API's default).
function M.newest_first(a, b)
  return a.seq > b.seq
end
local newest_first = M.newest_first

H.DescribeCertificates = function(store, p, ctx)
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
  local now = store:now()

  local matches = {}
  for _, cert in pairs(store.certs) do
    local ok = true
    if search and search ~= "" then ok = M.matches_search(cert, search) end
    if ok and p.CertIds and #p.CertIds > 0 then ok = in_list(p.CertIds, cert.id) end
    if ok and p.CertificateType and p.CertificateType ~= "" then ok = cert.type == p.CertificateType end
    if ok and p.ProjectId then ok = cert.project_id == p.ProjectId end
    if ok and p.FilterSource and p.FilterSource ~= "" then
      ok = (p.FilterSource == "buy") == (cert.applied == true)
    end
    if ok and p.CertificateStatus and #p.CertificateStatus > 0 then
      ok = in_list(p.CertificateStatus, store:status_of(cert))
    end
    if ok and p.FilterExpiring == 1 then ok = views.expiring(cert, now) end
    if ok and p.Deployable then ok = (cert.type ~= "CA") == (p.Deployable == 1) end
    -- no certificate here is SM or renewable; orders wait to be issued until they are
    if ok and (p.IsSM == 1 or p.Renew == 1) then ok = false end
    if ok and p.IsPendingIssue == 1 then
      local s = store:status_of(cert)
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
    page[#page + 1] = views.item(store, matches[i], ctx.language)
  end
  return { TotalCount = #matches, Certificates = page }
end

H.DescribeCertificate = function(store, p, ctx)
  local cert = store:find_certificate(p.CertificateId)
  issuer.progress(store, cert, true)
  return views.detail(store, cert, ctx.language)
end

H.DeleteCertificate = function(store, p)
  local cert = store:find_certificate(p.CertificateId)
  store.certs[cert.id] = nil
  if p.IsCheckResource then
    -- Checking bound resources makes the real deletion asynchronous: DeleteResult false plus
    -- a task id. Nothing is ever bound here, so the "task" has already finished.
    return { DeleteResult = false, TaskId = tostring(store:next_seq() + 1000000) }
  end
  return { DeleteResult = true }
end

-- Cheap store effects on top of a synthesized response.

H.DescribeCertificateDetail = function(store, p, ctx, action_model)
  local cert = store:find_certificate(p.CertificateId)
  issuer.progress(store, cert, true)
  local out = synth.overlay(synth.response(store, "DescribeCertificateDetail", action_model),
    views.detail(store, cert, ctx.language), action_model.output)
  out.CertificatePublicKey = cert.pem or ""
  out.CertificatePrivateKey = cert.key_pem or "" -- issued, or uploaded with its key; "" for a CA without one
  out.EncryptCert, out.EncryptPrivateKey, out.EncryptCertFingerprint = "", "", "" -- SM certificates only
  out.TypeName = cert.product or null
  out.CertFingerprint = cert.sha1 and cert.sha1:upper() or "" -- "签名证书 SHA1指纹"
  out.EncryptAlgorithm = cert.algorithm
  return out
end

H.ModifyCertificateAlias = function(store, p)
  local cert = store:find_certificate(p.CertificateId)
  cert.alias = p.Alias or ""
  return { CertificateId = cert.id }
end

H.ModifyCertificateProject = function(store, p)
  local done, failed = array(), array()
  for _, id in ipairs(p.CertificateIdList) do
    local cert = store.certs[id]
    if cert then cert.project_id = p.ProjectId end
    local into = cert and done or failed
    into[#into + 1] = id
  end
  return { SuccessCertificates = done, FailCertificates = failed }
end

H.DeleteCertificates = function(store, p)
  local done, failed, tasks = array(), array(), array()
  for _, id in ipairs(p.CertificateIds) do
    if store.certs[id] then
      store.certs[id] = nil
      done[#done + 1] = id
      tasks[#tasks + 1] = { CertId = id, TaskId = tostring(store:next_seq() + 1000000) }
    else
      failed[#failed + 1] = { CertId = id, Msg = "The certificate does not exist." }
    end
  end
  return { Success = done, Fail = failed, CertTaskIds = tasks }
end

H.CheckCertificateExist = function(store, p)
  local leaf = pem.certificate(p.CertificatePublicKey)
  local found = {}
  for _, cert in pairs(store.certs) do
    if cert.fingerprint == leaf.sha256 then found[#found + 1] = cert end
  end
  sort(found, newest_first)
  return { RepeatCertId = found[1] and found[1].id or "" }
end

--- upload(store, params) -> UploadCertificate's answer (the legacy CertUpload and updates
-- that send a new certificate store theirs through it).
M.upload = H.UploadCertificate

return M

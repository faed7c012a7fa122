--- tcssl.certs: certificates, keys and PEM text; the API's time stamps; downloads.
--
--   local certs = require "tcssl.certs"
--   local chain = assert(certs.parse(fullchain_pem))     -- leaf first, then its issuers
--   print(chain[1].common_name, certs.format_utc(chain[1].not_after), chain[1].fingerprint)
--   certs.key_matches(fullchain_pem, key_pem)             -- true | false | nil, err
--   certs.parse_api_time("2024-05-01 12:00:00")           -- 1714536000 (the API speaks UTC+8)
--   local dl = assert(certs.download(client, "abcd1234")) -- { cert, chain, fullchain, key, files }
--
-- Certificates are read with OpenSSL through tcssl.core. Every function returns `nil, err` (a
-- tcssl error object) for bad input; none raises.
local core = require "tcssl.core"
local dates = require "tcssl.dates"
local errors = require "tcssl.error"

local M = {}

-- The API reports and takes times as China Standard Time without a zone ("2024-05-01 20:00:00").
M.CST_OFFSET = dates.CST_OFFSET

local MAX_PEM_BYTES = 1024 * 1024
local MAX_PEM_BLOCKS = 64

local function invalid(code, message)
  return nil, errors.new("validation", code, message)
end

-------------------------------------------------------------------------------
-- Times
-------------------------------------------------------------------------------

--- parse_api_time(text) -> Unix time (integer) | nil, err
-- "2024-05-01 12:00:00" and "2024-05-01" are the API's China Standard Time (UTC+8); a time
-- with a zone ("2024-08-23T01:34:43.000000Z", "…+08:00"), as some record details carry, is
-- read in that zone.
function M.parse_api_time(text)
  local t, why = dates.parse(text, M.CST_OFFSET)
  if not t then return invalid("InvalidTime", why) end
  return t
end

local function check_unix(t)
  return type(t) == "number" and t >= -62135596800 and t < 253402300800
end

--- format_api_time(unix) -> "YYYY-MM-DD HH:MM:SS" in China Standard Time, as the API takes it.
function M.format_api_time(t)
  if not check_unix(t) then return invalid("InvalidTime", "expected a Unix time") end
  return dates.format(t, "%Y-%m-%d %H:%M:%S", M.CST_OFFSET)
end

--- format_utc(unix) -> "YYYY-MM-DDTHH:MM:SSZ"
function M.format_utc(t)
  if not check_unix(t) then return invalid("InvalidTime", "expected a Unix time") end
  return dates.format(t, "%Y-%m-%dT%H:%M:%SZ")
end

-------------------------------------------------------------------------------
-- PEM text
-------------------------------------------------------------------------------

local KEY_LABELS = {
  ["PRIVATE KEY"] = true, ["RSA PRIVATE KEY"] = true, ["EC PRIVATE KEY"] = true,
  ["ENCRYPTED PRIVATE KEY"] = true,
}

-- Re-wraps base64 text at 64 columns, as RFC 7468 writes it.
local function wrap64(b64)
  local lines = {}
  for i = 1, #b64, 64 do lines[#lines + 1] = b64:sub(i, i + 63) end
  return table.concat(lines, "\n")
end

--- split_pem(text) -> { certificates = { pem, … }, keys = { pem, … }, others = { pem, … } } | nil, err
-- Reads every PEM block, whatever the line endings and stray blanks around or inside it
-- (CRLF, indentation from a YAML file, trailing spaces), and writes each back in the
-- canonical form: 64-column base64 between its BEGIN and END lines. Text outside blocks is
-- ignored ("Bag Attributes" lines from openssl pkcs12, comments).
function M.split_pem(text)
  if type(text) ~= "string" then return invalid("InvalidPEM", "PEM text must be a string") end
  if #text > MAX_PEM_BYTES then return invalid("InvalidPEM", "PEM text is larger than 1 MiB") end
  text = text:gsub("\r\n?", "\n")
  local out = { certificates = {}, keys = {}, others = {} }
  local pos, count = 1, 0
  while true do
    local s, e, label = text:find("%-%-%-%-%-BEGIN ([%u%d ]+)%-%-%-%-%-", pos)
    if not s then break end
    count = count + 1
    if count > MAX_PEM_BLOCKS then return invalid("InvalidPEM", "too many PEM blocks") end
    local end_marker = "-----END " .. label .. "-----"
    local es, ee = text:find(end_marker, e + 1, true)
    if not es then return invalid("InvalidPEM", ("a %s block has no END line"):format(label)) end
    local body = text:sub(e + 1, es - 1)
    if body:find(":", 1, true) then
      -- RFC 1421 headers (Proc-Type, DEK-Info) belong to legacy encrypted keys
      if not KEY_LABELS[label] then return invalid("InvalidPEM", ("a %s block has headers"):format(label)) end
      out.keys[#out.keys + 1] = text:sub(s, ee):gsub("[ \t]+\n", "\n"):gsub("\n[ \t]+", "\n")
    else
      local b64 = body:gsub("%s+", "")
      if b64 == "" or #b64 % 4 ~= 0 or b64:find("[^%w+/=]") or not b64:find("^[^=]*=?=?$") then
        return invalid("InvalidPEM", ("a %s block is not base64"):format(label))
      end
      local block = "-----BEGIN " .. label .. "-----\n" .. wrap64(b64) .. "\n" .. end_marker .. "\n"
      local list = label == "CERTIFICATE" and out.certificates or KEY_LABELS[label] and out.keys or out.others
      list[#list + 1] = block
    end
    pos = ee + 1
  end
  if count == 0 then return invalid("InvalidPEM", "no PEM block found") end
  return out
end

local function names_of(info)
  local names = {}
  for _, n in ipairs(info.dns_names or {}) do names[#names + 1] = n end
  for _, n in ipairs(info.ip_addresses or {}) do names[#names + 1] = n end
  return names
end

local function colon_hex(hex)
  return (hex:upper():gsub("(%x%x)", "%1:"):gsub(":$", ""))
end

-- One certificate block -> its facts, with the times also as text and the fingerprint.
local function describe(block)
  local parsed, err = core.x509_parse(block)
  if not parsed then return nil, err end
  local c = parsed[1]
  c.pem = block
  c.sans = names_of(c)
  c.fingerprint = c.sha256 and colon_hex(c.sha256)
  c.not_before_utc = c.not_before and M.format_utc(c.not_before)
  c.not_after_utc = c.not_after and M.format_utc(c.not_after)
  return c
end

-- Orders certificates leaf first, each followed by its issuer: the leaf is the one that
-- issued none of the others (a non-CA one when there is a choice). Duplicates go; certificates
-- that do not link into the chain are kept at the end, in the order given.
local function order_chain(list)
  local unique, seen = {}, {}
  for _, c in ipairs(list) do
    if not seen[c.sha256] then
      seen[c.sha256] = true
      unique[#unique + 1] = c
    end
  end
  local issues_another = {}
  for _, a in ipairs(unique) do
    for _, b in ipairs(unique) do
      if a ~= b and b.issuer == a.subject and not b.self_issued then issues_another[a] = true end
    end
  end
  -- the chain up from a certificate, following issuer names
  local function chain_from(start)
    local chain, used = { start }, { [start] = true }
    local current = start
    for _ = 1, #unique do -- bounded: each turn adds one certificate or stops
      if current.self_issued then break end
      local nxt
      for _, c in ipairs(unique) do
        if not used[c] and c.subject == current.issuer then nxt = c break end
      end
      if not nxt then break end
      chain[#chain + 1], used[nxt] = nxt, true
      current = nxt
    end
    return chain, used
  end
  -- among the certificates that issued none of the others, the leaf is the one with the
  -- longest chain, a non-CA one before a CA, the first given before the later ones
  local ordered, used
  for _, c in ipairs(unique) do
    if not issues_another[c] then
      local chain, u = chain_from(c)
      local better = not ordered or #chain > #ordered
        or (#chain == #ordered and ordered[1].is_ca and not c.is_ca)
      if better then ordered, used = chain, u end
    end
  end
  if not ordered then ordered, used = chain_from(unique[1]) end
  local linked = #ordered
  for _, c in ipairs(unique) do
    if not used[c] then ordered[#ordered + 1] = c end
  end
  return ordered, linked
end

--- parse(pem) -> { cert, … } | nil, err
-- Every certificate in the text, leaf first and then its issuers in order. Each has subject,
-- issuer, common_name, sans (DNS names and IP addresses), dns_names, ip_addresses,
-- not_before / not_after (Unix time, UTC) and not_before_utc / not_after_utc (text), sha256
-- (hex of the DER) and fingerprint (the same, AA:BB:… as browsers show it), serial, is_ca,
-- self_issued, key_type, key_bits and pem (the canonical block). `linked` on the list counts
-- the certificates that form the chain; any after those do not belong to it.
function M.parse(pem)
  local blocks, err = M.split_pem(pem)
  if not blocks then return nil, err end
  if #blocks.certificates == 0 then return invalid("InvalidCertificate", "no certificate in the PEM text") end
  local list = {}
  for i, block in ipairs(blocks.certificates) do
    local c, perr = describe(block)
    if not c then
      return invalid("InvalidCertificate", ("certificate %d cannot be read: %s"):format(i, perr))
    end
    list[#list + 1] = c
  end
  local ordered, linked = order_chain(list)
  ordered.linked = linked
  return ordered
end

--- normalize_pem(text) -> fullchain, { certificates = parsed, keys = { pem, … } } | nil, err
-- The certificates of text as one canonical PEM text, leaf first and then the chain; keys
-- found in the same text are returned beside it, never inside it.
function M.normalize_pem(text)
  local blocks, err = M.split_pem(text)
  if not blocks then return nil, err end
  local chain, perr = M.parse(table.concat(blocks.certificates))
  if not chain then return nil, perr end
  local pems = {}
  for i, c in ipairs(chain) do pems[i] = c.pem end
  return table.concat(pems), { certificates = chain, keys = blocks.keys }
end

--- normalize_key(text) -> the one private key of text in canonical form | nil, err
function M.normalize_key(text)
  local blocks, err = M.split_pem(text)
  if not blocks then return nil, err end
  if #blocks.keys ~= 1 then
    return invalid("InvalidKey", ("expected one private key, found %d"):format(#blocks.keys))
  end
  local key = blocks.keys[1]
  -- a key written by `openssl ecparam -genkey` comes after its EC PARAMETERS block
  local info = core.private_key_info(key)
  if not info then
    return invalid("InvalidKey", "the private key cannot be read (encrypted keys are not supported)")
  end
  return key, info
end

--- fingerprint(pem) -> SHA-256 of the leaf's DER, lowercase hex | nil, err
function M.fingerprint(pem)
  local chain, err = M.parse(pem)
  if not chain then return nil, err end
  return chain[1].sha256
end

--- key_matches(cert_pem, key_pem) -> true | false | nil, err
-- Whether the private key belongs to the leaf certificate (wherever the leaf is in the text).
function M.key_matches(cert_pem, key_pem)
  local chain, err = M.parse(cert_pem)
  if not chain then return nil, err end
  local key, kerr = M.normalize_key(key_pem)
  if not key then return nil, kerr end
  local ok, merr = core.key_matches(chain[1].pem, key)
  if ok == nil then return invalid("InvalidKey", merr) end
  return ok
end

-------------------------------------------------------------------------------
-- Domains
-------------------------------------------------------------------------------

local function canonical_name(name)
  return (name:lower():gsub("%.$", ""))
end

--- covers(names, domain) -> boolean
-- Whether a certificate for `names` (a list such as sans or the API's SubjectAltName, or a
-- parsed certificate) is valid for `domain`: an exact match, or a wildcard `*.example.com`
-- standing for exactly one label (`a.example.com`, not `example.com` or `a.b.example.com`).
-- Case and a trailing dot do not matter.
function M.covers(names, domain)
  if type(domain) ~= "string" or domain == "" then return false end
  if type(names) == "table" and names.sans then names = names.sans end
  if type(names) ~= "table" then return false end
  domain = canonical_name(domain)
  local parent = domain:match("^[^.]+(%..+)$")
  for _, n in ipairs(names) do
    if type(n) == "string" then
      n = canonical_name(n)
      if n == domain then return true end
      if parent and n:sub(1, 2) == "*." and n:sub(2) == parent then return true end
    end
  end
  return false
end

-- The names of an API certificate item: SubjectAltName (or CertSANs) and Domain.
local function api_names(item)
  local names = {}
  for _, field in ipairs({ "SubjectAltName", "CertSANs" }) do
    for _, n in ipairs(type(item[field]) == "table" and item[field] or {}) do names[#names + 1] = n end
  end
  if type(item.Domain) == "string" then names[#names + 1] = item.Domain end
  return names
end
M.api_names = api_names

--- find(client, domain [, opts]) -> { certificate item, … } | nil, err
-- The certificates of the account that are valid for `domain`: DescribeCertificates searched
-- by the domain and by its parent (a wildcard's name contains only the parent), then matched
-- by name (covers). Newest end time first. opts: include_expired (default false),
-- statuses (default { 1 }: issued; `false` for any), max_items (default 5000), time (the
-- Unix time taken as now, default os.time()).
function M.find(client, domain, opts)
  opts = opts or {}
  if type(client) ~= "table" or type(client.call) ~= "function" then
    return invalid("InvalidArgument", "expected a client from tcssl.new")
  end
  if type(domain) ~= "string" or not domain:find("^[%w*][%w%-%.*]*$") then
    return invalid("InvalidDomain", "expected a domain name such as www.example.com")
  end
  local pages = require "tcssl.pages"
  domain = canonical_name(domain)
  local keys = { domain }
  local parent = domain:match("^[^.]+%.(.+%..+)$")
  if parent then keys[2] = parent end
  local statuses = opts.statuses
  if statuses == nil then statuses = { 1 } end
  local wanted = {}
  for _, s in ipairs(statuses or {}) do wanted[s] = true end
  local now = tonumber(opts.time) or os.time()
  local found, seen = {}, {}
  for _, key in ipairs(keys) do
    local items, err = pages.all(client, "DescribeCertificates", { SearchKey = key },
      { max_items = opts.max_items or 5000 })
    if not items then return nil, err end
    for _, item in ipairs(items) do
      local id = item.CertificateId
      if id and not seen[id] and M.covers(api_names(item), domain) then
        seen[id] = true
        local ends = item.CertEndTime and M.parse_api_time(item.CertEndTime)
        local ok = (not statuses or wanted[item.Status])
          and (opts.include_expired or not ends or ends > now)
        if ok then found[#found + 1] = item end
      end
    end
  end
  table.sort(found, function(a, b)
    local ea = a.CertEndTime and M.parse_api_time(a.CertEndTime) or 0
    local eb = b.CertEndTime and M.parse_api_time(b.CertEndTime) or 0
    if ea ~= eb then return ea > eb end
    return a.CertificateId < b.CertificateId
  end)
  return found
end

-------------------------------------------------------------------------------
-- Archives and downloads
-------------------------------------------------------------------------------

--- unzip(bytes [, limits]) -> { { name, data }, … } | nil, err
-- limits: max_entries (default 1000), max_bytes (default 64 MiB, all files together).
function M.unzip(bytes, limits)
  if type(bytes) ~= "string" then return invalid("InvalidZip", "archive must be a string") end
  local ok, files, msg = pcall(core.unzip, bytes, limits)
  if not ok then return invalid("InvalidArgument", tostring(files)) end
  if not files then return nil, errors.new("protocol", "InvalidZip", msg) end
  return files
end

--- safe_path(name) -> name | nil: an archive entry name that stays inside a directory when
-- written there (relative, no `..`, no backslashes or control characters).
function M.safe_path(name)
  if type(name) ~= "string" or name == "" or #name > 255 then return nil end
  if name:find("^/") or name:find("[%c\\]") or name:find("^[%a]:") then return nil end
  for part in name:gmatch("[^/]+") do
    if part == ".." or part == "." then return nil end
  end
  if name:find("//", 1, true) then return nil end
  return name
end

--- extract(files) -> { cert, chain, fullchain, key, files } | nil, err
-- Finds the certificate, its chain and the private key among an archive's files, whatever
-- the layout (every PEM block of every file is looked at; binary files such as .pfx are
-- skipped). key is nil when the archive holds none.
function M.extract(files)
  if type(files) ~= "table" then return invalid("InvalidArgument", "files must be a list") end
  local cert_blocks, key, seen = {}, nil, {}
  for _, f in ipairs(files) do
    local data = type(f) == "table" and f.data
    if type(data) == "string" and data:find("-----BEGIN ", 1, true) and #data <= MAX_PEM_BYTES then
      local blocks = M.split_pem(data)
      for _, b in ipairs(blocks and blocks.certificates or {}) do
        if not seen[b] then
          seen[b] = true
          cert_blocks[#cert_blocks + 1] = b
        end
      end
      if not key and blocks and blocks.keys[1] and core.private_key_info(blocks.keys[1]) then
        key = blocks.keys[1]
      end
    end
  end
  if #cert_blocks == 0 then
    return nil, errors.new("protocol", "NoCertificate", "the archive holds no PEM certificate")
  end
  local fullchain, info = M.normalize_pem(table.concat(cert_blocks))
  if not fullchain then return nil, info end
  local chain = {}
  for i = 2, #info.certificates do chain[#chain + 1] = info.certificates[i].pem end
  return {
    cert = info.certificates[1].pem,
    chain = table.concat(chain),
    fullchain = fullchain,
    key = key,
    certificates = info.certificates,
    files = files,
  }
end

local function fetch(client, url, opts)
  local transport = rawget(client, "transport")
  if type(transport) ~= "table" or type(transport.request) ~= "function" then
    return invalid("InvalidArgument", "the client has no transport to fetch the download with")
  end
  local timeout = opts.timeout or 60
  local status, headers, body = transport:request("GET", url, {}, "",
    { timeout = timeout, connect_timeout = math.min(10, timeout) })
  if not status then
    local terr = headers or {}
    return nil, errors.new(terr.kind or "network", terr.code or "NetworkError",
      (terr.message or "download failed") .. " (" .. url:gsub("%?.*", "") .. ")", { action = "download" })
  end
  if status ~= 200 then
    return nil, errors.new("protocol", "UnexpectedStatus",
      ("HTTP %d from the download URL: %s"):format(status, errors.excerpt(body)),
      { http_status = status, action = "download" })
  end
  return body
end

--- download(client, certificate_id [, opts]) -> { cert, chain, fullchain, key, files, zip } | nil, err
-- DownloadCertificate (the archive comes base64 in Content), unzipped and searched for the
-- certificate, chain and key. With opts.service_type ("nginx", "apache", "tomcat", "iis",
-- "jks", "other", "root"), DescribeDownloadCertificateUrl gives a link to that server type's
-- archive, which is fetched with the client's transport instead. opts.limits go to unzip.
function M.download(client, id, opts)
  opts = opts or {}
  if type(client) ~= "table" or type(client.call) ~= "function" then
    return invalid("InvalidArgument", "expected a client from tcssl.new")
  end
  if type(id) ~= "string" or id == "" then return invalid("InvalidArgument", "certificate id must be a string") end
  local zip, filename
  if opts.service_type then
    local res, err = client:DescribeDownloadCertificateUrl{ CertificateId = id, ServiceType = opts.service_type }
    if not res then return nil, err end
    if type(res.DownloadCertificateUrl) ~= "string" or not res.DownloadCertificateUrl:find("^https?://") then
      return nil, errors.new("protocol", "NoDownloadUrl", "DescribeDownloadCertificateUrl gave no URL",
        { request_id = res.RequestId })
    end
    zip, err = fetch(client, res.DownloadCertificateUrl, opts)
    if not zip then return nil, err end
    filename = res.DownloadFilename
  else
    local res, err = client:DownloadCertificate{ CertificateId = id }
    if not res then return nil, err end
    if res.ContentType and res.ContentType ~= "application/zip" then
      return nil, errors.new("protocol", "UnexpectedContentType",
        "DownloadCertificate returned " .. tostring(res.ContentType), { request_id = res.RequestId })
    end
    local bytes, derr = core.unbase64(type(res.Content) == "string" and res.Content or "")
    if not bytes then
      return nil, errors.new("protocol", "InvalidBase64", "Content is not base64: " .. tostring(derr),
        { request_id = res.RequestId })
    end
    zip = bytes
  end
  local files, uerr = M.unzip(zip, opts.limits)
  if not files then return nil, uerr end
  local out, xerr = M.extract(files)
  if not out then return nil, xerr end
  out.zip, out.filename = zip, filename
  return out
end


-------------------------------------------------------------------------------
-- Files
-------------------------------------------------------------------------------

local PRIVATE_MODE = tonumber("600", 8)

-- Names under which archives carry keys or what opens them (PKCS#12 stores, JKS, passwords).
local KEY_NAMES = { "%.key$", "%.pfx$", "%.p12$", "%.jks$", "%.keystore$", "keystorePass" }

--- holds_key(name, data) -> boolean: whether a file should be written as private: its name
-- is one that archives give to keys and key stores, or its text holds a PEM private key.
function M.holds_key(name, data)
  if type(name) == "string" then
    local base = name:match("[^/]*$")
    for _, pattern in ipairs(KEY_NAMES) do
      if base:find(pattern) then return true end
    end
  end
  return type(data) == "string" and data:find("PRIVATE KEY-----", 1, true) ~= nil
end

--- write_file(path, data [, opts]) -> true | nil, err
-- Writes through a new file in the same directory, created exclusively without following
-- links, synced, then renamed over path: readers see the old file or the new one, never a
-- part, and a link at path is replaced rather than followed. Private files (opts.private,
-- or whatever holds_key(path, data) finds) end with mode 0600 whatever was there before;
-- others get the usual mode of a new file (0666 less the umask). Failures leave path as it
-- was and no temporary file behind, and give an `io` error (codes NotFound,
-- PermissionDenied, IsDirectory, NoSpace, NameTooLong, InvalidPath, WriteFailed).
function M.write_file(path, data, opts)
  if type(path) ~= "string" or path == "" or path:find("%z") then
    return invalid("InvalidArgument", "path must be a non-empty string")
  end
  if type(data) ~= "string" then return invalid("InvalidArgument", "data must be a string") end
  if opts ~= nil and type(opts) ~= "table" then return invalid("InvalidArgument", "opts must be a table") end
  local private = (opts and opts.private) or M.holds_key(path, data)
  local ok, done, message, code = pcall(core.write_file, path, data, private and PRIVATE_MODE or nil)
  if not ok then return nil, errors.new("io", "WriteFailed", "cannot write " .. path .. ": " .. tostring(done)) end
  if not done then return nil, errors.new("io", code or "WriteFailed", message, { path = path }) end
  return true
end

return M

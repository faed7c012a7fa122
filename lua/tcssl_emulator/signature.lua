--- tcssl_emulator.signature: who sent a request. Checks TC3-HMAC-SHA256 (the Authorization
-- header) and v1 (HmacSHA1 / HmacSHA256 form parameters) signatures with tcssl.core, the
-- key's token and expiry, the 300-second clock window, and v1 replays; failures raise the
-- API's AuthFailure codes (tcssl_emulator.errors).
--
--   signature.tc3(store, req, service)   -- the request's headers and body
--   signature.v1(store, req, form) -> ts  -- form: the parsed query or form body
local core = require "tcssl.core"
local errors = require "tcssl_emulator.errors"
local params = require "tcssl_emulator.params"

local raise = errors.raise
local floor, abs = math.floor, math.abs
local concat = table.concat

local M = {}

local SIGNATURE_WINDOW = 300                 -- seconds, "相差超过5分钟" fails

--- The parameters of signature v1 that are not the action's own.
M.V1_COMMON = {
  Action = true, Version = true, Timestamp = true, Nonce = true, SecretId = true, Region = true,
  Token = true, Language = true, SignatureMethod = true, Signature = true, RequestClient = true,
}

local function trim(s)
  return (s:gsub("^%s+", ""):gsub("%s+$", ""))
end

local function utc_date(t)
  return os.date("!%Y-%m-%d", floor(t))
end

-- Equality that does not leak where two strings differ: compares keyed digests of both.
local function same(store, a, b)
  if type(a) ~= "string" or type(b) ~= "string" then return false end
  return core.hmac("sha256", store.compare_key, a) == core.hmac("sha256", store.compare_key, b)
end

-- Nonce and Timestamp guard v1 against replays: the same signed request seen again within the
-- signature window is refused. Old entries are dropped as the window moves; the table is bounded.
local MAX_NONCES = 100000
local function check_replay(store, id, ts)
  local now = store:now()
  local seen = store.nonces
  if seen[id] then
    raise("AuthFailure.SignatureFailure", "This Nonce and Timestamp were already used (replayed request).")
  end
  if store.nonce_count >= MAX_NONCES then
    for k, t in pairs(seen) do
      if now - t > SIGNATURE_WINDOW then seen[k] = nil; store.nonce_count = store.nonce_count - 1 end
    end
    if store.nonce_count >= MAX_NONCES then
      store.nonces, store.nonce_count = {}, 0
      seen = store.nonces
    end
  end
  seen[id] = ts
  store.nonce_count = store.nonce_count + 1
end

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

local function check_timestamp(store, text)
  if not text or text == "" then
    raise("MissingParameter", "The request is missing a required parameter `Timestamp`.")
  end
  if not text:match("^%d+$") or #text > 12 then
    raise("InvalidParameter", "The parameter `Timestamp` should be Integer.")
  end
  local ts = tonumber(text)
  local now = floor(store:now())
  if abs(now - ts) > SIGNATURE_WINDOW then
    raise("AuthFailure.SignatureExpire", string.format(
      "Signature expired. Timestamp %d differs from the server time %d by more than %d seconds.",
      ts, now, SIGNATURE_WINDOW))
  end
  return ts
end

local function lookup_key(store, secret_id, token)
  local key = store.keys[secret_id]
  if not key then raise("AuthFailure.SecretIdNotFound", "The SecretId is not found.") end
  if key.expires and store:now() >= key.expires then
    raise("AuthFailure.TokenFailure", "The temporary credentials have expired.")
  end
  if token == "" then token = nil end
  if key.token then
    if not same(store, token, key.token) then
      raise("AuthFailure.TokenFailure", "The token is missing or invalid.")
    end
  elseif token then
    raise("AuthFailure.TokenFailure", "A token was sent for a permanent key.")
  end
  return key
end

--- tc3(store, req, service): raises unless the request carries a valid TC3-HMAC-SHA256
-- signature of an accepted key, for `service`, within the clock window.
function M.tc3(store, req, service)
  local auth = parse_tc3_authorization(req.headers.authorization)
  if not auth then
    raise("AuthFailure.InvalidAuthorization", "The Authorization header does not follow the TC3-HMAC-SHA256 format.")
  end
  local ts = check_timestamp(store, req.headers["x-tc-timestamp"])
  if auth.date ~= utc_date(ts) then
    raise("AuthFailure.SignatureFailure", "The credential date must be the UTC date of X-TC-Timestamp.")
  end
  if auth.service ~= service then
    raise("AuthFailure.SignatureFailure", "The credential scope names service `" .. auth.service
      .. "`, expected `" .. service .. "`.")
  end
  local key = lookup_key(store, auth.secret_id, req.headers["x-tc-token"])

  -- Canonical headers use lowercase, trimmed values (signing method v3, step 1).
  local extra = {}
  for _, name in ipairs(auth.signed) do
    local value = req.headers[name]
    if value == nil then
      raise("AuthFailure.SignatureFailure", "The signed header `" .. name .. "` is not in the request.")
    end
    if name ~= "content-type" and name ~= "host" then extra[name] = trim(value):lower() end
  end
  local function expected_for(host)
    local _, expected = core.tc3_sign{
      secret_id = auth.secret_id,
      secret_key = key.secret_key,
      service = auth.service,
      host = host,
      method = req.method,
      query = req.method == "GET" and req.query or "",
      content_type = trim(req.headers["content-type"]):lower(),
      payload = req.method == "POST" and req.body or "",
      timestamp = ts,
      headers = extra,
    }
    return expected
  end
  -- The host is signed as sent; clients that send `Host: name:port` but sign `host:name`
  -- (the official Node.js SDK does) are accepted too. Nothing else is relaxed.
  local host = trim(req.headers.host):lower()
  if same(store, expected_for(host), auth.signature) then return end
  local bare = host:match("^(.-):%d+$")
  if bare and bare ~= "" and same(store, expected_for(bare), auth.signature) then return end
  raise("AuthFailure.SignatureFailure", BAD_SIGNATURE, M.tc3_expected(req, auth, ts, host, bare))
end

-- Header values a log must not show even when a client signs them.
local HIDDEN = { ["x-tc-token"] = true, authorization = true }

local function indent(text)
  return "    " .. text:gsub("\n", "\n    ")
end

--- tc3_expected(req, auth, ts, host, bare) -> the text --verbose logs when a TC3 signature is
-- refused: the canonical request and string to sign the emulator expected (signing method v3),
-- with the host as sent (and the host without its port, also accepted). The token's value is
-- hidden; neither the secret key nor the derived signing key appears.
function M.tc3_expected(req, auth, ts, host, bare)
  local names = {}
  for i, name in ipairs(auth.signed) do names[i] = name end
  table.sort(names)
  local function canonical_request(hide)
    local lines = {}
    for i, name in ipairs(names) do
      local value = name == "host" and host or trim(req.headers[name]):lower()
      lines[i] = name .. ":" .. (hide and HIDDEN[name] and "(hidden)" or value)
    end
    return concat({
      req.method, "/", req.method == "GET" and req.query or "",
      concat(lines, "\n") .. "\n", concat(names, ";"),
      core.sha256_hex(req.method == "POST" and req.body or ""),
    }, "\n")
  end
  local canonical, hashed = canonical_request(true), core.sha256_hex(canonical_request(false))
  local scope = auth.date .. "/" .. auth.service .. "/tc3_request"
  local to_sign = concat({ "TC3-HMAC-SHA256", tostring(ts), scope, hashed }, "\n")
  return "signature failure (AuthFailure.SignatureFailure) for SecretId " .. auth.secret_id
    .. ": the emulator expected this canonical request\n" .. indent(canonical)
    .. "\nand this string to sign\n" .. indent(to_sign)
    .. (bare and ("\n(a signature with host:" .. bare .. ", without the port, is accepted too)") or "")
end

-- v1 parameters whose values a log must not show: the token, private keys and passwords
-- (CertificatePrivateKey, CsrKeyPassword, KeyPass, ... and inside arrays and structures).
local function hidden_v1(name)
  local last = name:match("([^.]*)$"):lower()
  return name == "Token" or last:find("privatekey", 1, true) or last:find("password", 1, true)
    or last:find("keypass", 1, true)
end

--- v1_expected(req, form, method) -> the text --verbose logs when a v1 signature is refused:
-- the string to sign the emulator expected (signing method v1: method, Host header as sent,
-- path, "?", the parameters sorted, unencoded, without Signature) and the algorithm. The
-- values of the token, private keys and passwords are hidden; no key or signature appears.
function M.v1_expected(req, form, method)
  local pieces = {}
  for _, name in ipairs(params.sorted_keys(form)) do
    if name ~= "Signature" then
      pieces[#pieces + 1] = name .. "=" .. (hidden_v1(name) and "(hidden)" or form[name])
    end
  end
  return "signature failure (AuthFailure.SignatureFailure) for SecretId " .. form.SecretId
    .. ": the emulator expected this string to sign (" .. method .. ")\n"
    .. indent(req.method .. trim(req.headers.host or "") .. req.path .. "?" .. concat(pieces, "&"))
end

--- v1(store, req, form) -> the request's Timestamp; raises unless the form carries a valid v1
-- signature of an accepted key within the clock window, not seen before.
function M.v1(store, req, form)
  for _, name in ipairs({ "SecretId", "Signature", "Nonce" }) do params.required(form, name) end
  if not form.Nonce:match("^%d+$") or #form.Nonce > 19 or not form.Nonce:match("[1-9]") then
    raise("InvalidParameter", "The parameter `Nonce` must be a positive integer.")
  end
  local ts = check_timestamp(store, form.Timestamp)
  local key = lookup_key(store, form.SecretId, form.Token)
  local pieces = {}
  for _, name in ipairs(params.sorted_keys(form)) do
    if name ~= "Signature" then pieces[#pieces + 1] = name .. "=" .. form[name] end
  end
  local method = form.SignatureMethod == "HmacSHA256" and "HmacSHA256" or "HmacSHA1"
  local text = req.method .. trim(req.headers.host or "") .. req.path .. "?" .. concat(pieces, "&")
  local expected = core.v1_sign(method, key.secret_key, text)
  if not same(store, expected, form.Signature) then
    raise("AuthFailure.SignatureFailure", BAD_SIGNATURE, M.v1_expected(req, form, method))
  end
  check_replay(store, form.SecretId .. "/" .. form.Nonce .. "/" .. ts .. "/" .. form.Signature, ts)
  return ts
end

return M

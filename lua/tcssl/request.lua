-- Building signed API requests: TC3-HMAC-SHA256 over POST JSON or GET, and signature v1
-- (HmacSHA1 / HmacSHA256) over GET or a POST form. What is signed is exactly what is sent.
local core = require "tcssl.core"
local json = require "tcssl.json"
local errors = require "tcssl.error"

local M = {}

-- Size limits from the documents: GET 32 KB; POST with v1 1 MB; POST with TC3 10 MB.
M.GET_LIMIT = 32 * 1024
M.V1_POST_LIMIT = 1024 * 1024
M.TC3_POST_LIMIT = 10 * 1024 * 1024

local function encode_byte(c)
  return ("%%%02X"):format(c:byte())
end

--- RFC 3986 percent-encoding with uppercase hex; only unreserved characters stay.
function M.urlencode(s)
  return (s:gsub("[^%w%-%._~]", encode_byte))
end

local mtype = math.type or function(x) -- luacheck: ignore 143 (LuaJIT: the fallback)
  if x % 1 == 0 and x > -2^63 and x < 2^63 then return "integer" end
  return "float"
end

local function scalar(v)
  local t = type(v)
  if t == "string" then return v end
  if t == "boolean" then return v and "true" or "false" end
  if t == "number" then
    if mtype(v) == "integer" then return ("%d"):format(v) end
    if v ~= v or v == math.huge or v == -math.huge then return nil end
    local s = ("%.15g"):format(v)
    if tonumber(s) ~= v then s = ("%.17g"):format(v) end
    -- C's printf writes the locale's decimal point; the API wants '.'
    return (s:gsub("[^%d.eE+%-]+", "."))
  end
  return nil
end

-- Parameter names travel unencoded in v1 strings to sign and as query keys: keep them to
-- identifiers so that what is signed is what is sent.
local function valid_name(k)
  return type(k) == "string" and k:find("^[%a_][%w_]*$") ~= nil
end

-- Flattens nested parameters the way the documents do for GET and form bodies:
-- InstanceIds.0, Filters.0.Values.1 (indexes from 0). Empty arrays and objects vanish:
-- those requests need POST JSON.
local function flatten_into(out, prefix, v, depth)
  if depth > 32 then return nil, "parameters nested too deeply" end
  if json.is_number(v) then -- an exact number literal (64-bit under LuaJIT)
    out[#out + 1] = { prefix, tostring(v) }
    return true
  end
  if type(v) == "table" then
    if json.is_list(v) then
      if #v == 0 then
        return nil, ("parameter %s is an empty array, which only POST with TC3-HMAC-SHA256 can send"):format(prefix)
      end
      for i = 1, #v do
        local ok, err = flatten_into(out, prefix .. "." .. (i - 1), v[i], depth + 1)
        if not ok then return nil, err end
      end
    else
      for k, item in pairs(v) do
        if not valid_name(k) then return nil, ("bad parameter name %s.%s"):format(prefix, tostring(k)) end
        local ok, err = flatten_into(out, prefix .. "." .. k, item, depth + 1)
        if not ok then return nil, err end
      end
    end
    return true
  end
  if v == json.null then return true end
  local s = scalar(v)
  if not s then return nil, ("parameter %s has a value of type %s"):format(prefix, type(v)) end
  out[#out + 1] = { prefix, s }
  return true
end

function M.flatten(params)
  local out = {}
  for k, v in pairs(params or {}) do
    if not valid_name(k) then return nil, "bad parameter name " .. tostring(k) end
    local ok, err = flatten_into(out, k, v, 1)
    if not ok then return nil, err end
  end
  return out
end

-- Byte order, whatever the process locale (Lua's < on strings follows strcoll).
local byte = string.byte
local function by_name(a, b)
  local x, y = a[1], b[1]
  for i = 1, math.min(#x, #y) do
    local cx, cy = byte(x, i), byte(y, i)
    if cx ~= cy then return cx < cy end
  end
  return #x < #y
end

-- Joins sorted pairs as k=v with the values raw (v1's string to sign) or encoded (the wire).
local function join(pairs_, encode)
  local parts = {}
  for i, p in ipairs(pairs_) do
    parts[i] = p[1] .. "=" .. (encode and M.urlencode(p[2]) or p[2])
  end
  return table.concat(parts, "&")
end

local function too_large(what, size, limit)
  return nil, errors.new("validation", "RequestSizeLimitExceeded",
    ("%s of %d bytes exceeds the documented limit of %d bytes"):format(what, size, limit))
end

local function bad_params(msg)
  return nil, errors.new("validation", "InvalidParameter", msg)
end

local tc3_sign = core.tc3_sign

-- The JSON body of a TC3 POST, within the API's size limit.
local function post_body(params)
  local body, err = json.encode(params or {})
  if not body then return bad_params("cannot encode parameters as JSON: " .. err) end
  if #body > M.TC3_POST_LIMIT then return too_large("request body", #body, M.TC3_POST_LIMIT) end
  return body
end

-- The encoded, sorted query of a TC3 GET and its URL, within the API's size limit.
local function get_query(params, base)
  local flat, err = M.flatten(params)
  if not flat then return bad_params(err) end
  table.sort(flat, by_name)
  local query = join(flat, true)
  local url = query == "" and base or base .. "?" .. query
  if #url > M.GET_LIMIT then return too_large("GET request", #url, M.GET_LIMIT) end
  return query, url
end
local SIGN = {}

--- build(cfg, creds, action, params, now [, nonce]) -> { method, url, headers, body } | nil, err
-- cfg: scheme, host, service, version, region, language, http_method, sign_method, and for v1
-- only: path (default "/"; the legacy API uses /v2/index.php) and version (nil: not sent).
-- creds: secret_id, secret_key, token; false for an action the API takes unsigned (TC3 only).
-- nonce (v1 only) is random unless given.
function M.build(cfg, creds, action, params, now, nonce_value)
  local host = cfg.host
  local base = cfg.scheme .. "://" .. host .. "/"
  if cfg.sign_method ~= "TC3-HMAC-SHA256" then
    return M.build_v1(cfg, creds, action, params, now, nonce_value)
  end
  local headers = {
    Host = host,
    ["X-TC-Action"] = action,
    ["X-TC-Version"] = cfg.version,
    ["X-TC-Timestamp"] = ("%d"):format(now),
    ["X-TC-Region"] = cfg.region,
    ["X-TC-Token"] = creds and creds.token or nil,
    ["X-TC-Language"] = cfg.language,
    ["X-TC-RequestClient"] = cfg.request_client,
  }
  local method, url, body, query, content_type
  if cfg.http_method == "GET" then
    query, url = get_query(params, base)
    if not query then return nil, url end
    body = ""
    content_type = "application/x-www-form-urlencoded"
    method = "GET"
  else
    local err
    body, err = post_body(params)
    if not body then return nil, err end
    query = ""
    content_type = "application/json"
    method = "POST"
    url = base
  end
  headers["Content-Type"] = content_type
  if not creds then
    -- what the API takes unsigned (STS's AssumeRoleWithWebIdentity) says so with SKIP
    headers.Authorization = "SKIP"
    return { method = method, url = url, headers = headers, body = method == "POST" and body or nil }
  end
  -- one argument table for every signature: tc3_sign is C and cannot yield, so no other
  -- coroutine sees it between the fields set here and the keys cleared after (a raise
  -- from tc3_sign leaves them until the next signature)
  local sign = SIGN
  sign.secret_id, sign.secret_key, sign.service, sign.host = creds.secret_id, creds.secret_key, cfg.service, host
  sign.method, sign.query, sign.content_type, sign.payload, sign.timestamp = method, query, content_type, body, now
  headers.Authorization = tc3_sign(sign)
  sign.secret_id, sign.secret_key, sign.payload = nil, nil, nil
  return { method = method, url = url, headers = headers, body = method == "POST" and body or nil }
end

--- build_call(cfg, creds, action, params, now [, nonce]) -> req | nil | nil, err: the request of
-- build for a signed call, left for the transport to sign and send in one crossing
-- (tcssl.transport.curl's call): { method, url, body, cfg, creds, action, now, call = kind } without
-- headers, kind being "tc3" (body: the JSON of a POST, or the encoded query of a GET) or "v1" (then
-- also to_sign and wire, the parameters joined raw and encoded). nil alone when build should make
-- it instead: unsigned, a service name the signer refuses, or a request so near its size limit
-- that only the signature tells.
function M.build_call(cfg, creds, action, params, now, nonce_value)
  if not creds then return nil end
  if cfg.sign_method ~= "TC3-HMAC-SHA256" then return M.build_v1_call(cfg, creds, action, params, now, nonce_value) end
  -- a service name the signer refuses: build raises, as before
  if type(cfg.service) ~= "string" or #cfg.service == 0 or #cfg.service > 64 then return nil end
  local base = cfg.scheme .. "://" .. cfg.host .. "/"
  if cfg.http_method == "GET" then
    local query, url = get_query(params, base)
    if not query then return nil, url end
    return { method = "GET", url = url, base = base, body = query, cfg = cfg, creds = creds, action = action,
      now = now, call = "tc3" }
  end
  local body, err = post_body(params)
  if not body then return nil, err end
  return { method = "POST", url = base, base = base, body = body, cfg = cfg, creds = creds,
    action = action, now = now, call = "tc3" }
end

local function nonce()
  local b = core.random(4)
  local n = ((b:byte(1) * 256 + b:byte(2)) * 256 + b:byte(3)) * 128 + b:byte(4) % 128
  return n == 0 and 1 or n
end

-- v1's common parameters, which action parameters may not shadow.
local V1_COMMON = { Action = true, Version = true, Timestamp = true, Nonce = true, SecretId = true,
  SignatureMethod = true, Region = true, Token = true, Language = true, Signature = true }

-- v1's parameters with the common ones, sorted: what build_v1 and build_v1_call sign.
local function v1_params(cfg, creds, action, params, now, nonce_value)
  if not creds then return bad_params("an unsigned request needs TC3-HMAC-SHA256, not " .. cfg.sign_method) end
  local flat, err = M.flatten(params)
  if not flat then return bad_params(err) end
  for _, p in ipairs(flat) do
    local top = p[1]:match("^[^.]+")
    if V1_COMMON[top] then return bad_params("parameter " .. top .. " clashes with a common parameter") end
  end
  local common = {
    Action = action, Version = cfg.version, Timestamp = ("%d"):format(now),
    Nonce = ("%d"):format(nonce_value or nonce()), SecretId = creds.secret_id, SignatureMethod = cfg.sign_method,
    Region = cfg.region, Token = creds.token, Language = cfg.language,
  }
  for k, v in pairs(common) do flat[#flat + 1] = { k, v } end
  table.sort(flat, by_name)
  return flat
end

-- What a v1 request of those parameters is made of: its method, its URL without the query, the
-- string to sign (parameters raw) and the parameters as they go on the wire (encoded).
local function v1_parts(cfg, flat)
  local method, path = cfg.http_method, cfg.path or "/"
  return method, cfg.scheme .. "://" .. cfg.host .. path, method .. cfg.host .. path .. "?" .. join(flat, false),
    join(flat, true)
end

-- The signed v1 request of build_v1 from its parts.
local function v1_signed(cfg, creds, method, base, to_sign, wire)
  local signature = core.v1_sign(cfg.sign_method, creds.secret_key, to_sign)
  wire = wire .. "&Signature=" .. M.urlencode(signature)
  local headers = { Host = cfg.host, ["X-TC-RequestClient"] = cfg.request_client }
  if method == "GET" then
    local url = base .. "?" .. wire
    if #url > M.GET_LIMIT then return too_large("GET request", #url, M.GET_LIMIT) end
    return { method = "GET", url = url, headers = headers }
  end
  if #wire > M.V1_POST_LIMIT then return too_large("request body", #wire, M.V1_POST_LIMIT) end
  headers["Content-Type"] = "application/x-www-form-urlencoded"
  return { method = "POST", url = base, headers = headers, body = wire }
end

function M.build_v1(cfg, creds, action, params, now, nonce_value)
  local flat, err = v1_params(cfg, creds, action, params, now, nonce_value)
  if not flat then return nil, err end
  return v1_signed(cfg, creds, v1_parts(cfg, flat))
end

-- The longest "&Signature=" part: base64 of a SHA-256 MAC (44 characters), each encoded.
local V1_SIGNATURE_MAX = #"&Signature=" + 44 * 3

-- build_call's request for signature v1: the core signs to_sign and appends the signature to wire.
function M.build_v1_call(cfg, creds, action, params, now, nonce_value)
  if cfg.sign_method ~= "HmacSHA1" and cfg.sign_method ~= "HmacSHA256" then return nil end
  if cfg.http_method ~= "GET" and cfg.http_method ~= "POST" then return nil end
  local flat, err = v1_params(cfg, creds, action, params, now, nonce_value)
  if not flat then return nil, err end
  local method, base, to_sign, wire = v1_parts(cfg, flat)
  local size, limit = #wire + V1_SIGNATURE_MAX, M.V1_POST_LIMIT
  if method == "GET" then size, limit = size + #base + 1, M.GET_LIMIT end
  -- near the limit, build_v1's request (which sees the signature) decides
  if size > limit then return v1_signed(cfg, creds, method, base, to_sign, wire) end
  -- url is what hooks and messages show, as build_v1's after redaction: the core appends the
  -- signature itself (req.base and req.wire go on the wire)
  local url = method == "GET" and base .. "?" .. wire .. "&Signature=***" or base
  return { method = method, url = url, base = base, to_sign = to_sign, wire = wire, cfg = cfg, creds = creds,
    action = action, now = now, call = "v1" }
end

return M

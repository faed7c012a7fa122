--- tcssl_emulator.api: one API request, from the parsed HTTP request to the JSON text of the
-- reply. It tells the APIs apart (API 3.0 for the SSL service or STS, on /; the legacy API on
-- /v2/index.php), reads the action and its parameters (TC3: headers, and the query or a JSON
-- or form body; v1: the query or form), has the signature checked (tcssl_emulator.signature)
-- and the parameters (tcssl_emulator.params), calls the code that answers the action
-- (tcssl_emulator.actions, .legacy, .cloud) and wraps the result, or the API error it
-- raised, in the envelope of the API.
local json = require "tcssl.json"
local schema = require "tcssl.schema"
local errors = require "tcssl_emulator.errors"
local params = require "tcssl_emulator.params"
local signature = require "tcssl_emulator.signature"
local actions = require "tcssl_emulator.actions"
local legacy = require "tcssl_emulator.legacy"
local cloud = require "tcssl_emulator.cloud"
local http = require "tcssl_emulator.http"

local raise = errors.raise

local M = {
  API_VERSION = "2019-12-05",
  SERVICE = "ssl",
  LEGACY_PATH = legacy.PATH,
}

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
local function read_tc3_request(store, req, api)
  local action = req.headers["x-tc-action"]
  if not action or action == "" then
    raise("MissingParameter", "The request is missing a required parameter `Action`.")
  end
  check_version(req.headers["x-tc-version"], api.version, api.service)
  local sts = api.service == "sts" and cloud.STS_ACTIONS[action]
  if not (sts and not sts.signed and (req.headers.authorization or ""):match("^%s*(.-)%s*$") == "SKIP") then
    signature.tc3(store, req, api.service)
  end

  local p
  local media = media_type(req)
  -- signing v3: GET takes application/x-www-form-urlencoded only; a POST form body needs v1
  if req.method == "GET" and media ~= "application/x-www-form-urlencoded" then
    raise("InvalidParameter", "A GET request must have Content-Type application/x-www-form-urlencoded.")
  end
  if req.method == "POST" and media == "application/x-www-form-urlencoded" then
    raise("AuthFailure.InvalidAuthorization", "A form-encoded POST body takes signature v1, not TC3-HMAC-SHA256.")
  end
  if req.method == "GET" then
    local flat, err = params.parse_form(req.query)
    if not flat then raise("InvalidParameter", err) end
    p = params.unflatten(flat)
  elseif media == "application/json" then
    local body = req.body:match("^%s*$") and "{}" or req.body
    local decoded = json.decode(body) -- integers exact up to 64 bits, nulls dropped
    if type(decoded) ~= "table" or json.is_array(decoded) then
      raise("InvalidParameter", "The request body is not a JSON object.")
    end
    p = decoded
  elseif media == "application/x-www-form-urlencoded" then
    local flat, err = params.parse_form(req.body)
    if not flat then raise("InvalidParameter", err) end
    p = params.unflatten(flat)
  elseif media == "multipart/form-data" then
    raise("UnsupportedOperation", "multipart/form-data requests are not supported by the emulator.")
  else
    raise("InvalidParameter", "Unsupported Content-Type `" .. media .. "`.")
  end
  return action, p, req.headers["x-tc-language"]
end

-- The legacy API (req.legacy) has no Version parameter; otherwise the same as API 3.0's v1.
local function read_v1_request(store, req)
  local text
  if req.method == "GET" then
    text = req.query
  elseif media_type(req) == "application/x-www-form-urlencoded" then
    text = req.body
  else
    raise("AuthFailure.InvalidAuthorization", "The request has neither an Authorization header nor v1 form parameters.")
  end
  local flat, err = params.parse_form(text)
  if not flat then raise("InvalidParameter", err) end
  local action = params.required(flat, "Action")
  if not req.legacy then check_version(flat.Version, M.API_VERSION, M.SERVICE) end
  signature.v1(store, req, flat)
  local own = {}
  for name, value in pairs(flat) do
    if not signature.V1_COMMON[name] then own[name] = value end
  end
  return action, params.unflatten(own), flat.Language
end

-- Reads, checks and answers one API request; returns the result or raises an API error.
local function answer(store, req, ctx)
  if req.too_large then
    raise("RequestSizeLimitExceeded", "The request body exceeds " .. http.MAX_BODY_BYTES .. " bytes.")
  end
  if req.method ~= "GET" and req.method ~= "POST" then
    raise("UnsupportedProtocol", "Only GET and POST requests are supported.")
  end
  -- named for the log before the signature is checked (TC3 names it in a header)
  local named = req.headers["x-tc-action"]
  if req.headers.authorization and named and named ~= "" then ctx.action = named end
  if req.legacy then
    local action, p = read_v1_request(store, req)
    ctx.action = action
    return legacy.answer(store, action, p)
  end
  local action, p, language
  local api = service_of(req)
  if api.service == "sts" then
    if not req.headers.authorization then raise("AuthFailure.InvalidAuthorization", "STS takes TC3 requests.") end
    action, p = read_tc3_request(store, req, api)
    ctx.action = action
    local sts = cloud.STS_ACTIONS[action]
    if not sts then raise("InvalidAction", "The action `" .. action .. "` does not exist.") end
    return sts.handler(store, p)
  end
  if req.headers.authorization then
    action, p, language = read_tc3_request(store, req, api)
  else
    action, p, language = read_v1_request(store, req)
  end
  ctx.action, ctx.language = action, language
  local model = schema.model()
  local action_model = model.actions[action]
  if not action_model then raise("InvalidAction", "The action `" .. action .. "` does not exist.") end
  local checked = params.check(action_model, p, model.structs)
  ctx.region = req.headers["x-tc-region"] or checked.Region
  ctx.host = req.headers.host
  return actions.answer(store, action, checked, ctx, action_model)
end

-- The reply of either API around a result, or an error ({ code, message }).
local function envelope(ctx, result, err)
  if ctx.legacy then return legacy.envelope(result, err) end
  local response = err and { Error = { Code = err.code, Message = err.message } } or result
  response.RequestId = ctx.request_id
  return { Response = response }
end

local INTERNAL_ERROR = { code = "InternalError", message = "An internal error occurred." }

--- response(store, req, site) -> the JSON text of the reply, and the request's context (its
-- action, once known). site: scheme and address ("host:port") the emulator serves on, and
-- note(message), which hears of failures of the emulator's own (never shown to the client).
function M.response(store, req, site)
  local ctx = { request_id = store:request_id(), legacy = req.legacy, scheme = site.scheme, address = site.address }
  local ok, result = pcall(answer, store, req, ctx)
  local err
  if not ok then
    err = result
    if not errors.is(result) then
      site.note("internal error: " .. tostring(result))
      err = INTERNAL_ERROR
    elseif result.detail then
      site.note(result.detail) -- e.g. what a refused signature should have signed (--verbose)
    end
  end
  ctx.verdict = err and err.code or "ok" -- for the --verbose log
  local text, why = json.encode(envelope(ctx, ok and result or nil, err))
  if not text then
    site.note("encoding error: " .. tostring(why))
    text = json.encode(envelope(ctx, nil, INTERNAL_ERROR))
  end
  return text, ctx
end

--- error_text(store, req, code, message) -> the JSON text of an error reply to req.
function M.error_text(store, req, code, message)
  return json.encode(envelope({ request_id = store:request_id(), legacy = req.legacy }, nil,
    { code = code, message = message }))
end

return M

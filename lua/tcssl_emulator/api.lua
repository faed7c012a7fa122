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

-- The common parameter Language (TC3: the X-TC-Language header; v1: a parameter) picks the
-- language of the reply's error messages (and of a few output words, tcssl_emulator.views);
-- the documents allow zh-CN and en-US, any other value is refused (InvalidParameterValue, in
-- the default language). An empty value counts as none.
local function set_language(ctx, value)
  if value == nil or value == "" then return end
  if not errors.LANGUAGES[value] then
    raise("InvalidParameterValue", "The parameter `Language` must be zh-CN or en-US.")
  end
  ctx.language = value
end

-- Returns action, params (nested Lua tables). STS's AssumeRoleWithWebIdentity comes unsigned
-- (Authorization: SKIP), as the official SDKs send it.
local function read_tc3_request(store, req, api, ctx)
  set_language(ctx, req.headers["x-tc-language"])
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
  return action, p
end

-- The legacy API (req.legacy) has no Version parameter and answers in its own words; otherwise
-- the same as API 3.0's v1. The action is named for the log before the signature is checked.
local function read_v1_request(store, req, ctx)
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
  if not req.legacy then set_language(ctx, flat.Language) end
  local action = params.required(flat, "Action")
  ctx.action = action
  if not req.legacy then check_version(flat.Version, M.API_VERSION, M.SERVICE) end
  signature.v1(store, req, flat)
  local own = {}
  for name, value in pairs(flat) do
    if not signature.V1_COMMON[name] then own[name] = value end
  end
  return action, params.unflatten(own)
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
    local action, p = read_v1_request(store, req, ctx)
    return legacy.answer(store, action, p)
  end
  local action, p
  local api = service_of(req)
  if api.service == "sts" then
    if not req.headers.authorization then raise("AuthFailure.InvalidAuthorization", "STS takes TC3 requests.") end
    action, p = read_tc3_request(store, req, api, ctx)
    ctx.action = action
    local sts = cloud.STS_ACTIONS[action]
    if not sts then raise("InvalidAction", "The action `" .. action .. "` does not exist.") end
    return sts.handler(store, p)
  end
  if req.headers.authorization then
    action, p = read_tc3_request(store, req, api, ctx)
  else
    action, p = read_v1_request(store, req, ctx)
  end
  ctx.action = action
  local model = schema.model()
  local action_model = model.actions[action]
  if not action_model then raise("InvalidAction", "The action `" .. action .. "` does not exist.") end
  local checked = params.check(action_model, p, model.structs)
  ctx.region = req.headers["x-tc-region"] or checked.Region
  ctx.host = req.headers.host
  return actions.answer(store, action, checked, ctx, action_model)
end

-- The reply of either API around a result, or an error ({ code, message }). API 3.0's
-- Message is the documents' text in the request's language (tcssl_emulator.errors.message).
local function envelope(ctx, result, err)
  if ctx.legacy then return legacy.envelope(result, err) end
  local response = err and { Error = { Code = err.code,
    Message = err.verbatim and err.message or errors.message(err, ctx.language) } } or result
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
    else
      if result.detail then
        site.note(result.detail) -- e.g. what a refused signature should have signed (--verbose)
      end
      if not ctx.legacy and ctx.language == "zh-CN" and result.message
        and result.message ~= errors.message(result, ctx.language) then
        -- the Chinese reply has the documents' text alone; the emulator's account goes to the log
        site.note(result.code .. ": " .. result.message)
      end
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

--- error_text(store, req, code, message) -> the JSON text of an error reply to req, with this
-- message as it is (an armed fault's).
function M.error_text(store, req, code, message)
  return json.encode(envelope({ request_id = store:request_id(), legacy = req.legacy }, nil,
    { code = code, message = message, verbatim = true }))
end

return M

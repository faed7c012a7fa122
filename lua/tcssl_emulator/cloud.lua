--- tcssl_emulator.cloud: the parts of Tencent Cloud around the SSL API that tcssl's
-- credential providers talk to, as the emulator plays them: STS (service sts, version
-- 2018-08-13: AssumeRole, signed, and AssumeRoleWithWebIdentity, unsigned) and the CVM
-- instance metadata service's role credentials (/latest/meta-data/cam/security-credentials/
-- <role>). Both hand out temporary keys that the emulator then accepts, with their token,
-- until they expire (the store's keys).
local json = require "tcssl.json"
local errors = require "tcssl_emulator.errors"

local raise = errors.raise

local M = {}

M.STS_VERSION = "2018-08-13"
M.METADATA_PREFIX = "/latest/meta-data/"
M.ROLE_PATH = M.METADATA_PREFIX .. "cam/security-credentials/"
M.DEFAULT_ROLE = "tcssl-emulator-role"
M.DEFAULT_DURATION = 7200

local function iso8601(t)
  return os.date("!%Y-%m-%dT%H:%M:%SZ", t)
end

-- Mints a temporary key pair and token valid for `duration` seconds and registers it.
function M.issue(store, duration)
  local id = "AKIDTMP" .. store:random_token(29)
  local key = store:random_token(32)
  local token = store:random_token(64)
  local expires = math.floor(store:now()) + duration
  store.keys[id] = { secret_key = key, token = token, expires = expires }
  return { TmpSecretId = id, TmpSecretKey = key, Token = token }, expires
end

local function duration_of(params)
  local d = params.DurationSeconds
  if d == nil then return M.DEFAULT_DURATION end
  d = tonumber(d)
  if not d or d % 1 ~= 0 or d < 900 or d > 43200 then
    raise("InvalidParameterValue", "DurationSeconds must be a whole number from 900 to 43200.")
  end
  return d
end

local function required(params, name)
  local v = params[name]
  if type(v) ~= "string" or v == "" then
    raise("MissingParameter", "The request is missing a required parameter `" .. name .. "`.")
  end
  return v
end

local function assume(store, params)
  required(params, "RoleArn")
  required(params, "RoleSessionName")
  local creds, expires = M.issue(store, duration_of(params))
  return { Credentials = creds, ExpiredTime = expires, Expiration = iso8601(expires) }
end

-- STS actions: name -> { signed = boolean, handler(store, params) -> Response contents }.
M.STS_ACTIONS = {
  AssumeRole = { signed = true, handler = assume },
  AssumeRoleWithWebIdentity = {
    signed = false,
    handler = function(store, params)
      required(params, "ProviderId")
      local token = required(params, "WebIdentityToken")
      if store.web_identity_token and token ~= store.web_identity_token then
        raise("InvalidParameter.WebIdentityTokenError", "The web identity token is not valid.")
      end
      return assume(store, params)
    end,
  },
}

--- metadata(store, path) -> status, content type, body for a metadata-service request.
function M.metadata(store, path)
  local role = store.metadata_role or M.DEFAULT_ROLE
  if path == M.ROLE_PATH then
    return 200, "text/plain", role
  end
  if path == M.ROLE_PATH .. role then
    local creds, expires = M.issue(store, store.metadata_duration or 21600)
    return 200, "application/json", json.encode{
      Code = "Success", TmpSecretId = creds.TmpSecretId, TmpSecretKey = creds.TmpSecretKey,
      Token = creds.Token, ExpiredTime = expires, Expiration = iso8601(expires),
    }
  end
  return 404, "text/plain", "Not Found"
end

return M

-- The parts of Tencent Cloud around the SSL API that tcssl's credential providers talk to, as
-- the emulator plays them: STS (service sts, version 2018-08-13: AssumeRole, signed, and
-- AssumeRoleWithWebIdentity, unsigned) and the CVM instance metadata service's role
-- credentials (/latest/meta-data/cam/security-credentials/<role>). Both hand out temporary
-- keys that the emulator then accepts, with their token, until they expire.
local json = require "tcssl.json"

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
function M.issue(server, duration)
  local id = "AKIDTMP" .. server:random_token(29)
  local key = server:random_token(32)
  local token = server:random_token(64)
  local expires = math.floor(server:now()) + duration
  server.keys[id] = { secret_key = key, token = token, expires = expires }
  return { TmpSecretId = id, TmpSecretKey = key, Token = token }, expires
end

local function duration_of(server, params)
  local d = params.DurationSeconds
  if d == nil then return M.DEFAULT_DURATION end
  d = tonumber(d)
  if not d or d % 1 ~= 0 or d < 900 or d > 43200 then
    server.raise("InvalidParameterValue", "DurationSeconds must be a whole number from 900 to 43200.")
  end
  return d
end

local function required(server, params, name)
  local v = params[name]
  if type(v) ~= "string" or v == "" then
    server.raise("MissingParameter", "The request is missing a required parameter `" .. name .. "`.")
  end
  return v
end

local function assume(server, params)
  required(server, params, "RoleArn")
  required(server, params, "RoleSessionName")
  local creds, expires = M.issue(server, duration_of(server, params))
  return { Credentials = creds, ExpiredTime = expires, Expiration = iso8601(expires) }
end

-- STS actions: name -> { signed = boolean, handler(server, params) -> Response contents }.
M.STS_ACTIONS = {
  AssumeRole = { signed = true, handler = assume },
  AssumeRoleWithWebIdentity = {
    signed = false,
    handler = function(server, params)
      required(server, params, "ProviderId")
      local token = required(server, params, "WebIdentityToken")
      if server.web_identity_token and token ~= server.web_identity_token then
        server.raise("InvalidParameter.WebIdentityTokenError", "The web identity token is not valid.")
      end
      return assume(server, params)
    end,
  },
}

--- metadata(server, path) -> status, content type, body for a metadata-service request.
function M.metadata(server, path)
  local role = server.metadata_role or M.DEFAULT_ROLE
  if path == M.ROLE_PATH then
    return 200, "text/plain", role
  end
  if path == M.ROLE_PATH .. role then
    local creds, expires = M.issue(server, server.metadata_duration or 21600)
    return 200, "application/json", json.encode{
      Code = "Success", TmpSecretId = creds.TmpSecretId, TmpSecretKey = creds.TmpSecretKey,
      Token = creds.Token, ExpiredTime = expires, Expiration = iso8601(expires),
    }
  end
  return 404, "text/plain", "Not Found"
end

return M

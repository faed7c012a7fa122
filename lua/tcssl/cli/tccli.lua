-- tcssl.cli.tccli: what the tcssl command reads of tccli's own configuration, so that a
-- machine set up with `tccli configure` works with tcssl too. tccli keeps a profile NAME
-- (default "default", or TCCLI_PROFILE) in two JSON files under ~/.tccli/:
--   NAME.credential   { "secretId": ..., "secretKey": ..., "token": ... }
--   NAME.configure    { "_sys_param": { "region": ..., "output": ..., ... }, "<service>": { ... } }
-- The credentials come after tcssl's own (the environment and ~/.tencentcloud/credentials);
-- the region and output after the command line and TENCENTCLOUD_REGION.
local json = require "tcssl.json"
local credentials = require "tcssl.credentials"

local M = {}

local function nonempty(s)
  return type(s) == "string" and s ~= "" and s or nil
end

--- profile_name(option, getenv) -> the tccli profile: --profile, else TCCLI_PROFILE, else "default".
function M.profile_name(option, getenv)
  return option or nonempty(getenv("TCCLI_PROFILE")) or "default"
end

--- path(name, suffix, getenv) -> ~/.tccli/<name>.<suffix>, or nil without HOME.
function M.path(name, suffix, getenv)
  local home = nonempty(getenv("HOME"))
  if not home or not name:find("^[%w_%.%-]+$") then return nil end
  return home .. "/.tccli/" .. name .. "." .. suffix
end

-- The JSON object of a file: the table, or nil and a message (nil, nil: no such file).
local function read_object(path)
  local f = path and io.open(path, "rb")
  if not f then return nil, nil end
  local text = f:read("a")
  f:close()
  local v, err = json.decode(text or "")
  if type(v) ~= "table" or json.is_list(v) then
    return nil, path .. " is not a JSON object" .. (err and (": " .. err) or "")
  end
  return v
end

--- provider(name, getenv) -> a tcssl.credentials provider reading ~/.tccli/<name>.credential.
function M.provider(name, getenv)
  return credentials.provider("tccli", function()
    local path = M.path(name, "credential", getenv)
    local cred, err = read_object(path)
    if err then return nil, credentials.error("ProfileMalformed", err) end
    if not cred then
      return nil, credentials.error("NoCredentials",
        "no tccli profile " .. (path or ("~/.tccli/" .. name .. ".credential")))
    end
    local id, key = nonempty(cred.secretId), nonempty(cred.secretKey)
    if not id or not key then
      return nil, credentials.error("ProfileMalformed", path .. " needs both secretId and secretKey")
    end
    return { secret_id = id, secret_key = key, token = nonempty(cred.token) }
  end)
end

--- settings(name, getenv) -> { region =, output = } from ~/.tccli/<name>.configure (fields nil
-- when absent; an unreadable file gives none).
function M.settings(name, getenv)
  local conf = read_object(M.path(name, "configure", getenv))
  local sys = conf and type(conf._sys_param) == "table" and conf._sys_param or {}
  return { region = nonempty(sys.region), output = nonempty(sys.output) }
end

--- credentials_for(profile_option, getenv, default_chain) -> the provider the command uses:
-- with --profile NAME, that section of ~/.tencentcloud/credentials, then tccli's NAME; without,
-- the environment, the default section, tccli's profile, then the rest of the default chain
-- (made by default_chain() when it is reached).
function M.credentials_for(profile_option, getenv, default_chain)
  local name = M.profile_name(profile_option, getenv)
  if profile_option then
    return credentials.chain{ credentials.profile{ profile = profile_option, getenv = getenv },
      M.provider(name, getenv) }
  end
  return credentials.chain{ credentials.environment{ getenv = getenv }, credentials.profile{ getenv = getenv },
    M.provider(name, getenv), credentials.deferred("default", default_chain) }
end

return M

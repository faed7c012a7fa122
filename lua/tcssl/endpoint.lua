-- Which host a client calls: its endpoint, and the backup endpoint that tcssl.breaker sends
-- attempts to while the endpoint does not answer. Both are chosen once, when the client is made.
local errors = require "tcssl.error"

local M = {}

--- valid(host) -> true for a host name, host:port, [IPv6] or [IPv6]:port: what `endpoint` and
-- `backup_endpoint` take (no scheme, no path).
function M.valid(v)
  if v:find("^%[[%x:]+%]:?%d*$") then return true end -- [::1] or [::1]:8080
  local host, port = v:match("^([%w%-%.]+):(%d+)$")
  if host then
    local n = tonumber(port)
    return n >= 1 and n <= 65535
  end
  return v:find("^[%w%-%.]+$") ~= nil
end

-- The financial zones need their own hosts; their network is apart from the other regions'.
local FINANCIAL = { ["ap-shanghai-fsi"] = true, ["ap-shenzhen-fsi"] = true }

--- choose(service, config, region) -> the host to call, in lower case. An explicit endpoint
-- wins; for a service with regional hosts, the financial zones and `regional_endpoint` take
-- <service>.<region>.tencentcloudapi.com and the international site its own host; otherwise
-- the service's endpoint (for API 3.0, the nearest region).
function M.choose(service, config, region)
  local host = config.endpoint
  if not host then
    local name = service.regional and service.service
    host = service.endpoint
    if name and region and (FINANCIAL[region] or config.regional_endpoint) then
      host = ("%s.%s.tencentcloudapi.com"):format(name, region)
    elseif name and config.site == "intl" then
      host = name .. ".intl.tencentcloudapi.com"
    end
  end
  return host:lower()
end

-- The official SDKs' form of a backup endpoint leaves out the service: "ap-guangzhou.tencentcloudapi.com"
-- or "tencentcloudapi.com". Those get the service in front; any other host is taken as it is.
local function full_host(host, name)
  if host == "tencentcloudapi.com" then return name .. "." .. host end
  local first = host:match("^([%w%-]+)%.tencentcloudapi%.com$")
  if first and (first == "intl" or first:find("^%l+%-%l[%l%-]*$")) then return name .. "." .. host end
  return host
end

-- The backup a client has without being given one: another access point of the same service,
-- which serves every region as the nearest one does.
--   ssl.tencentcloudapi.com (nearest region)  -> ssl.<region>.tencentcloudapi.com, or
--                                               ssl.ap-guangzhou.tencentcloudapi.com without a region
--   ssl.<region>.tencentcloudapi.com          -> ssl.tencentcloudapi.com
--   ssl.intl.tencentcloudapi.com              -> ssl.<region>.tencentcloudapi.com; none without a region
-- Only services that fail over (tcssl's API 3.0 client) have one, on their default hosts: none
-- for the financial zones, for an explicit `endpoint` (a proxy, a private link or a test
-- server: nothing equivalent can be guessed) and for the legacy API.
local function default_backup(service, config, primary, region)
  if config.endpoint or not service.failover then return false end
  if region and region:find("%-fsi$") then return false end
  local name = service.service
  local nearest = name .. ".tencentcloudapi.com"
  local own = region and ("%s.%s.tencentcloudapi.com"):format(name, region)
  if primary == nearest then return own or (name .. ".ap-guangzhou.tencentcloudapi.com") end
  if primary == name .. ".intl.tencentcloudapi.com" then return own or false end
  return nearest
end

local function config_error(msg)
  return nil, errors.new("config", "InvalidConfig", "backup_endpoint: " .. msg, { field = "backup_endpoint" })
end

--- backup(service, config, primary, region) -> host | false (none) | nil, err
-- The backup endpoint: config.backup_endpoint when given (false: none), else the default above.
function M.backup(service, config, primary, region)
  local backup = config.backup_endpoint
  if backup == false then return false end
  if backup == nil then
    backup = default_backup(service, config, primary, region)
    if not backup then return false end
  else
    backup = backup:lower()
    if service.regional then backup = full_host(backup, service.service) end
  end
  if backup == primary then return config_error("must differ from the endpoint") end
  if region and region:find("%-fsi$") and backup:find("%.tencentcloudapi%.com$")
      and not backup:find("%-fsi%.tencentcloudapi%.com$") then
    return config_error("the financial zones are apart from the other regions: a backup for "
      .. region .. " must be a financial-zone host")
  end
  return backup
end

return M

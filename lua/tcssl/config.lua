-- A client's configuration: every field a client takes and its check, the defaults, the
-- descriptions of the services a client can speak to (tcssl.client.service), and the parts a
-- new client is made of (assemble). Nothing here does I/O but `ca_file`'s check that the file
-- can be read.
local core = require "tcssl.core"
local errors = require "tcssl.error"
local endpoint = require "tcssl.endpoint"
local breaker = require "tcssl.breaker"
local credentials = require "tcssl.credentials"
local ratelimit = require "tcssl.ratelimit"
local runtime = require "tcssl.runtime"
local redact = require "tcssl.redact"

local M = {}

M.DEFAULTS = {
  scheme = "https",
  timeout = 60,
  connect_timeout = 10,
  http_method = "POST",
  max_retries = 3,
  retry_base = 0.2,
  retry_cap = 10,
  deadline = 120,
  rate_limit = true,
  validate = true,
  allow_unknown_fields = false,
}

--- error(field, message) -> nil, err: kind "config", code InvalidConfig, `field` names the field.
function M.error(field, msg)
  return nil, errors.new("config", "InvalidConfig", ("%s: %s"):format(field, msg), { field = field })
end
local config_error = M.error

local function one_of(...)
  local list, set = { ... }, {}
  for _, v in ipairs(list) do set[v] = true end
  local why = "must be one of " .. table.concat(list, ", ")
  return function(v) return set[v] ~= nil, why end
end

local function plain_string(pattern, what)
  return function(v)
    return type(v) == "string" and v:find(pattern) ~= nil, "must be " .. what
  end
end

local function positive(v)
  return type(v) == "number" and v > 0 and v < math.huge, "must be a positive number of seconds"
end

local function boolean(v) return type(v) == "boolean", "must be true or false" end
local function callable(v)
  local mt = getmetatable(v)
  return type(v) == "function" or (mt ~= nil and mt.__call ~= nil), "must be a function"
end
local function is_transport(v)
  return v == "curl" or v == "ngx" or (type(v) == "table" and type(v.request) == "function"),
    'must be "curl", "ngx" or a table with a request method'
end
local function readable(v)
  if type(v) ~= "string" or v == "" then return false, "must be a file path" end
  local f = io.open(v, "rb")
  if not f then return false, "cannot be read: " .. v end
  f:close()
  return true
end

-- No control characters or spaces: these values end up in headers or signatures.
local TOKEN_CHARS = "^[%w%-%._~+/=:@]+$"

local region = plain_string("^[%w%-]+$", "a region name such as ap-guangzhou")
local service_name = plain_string("^[%l%d]+$", "a service name such as ssl")
local api_version = plain_string("^%d%d%d%d%-%d%d%-%d%d$", "an API version such as 2019-12-05")
local function host(v)
  return type(v) == "string" and endpoint.valid(v), "must be a host name or host:port, without scheme or path"
end

-- Every accepted field and its check; any other field is a config error naming it.
local FIELDS = {
  region = region,
  endpoint = host,
  backup_endpoint = function(v)
    return v == false or (type(v) == "string" and endpoint.valid(v)),
      "must be a host name or host:port, without scheme or path, or false"
  end,
  breaker = breaker.check,
  scheme = one_of("https", "http"),
  secret_id = plain_string(TOKEN_CHARS, "a non-empty SecretId without spaces"),
  secret_key = plain_string("^%S+$", "a non-empty SecretKey without spaces"),
  token = plain_string("^[%w%-%._~+/=:@*]+$", "a session token without spaces"),
  timeout = positive,
  connect_timeout = positive,
  language = one_of("zh-CN", "en-US"),
  http_method = one_of("POST", "GET"),
  sign_method = one_of("TC3-HMAC-SHA256", "HmacSHA256", "HmacSHA1"),
  proxy = plain_string("^%a[%w+.-]*://%S+$", "a proxy URL such as http://127.0.0.1:3128"),
  ca_file = readable,
  ca_path = plain_string("^.+$", "a directory path"),
  insecure = boolean,
  max_response_size = function(v)
    return type(v) == "number" and v >= 1 and v <= 4294967295 and v % 1 == 0,
      "must be a whole number of bytes from 1 to 4294967295"
  end,
  service = service_name,
  version = api_version,
  user_agent = plain_string("^[^%c]+$", "a user agent string"),
  transport = is_transport,
  clock = callable,
  validate = boolean,
  allow_unknown_fields = boolean,
  credentials = function(v)
    return type(v) == "table" and type(v.get) == "function", "must be a credentials provider (tcssl.credentials)"
  end,
  profile = plain_string("^[%w_%.%-]+$", "a profile (section) name of the credentials file"),
  metadata_url = plain_string("^https?://[^%s]+$", "an http:// URL of the instance metadata service"),
  regional_endpoint = boolean,
  site = one_of("china", "intl"),
  on_request = callable,
  debug = boolean,
  getenv = callable,
  max_retries = function(v)
    return type(v) == "number" and v >= 0 and v <= 20 and v % 1 == 0, "must be a whole number from 0 to 20"
  end,
  retry_base = positive,
  retry_cap = positive,
  deadline = positive,
  rate_limit = boolean,
  rate_limiter = function(v)
    return type(v) == "table" and type(v.take) == "function", "must be a limiter from tcssl.ratelimit.new()"
  end,
  shared_dict = function(v)
    if type(v) == "string" then return v:find("^[%w_%-%.]+$") ~= nil, "must be a lua_shared_dict name" end
    return type(v) == "table" and type(v.get) == "function" and type(v.set) == "function"
      and type(v.incr) == "function", "must be a lua_shared_dict name or a tcssl.shared cache"
  end,
  sleep = callable,
  monotonic = callable,
  rate_clock = callable,
}

--- settle(service, config) -> cfg | nil, err
-- Checks every field of the caller's config and returns the settled configuration: the
-- service's facts, the defaults, and the caller's plain values (numbers, strings, booleans)
-- over them. Secrets stay out of cfg, which tostring, hooks and errors may show; a proxy's
-- user:password is masked there.
function M.settle(service, config)
  if type(config) ~= "table" then return config_error("config", "must be a table") end
  for k, v in pairs(config) do
    local check = FIELDS[k]
    if not check then
      return config_error(tostring(k), "unknown configuration field")
    end
    local ok, why = check(v)
    if not ok then return config_error(k, why) end
  end
  local cfg = { version = service.version, path = service.path, sign_method = service.sign_method,
    service = service.service }
  for k, v in pairs(M.DEFAULTS) do cfg[k] = v end
  for k, v in pairs(config) do
    if type(v) ~= "table" and type(v) ~= "function" and k ~= "secret_key" and k ~= "token" then
      cfg[k] = v
    end
  end
  if cfg.proxy then cfg.proxy = redact.userinfo(cfg.proxy) end
  if not cfg.region then
    local env_region = (config.getenv or os.getenv)("TENCENTCLOUD_REGION")
    if env_region and env_region ~= "" then
      if not region(env_region) then return config_error("region", "TENCENTCLOUD_REGION is not a region name") end
      cfg.region = env_region
    end
  end
  if (config.secret_id == nil) ~= (config.secret_key == nil) then
    return config_error(config.secret_id and "secret_key" or "secret_id",
      "secret_id and secret_key go together")
  end
  if service.v1_only and cfg.sign_method == "TC3-HMAC-SHA256" then
    return config_error("sign_method", "the legacy API takes HmacSHA1 or HmacSHA256 only")
  end
  return cfg
end

-- What a service description may hold (tcssl.client.service); the others are tcssl's own.
local function list_of_actions(v)
  if type(v) ~= "table" then return false end
  for k, name in pairs(v) do
    if type(k) ~= "number" or type(name) ~= "string" or not name:find("^%u%w*$") then return false end
  end
  return true
end
local SERVICE = {
  service = service_name,
  version = api_version,
  endpoint = host,
  regional = boolean,
  unsigned = function(v)
    return list_of_actions(v), "must be a list of action names such as AssumeRoleWithWebIdentity"
  end,
}

--- service(description) -> service | nil, err: a description of an API 3.0 service, checked,
-- as a new table with its defaults. The description (tcssl.client.service):
--   service   the name in the signature's scope and in the default host ("sts"), required
--   version   the API version sent as X-TC-Version ("2018-08-13"), required
--   endpoint  the host, default <service>.tencentcloudapi.com
--   regional  true: the financial zones and `regional_endpoint` choose
--             <service>.<region>.tencentcloudapi.com, `site = "intl"` <service>.intl.…
--   unsigned  the actions the API takes without a signature ({ "AssumeRoleWithWebIdentity" })
function M.service(desc)
  if type(desc) ~= "table" then return config_error("service", "the description must be a table") end
  for k, v in pairs(desc) do
    local check = SERVICE[k]
    if not check then return config_error(tostring(k), "unknown field of a service description") end
    local ok, why = check(v)
    if not ok then return config_error(k, why) end
  end
  for _, k in ipairs{ "service", "version" } do
    if desc[k] == nil then return config_error(k, "a service description needs one") end
  end
  local unsigned = false
  for _, name in ipairs(desc.unsigned or {}) do
    unsigned = unsigned or {}
    unsigned[name] = true
  end
  return { name = desc.service, service = desc.service, version = desc.version, regional = desc.regional or false,
    endpoint = (desc.endpoint or desc.service .. ".tencentcloudapi.com"):lower(), unsigned = unsigned,
    sign_method = "TC3-HMAC-SHA256" }
end

local REQUEST_CLIENT = "tcssl/" .. core.version

--- assemble(service, config) -> the fields of a new client | nil, err (kind "config", `field`
-- names the offending field): the settled configuration, the endpoints and the breaker, the
-- transport, the credentials, the rate limiter, the clocks and the hook.
function M.assemble(service, config)
  if config == nil then config = {} end
  local cfg, err = M.settle(service, config)
  if not cfg then return nil, err end
  cfg.endpoint = endpoint.choose(service, config, cfg.region)
  cfg.host, cfg.request_client = cfg.endpoint, REQUEST_CLIENT
  local transport = type(config.transport) == "table" and config.transport or require("tcssl.transport").default{
    kind = config.transport, proxy = config.proxy, ca_file = cfg.ca_file, ca_path = cfg.ca_path,
    insecure = cfg.insecure, max_response_size = cfg.max_response_size, user_agent = cfg.user_agent,
  }
  local on_request = config.on_request or config.debug and require("tcssl.log").debug_writer() or false
  local monotonic, sleep = config.monotonic or runtime.now, config.sleep or runtime.sleep
  -- endpoint failover (tcssl.breaker): false when the client has no backup endpoint
  local failover, backup = false, false
  if config.breaker ~= false then
    backup, err = endpoint.backup(service, config, cfg.endpoint, cfg.region)
    if backup == nil then return nil, err end
    failover, err = breaker.setup(config.breaker, backup, cfg, monotonic)
    if failover == nil then return nil, err end
  end
  cfg.backup_endpoint = backup
  -- The API limits each action per account and region: rate keys (tcssl.ratelimit.key) name the
  -- account by a digest of the SecretId in use, known here for static keys, after the first
  -- fetch for a provider's.
  local account = config.secret_id and ratelimit.account(config.secret_id) or false
  -- shared_dict: state every nginx worker sees (the rate limits, temporary credentials)
  local cache, limiter = nil, false
  if config.shared_dict then
    cache, err = require("tcssl.shared").from(config.shared_dict)
    if not cache then return config_error("shared_dict", err.message) end
  end
  if cfg.rate_limit then
    limiter = config.rate_limiter
    if not limiter and cache then
      limiter, err = ratelimit.shared(cache, { now = monotonic, sleep = sleep, clock = config.rate_clock })
      if not limiter then return config_error("shared_dict", err.message) end
    end
    limiter = limiter or ratelimit.new{ now = monotonic, sleep = sleep }
  end
  -- Fields a call reads are never nil (false or 0 when unused), so that reading them does not
  -- go through the client's __index and its action lookups on every call.
  return {
    service = service, config = cfg, transport = transport, breaker = failover,
    credentials = credentials.for_client(config, { transport = transport, scheme = cfg.scheme, cache = cache }),
    clock = config.clock or os.time, clock_offset = 0, monotonic = monotonic, sleep = sleep,
    limiter = limiter, account = account, on_request = on_request,
    check_opts = cfg.validate and { allow_unknown = cfg.allow_unknown_fields }, -- false: no checks
  }
end

return M

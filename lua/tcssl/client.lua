-- tcssl clients: configuration, and `client:call(action, params)` over a transport.
local core = require "tcssl.core"
local json = require "tcssl.json"
local errors = require "tcssl.error"
local request = require "tcssl.request"
local schema = require "tcssl.schema"
local runtime = require "tcssl.runtime"
local ratelimit = require "tcssl.ratelimit"
local breaker = require "tcssl.breaker"
local dates = require "tcssl.dates"

local M = {}

local Client = {}
M.Client = Client

-- client:<Action>(params) for every action of the model, through this one lookup. The
-- functions are made once per action name and shared by all clients.
local action_methods = { v3 = {}, legacy = {} }
-- Action names in lower case, per profile: `client:describeCertificates` is answered with a
-- suggestion rather than "attempt to call a nil value". Only names that match an action
-- case-insensitively get one, so the client's own missing fields still read as nil.
local lower_names = {}
local function misspelt_case(profile, key)
  local names = lower_names[profile.name]
  if not names then
    names = {}
    for name in pairs(profile.actions()) do names[name:lower()] = name end
    lower_names[profile.name] = names
  end
  local name = names[key:lower()]
  if not name then return nil end
  local msg = ("unknown action %s; did you mean %s?"):format(key, name)
  return function() return nil, errors.new("validation", "InvalidAction", msg, { action = key }) end
end

function Client.__index(self, key)
  local method = Client[key]
  if method ~= nil or type(key) ~= "string" then return method end
  if not key:find("^%u") then
    local profile = rawget(self, "profile")
    return profile and key:find("^%l") and misspelt_case(profile, key) or nil
  end
  local profile = rawget(self, "profile")
  local cache = action_methods[profile.name]
  method = cache[key]
  if not method then
    local actions = profile.actions()
    if actions[key] then
      method = function(client, params) return client:call(key, params) end
    else
      local names = {}
      for name in pairs(actions) do names[#names + 1] = name end
      table.sort(names)
      local hint = schema.closest(key, names)
      local msg = ("unknown action %s%s"):format(key, hint and ("; did you mean %s?"):format(hint) or "")
      method = function()
        return nil, errors.new("validation", "InvalidAction", msg, { action = key })
      end
    end
    cache[key] = method
  end
  return method
end

local DEFAULTS = {
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

local function config_error(field, msg)
  return nil, errors.new("config", "InvalidConfig", ("%s: %s"):format(field, msg), { field = field })
end

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

local function valid_endpoint(v)
  if v:find("^%[[%x:]+%]:?%d*$") then return true end -- [::1] or [::1]:8080
  local host, port = v:match("^([%w%-%.]+):(%d+)$")
  if host then
    local n = tonumber(port)
    return n >= 1 and n <= 65535
  end
  return v:find("^[%w%-%.]+$") ~= nil
end

-- Every accepted field and its check; any other field is a config error naming it.
local FIELDS = {
  region = plain_string("^[%w%-]+$", "a region name such as ap-guangzhou"),
  endpoint = function(v)
    return type(v) == "string" and valid_endpoint(v), "must be a host name or host:port, without scheme or path"
  end,
  backup_endpoint = function(v)
    return v == false or (type(v) == "string" and valid_endpoint(v)),
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
  service = plain_string("^[%l%d]+$", "a service name such as ssl"),
  version = plain_string("^%d%d%d%d%-%d%d%-%d%d$", "an API version such as 2019-12-05"),
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
}

-- The host to call: an explicit endpoint wins; the financial zones need their own hosts; the
-- international site has its own; otherwise the nearest-region host, or the region's own host
-- when asked for.
local FINANCIAL = { ["ap-shanghai-fsi"] = true, ["ap-shenzhen-fsi"] = true }
local function choose_endpoint(profile, config, region)
  if config.endpoint then return config.endpoint end
  local service = profile.endpoint_service
  if not service then return profile.endpoint end
  if region and (FINANCIAL[region] or config.regional_endpoint) then
    return ("%s.%s.tencentcloudapi.com"):format(service, region)
  end
  if config.site == "intl" then return service .. ".intl.tencentcloudapi.com" end
  return profile.endpoint
end

-- Where the keys come from: static keys, a provider object, or the default chain (whose
-- temporary keys go to the shared cache when there is one).
local function choose_credentials(config, cfg, transport, cache)
  local credentials = require "tcssl.credentials"
  if config.credentials then return config.credentials end
  if config.secret_id or config.secret_key then
    return credentials.static(config.secret_id, config.secret_key, config.token)
  end
  -- a profile named in the configuration is what the caller asked for: the environment's
  -- keys must not silently win over it (as they would first in the chain)
  if config.profile then
    return credentials.profile{ profile = config.profile, getenv = config.getenv }
  end
  return credentials.default{
    getenv = config.getenv, profile = config.profile, metadata_url = config.metadata_url,
    transport = transport, clock = config.clock, sts_scheme = cfg.scheme, cache = cache,
  }
end

--- new(config [, profile [, credentials]]) -> client | nil, err (kind "config", field names the
-- offending field). profile is "v3" (default), "legacy" or "sts"; credentials (internal, for
-- STS) is a provider or "unsigned".
function M.new(config, profile_name, override)
  local profile = M.profiles[profile_name or "v3"]
  if config ~= nil and type(config) ~= "table" then
    return config_error("config", "must be a table")
  end
  config = config or {}
  for k, v in pairs(config) do
    local check = FIELDS[k]
    if not check then
      return config_error(tostring(k), "unknown configuration field")
    end
    local ok, why = check(v)
    if not ok then return config_error(k, why) end
  end
  local getenv = config.getenv or os.getenv
  local cfg = { version = profile.version, path = profile.path, sign_method = profile.sign_method,
    service = profile.service }
  for k, v in pairs(DEFAULTS) do cfg[k] = v end
  for k, v in pairs(config) do
    if FIELDS[k] and type(v) ~= "table" and type(v) ~= "function" and k ~= "secret_key" and k ~= "token" then
      cfg[k] = v
    end
  end
  -- a proxy's user:password is a secret like the keys: the transport gets the URL, the
  -- configuration that tostring, hooks and errors may show keeps it masked
  if cfg.proxy then cfg.proxy = cfg.proxy:gsub("^(%a[%w+.-]*://)[^/@]*@", "%1***@") end
  if not cfg.region then
    local region = getenv("TENCENTCLOUD_REGION")
    if region and region ~= "" then
      if not FIELDS.region(region) then return config_error("region", "TENCENTCLOUD_REGION is not a region name") end
      cfg.region = region
    end
  end
  cfg.endpoint = choose_endpoint(profile, config, cfg.region):lower()
  if (config.secret_id == nil) ~= (config.secret_key == nil) then
    return config_error(config.secret_id and "secret_key" or "secret_id",
      "secret_id and secret_key go together")
  end
  if profile.v1_only and cfg.sign_method == "TC3-HMAC-SHA256" then
    return config_error("sign_method", "the legacy API takes HmacSHA1 or HmacSHA256 only")
  end
  cfg.host = cfg.endpoint
  cfg.request_client = "tcssl/" .. core.version
  local transport = type(config.transport) == "table" and config.transport or require("tcssl.transport").default{
    kind = config.transport, proxy = config.proxy, ca_file = cfg.ca_file, ca_path = cfg.ca_path,
    insecure = cfg.insecure,
    max_response_size = cfg.max_response_size, user_agent = cfg.user_agent,
  }
  if override == "unsigned" then
    cfg.unsigned = true
  end
  local on_request = config.on_request
  if config.debug and not on_request then on_request = M.debug_writer() end
  local monotonic = config.monotonic or runtime.now
  local sleep = config.sleep or runtime.sleep
  -- endpoint failover (tcssl.breaker): false when the client has no backup endpoint
  local failover, ferr = breaker.setup{ profile = profile, endpoint = config.endpoint, primary = cfg.endpoint,
    region = cfg.region, backup = config.backup_endpoint, breaker = config.breaker, now = monotonic, config = cfg }
  if failover == nil then return nil, ferr end
  -- The API limits each account: clients with different static keys keep apart budgets in a
  -- shared limiter (a digest of the SecretId names the account; providers resolve keys late,
  -- and are taken as one account)
  local rate_key = profile.name .. "/"
  if config.secret_id then rate_key = core.sha256_hex(config.secret_id):sub(1, 16) .. "/" .. rate_key end
  -- shared_dict: state every nginx worker sees (the rate limits, temporary credentials)
  local cache
  if config.shared_dict then
    local err
    cache, err = require("tcssl.shared").from(config.shared_dict)
    if not cache then return config_error("shared_dict", err.message) end
  end
  local limiter = config.rate_limiter
  if not limiter and cfg.rate_limit then
    if cache then
      local err
      limiter, err = ratelimit.shared(cache, { now = monotonic, sleep = sleep })
      if not limiter then return config_error("shared_dict", err.message) end
    else
      limiter = ratelimit.new{ now = monotonic, sleep = sleep }
    end
  end
  -- Fields a call reads are never nil (false or 0 when unused), so that reading them does not
  -- go through Client.__index and its action lookups on every call.
  return setmetatable({
    monotonic = monotonic,
    sleep = sleep,
    limiter = cfg.rate_limit and limiter or false,
    clock_offset = 0,
    rate_key = rate_key,
    profile = profile,
    config = cfg,
    credentials = type(override) == "table" and override or choose_credentials(config, cfg, transport, cache),
    clock = config.clock or os.time,
    transport = transport,
    on_request = on_request or false,
    breaker = failover,
  }, Client)
end

function Client:__tostring()
  local c = self.config
  return ("tcssl client %s://%s region=%s credentials=%s"):format(c.scheme, c.host,
    c.region or "(none)", self.config.unsigned and "none" or self.credentials.source)
end

-- Hides what must not be logged in a request URL (GET and v1 requests carry every parameter
-- there): v1's Signature and Token, secret keys, private keys and their passwords (also
-- inside arrays, Name.N.Field), and the legacy API's `key`.
local SECRET_NAMES = { "token", "secretkey", "privatekey", "password", "passwd" }
local function secret_name(k)
  local last = (k:match("([^.]+)$") or k):lower()
  -- SignatureMethod and SignatureVersion say how, not what: only Signature itself is hidden
  if last == "key" or last == "signature" then return true end
  for _, s in ipairs(SECRET_NAMES) do
    if last:find(s, 1, true) then return true end
  end
  return false
end

local function redact_url(url)
  return (url:gsub("([?&])([%w_.]+)=([^&]*)", function(sep, k, v)
    if secret_name(k) then v = "***" end
    return sep .. k .. "=" .. v
  end))
end
M.redact_url = redact_url

--- debug_writer([file]) -> an on_request hook writing one line per call: to file when given,
-- otherwise through tcssl.log (inside nginx ngx.log at info level, elsewhere stderr).
function M.debug_writer(file)
  local log = require "tcssl.log"
  return function(info)
    local line = ("%s %s %s -> %s %.3fs attempts=%d%s%s"):format(info.action, info.method,
      info.url, info.status or "-", info.duration, info.attempts,
      info.request_id and (" RequestId=" .. info.request_id) or "",
      info.error and (" error=" .. info.error) or "")
    if file then file:write("tcssl: " .. line .. "\n") else log.debug(line) end
  end
end

-- Checks status and content type and decodes the JSON body: doc | nil, err.
local function decode_body(status, headers, body)
  local ctype = headers["content-type"]
  if type(ctype) ~= "string" then ctype = "" end
  if status ~= 200 then
    return nil, errors.new("protocol", "UnexpectedStatus",
      ("HTTP %d: %s"):format(status, errors.excerpt(body)), { http_status = status })
  end
  if not ctype:find("json", 1, true) and body:find("^%s*<") then
    return nil, errors.new("protocol", "UnexpectedContentType",
      ("expected JSON, got %s: %s"):format(ctype ~= "" and ctype or "no content type",
      errors.excerpt(body)), { http_status = status })
  end
  local doc, jerr = json.decode(body)
  if doc == nil then
    return nil, errors.new("protocol", "InvalidJSON",
      ("response is not valid JSON (%s): %s"):format(jerr, errors.excerpt(body)),
      { http_status = status })
  end
  if type(doc) ~= "table" then
    return nil, errors.new("protocol", "MissingResponse",
      "response JSON is not an object: " .. errors.excerpt(body), { http_status = status })
  end
  return doc
end

local function is_rate_limit(code)
  return code == "RequestLimitExceeded" or code:find("^RequestLimitExceeded%.") ~= nil
end

-- API 3.0: {"Response": {..., "RequestId"}} or {"Response": {"Error": {Code, Message}, ...}}.
local function interpret_v3(doc, status, body)
  local resp = doc.Response
  if type(resp) ~= "table" or json.is_array(resp) then
    return nil, errors.new("protocol", "MissingResponse",
      "response JSON has no Response object: " .. errors.excerpt(body), { http_status = status })
  end
  local request_id = type(resp.RequestId) == "string" and resp.RequestId or nil
  local e = resp.Error
  if e ~= nil then
    local code = type(e) == "table" and type(e.Code) == "string" and e.Code ~= "" and e.Code or "UnknownError"
    local message = type(e) == "table" and type(e.Message) == "string" and e.Message or ""
    return nil, errors.new("api", code, message, {
      request_id = request_id, http_status = status, retryable = is_rate_limit(code),
    })
  end
  return resp
end

-- The legacy 2017 API: {"code": 0, "message": "", "codeDesc": "Success", "data": {...}}.
-- Success returns data (an empty table when there is none).
local function interpret_legacy(doc, status, body)
  local code = doc.code
  if type(code) ~= "number" then
    return nil, errors.new("protocol", "MissingResponse",
      "legacy response has no numeric code: " .. errors.excerpt(body), { http_status = status })
  end
  if code ~= 0 then
    local desc = type(doc.codeDesc) == "string" and doc.codeDesc ~= "" and doc.codeDesc or tostring(code)
    return nil, errors.new("api", desc, type(doc.message) == "string" and doc.message or "", {
      http_status = status, legacy_code = code, retryable = is_rate_limit(desc),
    })
  end
  return type(doc.data) == "table" and doc.data or {}
end

-- What differs between API 3.0 and the legacy API; not user configuration.
M.profiles = {
  v3 = {
    name = "v3", endpoint = "ssl.tencentcloudapi.com", endpoint_service = "ssl", version = "2019-12-05",
    service = "ssl",
    sign_method = "TC3-HMAC-SHA256", interpret = interpret_v3,
    actions = function() return schema.model().actions end,
  },
  legacy = {
    name = "legacy", endpoint = "wss.api.qcloud.com", path = "/v2/index.php",
    sign_method = "HmacSHA1", interpret = interpret_legacy, v1_only = true,
    actions = function() return schema.model().legacy.actions end,
  },
  sts = {
    name = "sts", endpoint = "sts.tencentcloudapi.com", endpoint_service = "sts", version = "2018-08-13",
    service = "sts", sign_method = "TC3-HMAC-SHA256", interpret = interpret_v3,
    actions = function() return {} end,
  },
}

-- Per-call facts kept beside a result (attempts, duration) without adding fields to the
-- API's Response contents: tcssl.meta(result) reads them.
local result_meta = setmetatable({}, { __mode = "k" })
function M.meta(result)
  return result_meta[result]
end

local function is_internal(code)
  return code == "InternalError" or code:find("^InternalError%.") ~= nil
end

-- Rejections of the keys themselves: temporary keys that earn one are dropped and fetched again.
local REJECTED_KEYS = { ["AuthFailure.SecretIdNotFound"] = true, ["AuthFailure.InvalidSecretId"] = true,
  ["AuthFailure.TokenFailure"] = true }

-- The latest Unix time a signature's date can carry (9999-12-31).
local MAX_SIGNED_TIME = 253402300800

-- The monotonic clock once, checked: a number of seconds, or nil when it raised or gave none.
local function read_monotonic(self)
  local ok, t = pcall(self.monotonic)
  if ok and type(t) == "number" and t == t and t > -math.huge and t < math.huge then return t end
  return nil
end

-- Transport codes that mean the exchange broke after the request may have left.
local BROKEN = { Timeout = true, RecvFailed = true, SendFailed = true, EmptyReply = true,
  TruncatedBody = true, NetworkError = true }

-- Transport failures that another attempt cannot change: a server certificate that does not
-- verify, a request the transport cannot make (the ngx transport's config errors too).
local PERMANENT = { TLSVerifyFailed = true, BadURL = true, BadHeader = true, BadRequest = true }

-- Whether a failed attempt may be tried again, and whether the server may have acted on it.
-- Safe for every action: nothing was sent, or the server refused for rate (not processed).
-- Safe only for actions that read: broken exchanges, 5xx, gateway pages, InternalError.
-- Never: what cannot turn out differently (PERMANENT), or a reply that cannot be read.
local function judge(err, readonly)
  if err.kind == "api" then
    if is_rate_limit(err.code) then return true, false end
    if is_internal(err.code) then return readonly, not readonly end
    return false, false
  end
  if PERMANENT[err.code] or err.kind == "config" then return false, err.sent ~= false end
  if err.sent == false then return true, false end
  local transient = BROKEN[err.code]
    or (err.code == "UnexpectedStatus" and (err.http_status or 0) >= 500)
    or err.code == "UnexpectedContentType"
  if transient then return readonly, not readonly end
  -- anything else came after the request may have arrived (a reply that cannot be read, a
  -- status nobody expected): not retried, and the server may have acted on it
  return false, true
end

-- RFC 1123 dates as in the Date header: "Wed, 25 Nov 2026 10:23:00 GMT" -> Unix time.
M.parse_http_date = dates.parse_http_date

--- call(action, params) -> Response contents | nil, err
-- Retries what is safe to retry (see judge), waits for the action's rate-limit token, and
-- corrects the clock once when the server says the signature expired.
function Client:call(action, params)
  if type(action) ~= "string" or not action:find("^%u%w*$") then
    return nil, errors.new("validation", "InvalidAction",
      "action must be an API action name such as DescribeCertificates")
  end
  if params ~= nil and type(params) ~= "table" then
    return nil, errors.new("validation", "InvalidParameter", "params must be a table",
      { action = action })
  end
  local cfg = self.config
  local action_model = self.profile.actions()[action]
  if action_model and cfg.validate then
    -- params are the caller's: a raising __index or __pairs is a bad parameter, not a raise
    local ran, checked, verr = pcall(schema.check, action_model, params, { allow_unknown = cfg.allow_unknown_fields })
    if not ran then
      return nil, errors.new("validation", "InvalidParameter", "params could not be read: " .. tostring(checked),
        { action = action })
    end
    if not checked then
      verr.action = action
      return nil, verr
    end
    params = checked
  end
  -- actions the model does not know are treated as changing state: never retried once sent
  local readonly = action_model and action_model.readonly or false
  local started = read_monotonic(self)
  if not started then
    return nil, errors.new("config", "InvalidClock", "the monotonic function must return a number of seconds",
      { field = "monotonic", action = action })
  end
  local deadline = started + cfg.deadline
  local attempts, skew_fixed, keys_renewed = 0, false, false
  local resp, failure, status, req
  while true do
    if self.limiter and action_model then
      local ran, ok, wait = pcall(self.limiter.take, self.limiter, self.rate_key .. action, action_model.rate_limit,
        deadline)
      if not ran then
        failure = failure or errors.new("config", "RateLimiterFailed", "the rate limiter raised: " .. tostring(ok),
          { action = action, field = "rate_limiter" })
        break
      end
      if not ok then
        failure = failure or errors.new("timeout", "DeadlineExceeded",
          ("waiting %.2fs for the %s rate limit would pass the call's deadline"):format(wait, action),
          { action = action, retryable = true })
        break
      end
    end
    attempts = attempts + 1
    local headers
    local route = self.breaker and self.breaker:route() -- primary or backup endpoint (tcssl.breaker)
    -- fetching credentials counts inside the call's deadline
    req, failure = self:prepare(action, params, deadline - self.monotonic(), route)
    if not req then
      if route then self.breaker:record(route, nil) end -- nothing was sent: a probe's place is free again
      break
    end
    local remaining = deadline - self.monotonic()
    if remaining <= 0 then
      if route then self.breaker:record(route, nil) end
      failure = errors.new("timeout", "DeadlineExceeded", "the call's deadline passed before the request was sent",
        { action = action, retryable = true, sent = false })
      break
    end
    resp, failure, status, headers = self:exchange(action, req, math.min(cfg.timeout, remaining), readonly)
    if route then self.breaker:record(route, breaker.outcome(resp, failure, readonly)) end
    if resp then break end
    if failure.code == "AuthFailure.SignatureExpire" and not skew_fixed then
      -- take the server's time from its Date header, then sign again once
      skew_fixed = true
      if self:correct_clock(headers and headers.date) then goto continue end
    end
    if REJECTED_KEYS[failure.code] and req.temporary and not keys_renewed and self.credentials.invalidate then
      -- temporary keys the server no longer knows (revoked, rotated): drop them, fetch once more
      keys_renewed = true
      pcall(self.credentials.invalidate)
      goto continue
    end
    do
      local retry, applied = judge(failure, readonly)
      failure.retryable, failure.maybe_applied = retry, applied
      if not retry or attempts > cfg.max_retries then break end
      -- exponential backoff with full jitter, within the deadline
      local wait = math.random() * math.min(cfg.retry_cap, cfg.retry_base * 2 ^ (attempts - 1))
      if self.monotonic() + wait >= deadline then break end
      local ran, slept, why = pcall(self.sleep, wait)
      if not ran or (slept == nil and why) then break end
    end
    ::continue::
  end
  -- a reply whose fields do not hold the model's types is a protocol error (schema.decode)
  if resp and action_model and self.profile.name == "v3" then
    resp, failure = schema.decode(action_model, resp, { http_status = status })
  end
  local duration = self.monotonic() - started
  if resp then
    result_meta[resp] = { attempts = attempts, duration = duration }
  else
    failure.action = failure.action or action
    failure.attempts = attempts
  end
  if self.on_request and req then
    local info = { action = action, method = req.method, url = redact_url(req.url), status = status,
      duration = duration, attempts = attempts,
      request_id = resp and resp.RequestId or failure and failure.request_id,
      error = failure and failure.code }
    pcall(self.on_request, info) -- a failing hook must not turn a result into a raise
  end
  if not resp then return nil, failure end
  return resp
end

-- The local clock as a whole Unix time between 1970 and 9999 (what a signature's date can
-- carry), or nil: a clock that raises or answers anything else is not one.
local function read_clock(self)
  local ok, now = pcall(self.clock)
  if not ok or type(now) ~= "number" or not (now >= 0 and now < MAX_SIGNED_TIME) then return nil end
  return math.floor(now)
end

-- Server times a correction may come from: 2000-01-01 up to 2100-01-01. A Date outside that is
-- no clock anybody runs (a broken or hostile reply); taking it would leave the client unable
-- to sign at all.
local SERVER_TIME_MIN, SERVER_TIME_MAX = 946684800, 4102444800

--- correct_clock(date_header) -> true when the server's Date gave a usable clock offset.
function Client:correct_clock(date)
  local server_time = M.parse_http_date(date)
  if not server_time or server_time < SERVER_TIME_MIN or server_time >= SERVER_TIME_MAX then return false end
  local now = read_clock(self)
  if not now then return false end
  self.clock_offset = server_time - now
  return true
end

-- What a credentials provider returned, checked: keys must be strings a signature can carry.
local function checked_credentials(ran, creds, cerr)
  if not ran then
    return nil, errors.new("credentials", "ProviderFailed", "the credentials provider raised: " .. tostring(creds))
  end
  if creds == nil then
    if errors.is(cerr) then return nil, cerr end
    return nil, errors.new("credentials", "NoCredentials", "the credentials provider gave neither keys nor an error")
  end
  if type(creds) ~= "table" then
    return nil, errors.new("credentials", "InvalidCredentials", "the credentials provider did not return a table")
  end
  for _, field in ipairs{ "secret_id", "secret_key" } do
    local v = creds[field]
    if type(v) ~= "string" or not v:find("^[^%s%c]+$") then
      return nil, errors.new("credentials", "InvalidCredentials",
        ("the credentials provider returned no usable %s (a non-empty string without spaces)"):format(field))
    end
  end
  if creds.token ~= nil and (type(creds.token) ~= "string" or creds.token:find("[%s%c]")) then
    return nil, errors.new("credentials", "InvalidCredentials",
      "the credentials provider returned a token that is not a string without spaces")
  end
  return creds
end

-- Signs one attempt afresh: new timestamp (corrected by any known clock offset), new nonce.
-- budget: the seconds left of the call's deadline, which a credentials fetch must keep to;
-- route (from the breaker) below 0 sends it to the backup endpoint, signed for that host.
function Client:prepare(action, params, budget, route)
  local cfg = self.config
  local now = read_clock(self)
  if not now then
    return nil, errors.new("config", "InvalidClock", "the clock function must return a Unix time",
      { field = "clock", action = action })
  end
  if not (now + self.clock_offset >= 0 and now + self.clock_offset < MAX_SIGNED_TIME) then
    self.clock_offset = 0 -- a correction that no longer gives a signable time is dropped
  end
  now = now + self.clock_offset
  local creds, cerr
  if cfg.unsigned then
    creds = {}
  else
    if budget and budget <= 0 then
      return nil, errors.new("timeout", "DeadlineExceeded", "the call's deadline passed before credentials were ready",
        { action = action, retryable = true, sent = false })
    end
    creds, cerr = checked_credentials(pcall(self.credentials.get, now, { timeout = budget }))
    if not creds then
      cerr.action = action
      return nil, cerr
    end
  end
  local ran, req, err = pcall(request.build, route and route < 0 and self.breaker.config or cfg, creds, action,
    params, now)
  if not ran then
    return nil, errors.new("validation", "InvalidParameter", "params could not be encoded: " .. tostring(req),
      { action = action })
  end
  if not req then
    err.action = action
    return nil, err
  end
  req.temporary = creds.expires ~= nil or creds.token ~= nil
  return req
end

-- One HTTP exchange: Response contents | nil, err; then the HTTP status and response headers.
-- Anything but a read goes out on a fresh connection (opts.fresh): libcurl resends a request
-- by itself when a reused connection dies before the answer, and a change must not be.
function Client:exchange(action, req, timeout, readonly)
  local cfg = self.config
  timeout = timeout or cfg.timeout
  local ran, status, headers, body = pcall(self.transport.request, self.transport, req.method, req.url, req.headers,
    req.body, { timeout = timeout, connect_timeout = math.min(cfg.connect_timeout, timeout), fresh = not readonly })
  if not ran then
    -- a custom transport that raises: whether the request left is unknown
    status, headers = nil, { code = "TransportFailed", message = "the transport raised: " .. tostring(status) }
  elseif not status and type(headers) ~= "table" then
    headers = { code = "TransportFailed", message = "the transport returned neither a response nor an error" }
  elseif status and (type(status) ~= "number" or status % 1 ~= 0 or status < 100 or status > 599
      or type(body) ~= "string") then
    return nil, errors.new("protocol", "BadTransportResult",
      "the transport returned no HTTP status (an integer 100-599) and body (a string)",
      { action = action, maybe_applied = true })
  end
  if status and type(headers) ~= "table" then headers = {} end
  if not status then
    local terr = headers
    return nil, errors.new(terr.kind or "network", terr.code or "NetworkError",
      terr.message or "transport failure", {
        action = action, sent = terr.sent,
        retryable = terr.sent == false,
        maybe_applied = terr.sent ~= false,
      })
  end
  local doc, err = decode_body(status, headers, body)
  local resp
  if doc then resp, err = self.profile.interpret(doc, status, body) end
  if not resp then
    err.action = action
    return nil, err, status, headers
  end
  return resp, nil, status, headers
end

--- close() releases the connection now rather than at garbage collection; under Lua 5.4
-- `local client <close> = tcssl.new{...}` does it at the end of the scope.
function Client:close()
  if self.transport.close then self.transport:close() end
end
Client.__close = Client.close

return M

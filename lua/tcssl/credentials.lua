-- Credential providers: where a client's SecretId, SecretKey and session token come from.
--
-- A provider is a table with a `source` name and a function `get(now, opts)` that returns
-- { secret_id, secret_key, token, expires } or nil and an error object (kind "credentials").
-- opts.timeout, when given, is the seconds left of the caller's deadline: a provider that
-- fetches keys over the network keeps to it. Providers of temporary keys also have
-- `invalidate()`, which drops the cached keys (the client calls it when the server rejects them).
-- Secrets live in closures and provider fields that no error message or tostring reads.
--
--   static        keys given in the configuration
--   environment   TENCENTCLOUD_SECRET_ID, TENCENTCLOUD_SECRET_KEY, TENCENTCLOUD_SESSION_TOKEN
--   profile       ~/.tencentcloud/credentials, then /etc/tencentcloud/credentials (INI)
--   cvm_role      the CVM instance metadata service's role credentials
--   assume_role   STS AssumeRole with long-term keys
--   oidc          STS AssumeRoleWithWebIdentity (TKE's OIDC: TKE_* environment variables)
--   chain         the first of several that gives credentials; `default` is the official order
local errors = require "tcssl.error"
local json = require "tcssl.json"
local runtime = require "tcssl.runtime"
local shared = require "tcssl.shared"

local M = {}

-- Temporary credentials are renewed this many seconds before they expire.
M.REFRESH_MARGIN = 300

local function cred_error(code, message, fields)
  return errors.new("credentials", code, message, fields)
end

local function nonempty(s)
  return type(s) == "string" and s ~= "" and s or nil
end

local function redacted(self)
  return "tcssl credentials (" .. self.source .. ")"
end
local Provider = { __tostring = redacted }
Provider.__index = Provider

local function provider(source, get)
  return setmetatable({ source = source, get = get }, Provider)
end

--- static(secret_id, secret_key [, token])
function M.static(secret_id, secret_key, token)
  local creds = { secret_id = secret_id, secret_key = secret_key, token = token }
  return provider("static", function()
    if not nonempty(secret_id) or not nonempty(secret_key) then
      return nil, cred_error("MissingCredentials", "secret_id and secret_key must both be set")
    end
    return creds
  end)
end

--- environment{ getenv = os.getenv }: read at each call, so a changed environment is seen.
function M.environment(opts)
  local getenv = opts and opts.getenv or os.getenv
  return provider("environment", function()
    local id, key = nonempty(getenv("TENCENTCLOUD_SECRET_ID")), nonempty(getenv("TENCENTCLOUD_SECRET_KEY"))
    if not id or not key then
      return nil, cred_error("NoCredentials",
        "TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY are not both set")
    end
    return { secret_id = id, secret_key = key, token = nonempty(getenv("TENCENTCLOUD_SESSION_TOKEN")) }
  end)
end

-- A small INI reader: [section] headers, key = value lines, '#' and ';' comments, optional
-- quotes around values. Returns sections or nil and a message naming the bad line.
function M.parse_ini(text)
  local sections, current = {}, nil
  local n = 0
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    n = n + 1
    line = line:gsub("\r$", ""):match("^%s*(.-)%s*$")
    if line == "" or line:find("^[#;]") then
      goto continue
    end
    local name = line:match("^%[%s*([^%]]-)%s*%]$")
    if name then
      current = sections[name] or {}
      sections[name] = current
      goto continue
    end
    do
      local k, v = line:match("^([%w_%.%-]+)%s*=%s*(.-)$")
      if not k or not current then
        return nil, ("line %d is not `key = value` inside a [section]"):format(n)
      end
      v = v:match('^"(.*)"$') or v:match("^'(.*)'$") or v
      current[k] = v
    end
    ::continue::
  end
  return sections
end

--- profile{ profile = "default", paths = { ... }, home = $HOME }
function M.profile(opts)
  opts = opts or {}
  local name = opts.profile or "default"
  local getenv = opts.getenv or os.getenv
  return provider("profile", function()
    local paths = opts.paths
    if not paths then
      local home = opts.home or getenv("HOME")
      paths = {}
      -- without HOME (cron, services, nginx workers) only the system-wide file is looked at
      if home and home ~= "" then paths[1] = home .. "/.tencentcloud/credentials" end
      paths[#paths + 1] = "/etc/tencentcloud/credentials"
    end
    for _, path in ipairs(paths) do
      local f, open_err = io.open(path, "rb")
      if f then
        local text, read_err = f:read("a")
        f:close()
        if not text then
          return nil, cred_error("ProfileUnreadable", ("cannot read %s: %s"):format(path, tostring(read_err)))
        end
        local ini, why = M.parse_ini(text)
        if not ini then
          return nil, cred_error("ProfileMalformed", ("%s: %s"):format(path, why))
        end
        local section = ini[name]
        if not section then
          return nil, cred_error("ProfileMalformed", ("%s has no [%s] section"):format(path, name))
        end
        local id, key = nonempty(section.secret_id), nonempty(section.secret_key)
        if not id or not key then
          return nil, cred_error("ProfileMalformed",
            ("%s: [%s] needs both secret_id and secret_key"):format(path, name))
        end
        return { secret_id = id, secret_key = key, token = nonempty(section.token) }
      elseif open_err and not open_err:find("No such file", 1, true) then
        return nil, cred_error("ProfileUnreadable", ("cannot open %s"):format(open_err))
      end
    end
    return nil, cred_error("NoCredentials", "no credentials file at " .. table.concat(paths, " or "))
  end)
end

-- A shared cache for temporary credentials (opts.shared_dict, a lua_shared_dict name, or
-- opts.cache, a tcssl.shared cache): nginx workers then fetch once between them instead of
-- once each. `key` names the credentials (source and role, never a secret).
local function shared_store(opts, key)
  local cache, err = shared.from(opts.cache or opts.shared_dict)
  if not cache then return nil, err end
  return { cache = cache, key = "tcssl:credentials:" .. key }
end

local function shared_read(store, now, margin)
  local text = store.cache:get(store.key)
  local c = type(text) == "string" and json.decode(text)
  if type(c) == "table" and nonempty(c.secret_id) and nonempty(c.secret_key) and type(c.expires) == "number"
    and now < c.expires - margin then
    return { secret_id = c.secret_id, secret_key = c.secret_key, token = nonempty(c.token), expires = c.expires }
  end
  return nil
end

local function shared_write(store, creds, now, margin)
  local ttl = creds.expires - margin - now
  if ttl <= 0 then return end
  local text = json.encode{ secret_id = creds.secret_id, secret_key = creds.secret_key, token = creds.token,
    expires = creds.expires }
  if text then store.cache:set(store.key, text, ttl) end
end

-- Temporary credentials: cached until REFRESH_MARGIN seconds before they expire, fetched once
-- even when several coroutines ask at the same time (the others wait for the one fetch).
local function temporary(source, fetch, opts, key)
  local cached, refreshing, store
  local clock = opts.clock or os.time
  local margin = opts.refresh_margin or M.REFRESH_MARGIN
  local wait = opts.wait
  local self = provider(source)
  self.get = function(_, call_opts)
    local now = clock()
    if cached and now < cached.expires - margin then return cached end
    local budget = call_opts and call_opts.timeout
    if not store and (opts.shared_dict or opts.cache) then
      local err
      store, err = shared_store(opts, key or source)
      if not store then return nil, cred_error("SharedCacheUnavailable", source .. ": " .. err.message) end
    end
    if store then
      local hit = shared_read(store, now, margin)
      if hit then
        cached = hit
        return hit
      end
    end
    if refreshing then
      -- another coroutine is fetching: wait for it within a bounded number of turns
      local turns = budget and math.max(1, math.floor(budget / 0.005)) or 10000
      for _ = 1, math.min(10000, turns) do
        if not refreshing then break end
        if wait then wait()
        elseif runtime.cosockets() then runtime.sleep(0.005) -- OpenResty: let the fetch go on
        elseif coroutine.isyieldable() then coroutine.yield()
        else break end
      end
      if cached and clock() < cached.expires - margin then return cached end
      if refreshing then
        return nil, cred_error("RefreshInProgress", source .. ": timed out waiting for a credential refresh")
      end
    end
    refreshing = true
    local ok, creds, err = pcall(fetch, now, budget)
    refreshing = false
    if not ok then
      return nil, cred_error("RefreshFailed", source .. ": " .. tostring(creds))
    end
    if not creds then return nil, err end
    cached = creds
    if store then shared_write(store, creds, now, margin) end
    return creds
  end
  self.invalidate = function()
    cached = nil
    if store then store.cache:delete(store.key) end
  end
  return self
end

-- Plain HTTP(S) GET for the metadata service, through a transport.
local function http_get(transport, url, timeout)
  local status, _, body = transport:request("GET", url, {}, nil, { timeout = timeout, connect_timeout = timeout })
  if not status then
    local e = _
    return nil, ("%s (%s)"):format(e.message or "request failed", e.code or "?")
  end
  if status ~= 200 then
    return nil, ("HTTP %d: %s"):format(status, errors.excerpt(body, 80))
  end
  return body
end

local function default_transport(opts)
  return opts.transport or require("tcssl.transport").default{}
end

M.METADATA_URL = "http://metadata.tencentyun.com/latest/meta-data/"

-- An expiry as the metadata service and STS give it: a Unix time, or ISO 8601 with its zone
-- ("2024-05-01T12:00:00Z"). tcssl.dates loads only for temporary keys.
local function expiry(v)
  if type(v) == "number" then return v end
  return (require("tcssl.dates").parse(v))
end

--- cvm_role{ role = nil (ask the metadata service), metadata_url, transport, clock, timeout,
--- shared_dict or cache }
function M.cvm_role(opts)
  opts = opts or {}
  local base = opts.metadata_url or M.METADATA_URL
  if base:sub(-1) ~= "/" then base = base .. "/" end
  local timeout = opts.timeout or 2
  local role = opts.role
  local transport
  local function fail(msg) return nil, cred_error("MetadataError", "CVM role: " .. msg) end
  return temporary("cvm_role", function(_, budget)
    transport = transport or default_transport(opts)
    local url = base .. "cam/security-credentials/"
    -- both requests together keep to what is left of the caller's deadline
    local deadline = budget and runtime.now() + budget
    local function left()
      if not deadline then return timeout end
      return math.max(0.001, math.min(timeout, deadline - runtime.now()))
    end
    if not role then
      local body, err = http_get(transport, url, left())
      if not body then return fail("cannot read the role name: " .. err) end
      local name = body:match("^%s*([%w_%.%-@=,+]+)%s*$")
      if not name then return fail("the metadata service gave no usable role name") end
      role = name
    end
    local body, err = http_get(transport, url .. role, left())
    if not body then return fail("cannot read the role's credentials: " .. err) end
    local doc = json.decode(body)
    if type(doc) ~= "table" then return fail("the credentials document is not JSON") end
    if doc.Code ~= nil and doc.Code ~= "Success" then
      return fail("the metadata service answered Code " .. tostring(doc.Code))
    end
    local id, key, token = nonempty(doc.TmpSecretId), nonempty(doc.TmpSecretKey), nonempty(doc.Token)
    local expires = expiry(doc.ExpiredTime) or expiry(doc.Expiration)
    if not id or not key or not token or not expires then
      return fail("the credentials document lacks TmpSecretId, TmpSecretKey, Token or ExpiredTime")
    end
    return { secret_id = id, secret_key = key, token = token, expires = expires }
  end, opts, "cvm_role:" .. base .. (opts.role or ""))
end

--- STS: the service that assume_role and oidc call, as tcssl.client.service describes it.
-- AssumeRoleWithWebIdentity takes no signature, as its documentation says.
M.STS = { service = "sts", version = "2018-08-13", endpoint = "sts.tencentcloudapi.com",
  unsigned = { "AssumeRoleWithWebIdentity" } }

local sts_service
-- The keys of a client that sends only what the API takes unsigned: none.
local NO_KEYS = provider("none", function()
  return nil, cred_error("NoCredentials", "this client sends only actions the API takes unsigned")
end)

-- creds: the provider of the long-term keys, or nil for an unsigned action.
local function sts_call(opts, action, params, creds, budget)
  sts_service = sts_service or assert(require("tcssl.client").service(M.STS))
  local timeout = opts.timeout or 10
  if budget then timeout = math.max(0.001, math.min(timeout, budget)) end
  local c, err = sts_service.new{
    endpoint = opts.endpoint, scheme = opts.scheme, region = opts.region or "ap-guangzhou",
    timeout = timeout, deadline = budget and timeout or nil, transport = opts.transport, clock = opts.clock,
    ca_file = opts.ca_file, proxy = opts.proxy, credentials = creds or NO_KEYS,
  }
  if not c then return nil, err end
  local res, cerr = c:call(action, params)
  if not opts.transport then c:close() end
  return res, cerr
end

local function sts_credentials(source, res, err)
  if not res then
    return nil, cred_error("STSError", ("%s: %s"):format(source, err and err.message or "failed"),
      { request_id = err and err.request_id, cause = err and err.code })
  end
  local c = type(res.Credentials) == "table" and res.Credentials or {}
  local id, key, token = nonempty(c.TmpSecretId), nonempty(c.TmpSecretKey), nonempty(c.Token)
  local expires = expiry(res.ExpiredTime) or expiry(res.Expiration)
  if not id or not key or not token or not expires then
    return nil, cred_error("STSError", source .. ": the answer lacks Credentials or ExpiredTime",
      { request_id = res.RequestId })
  end
  return { secret_id = id, secret_key = key, token = token, expires = expires }
end

--- assume_role{ secret_id, secret_key, role_arn, session_name, duration = 7200, endpoint, scheme,
--- region, transport, clock, shared_dict or cache }
function M.assume_role(opts)
  local long = M.static(opts.secret_id, opts.secret_key)
  local session_name = opts.session_name or "tcssl-session"
  return temporary("assume_role", function(_, budget)
    if not nonempty(opts.role_arn) then
      return nil, cred_error("MissingCredentials", "assume_role needs role_arn")
    end
    return sts_credentials("assume_role", sts_call(opts, "AssumeRole", {
      RoleArn = opts.role_arn, RoleSessionName = session_name, DurationSeconds = opts.duration or 7200,
    }, long, budget))
  end, opts, ("assume_role:%s:%s:%s"):format(tostring(opts.role_arn), session_name, tostring(opts.secret_id)))
end

--- oidc{ region, provider_id, token_file, role_arn, session_name, duration, endpoint, scheme,
--- transport, clock, shared_dict or cache }; the web identity token is read from its file at each refresh (TKE
--- rotates it). AssumeRoleWithWebIdentity is not signed.
function M.oidc(opts)
  local session_name = opts.session_name or "tcssl-oidc"
  return temporary("oidc", function(_, budget)
    for _, field in ipairs{ "region", "provider_id", "token_file", "role_arn" } do
      if not nonempty(opts[field]) then
        return nil, cred_error("MissingCredentials", "oidc needs " .. field)
      end
    end
    local f = io.open(opts.token_file, "rb")
    local token = f and f:read("a")
    if f then f:close() end
    token = token and token:match("^%s*(.-)%s*$")
    if not nonempty(token) then
      return nil, cred_error("TokenFileUnreadable", "cannot read a web identity token from " .. opts.token_file)
    end
    return sts_credentials("oidc", sts_call(opts, "AssumeRoleWithWebIdentity", {
      ProviderId = opts.provider_id, WebIdentityToken = token, RoleArn = opts.role_arn,
      RoleSessionName = session_name, DurationSeconds = opts.duration or 7200,
    }, nil, budget))
  end, opts, ("oidc:%s:%s:%s"):format(tostring(opts.role_arn), tostring(opts.provider_id), session_name))
end

--- tke_oidc{ getenv, ... }: oidc from TKE_REGION, TKE_PROVIDER_ID, TKE_WEB_IDENTITY_TOKEN_FILE,
--- TKE_ROLE_ARN.
function M.tke_oidc(opts)
  opts = opts or {}
  local getenv = opts.getenv or os.getenv
  local inner
  local self = provider("oidc")
  self.invalidate = function()
    if inner then inner.invalidate() end
  end
  self.get = function(now, call_opts)
    if not inner then
      local missing = {}
      for _, name in ipairs{ "TKE_REGION", "TKE_PROVIDER_ID", "TKE_WEB_IDENTITY_TOKEN_FILE", "TKE_ROLE_ARN" } do
        if not nonempty(getenv(name)) then missing[#missing + 1] = name end
      end
      if #missing > 0 then
        return nil, cred_error("NoCredentials", "not set: " .. table.concat(missing, ", "))
      end
      local o = {}
      for k, v in pairs(opts) do o[k] = v end
      o.region, o.provider_id = getenv("TKE_REGION"), getenv("TKE_PROVIDER_ID")
      o.token_file, o.role_arn = getenv("TKE_WEB_IDENTITY_TOKEN_FILE"), getenv("TKE_ROLE_ARN")
      inner = M.oidc(o)
    end
    return inner.get(now, call_opts)
  end
  return self
end

--- chain{ p1, p2, ... }: the first provider that gives credentials, remembered afterwards.
-- When none does, the error lists each provider and why it gave nothing.
function M.chain(list)
  local chosen
  local self = provider("chain")
  self.invalidate = function()
    if chosen and chosen.invalidate then chosen.invalidate() end
  end
  self.get = function(now, call_opts)
    if chosen then return chosen.get(now, call_opts) end
    local why = {}
    for _, p in ipairs(list) do
      local creds, err = p.get(now, call_opts)
      if creds then
        chosen = p
        self.source = p.source
        return creds
      end
      why[#why + 1] = ("%s: %s"):format(p.source, err and err.message or "nothing")
    end
    return nil, cred_error("NoCredentials", "no credentials found; tried " .. table.concat(why, "; "))
  end
  return self
end

--- default(opts): environment, profile file, CVM role, TKE OIDC, as the official SDKs do.
-- opts: getenv, profile, profile_paths, home, metadata_url, transport, clock, STS settings, and
-- shared_dict / cache for the temporary credentials (see temporary above).
function M.default(opts)
  opts = opts or {}
  return M.chain{
    M.environment(opts),
    M.profile{ profile = opts.profile, paths = opts.profile_paths, home = opts.home, getenv = opts.getenv },
    M.cvm_role{ metadata_url = opts.metadata_url, transport = opts.transport, clock = opts.clock,
      timeout = opts.metadata_timeout or 1, shared_dict = opts.shared_dict, cache = opts.cache },
    M.tke_oidc{ getenv = opts.getenv, endpoint = opts.sts_endpoint, scheme = opts.sts_scheme,
      transport = opts.transport, clock = opts.clock, shared_dict = opts.shared_dict, cache = opts.cache },
  }
end

--- for_client(config, opts) -> the provider a client's configuration names: its `credentials`,
-- its static keys, its `profile` (that section and nothing else: the environment's keys must
-- not silently win over what the caller asked for, as they would first in the chain), or the
-- default chain, whose temporary keys go to opts.cache when there is one. opts: transport,
-- scheme (of the STS calls), cache.
function M.for_client(config, opts)
  if config.credentials then return config.credentials end
  if config.secret_id or config.secret_key then
    return M.static(config.secret_id, config.secret_key, config.token)
  end
  if config.profile then
    return M.profile{ profile = config.profile, getenv = config.getenv }
  end
  return M.default{
    getenv = config.getenv, profile = config.profile, metadata_url = config.metadata_url,
    transport = opts.transport, clock = config.clock, sts_scheme = opts.scheme, cache = opts.cache,
  }
end

local function usable_key(v)
  return type(v) == "string" and v:find("^[^%s%c]+$") ~= nil
end

-- What pcall(provider.get, ...) gave, checked: keys must be strings a signature can carry; a
-- provider that raises or answers anything else gives a `credentials` error, never a raise
-- further on.
local function checked(ran, creds, cerr)
  if not ran then
    return nil, cred_error("ProviderFailed", "the credentials provider raised: " .. tostring(creds))
  end
  if creds == nil then
    if errors.is(cerr) then return nil, cerr end
    return nil, cred_error("NoCredentials", "the credentials provider gave neither keys nor an error")
  end
  if type(creds) ~= "table" then
    return nil, cred_error("InvalidCredentials", "the credentials provider did not return a table")
  end
  local field = not usable_key(creds.secret_id) and "secret_id" or not usable_key(creds.secret_key) and "secret_key"
  if field then
    return nil, cred_error("InvalidCredentials",
      ("the credentials provider returned no usable %s (a non-empty string without spaces)"):format(field))
  end
  if creds.token ~= nil and (type(creds.token) ~= "string" or creds.token:find("[%s%c]")) then
    return nil, cred_error("InvalidCredentials",
      "the credentials provider returned a token that is not a string without spaces")
  end
  return creds
end

--- fetch(provider, now, budget) -> creds | nil, err: the keys for one attempt of a call.
-- budget: the seconds left of the call's deadline, which the provider must keep to (none
-- left: a `timeout` error, retryable, nothing sent).
function M.fetch(source, now, budget)
  if budget and budget <= 0 then
    return nil, errors.new("timeout", "DeadlineExceeded", "the call's deadline passed before credentials were ready",
      { retryable = true, sent = false })
  end
  return checked(pcall(source.get, now, { timeout = budget }))
end

return M

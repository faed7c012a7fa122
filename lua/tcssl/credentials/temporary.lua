-- tcssl.credentials.temporary: the providers of temporary keys, fetched over the network and
-- cached until shortly before they expire. tcssl.credentials loads this module when one of
-- them is first asked for (credentials.cvm_role, .assume_role, .oidc, .tke_oidc).
--
--   cvm_role      the CVM instance metadata service's role credentials
--   assume_role   STS AssumeRole with long-term keys
--   oidc          STS AssumeRoleWithWebIdentity (TKE's OIDC: TKE_* environment variables)
local credentials = require "tcssl.credentials"
local errors = require "tcssl.error"
local json = require "tcssl.json"
local runtime = require "tcssl.runtime"
local shared = require "tcssl.shared"

local M = {}

local provider, cred_error = credentials.provider, credentials.error

local function nonempty(s)
  return type(s) == "string" and s ~= "" and s or nil
end

-- A shared cache for temporary credentials (opts.shared_dict, a lua_shared_dict name, or
-- opts.cache, a tcssl.shared cache): nginx workers then fetch once between them instead of
-- once each. `key` names the credentials (source and role, never a secret).
-- A cache that seals what it keeps (tcssl.shared.redis) holds them encrypted, and only when it
-- has a key to encrypt with: without one the keys are not shared (false), and it says so once.
local function shared_store(opts, key)
  local cache, err = shared.from(opts.cache or opts.shared_dict)
  if not cache then return nil, err end
  if cache.seal and not cache:seal("") then
    if cache.on_warning then
      pcall(cache.on_warning, "temporary credentials are not shared through " .. tostring(cache)
        .. ": it has no encryption_key")
    end
    return false
  end
  return { cache = cache, key = "tcssl:credentials:" .. key, lock = "tcssl:lock:credentials:" .. key }
end

-- Seconds a host may hold the refresh lock; the others wait for its result at most that long.
M.LOCK_TTL = 10

local function shared_read(store, now, margin)
  local ok, text = pcall(store.cache.get, store.cache, store.key)
  if not ok then return nil end
  if store.cache.unseal then text = store.cache:unseal(text) end
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
  if text and store.cache.seal then text = store.cache:seal(text) end
  if text then pcall(store.cache.set, store.cache, store.key, text, ttl) end
end

-- The fleet-wide refresh lock (a cache with add: SET NX with a TTL in Redis, a lua_shared_dict's
-- add): true when this process is to fetch, or the keys another host fetched meanwhile. A
-- cache that fails, or a wait that cannot be made, lets this process fetch by itself.
local function locked(store, clock, margin)
  -- another host may have written its keys and let go of the lock just before it was taken
  local hit = shared_read(store, clock(), margin)
  if not hit then return true end
  pcall(store.cache.delete, store.cache, store.lock)
  return false, hit
end

local function lock_or_wait(store, clock, margin, budget)
  local cache = store.cache
  if not cache.add then return false end
  local ok, got = pcall(cache.add, cache, store.lock, "1", M.LOCK_TTL)
  if not ok or got == nil then return false end
  if got then return locked(store, clock, margin) end
  local give_up = runtime.now() + math.min(budget or M.LOCK_TTL, M.LOCK_TTL)
  for _ = 1, 2000 do -- 20 ms turns, bounded by the lock's TTL and the caller's deadline
    local slept, why = runtime.sleep(0.02)
    if slept == nil and why then return false end
    local hit = shared_read(store, clock(), margin)
    if hit then return false, hit end
    if runtime.now() >= give_up then return false end
    -- the lock went without a result (that refresh failed): take it over
    ok, got = pcall(cache.add, cache, store.lock, "1", M.LOCK_TTL)
    if ok and got then return locked(store, clock, margin) end
  end
  return false
end

-- Temporary credentials: cached until REFRESH_MARGIN seconds before they expire, fetched once
-- even when several coroutines ask at the same time (the others wait for the one fetch).
local function temporary(source, fetch, opts, key)
  local cached, refreshing, store
  local clock = opts.clock or os.time
  local margin = opts.refresh_margin or credentials.REFRESH_MARGIN
  local wait = opts.wait
  local self = provider(source)
  self.get = function(_, call_opts)
    local now = clock()
    if cached and now < cached.expires - margin then return cached end
    local budget = call_opts and call_opts.timeout
    if store == nil and (opts.shared_dict or opts.cache) then
      local err
      store, err = shared_store(opts, key or source)
      if store == nil then return nil, cred_error("SharedCacheUnavailable", source .. ": " .. err.message) end
    end
    local holding = false
    if store then
      local hit = shared_read(store, now, margin)
      if not hit and not refreshing then holding, hit = lock_or_wait(store, clock, margin, budget) end
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
    if ok and creds and store then shared_write(store, creds, now, margin) end
    if holding then pcall(store.cache.delete, store.cache, store.lock) end
    if not ok then
      return nil, cred_error("RefreshFailed", source .. ": " .. tostring(creds))
    end
    if not creds then return nil, err end
    cached = creds
    return creds
  end
  self.invalidate = function()
    cached = nil
    if store then pcall(store.cache.delete, store.cache, store.key) end
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
  local long = credentials.static(opts.secret_id, opts.secret_key)
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

return M

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
--
-- cvm_role, assume_role, oidc and tke_oidc live in tcssl.credentials.temporary, which loads on
-- first use: a client given static keys, or finding them in the environment or the profile
-- file, never loads the code that fetches temporary keys over the network.
local errors = require "tcssl.error"

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

--- provider(source, get) -> a provider whose tostring names its source and nothing else; for
-- providers of one's own, and for tcssl.credentials.temporary.
M.provider = provider

--- error(code, message [, fields]) -> a `credentials` error object.
M.error = cred_error

-- The providers of temporary keys, loaded when one is first asked for.
local TEMPORARY = { cvm_role = true, assume_role = true, oidc = true, tke_oidc = true, METADATA_URL = true,
  STS = true }
setmetatable(M, {
  __index = function(t, key)
    if not TEMPORARY[key] then return nil end
    local temporary = require "tcssl.credentials.temporary"
    for name in pairs(TEMPORARY) do rawset(t, name, temporary[name]) end
    return temporary[key]
  end,
})

--- deferred(source, make) -> a provider made by make() on first use: the default chain names
-- the CVM role and TKE's OIDC, and only a chain that gets that far loads their code.
local function deferred(source, make)
  local inner
  local self = provider(source)
  self.get = function(now, call_opts)
    inner = inner or make()
    return inner.get(now, call_opts)
  end
  self.invalidate = function()
    if inner and inner.invalidate then inner.invalidate() end
  end
  return self
end
M.deferred = deferred

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
    deferred("cvm_role", function()
      return M.cvm_role{ metadata_url = opts.metadata_url, transport = opts.transport, clock = opts.clock,
        timeout = opts.metadata_timeout or 1, shared_dict = opts.shared_dict, cache = opts.cache }
    end),
    deferred("oidc", function()
      return M.tke_oidc{ getenv = opts.getenv, endpoint = opts.sts_endpoint, scheme = opts.sts_scheme,
        transport = opts.transport, clock = opts.clock, shared_dict = opts.shared_dict, cache = opts.cache }
    end),
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
-- Keys already found usable, by the table that holds them: a provider that answers the same
-- table with the same strings (static keys, a cached temporary set) is not checked again.
local usable = setmetatable({}, { __mode = "k" })

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
  local seen = usable[creds]
  if seen and seen[1] == creds.secret_id and seen[2] == creds.secret_key and seen[3] == creds.token then
    return creds
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
  usable[creds] = { creds.secret_id, creds.secret_key, creds.token }
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

-- tcssl clients: `client:<Action>(params)` and `client:call(action, params)`, the loop that takes
-- one call through the stages and back. Each stage is its own module; docs/architecture.md
-- follows one call through them:
--   tcssl.config       the configuration checked and settled into a client's parts
--   tcssl.endpoint     the host to call, and the backup host tcssl.breaker fails over to
--   tcssl.credentials  where the keys come from
--   tcssl.schema       parameters and replies checked against the model
--   tcssl.request      one attempt encoded and signed
--   tcssl.transport    the transport chosen, and one request sent through it
--   tcssl.envelope     a reply read: status, content type, JSON, the API's envelope
--   tcssl.retry        whether and when a failed attempt goes again
--   tcssl.clock        the clocks a call reads, corrected by the server's Date
--   tcssl.redact, tcssl.log   what a hook or the debug line may show, and where it goes
local errors = require "tcssl.error"
local conf = require "tcssl.config"
local credentials = require "tcssl.credentials"
local schema = require "tcssl.schema"
local transports = require "tcssl.transport"
local request = require "tcssl.request"
local envelope = require "tcssl.envelope"
local retry = require "tcssl.retry"
local ratelimit = require "tcssl.ratelimit"
local clock = require "tcssl.clock"
local breaker = require "tcssl.breaker"
local redact = require "tcssl.redact"
local curl_transport = require("tcssl.transport.curl").Transport

local M = {}

local Client = {}
M.Client = Client

-- Kept here for the callers that look for them on the client module; the modules that hold
-- them load on first use, as a call needs neither.
M.redact_url = redact.url
function M.debug_writer(file) return require("tcssl.log").debug_writer(file) end
function M.parse_http_date(s) return require("tcssl.dates").parse_http_date(s) end

-- Dispatch: client:<Action>(params) for every action of the service's model, through this one
-- lookup. The functions are made once per action name and service, shared by all its clients.

local NO_ACTIONS = {}
local function no_model() return NO_ACTIONS end

local function invalid_action(key, msg)
  return function() return nil, errors.new("validation", "InvalidAction", msg, { action = key }) end
end

local function action_method(service, key)
  local actions = service.actions()
  -- a service without a model sends any action name, unchecked
  if actions[key] or actions == NO_ACTIONS then
    return function(client, params) return client:call(key, params) end
  end
  local names = {}
  for name in pairs(actions) do names[#names + 1] = name end
  table.sort(names)
  local hint = schema.closest(key, names)
  return invalid_action(key, ("unknown action %s%s"):format(key, hint and ("; did you mean %s?"):format(hint) or ""))
end

-- `client:describeCertificates` is answered with a suggestion rather than "attempt to call a
-- nil value". Only names that match an action case-insensitively get one, so the client's own
-- missing fields still read as nil.
local function misspelt_case(service, key)
  if not service.lower_names then
    service.lower_names = {}
    for name in pairs(service.actions()) do service.lower_names[name:lower()] = name end
  end
  local name = service.lower_names[key:lower()]
  return name and invalid_action(key, ("unknown action %s; did you mean %s?"):format(key, name))
end

function Client.__index(self, key)
  local method = Client[key]
  if method ~= nil then return method end
  local service = rawget(self, "service")
  if not service then return nil end
  method = service.methods[key] -- an action's method, made by the first lookup below
  if method or type(key) ~= "string" then return method end
  if not key:find("^%u") then
    return key:find("^%l") and misspelt_case(service, key) or nil
  end
  method = action_method(service, key)
  service.methods[key] = method
  return method
end

-- Services and their clients

-- A service table with every field the stages read -> that service, with new(config).
local function define(service)
  service.methods, service.lower_names = {}, false
  service.actions = service.actions or no_model
  service.envelope = service.envelope or envelope.v3
  service.new = function(config)
    local fields, err = conf.assemble(service, config)
    if not fields then return nil, err end
    fields.action_models = {} -- action name -> its model, filled by the calls (Client:call)
    -- one crossing per call (Client:exchange): tcssl's own libcurl transport and the API 3.0
    -- envelope; any other transport keeps the request it is handed
    fields.one_call = getmetatable(fields.transport) == curl_transport and service.envelope == envelope.v3
    return setmetatable(fields, Client)
  end
  return service
end

--- service(description) -> service | nil, err: clients of another API 3.0 service, made by
-- service.new(config) (README, "Other services"; the description's fields: tcssl.config).
-- They send any action, unchecked: tcssl's model is the SSL API's.
function M.service(description)
  local service, err = conf.service(description)
  if not service then return nil, err end
  return define(service)
end

-- The SSL Certificates API, checked by the model, with its replies typed by it.
M.SSL = define{
  name = "v3", service = "ssl", version = "2019-12-05", endpoint = "ssl.tencentcloudapi.com",
  sign_method = "TC3-HMAC-SHA256", regional = true, failover = true, unsigned = false, decode = schema.decode,
  read_plan = schema.read_plan, actions = function() return schema.model().actions end,
}

-- The legacy 2017 API: v1 signatures only, on its own path; results are the `data` of its envelope.
M.LEGACY = define{
  name = "legacy", endpoint = "wss.api.qcloud.com", path = "/v2/index.php", sign_method = "HmacSHA1",
  v1_only = true, unsigned = false, envelope = envelope.legacy,
  actions = function() return schema.model().legacy.actions end,
}

--- new(config) -> a client of the SSL API | nil, err
M.new = M.SSL.new

function Client:__tostring()
  local c = self.config
  return ("tcssl client %s://%s region=%s credentials=%s"):format(c.scheme, c.host,
    c.region or "(none)", self.credentials.source)
end

-- Per-call facts kept beside a result (attempts, duration) without adding fields to the
-- API's Response contents: tcssl.meta(result) reads them.
local result_meta = setmetatable({}, { __mode = "k" })
function M.meta(result)
  return result_meta[result]
end

-- The call loop

local judge, backoff, outcome = retry.judge, retry.backoff, breaker.outcome
local prepare, build_call -- below Client:prepare

--- call(action, params) -> Response contents | nil, err
-- Retries what is safe to retry (tcssl.retry), waits for the action's rate-limit token, and
-- corrects the clock once when the server says the signature expired.
function Client:call(action, params)
  local cfg, service = self.config, self.service
  -- the action's model, looked up in the service's model once per client and action
  local models = self.action_models
  local action_model = models[action]
  if action_model == nil and type(action) == "string" then
    action_model = service.actions()[action]
    if action_model then models[action] = action_model end
  end
  local err
  params, err = schema.check_call(action, action_model, params, self.check_opts)
  if err then return nil, err end
  -- actions the model does not know are treated as changing state: never retried once sent
  local readonly = action_model and action_model.readonly or false
  -- the reply's types are tested as it is read (tcssl.schema.read_plan), where the service has them
  local plan = action_model and service.read_plan and service.read_plan(action_model) or nil
  local checked
  local started = clock.monotonic(self)
  if not started then
    return nil, errors.new("config", "InvalidClock", "the monotonic function must return a number of seconds",
      { field = "monotonic", action = action })
  end
  local deadline = started + cfg.deadline
  local attempts, skew_fixed, keys_renewed = 0, false, false
  local resp, failure, status, req, warning
  while true do
    if self.limiter and action_model then
      local key, lerr = ratelimit.key(self, action, deadline - self.monotonic())
      local ok = key
      if key then ok, lerr = ratelimit.wait(self.limiter, key, action_model.rate_limit, deadline, action) end
      if not ok then
        failure = failure or lerr
        break
      end
      warning = lerr or warning -- the shared limiter fell back on the local one
    end
    attempts = attempts + 1
    local headers
    local route = self.breaker and self.breaker:route() -- primary or backup endpoint (tcssl.breaker)
    -- fetching credentials counts inside the call's deadline
    req, failure = prepare(self, action, params, deadline - self.monotonic(), route,
      self.one_call and build_call or request.build)
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
    resp, failure, status, headers, checked = self:exchange(action, req, math.min(cfg.timeout, remaining),
      readonly, plan)
    if route then self.breaker:record(route, outcome(resp, failure, readonly)) end
    if resp then break end
    if failure.code == "AuthFailure.SignatureExpire" and not skew_fixed then
      -- take the server's time from its Date header, then sign again once
      skew_fixed = true
      if clock.correct(self, headers and headers.date) then goto continue end
    end
    if retry.rejects_keys(failure.code) and req.temporary and not keys_renewed and self.credentials.invalidate then
      -- temporary keys the server no longer knows (revoked, rotated): drop them, fetch once more
      keys_renewed = true
      pcall(self.credentials.invalidate)
      goto continue
    end
    do
      local again, applied = judge(failure, readonly)
      failure.retryable, failure.maybe_applied = again, applied
      if not again or attempts > cfg.max_retries then break end
      local wait = backoff(cfg, attempts)
      if self.monotonic() + wait >= deadline then break end
      local ran, slept, why = pcall(self.sleep, wait)
      if not ran or (slept == nil and why) then break end
    end
    ::continue::
  end
  -- a reply whose fields do not hold the model's types is a protocol error (schema.decode)
  if resp and action_model and service.decode then
    resp, failure = service.decode(action_model, resp, nil, checked)
    if failure then failure.http_status = status end
  end
  local duration = self.monotonic() - started
  if resp then
    result_meta[resp] = { attempts = attempts, duration = duration }
  else
    failure.action = failure.action or action
    failure.attempts = attempts
  end
  if self.on_request and req then
    local info = { action = action, method = req.method, url = redact.url(req.url), status = status,
      duration = duration, attempts = attempts,
      request_id = resp and resp.RequestId or failure and failure.request_id,
      error = failure and failure.code, warning = warning }
    pcall(self.on_request, info) -- a failing hook must not turn a result into a raise
  end
  if not resp then return nil, failure end
  return resp
end

-- Signs one attempt afresh: new timestamp (corrected by any known clock offset), new nonce.
-- budget: the seconds left of the call's deadline, which a credentials fetch must keep to;
-- route (from the breaker) below 0 sends it to the backup endpoint, signed for that host.
function Client:prepare(action, params, budget, route)
  return prepare(self, action, params, budget, route, request.build)
end

-- The call loop's prepare on the one-crossing path: a signed TC3 POST is left for the
-- transport to sign (tcssl.request.build_call); anything else is built as prepare builds it.
function build_call(cfg, creds, action, params, now)
  local req, err = request.build_call(cfg, creds, action, params, now)
  if req or err then return req, err end
  return request.build(cfg, creds, action, params, now)
end

function prepare(self, action, params, budget, route, build)
  local now = clock.signing_time(self)
  if not now then
    return nil, errors.new("config", "InvalidClock", "the clock function must return a Unix time",
      { field = "clock", action = action })
  end
  local creds, err = false -- false: an action the API takes unsigned
  local unsigned = self.service.unsigned
  if not (unsigned and unsigned[action]) then
    creds, err = credentials.fetch(self.credentials, now, budget)
    if not creds then
      err.action = action
      return nil, err
    end
    self.account = ratelimit.account(creds.secret_id) -- the rate keys name the keys in use
  end
  local ran, req
  ran, req, err = pcall(build, route and route < 0 and self.breaker.config or self.config, creds,
    action, params, now)
  if not ran then
    return nil, errors.new("validation", "InvalidParameter", "params could not be encoded: " .. tostring(req),
      { action = action })
  end
  if not req then
    err.action = action
    return nil, err
  end
  req.temporary = creds and (creds.expires ~= nil or creds.token ~= nil) or false
  return req
end

-- One HTTP exchange: Response contents | nil, err; then the HTTP status, the response headers
-- and, given a plan (tcssl.schema.read_plan), what reading the reply under it found (checked,
-- for schema.decode). Anything but a read goes out on a fresh connection (opts.fresh): libcurl
-- resends a request by itself when a reused connection dies before the answer, and a change
-- must not be.
function Client:exchange(action, req, timeout, readonly, plan)
  local cfg = self.config
  timeout = timeout or cfg.timeout
  if req.call then return self:exchange_call(action, req, timeout, readonly, plan) end
  local status, headers, body = transports.send(self.transport, req,
    { timeout = timeout, connect_timeout = math.min(cfg.connect_timeout, timeout), fresh = not readonly })
  if not status then
    headers.action = action
    return nil, headers
  end
  local doc, err, checked = envelope.decode(status, headers, body, plan)
  local resp
  if doc then resp, err = self.service.envelope(doc, status, body) end
  if not resp then
    err.action = action
    return nil, err, status, headers
  end
  return resp, nil, status, headers, checked
end

-- The same exchange in one crossing (tcssl.transport.curl's call): the core signs and sends req
-- and reads a 200 reply's JSON; the errors are those of the path above, made by the same code
-- (a reply the core did not decode is read again by envelope.decode, which finds the same fault).
function Client:exchange_call(action, req, timeout, readonly, plan)
  local transport = self.transport
  local ran, status, ctype, date, doc, body = pcall(transport.call, transport, req, timeout,
    math.min(self.config.connect_timeout, timeout), not readonly, plan)
  local err, resp, checked
  if not ran then -- as transport.send takes a transport that raises (build_call left out what the core refuses)
    err, status = transports.failure{ code = "TransportFailed", message = "the transport raised: " .. tostring(status) }
  elseif not status then
    err = transports.failure(ctype)
  elseif status % 1 ~= 0 or status < 100 or status > 599 then
    err, status = transports.bad_result(), nil
  else
    if type(doc) == "table" then
      checked, body = body, nil -- a decoded reply comes with what its plan found
    else
      doc, err, checked = envelope.decode(status, { ["content-type"] = ctype }, body or transport:last_body(), plan)
    end
    if doc then resp, err = envelope.v3(doc, status, body or transport.body_reader) end
    if resp then return resp, nil, status, nil, checked end
  end
  err.action = action
  return nil, err, status, status and { ["content-type"] = ctype, date = date }
end

--- close() releases the connection now rather than at garbage collection; under Lua 5.4
-- `local client <close> = tcssl.new{...}` does it at the end of the scope.
function Client:close()
  if self.transport.close then self.transport:close() end
end
Client.__close = Client.close

return M

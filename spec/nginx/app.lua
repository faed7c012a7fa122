-- Handlers for the nginx specs, loaded by nginx's LuaJIT from the generated configuration
-- (spec/nginx/nginx_cosocket_spec.lua). Answers are JSON for the spec to read.
local tcssl = require "tcssl"
local json = require "tcssl.json"

local M = {}

local settings = {} -- endpoints and keys, from configure() in init_by_lua
local clients = {}  -- per worker, one per configuration the spec asks for

--- configure{ http = "127.0.0.1:P", https = ..., fresh = ..., other = ..., id = ..., key = ... }
function M.configure(s)
  settings = s
end

local function reply(doc, status)
  ngx.status = status or 200
  ngx.header.content_type = "application/json"
  ngx.say(json.encode(doc))
end

local function describe_error(err)
  return { ok = false, kind = err.kind, code = err.code, message = err.message, retryable = err.retryable,
    maybe_applied = err.maybe_applied, attempts = err.attempts }
end

-- A client configuration from the query: target (http, https, wrong_name), endpoint, timeout,
-- max_response_size, max_retries, insecure, proxy, rate_limit, transport, shared_dict.
local function config_from(args)
  local target = args.target or "http"
  local cfg = { secret_id = settings.id, secret_key = settings.key, region = "ap-guangzhou", timeout = 10,
    endpoint = args.endpoint or settings[target], scheme = target == "http" and "http" or "https",
    max_retries = tonumber(args.max_retries) }
  if args.timeout then cfg.timeout = tonumber(args.timeout) end
  if args.max_response_size then cfg.max_response_size = tonumber(args.max_response_size) end
  if args.insecure then cfg.insecure = true end
  if args.proxy then cfg.proxy = args.proxy end
  if args.rate_limit == "0" then cfg.rate_limit = false end
  if args.transport then cfg.transport = args.transport end
  if args.shared_dict then cfg.shared_dict = args.shared_dict end
  return cfg
end

local function client_for(args)
  local cfg = config_from(args)
  local key = {}
  for k, v in pairs(cfg) do key[#key + 1] = k .. "=" .. tostring(v) end
  table.sort(key)
  key = table.concat(key, "&")
  if not clients[key] then
    local c, err = tcssl.new(cfg)
    if not c then return nil, err end
    clients[key] = c
  end
  return clients[key]
end

--- GET /call?n=N&...: N calls of DescribeCertificates in a row on one client; with
-- all_errors=1, every call is made and the answer lists each call's error code.
function M.call()
  local args = ngx.req.get_uri_args()
  local c, err = client_for(args)
  if not c then return reply(describe_error(err)) end
  local res
  if args.all_errors then
    local codes = {}
    for i = 1, tonumber(args.n) or 1 do
      res, err = c:DescribeCertificates{ Limit = 1 }
      codes[i] = res and "ok" or err.code
    end
    return reply({ codes = codes })
  end
  for i = 1, tonumber(args.n) or 1 do
    res, err = c:DescribeCertificates{ Limit = 1 }
    if not res then
      local doc = describe_error(err)
      doc.done = i - 1
      return reply(doc)
    end
  end
  local t = c.transport
  reply({ ok = true, total = res.TotalCount, transport = t.name or "curl", stats = t:stats() })
end

--- A call from the current phase, whatever it is: "ok" or "kind code message".
function M.phase_call()
  local c, err = tcssl.new{ secret_id = settings.id, secret_key = settings.key, endpoint = settings.http,
    scheme = "http", timeout = 2, max_retries = 1 }
  if c then
    local res
    res, err = c:DescribeCertificates{ Limit = 1 }
    if res then return "ok" end
  end
  return ("%s %s %s"):format(err.kind, err.code, err.message)
end

--- GET /wait_issued: applies for a DNS_AUTO order and waits for it with tcssl.waiters (ngx.sleep
-- between the polls); answers its status and how many polls it took.
function M.wait_issued()
  local c, err = client_for({})
  if not c then return reply(describe_error(err)) end
  local order
  order, err = c:ApplyCertificate{ DvAuthMethod = "DNS_AUTO", DomainName = "wait.nginx.test" }
  if not order then return reply(describe_error(err)) end
  local polls = 0
  local res
  res, err = require("tcssl.waiters").certificate_issued(c, order.CertificateId, { interval = 0.05,
    timeout = 20, on_progress = function(info) polls = info.polls end })
  if not res then return reply(describe_error(err)) end
  reply({ ok = true, status = res.Status, polls = polls })
end

--- record(name): the phase_call() result, kept in the shared dict for /dict?key=name.
function M.record(name)
  ngx.shared.spec:set(name, M.phase_call())
end

--- GET /dict?key=K
function M.dict()
  local dict = ngx.shared.spec
  local prefix = ngx.var.arg_prefix
  if prefix then
    -- GET /dict?prefix=P: the keys that start with P, with their values
    local entries = {}
    for _, k in ipairs(dict:get_keys(0)) do
      if k:sub(1, #prefix) == prefix then entries[#entries + 1] = { key = k, value = dict:get(k) } end
    end
    return reply({ entries = json.array(entries) })
  end
  local v = dict:get(ngx.var.arg_key)
  reply({ value = v or json.null })
end

--- A client made in init_by_lua, for use later in a content handler.
function M.make_early()
  M.early = assert(tcssl.new{ secret_id = settings.id, secret_key = settings.key, endpoint = settings.http,
    scheme = "http", timeout = 5 })
end

--- GET /early: a call on the client made in init_by_lua
function M.early_call()
  local res, err = M.early:DescribeCertificates{ Limit = 1 }
  if not res then return reply(describe_error(err)) end
  reply({ ok = true, total = res.TotalCount, transport = M.early.transport.name })
end

return M

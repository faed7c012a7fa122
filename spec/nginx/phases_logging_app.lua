-- Handlers for spec/nginx/nginx_phases_logging_spec.lua, loaded by nginx's LuaJIT from the
-- generated configuration: calls from server_rewrite_by_lua, against a server whose answers
-- stop a connection from being kept alive, and with debug = true. Answers are JSON.
local tcssl = require "tcssl"
local json = require "tcssl.json"

local M = {}

local settings = {} -- endpoint and keys, from configure() in init_by_lua

--- configure{ http = "127.0.0.1:P", id = ..., key = ..., token_id = ..., token_key = ..., token = ... }
function M.configure(s)
  settings = s
end

local function reply(doc)
  ngx.status = 200
  ngx.header.content_type = "application/json"
  ngx.say(json.encode(doc))
end

local function outcome(res, err)
  if res then return { ok = true, total = res.TotalCount, request_id = res.RequestId } end
  return { ok = false, kind = err.kind, code = err.code, message = err.message }
end

-- One DescribeCertificates call against `endpoint` (the emulator by default).
local function call(endpoint, extra)
  local cfg = { secret_id = settings.id, secret_key = settings.key, endpoint = endpoint or settings.http,
    scheme = "http", timeout = 5, max_retries = 0, rate_limit = false }
  for k, v in pairs(extra or {}) do cfg[k] = v end
  local c, err = tcssl.new(cfg)
  if not c then return outcome(nil, err) end
  return outcome(c:DescribeCertificates{ Limit = 1 })
end

--- In server_rewrite_by_lua: a call for GET /server_rewrite, its outcome kept in ngx.ctx for
-- the location's content handler (server_rewrite runs for every request of the server).
function M.server_rewrite()
  if ngx.var.uri ~= "/server_rewrite" then return end
  local doc = call()
  doc.phase = ngx.get_phase()
  ngx.ctx.server_rewrite = doc
end

--- GET /server_rewrite: what the server_rewrite handler got.
function M.server_rewrite_result()
  reply(ngx.ctx.server_rewrite or { ok = false, code = "NoServerRewrite", message = "the handler did not run" })
end

--- GET /call?endpoint=H:P: one call against H:P.
function M.call()
  reply(call(ngx.var.arg_endpoint))
end

--- GET /debug_call: one v1 GET call with a session token and debug = true, so that the debug
-- line's URL carries the signature and the token (both to be hidden).
function M.debug_call()
  reply(call(nil, { secret_id = settings.token_id, secret_key = settings.token_key, token = settings.token,
    sign_method = "HmacSHA256", http_method = "GET", debug = true }))
end

return M

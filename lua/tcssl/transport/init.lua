-- Choosing a transport (libcurl in plain Lua, OpenResty cosockets inside nginx), and sending
-- one request through whichever the client has, its answer checked.
local runtime = require "tcssl.runtime"
local errors = require "tcssl.error"

local M = {}

--- default(opts) -> a transport for the client options (kind, proxy, ca_file, ca_path,
-- insecure, max_response_size, user_agent).
-- kind: "curl", "ngx", or nil to choose by where tcssl runs: inside OpenResty (ngx.get_phase
-- exists) the cosocket transport, elsewhere libcurl. The cosocket transport checks the phase
-- at each request, so a client made in init_by_lua serves content handlers later, and a call
-- from a phase without cosockets gets a NoCosockets error instead of blocking the worker.
-- "curl" inside nginx is allowed and blocks the worker for the length of each call.
function M.default(opts)
  opts = opts or {}
  local kind = opts.kind
  if kind == nil then kind = runtime.ngx_phase() and "ngx" or "curl" end
  if kind == "ngx" then return require("tcssl.transport.ngx").new(opts) end
  return require("tcssl.transport.curl").new(opts)
end

--- failure(terr) -> the error object of a transport's failure { kind, code, message, sent }.
local function failure(terr)
  return errors.new(terr.kind or "network", terr.code or "NetworkError", terr.message or "transport failure",
    { sent = terr.sent, retryable = terr.sent == false, maybe_applied = terr.sent ~= false })
end
M.failure = failure

--- bad_result() -> the error object of a transport that answered no usable status and body.
function M.bad_result()
  return errors.new("protocol", "BadTransportResult",
    "the transport returned no HTTP status (an integer 100-599) and body (a string)", { maybe_applied = true })
end

--- send(transport, req, opts) -> status, headers, body | nil, err
-- One request through the transport (req: method, url, headers, body; opts: timeout,
-- connect_timeout, fresh). A custom transport may raise or answer nonsense: either is an
-- error object here, never a raise or a bad value further on. err.sent says whether the
-- request may have left (false: it did not), as the transports report it.
function M.send(transport, req, opts)
  local ran, status, headers, body = pcall(transport.request, transport, req.method, req.url, req.headers,
    req.body, opts)
  if not ran then
    -- a custom transport that raises: whether the request left is unknown
    status, headers = nil, { code = "TransportFailed", message = "the transport raised: " .. tostring(status) }
  elseif not status and type(headers) ~= "table" then
    headers = { code = "TransportFailed", message = "the transport returned neither a response nor an error" }
  elseif status and (type(status) ~= "number" or status % 1 ~= 0 or status < 100 or status > 599
      or type(body) ~= "string") then
    return nil, M.bad_result()
  end
  if not status then return nil, failure(headers) end
  if type(headers) ~= "table" then headers = {} end
  return status, headers, body
end

return M

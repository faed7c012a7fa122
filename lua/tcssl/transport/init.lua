-- Choosing a transport: libcurl in plain Lua, OpenResty cosockets inside nginx.
local runtime = require "tcssl.runtime"

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

return M

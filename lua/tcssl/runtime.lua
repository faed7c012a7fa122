-- What depends on where tcssl runs: plain Lua (blocking libcurl, nanosleep) or an OpenResty
-- phase that allows cosockets (ngx.socket.tcp, ngx.sleep). Nothing here does I/O at require
-- time; each function decides at call time.
local core = require "tcssl.core"

local M = {}

-- Phases in which cosockets and ngx.sleep may be used: the ngx.get_phase() names of
-- lua-nginx-module's yieldable contexts (server_rewrite is server_rewrite_by_lua, from
-- 0.10.22), and the stream module's preread. Not ssl_session_store, balancer, exit_worker.
local COSOCKET_PHASES = {
  server_rewrite = true, rewrite = true, access = true, content = true, timer = true, ssl_cert = true,
  ssl_session_fetch = true, ssl_client_hello = true, preread = true,
}

--- ngx_phase() -> the current OpenResty phase name, or nil outside OpenResty.
function M.ngx_phase()
  local ngx = rawget(_G, "ngx")
  if type(ngx) ~= "table" or type(ngx.get_phase) ~= "function" then return nil end
  local ok, phase = pcall(ngx.get_phase)
  return ok and phase or nil
end

--- cosockets() -> true when the current OpenResty phase allows cosockets.
function M.cosockets()
  local phase = M.ngx_phase()
  return phase ~= nil and COSOCKET_PHASES[phase] == true
end

--- sleep(seconds): ngx.sleep where it yields, nanosleep in plain Lua. Inside OpenResty phases
-- that cannot yield it refuses rather than block a worker: returns nil, message.
function M.sleep(seconds)
  if seconds <= 0 then return true end
  local phase = M.ngx_phase()
  if phase then
    if not COSOCKET_PHASES[phase] then
      return nil, "cannot wait in the OpenResty " .. phase .. " phase without blocking the worker"
    end
    rawget(_G, "ngx").sleep(seconds)
    return true
  end
  core.sleep(seconds)
  return true
end

--- now() -> seconds on a monotonic clock
M.now = core.monotonic

return M

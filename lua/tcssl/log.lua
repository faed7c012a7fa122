-- Where tcssl's own log lines go. Inside nginx with the Lua module (ngx.log exists) they go
-- through ngx.log, so nginx's error_log level filters them and each line carries the worker,
-- the connection and the request it came from; elsewhere they go to stderr. The choice is
-- made at each line, so a client made in init_by_lua logs through nginx in later phases too.
--
-- Callers pass text that holds no secret (the debug line's URL is already redacted): this
-- module writes what it is given.
local M = {}

local function ngx_logger()
  local ngx = rawget(_G, "ngx")
  if type(ngx) == "table" and type(ngx.log) == "function" then return ngx end
  return nil
end

-- level: the name of an ngx log level constant; prefix: what stderr lines start with.
-- Both calls are tail calls, so that the "[lua] file:line: function():" that ngx.log puts
-- before a line names the code that logged, not this module.
local function write(level, prefix, message)
  local ngx = ngx_logger()
  if ngx then return ngx.log(ngx[level] or ngx.WARN, "tcssl: ", message) end
  io.stderr:write(prefix, message, "\n")
end

--- debug(message): one line of debug output (debug = true writes one per call). Inside nginx
-- at info level (`error_log ... info;` shows it), elsewhere "tcssl: message" on stderr.
function M.debug(message)
  return write("INFO", "tcssl: ", message)
end

--- warn(message): something tcssl dealt with that an operator may want to know about. Inside
-- nginx at warn level, elsewhere "tcssl: warning: message" on stderr.
function M.warn(message)
  return write("WARN", "tcssl: warning: ", message)
end

--- debug_writer([file]) -> an on_request hook (the client's `debug = true`) writing one line per
-- call: to file when given, otherwise through debug() above.
function M.debug_writer(file)
  return function(info)
    local line = ("%s %s %s -> %s %.3fs attempts=%d%s%s%s"):format(info.action, info.method,
      info.url, info.status or "-", info.duration, info.attempts,
      info.request_id and (" RequestId=" .. info.request_id) or "",
      info.error and (" error=" .. info.error) or "", info.warning and (" warning=" .. info.warning) or "")
    if file then file:write("tcssl: " .. line .. "\n") else M.debug(line) end
  end
end

return M

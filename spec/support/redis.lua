--- Starts and stops Debian's redis-server for specs, on a free loopback port, with nothing
--- saved to disk, in a temporary folder removed by stop().
--
--   local rs = require "spec.support.redis"
--   local r = rs.start{ args = { "--requirepass", "pw" } }
--   r.port, r.url ("redis://127.0.0.1:PORT/0"), r.pid; r:command("PING") -> reply line; r:stop()
--   rs.available() -> true | nil, why
local socket = require "socket"
local util = require "spec.support.util"

local M = {}

M.SERVER = "/usr/bin/redis-server"

function M.available()
  local f = io.open(M.SERVER, "rb")
  if not f then return nil, M.SERVER .. " is missing (apt-get install redis-server)" end
  f:close()
  return true
end

-- Polls `ready` every 20 ms until it gives a true value or `seconds` pass (the nginx helper's).
local poll = require("spec.support.nginx").poll

local Server = {}
Server.__index = Server

--- command(word, ...) -> the first line of Redis's answer (inline protocol) | nil, err
function Server:command(...)
  local sock = socket.tcp()
  sock:settimeout(2)
  local ok, err = sock:connect("127.0.0.1", self.port)
  if not ok then return nil, err end
  local words = { ... }
  local parts = { "*" .. #words .. "\r\n" }
  for _, w in ipairs(words) do parts[#parts + 1] = "$" .. #tostring(w) .. "\r\n" .. tostring(w) .. "\r\n" end
  if self.password then
    sock:send("*2\r\n$4\r\nAUTH\r\n$" .. #self.password .. "\r\n" .. self.password .. "\r\n")
    sock:receive("*l")
  end
  sock:send(table.concat(parts))
  local line, rerr = sock:receive("*l")
  sock:close()
  return line, rerr
end

--- start{ args = { extra redis-server words }, password = } -> server; raises when it does not come up
function M.start(opts)
  opts = opts or {}
  assert(M.available())
  local dir = util.temp_dir("redis")
  local port = require("spec.support.emulator").free_port()
  local words = { M.SERVER, "--port", tostring(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
    "--daemonize", "yes", "--dir", dir, "--pidfile", dir .. "/redis.pid", "--logfile", dir .. "/redis.log" }
  if opts.password then words[#words + 1] = "--requirepass"; words[#words + 1] = opts.password end
  for _, w in ipairs(opts.args or {}) do words[#words + 1] = w end
  local quoted = {}
  for i, w in ipairs(words) do quoted[i] = util.quote(w) end
  local self = setmetatable({ port = port, dir = dir, password = opts.password,
    url = ("redis://127.0.0.1:%d/0"):format(port) }, Server)
  os.execute(table.concat(quoted, " ") .. " >/dev/null 2>&1")
  self.pid = poll(10, function()
    local text = util.read(dir .. "/redis.pid")
    return text and tonumber(text:match("%d+"))
  end)
  local up = self.pid and poll(10, function() return (self:command("PING") or ""):find("PONG", 1, true) end)
  if not up then
    local log = util.read(dir .. "/redis.log") or ""
    self:stop()
    error("redis-server did not start: " .. log, 2)
  end
  return self
end

function Server:alive()
  return self.pid and util.alive(self.pid)
end

--- stop(): SHUTDOWN NOSAVE, then kill, waiting (bounded) until the process is gone; removes the folder.
function Server:stop()
  if self.stopped then return end
  self.stopped = true
  if self:alive() then
    self:command("SHUTDOWN", "NOSAVE")
    if not poll(5, function() return not self:alive() end) then
      os.execute("kill -9 " .. self.pid .. " 2>/dev/null")
      poll(3, function() return not self:alive() end)
    end
  end
  util.remove_dir(self.dir)
end

return M

--- Starts and stops tcssl-emulator subprocesses for busted specs (run from the repository root).
--
--   local emu = require "spec.support.emulator"
--   local e = emu.start{ keys = { AKIDx = { secret_key = "s" } } }
--   e.url, e.host ("127.0.0.1:PORT"), e.port, e.pid
--   e:stats(); e:fault{ type = "delay", seconds = 2 }; e:reset(); e:stop()
--   emu.free_port() -- a loopback port nothing listens on (for connection-refused cases)
--   emu.cleanup(e, certs, ...) -- in a teardown: stops each server, removes each test PKI, skips nils
--
-- Options of start: keys ({ [id] = { secret_key =, token = } }), tls ({ cert =, key =, ca = }),
-- max_lifetime (default 120), idle_timeout, args (extra command-line words), lua (interpreter,
-- default $TCSSL_LUA or lua5.4), command (a shell command line that runs an emulator, instead of
-- the interpreter and bin/tcssl-emulator), stderr (a file that takes its stderr; default
-- /dev/null). Control calls go to 127.0.0.1 only.

local socket = require "socket"
local http = require "socket.http"
local ltn12 = require "ltn12"
local cjson = require "cjson.safe"
local util = require "spec.support.util"

local M = {}

M.DEMO_SECRET_ID = "AKIDEMULATOR"
M.DEMO_SECRET_KEY = "tcssl-emulator-demo-secret-key-0"

local function command_line(opts)
  local words = { "exec", opts.command or (opts.lua or os.getenv("TCSSL_LUA") or "lua5.4") .. " bin/tcssl-emulator",
    "--port", "0", "--max-lifetime", tostring(opts.max_lifetime or 120) }
  local function add(...)
    for _, w in ipairs({ ... }) do words[#words + 1] = w end
  end
  if opts.keys then
    -- the keys go in a file, not on the command line where `ps` would show them
    local path = os.tmpname()
    local f = assert(io.open(path, "wb"))
    for id, key in pairs(opts.keys) do
      f:write(id, ":", key.secret_key, key.token and (":" .. key.token) or "", "\n")
    end
    f:close()
    opts.keys_file = path
    add("--keys-file", path)
  end
  if opts.tls then add("--tls-cert", opts.tls.cert, "--tls-key", opts.tls.key) end
  if opts.idle_timeout then add("--idle-timeout", tostring(opts.idle_timeout)) end
  for _, w in ipairs(opts.args or {}) do add(w) end
  local quoted = {}
  for i, w in ipairs(words) do quoted[i] = i <= 2 and w or util.quote(w) end
  return table.concat(quoted, " ") .. " 2>" .. (opts.stderr and util.quote(opts.stderr) or "/dev/null")
end

--- A port on 127.0.0.1 that was free a moment ago.
function M.free_port()
  local probe = assert(socket.bind("127.0.0.1", 0))
  local _, port = probe:getsockname()
  probe:close()
  return tonumber(port)
end

local Emulator = {}
Emulator.__index = Emulator

--- Spawns an emulator and waits for its "listening" line. Raises if it does not start.
function M.start(opts)
  opts = opts or {}
  local proc = assert(io.popen(command_line(opts), "r"))
  local line = proc:read("*l")
  if opts.keys_file then os.remove(opts.keys_file) end -- read at start-up; no longer needed
  local url, pid = (line or ""):match("^tcssl%-emulator listening on (%S+) pid=(%d+)$")
  if not url then
    proc:close()
    error("tcssl-emulator did not start (got " .. tostring(line) .. ")", 2)
  end
  local host, port = url:match("^https?://([^/]+):(%d+)$")
  return setmetatable({
    proc = proc, url = url, pid = tonumber(pid), port = tonumber(port),
    host = host .. ":" .. port, tls = opts.tls,
  }, Emulator)
end

-- One control request; returns the decoded JSON body and the HTTP status.
function Emulator:control(method, name, body)
  local chunks = {}
  local request = {
    url = self.url .. "/__emulator/" .. name,
    method = method,
    sink = ltn12.sink.table(chunks),
    headers = { ["content-length"] = tostring(body and #body or 0), ["content-type"] = "application/json" },
    source = body and ltn12.source.string(body) or nil,
  }
  local ok, status
  if self.tls then
    request.verify = self.tls.ca and "peer" or "none"
    request.cafile = self.tls.ca
    request.protocol = "any"
    ok, status = require("ssl.https").request(request)
  else
    ok, status = http.request(request)
  end
  assert(ok, "control request failed: " .. tostring(status))
  return cjson.decode(table.concat(chunks)), status
end

function Emulator:stats()
  return (self:control("GET", "stats"))
end

--- Arms a fault, e.g. { type = "reset", count = 2 }; raises if the emulator refuses it.
function Emulator:fault(spec)
  local result, status = self:control("POST", "fault", cjson.encode(spec))
  assert(status == 200, "fault refused: " .. tostring(result and result.error))
  return result
end

--- Forgets the store, the faults and the counters (POST /__emulator/reset: both resets).
function Emulator:reset()
  return (self:control("POST", "reset"))
end

--- True while the process runs (a zombie, exited but not yet reaped, does not count).
function Emulator:alive()
  return util.alive(self.pid)
end

--- Waits up to `seconds` for the process to end by itself; true if it did.
function Emulator:wait_exit(seconds)
  local deadline = socket.gettime() + (seconds or 5)
  while self:alive() do
    if socket.gettime() > deadline then return false end
    socket.sleep(0.02)
  end
  return true
end

--- Asks the emulator to shut down, kills it if it does not go within a few seconds, reaps it.
function Emulator:stop()
  if self.stopped then return end
  self.stopped = true
  if self:alive() then
    pcall(self.control, self, "POST", "shutdown")
    if not self:wait_exit(5) then os.execute("kill -9 " .. self.pid .. " 2>/dev/null") end
  end
  self.proc:close()
end

--- Stops the emulators (or any server with a stop method, such as spec.support.nginx's) and
-- removes the test PKIs (spec.support.pki) it is given, in order; nil arguments (from a setup
-- that failed part-way) are skipped.
function M.cleanup(...)
  for i = 1, select("#", ...) do
    local thing = select(i, ...)
    if thing and thing.stop then thing:stop() elseif thing and thing.cleanup then thing:cleanup() end
  end
end

return M

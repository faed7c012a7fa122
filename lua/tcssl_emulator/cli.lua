--- tcssl_emulator.cli: the command line of the emulator, for bin/tcssl-emulator and
-- `tcssl emulator`.
--
--   os.exit(require("tcssl_emulator.cli").main(arg))
--
-- main(argv [, out, err]) parses the words, starts a server, prints the line that tells where
-- it listens and serves until it stops; it returns the exit status (0, or 2 for a usage error
-- or a server that cannot start) instead of exiting, so that it can run in-process. out and
-- err (default io.stdout and io.stderr) take its output.

local M = {}

M.USAGE = [[
usage: tcssl-emulator [options]

  --host ADDRESS          address to listen on (default 127.0.0.1)
  --port PORT             port to listen on; 0 picks a free one (default 0)
  --key ID:SECRET[:TOKEN] accept this key (repeatable); without any, the demo key pair
                          is accepted (see below). Visible in `ps`: prefer --keys-file
  --keys-file FILE        accept the keys in FILE, one ID:SECRET[:TOKEN] per line
                          ('#' starts a comment)
  --metadata-role NAME    role name the metadata service reports (default tcssl-emulator-role)
  --web-identity-token T  the only token AssumeRoleWithWebIdentity accepts (default: any)
  --tls-cert FILE         serve HTTPS with this certificate (PEM, may hold a chain)
  --tls-key FILE          ... and this private key (PEM)
  --max-lifetime SECONDS  exit by itself after this long, saying so on stderr (for tests;
                          default 0: run until stopped)
  --idle-timeout SECONDS  close connections idle this long (default 30)
  --request-timeout SECONDS
                          a request's head and body must arrive within this long of the
                          accept (or of its first byte, on a kept-alive connection), or it
                          is answered 408 and closed (default 20)
  --verbose               log one line per request to stderr: method, path, action, verdict
                          (ok or the error code), HTTP status, duration; never a secret
  --help                  show this text

Serves API 3.0 (2019-12-05) on / and the legacy 2017 API on /v2/index.php; every action of
the model answers, parameters are checked against the model, and uploaded certificates are
kept in memory. STS (version 2018-08-13: AssumeRole, AssumeRoleWithWebIdentity) answers on /
too, and a CVM metadata service on /latest/meta-data/; the temporary keys they hand out are
accepted until they expire.

Demo key pair (accepted when no --key or --keys-file is given; for local use only):
  SecretId  AKIDEMULATOR
  SecretKey tcssl-emulator-demo-secret-key-0

Control endpoints (unsigned, under /__emulator/):
  GET  stats          counters: connections, requests, api_requests, certificates,
                      faults_pending
  POST fault          arm a fault: {"type": "delay"|"reset"|"http500"|..., "count": N,
                      "action": NAME}, or {"type": "clock", ...} to shift the clock
  POST reset-faults   disarm the faults, undo the clock shift, zero the counters
  POST reset-store    forget certificates, resources, tasks and records, settings and
                      temporary keys (the accepted keys and the CA stay)
  POST reset          both resets
  GET/POST config     show or change how soon asynchronous work finishes
  GET/POST resources  list or bind cloud resources that use certificates
  POST shutdown       stop once the reply is sent

Once listening, prints one line to stdout:
  tcssl-emulator listening on http://127.0.0.1:PORT pid=PID
]]

local EXIT_OK, EXIT_USAGE = 0, 2

-- A usage error travels as this table, raised inside parse and caught by main.
local Usage = {}

local function fail(message)
  error(setmetatable({ message = message }, Usage), 0)
end

local function number_arg(name, value)
  local n = tonumber(value)
  if not n or n < 0 then fail(name .. " needs a non-negative number") end
  return n
end

local function add_key(opts, text, where)
  local id, secret, token = text:match("^([^:]+):([^:]+):?(.*)$")
  if not id then fail(where .. ": expected ID:SECRET[:TOKEN]") end
  opts.keys = opts.keys or {}
  opts.keys[id] = { secret_key = secret, token = token ~= "" and token or nil }
end

local function read_keys_file(opts, path)
  local f = io.open(path, "rb")
  if not f then fail("cannot read " .. path) end
  local n = 0
  for line in f:lines() do
    n = n + 1
    line = line:match("^%s*(.-)%s*$")
    if line ~= "" and not line:find("^#") then add_key(opts, line, path .. ":" .. n) end
  end
  f:close()
end

-- Options that take a value: the field of opts each one sets, and how its text is read.
local VALUED = {
  ["--host"] = { "host" },
  ["--port"] = { "port", function(name, v) return math.floor(number_arg(name, v)) end },
  ["--metadata-role"] = { "metadata_role" },
  ["--web-identity-token"] = { "web_identity_token" },
  ["--tls-cert"] = { "tls_cert" },
  ["--tls-key"] = { "tls_key" },
  ["--max-lifetime"] = { "max_lifetime", number_arg },
  ["--idle-timeout"] = { "idle_timeout", number_arg },
  ["--request-timeout"] = { "request_timeout", number_arg },
}

--- parse(argv) -> opts, or opts with help = true; raises a usage error (see main).
function M.parse(argv)
  local opts = {}
  local i = 1
  while i <= #argv do
    local a = argv[i]
    local function value()
      i = i + 1
      if argv[i] == nil then fail(a .. " needs a value") end
      return argv[i]
    end
    local valued = VALUED[a]
    if valued then
      local text = value()
      opts[valued[1]] = valued[2] and valued[2](a, text) or text
    elseif a == "--key" then
      add_key(opts, value(), "--key")
    elseif a == "--keys-file" then
      read_keys_file(opts, value())
    elseif a == "--verbose" then
      opts.verbose = true
    elseif a == "--help" or a == "-h" then
      opts.help = true
      return opts
    else
      fail("unknown option " .. a .. " (try --help)")
    end
    i = i + 1
  end
  if (opts.tls_cert == nil) ~= (opts.tls_key == nil) then fail("--tls-cert and --tls-key go together") end
  return opts
end

-- The pid of this interpreter; io.popen("exec lua5.4 ...") makes it the spawned process.
local function own_pid()
  local f = io.open("/proc/self/stat", "r")
  if f then
    local pid = f:read("*n")
    f:close()
    if pid then return math.floor(pid) end
  end
  local p = io.popen("echo $PPID")
  if p then
    local pid = p:read("*n")
    p:close()
    if pid then return math.floor(pid) end
  end
  return 0
end

--- main(argv [, out, err]) -> exit status. Runs the server until it stops.
function M.main(argv, out, err)
  out, err = out or io.stdout, err or io.stderr
  local ok, opts = pcall(M.parse, argv or {})
  if not ok then
    if getmetatable(opts) ~= Usage then error(opts, 0) end
    err:write("tcssl-emulator: ", opts.message, "\n")
    return EXIT_USAGE
  end
  if opts.help then
    out:write(M.USAGE)
    return EXIT_OK
  end
  local server, why = require("tcssl_emulator").new{
    host = opts.host,
    port = opts.port,
    keys = opts.keys,
    tls = opts.tls_cert and { cert = opts.tls_cert, key = opts.tls_key } or nil,
    max_lifetime = opts.max_lifetime or 0, -- started by hand, it runs until stopped
    idle_timeout = opts.idle_timeout,
    request_timeout = opts.request_timeout,
    metadata_role = opts.metadata_role,
    web_identity_token = opts.web_identity_token,
    log = opts.verbose and function(line) err:write("tcssl-emulator: ", line, "\n") end or nil,
  }
  if not server then
    err:write("tcssl-emulator: ", tostring(why), "\n")
    return EXIT_USAGE
  end
  out:write("tcssl-emulator listening on ", server:url(), " pid=", own_pid(), "\n")
  out:flush()
  server:run()
  if server.expired then
    err:write("tcssl-emulator: max lifetime of ", tostring(opts.max_lifetime), " s reached, stopping\n")
    err:flush()
  end
  return EXIT_OK
end

return M

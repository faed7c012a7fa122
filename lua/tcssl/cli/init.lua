-- tcssl.cli: the tcssl command. bin/tcssl runs main(arg) and exits with what it returns; specs
-- call main in the same Lua state.
--
--   local status = require("tcssl.cli").main(args [, env])
--
-- args: the command's words (args[0], when present, is the program's path). env, every field
-- optional:
--   getenv   function(name) -> value; the command's variables and the client's credentials
--            chain read it (default os.getenv)
--   stdout, stderr   where output goes: a file such as io.stdout, or a function called with
--            each piece of text (default the process's own)
--   stdin    a file: `--cli-input-json -` reads it, `issue-free` waits on it (default io.stdin)
--   tty      function("stdin" | "stderr") -> whether that stream is a terminal (default: asks
--            the system for the process's own streams; false for writers given in env)
--
-- Returns the exit status (M.EXIT): 0 success, 1 an API or state error, 2 a usage error,
-- 3 `expiring` found certificates, 4 credentials, 5 network or timeout, 6 rate limited.
-- `tcssl emulator` returns when the emulator stops (it serves until then).
-- The client's own lines (--debug, warnings) go through tcssl.log, to the process's stderr.
--
-- Each command is a module of this folder with run(ctx, words) -> status: call (an API
-- action), help, renew, expiring, issue_free, download, emulator, configure, completion,
-- man. They get a context (below):
-- the global options, the streams, and the helpers every command shares.

local tcssl = require "tcssl"
local json = require "tcssl.json"

local M = {}

--- EXIT: the exit statuses, one per thing a script may act on differently (`tcssl --help`
-- and the README list them).
M.EXIT = {
  ok = 0,          -- done
  failed = 1,      -- the API refused (its error code is printed), or a state, reply or file error
  usage = 2,       -- the command line or its input files are wrong
  found = 3,       -- `expiring` found certificates that end soon
  credentials = 4, -- no usable credentials, or the API rejected them (AuthFailure.*)
  network = 5,     -- no answer: connection, TLS or timeout
  rate_limit = 6,  -- the API's rate limit (RequestLimitExceeded), after the client's retries
}
local EXIT_OK, EXIT_FAILED, EXIT_USAGE = M.EXIT.ok, M.EXIT.failed, M.EXIT.usage

-- The commands besides API actions. The jobs (renew, expiring, issue-free, download) have a
-- usage text of their own (their module's `usage`) and take `--help` after their name.
local COMMANDS = {
  help = "tcssl.cli.help",
  renew = "tcssl.cli.renew",
  expiring = "tcssl.cli.expiring",
  ["issue-free"] = "tcssl.cli.issue_free",
  download = "tcssl.cli.download",
  emulator = "tcssl.cli.emulator",
  configure = "tcssl.cli.configure",
  completion = "tcssl.cli.completion",
  man = "tcssl.cli.man",
}

--- options_of(command) -> the option spec of a job command ({ name = "value" | "flag" }), or nil.
function M.options_of(command)
  local name = COMMANDS[command]
  return name and require(name).options or nil
end

--- usage_of(command) -> the usage text of a command that has one, or nil.
function M.usage_of(command)
  local name = COMMANDS[command]
  return name and require(name).usage or nil
end

-- The global options, taken before or after the command: "value" or "flag". tccli's names
-- are among them (--filter, --generate-cli-skeleton, --cli-input-json, --cli-unfold-argument,
-- which tcssl's parameters never need). A new option is one line here and a read of
-- ctx.opts[name] where it is used; its help line goes in tcssl.cli.help.
local GLOBAL = {
  region = "value", profile = "value", endpoint = "value", scheme = "value", output = "value",
  ["cli-input-json"] = "value", timeout = "value", language = "value", debug = "flag",
  help = "flag", version = "flag", filter = "value", ["generate-cli-skeleton"] = "flag",
  ["cli-unfold-argument"] = "flag", shared = "value",
}
M.GLOBAL = GLOBAL

-- tccli's service word: `tcssl ssl DescribeCertificates` is `tcssl DescribeCertificates`.
local SERVICE = "ssl"

-------------------------------------------------------------------------------
-- The context a command runs in
-------------------------------------------------------------------------------

-- A usage error or a failure deep inside a command ends it: the helpers write the message and
-- raise an Exit, which main turns into the status. Any other error is a bug and stays one.
local Exit = {}

local Context = {}
Context.__index = Context

--- ctx:exit(status): ends the command with this status.
function Context.exit(_, status)
  error(setmetatable({ status = status }, Exit), 0)
end

--- ctx:usage_error(message [, command]): "tcssl: message" and a hint on stderr, status 2.
function Context:usage_error(message, command)
  self.err:write("tcssl: ", message, "\n")
  self.err:write(command and ("try: tcssl " .. command .. " --help\n") or "try: tcssl help\n")
  self:exit(EXIT_USAGE)
end

-- AuthFailure codes that mean the keys or their signature, not a permission the keys lack.
local NOT_CREDENTIALS = { ["AuthFailure.UnauthorizedOperation"] = true, ["AuthFailure.MFAFailure"] = true }

--- exit_status(err) -> the status of a tcssl error object (M.EXIT); 1 for anything else.
function M.exit_status(err)
  if type(err) ~= "table" then return EXIT_FAILED end
  local kind, code = err.kind, tostring(err.code or "")
  if kind == "validation" or kind == "config" then return EXIT_USAGE end
  if kind == "credentials" then return M.EXIT.credentials end
  if kind == "network" or kind == "timeout" or kind == "tls" then return M.EXIT.network end
  if kind == "api" then
    if code == "RequestLimitExceeded" or code:find("^RequestLimitExceeded%.") then return M.EXIT.rate_limit end
    if code:find("^AuthFailure") and not NOT_CREDENTIALS[code] then return M.EXIT.credentials end
  end
  return EXIT_FAILED
end

--- message(err) -> the text of an error for the `tcssl: ` prefix: an API error as
-- "Code: message (RequestId …)", tcssl's own as "kind error Code: message".
function M.message(err)
  return (tostring(err):gsub("^tcssl ", ""))
end

--- ctx:fail(err): the error (a tcssl error object or text) on stderr, and its status.
function Context:fail(err)
  self.err:write("tcssl: ", M.message(err), "\n")
  if self.out.flush then self.out:flush() end
  self:exit(M.exit_status(err))
end

--- ctx:read_file(path [, what]) -> the file's bytes ("-" reads stdin); a usage error if not.
function Context:read_file(path, what)
  local f, err
  if path == "-" then
    f = self.stdin
  else
    f, err = io.open(path, "rb")
  end
  if not f then self:usage_error(("cannot read %s: %s"):format(what or path, err or path)) end
  local data = f:read("a")
  if f ~= self.stdin then f:close() end
  if not data then self:usage_error("cannot read " .. path) end
  return data
end

--- ctx:tccli_settings() -> the region and output of tccli's profile (tcssl.cli.tccli).
function Context:tccli_settings()
  if not self.tccli then
    local tccli = require "tcssl.cli.tccli"
    self.tccli = tccli.settings(tccli.profile_name(self.opts.profile, self.getenv), self.getenv)
  end
  return self.tccli
end

--- ctx:client([legacy]) -> a client configured by the global options and the environment (the
-- legacy 2017 API's client when legacy is true). Credentials: the environment, tcssl's
-- credentials file, tccli's profile, then the rest of the default chain; --profile NAME names
-- the section and tccli's profile and skips the environment.
function Context:client(legacy)
  local opts, getenv = self.opts, self.getenv
  local region = opts.region
  local env_region = getenv("TENCENTCLOUD_REGION")
  if not region and (env_region == nil or env_region == "") then region = self:tccli_settings().region end
  local config = {
    region = region,
    credentials = require("tcssl.cli.tccli").credentials_for(opts.profile, getenv, function()
      return require("tcssl.credentials").default{ getenv = getenv }
    end),
    endpoint = opts.endpoint or getenv("TCSSL_ENDPOINT"),
    scheme = opts.scheme or getenv("TCSSL_SCHEME"),
    language = opts.language, debug = opts.debug or nil,
    getenv = getenv,
  }
  if config.endpoint == "" then config.endpoint = nil end
  if config.scheme == "" then config.scheme = nil end
  if opts.timeout then
    config.timeout = tonumber(opts.timeout)
    if not config.timeout then self:usage_error("--timeout needs a number of seconds") end
  end
  -- --shared redis://... (or TCSSL_SHARED): rate limits and temporary keys shared by a fleet
  local shared = opts.shared or getenv("TCSSL_SHARED")
  if not legacy and shared and shared ~= "" then
    local key = getenv("TCSSL_SHARED_KEY")
    local cache, serr = require("tcssl.shared.redis").new{ url = shared,
      encryption_key = key ~= "" and key or nil }
    if not cache then self:usage_error("--shared: " .. serr.message) end
    config.shared_dict = cache
  end
  local client, err = (legacy and tcssl.legacy or tcssl.new)(config)
  if not client then self:fail(err) end
  return client
end

local OUTPUTS = { json = true, table = true, text = true }

--- ctx:output_format(default [, configured]) -> "json", "table" or "text": --output, else (when
-- configured) tccli's configured output, else the command's default.
function Context:output_format(default, configured)
  local output = self.opts.output or (configured and self:tccli_settings().output) or default
  if not OUTPUTS[output] then self:usage_error("--output must be json, table or text") end
  return output
end

--- ctx:print_json(value [, order]): value as JSON with two-space indentation, keys in the order
-- tcssl.json takes (order, then sorted).
function Context:print_json(value, order)
  local text, err = json.encode(value, { indent = "  ", order = order })
  if not text then self:fail(err) end
  self.out:write(text, "\n")
end

--- ctx:options(command, words, spec) -> the command's options; spec maps each name to "value"
-- or "flag". `--help` prints the command's usage and ends it with status 0.
function Context:options(command, words, spec)
  local out = {}
  local i = 1
  while i <= #words do
    local w = words[i]
    local name, inline = w:match("^%-%-([%l][%w%-]*)=(.*)$")
    name = name or w:match("^%-%-([%l][%w%-]*)$")
    if name == "help" then
      self.out:write(M.usage_of(command))
      self:exit(EXIT_OK)
    end
    if not name or not spec[name] then self:usage_error(("%s: unknown option %s"):format(command, w), command) end
    if spec[name] == "flag" then
      out[name] = true
    else
      local v = inline
      if v == nil then
        i = i + 1
        v = words[i]
      end
      if v == nil then self:usage_error(("%s: --%s needs a value"):format(command, name), command) end
      out[name] = v
    end
    i = i + 1
  end
  return out
end

--- ctx:number_option(command, options, name, default) -> the option as a number >= 0.
function Context:number_option(command, o, name, default)
  if o[name] == nil then return default end
  local n = tonumber(o[name])
  if not n or n < 0 then self:usage_error(("%s: --%s needs a number"):format(command, name), command) end
  return n
end

--- ctx:progress() -> show(info), finish(): a waiter's progress line on stderr, drawn only when
-- stderr is a terminal (show is nil otherwise); finish erases it.
function Context:progress()
  if not self.tty("stderr") then return nil, function() end end
  local err = self.err
  local shown = false
  local function show(info)
    shown = true
    local detail = info.detail
    local extra = ""
    if type(detail) == "table" then
      if detail.status_name then
        extra = ": " .. detail.status_name
      elseif detail.resources then
        extra = (": %d of %d done"):format((tonumber(detail.success) or 0) + (tonumber(detail.failed) or 0),
          tonumber(detail.total) or #detail.resources)
      end
    end
    err:write(("\r\27[Kwaiting for %s%s (%ds, poll %d)"):format(info.what, extra,
      math.floor(info.elapsed), info.polls))
    if err.flush then err:flush() end
  end
  local function finish()
    if shown then
      err:write("\r\27[K")
      if err.flush then err:flush() end
    end
    shown = false
  end
  return show, finish
end

--- shell_quote(s): s as one word for /bin/sh.
function M.shell_quote(s)
  return "'" .. tostring(s):gsub("'", [['\'']]) .. "'"
end

--- ctx:execute(command) -> true when the shell command exits 0 (os.execute's result differs
-- between Lua 5.4 and LuaJIT).
function Context.execute(_, command)
  local ok = os.execute(command)
  return ok == true or ok == 0
end

-------------------------------------------------------------------------------
-- main
-------------------------------------------------------------------------------

-- A writer from env: a file as it is, a function behind a file's write.
local function writer(w, default)
  if w == nil then return default end
  if type(w) == "function" then
    return {
      write = function(self, ...)
        local parts = { ... }
        for i = 1, select("#", ...) do parts[i] = tostring(parts[i]) end
        w(table.concat(parts))
        return self
      end,
    }
  end
  return w
end

local function new_context(env)
  env = env or {}
  local ctx = setmetatable({
    getenv = env.getenv or os.getenv,
    out = writer(env.stdout, io.stdout),
    err = writer(env.stderr, io.stderr),
    stdin = env.stdin or io.stdin,
    opts = {},
  }, Context)
  ctx.tty = env.tty or function(stream)
    if stream == "stdin" and ctx.stdin == io.stdin then return ctx:execute("test -t 0") end
    if stream == "stderr" and ctx.err == io.stderr then return ctx:execute("test -t 2") end
    return false
  end
  return ctx
end

-- Splits the words into the global options, the command, and the command's words. A job
-- command's `--help` stays with its words, so that the command prints its own usage.
local function split_args(ctx, argv)
  local opts, rest, command = {}, {}, nil
  local i = 1
  while i <= #argv do
    local a = argv[i]
    local name, inline = a:match("^%-%-([%l][%w%-]*)=(.*)$")
    name = name or a:match("^%-%-([%l][%w%-]*)$")
    if name and GLOBAL[name] and not (command and M.usage_of(command) and name == "help") then
      if GLOBAL[name] == "flag" then
        opts[name] = true
      else
        local v = inline
        if v == nil then
          i = i + 1
          v = argv[i]
          if v == nil then ctx:usage_error("--" .. name .. " needs a value") end
        end
        opts[name] = v
      end
    elseif a == "-h" then
      opts.help = true
    elseif not command and not a:find("^%-") then
      if a == SERVICE and not opts.service then
        opts.service = a
      else
        command = a
      end
    else
      rest[#rest + 1] = a
    end
    i = i + 1
  end
  return opts, command, rest
end

local function run(ctx, argv)
  if argv[1] == "emulator" then
    local words = {}
    for i = 2, #argv do words[#words + 1] = argv[i] end
    return require(COMMANDS.emulator).run(ctx, words)
  end
  local opts, command, words = split_args(ctx, argv)
  ctx.opts = opts
  if opts.version then
    ctx.out:write(tcssl._VERSION, "\n")
    return EXIT_OK
  end
  if not command then
    local usage = require(COMMANDS.help).text
    if opts.help then
      ctx.out:write(usage)
      return EXIT_OK
    end
    ctx.err:write(usage)
    return EXIT_USAGE
  end
  local usage = M.usage_of(command)
  if opts.help and usage then
    ctx.out:write(usage)
    return EXIT_OK
  end
  local module = COMMANDS[command]
  if module then return require(module).run(ctx, words) end
  return require("tcssl.cli.call").run(ctx, command, words)
end

--- main(args [, env]) -> exit status (see the top of this file).
function M.main(args, env)
  args = args or {}
  local ctx = new_context(env)
  local ok, status = xpcall(function() return run(ctx, args) end, function(e)
    if getmetatable(e) == Exit then return e end
    return debug.traceback(tostring(e), 2)
  end)
  if ok then return status or EXIT_OK end
  if getmetatable(status) == Exit then return status.status end
  error(status, 0)
end

return M

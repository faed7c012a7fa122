--- Helpers for the tcssl.serve specs (spec/nginx/serve_*_spec.lua): an emulator (with the two
-- bad certificates of spec/nginx/serve_emulator.lua), certificates uploaded to it, an nginx with
-- tcssl.serve in front of a TLS server, and real handshakes with `openssl s_client`.
--
--   local serve = require "spec.support.serve"
--   local e = serve.emulator()                    -- e.log_file: its --verbose request log
--   local c = serve.client(e)                     -- a Lua 5.4 client of that emulator
--   local cert = serve.upload(c, { cn = "shop.serve.test", days = 60 })  -- cert.sha256, cert.id
--   local n = serve.nginx(e, { domains = { ... }, cache_dir = ..., workers = 2 })
--   serve.served(n.tls_port, "shop.serve.test")   -- the sha256 of the certificate served, or nil
local nginx = require "spec.support.nginx"
local emu = require "spec.support.emulator"
local certgen = require "spec.support.certgen"
local util = require "spec.support.util"
local tcssl = require "tcssl"

local M = {}

M.ID = "AKIDSERVESPEC0000000000000000000000"
M.KEY = "serve-spec-secret-key-0123456789abcdef"

--- emulator([opts]) -> a running emulator; opts.plain: bin/tcssl-emulator itself, without the
-- bad certificates of serve_emulator.lua.
function M.emulator(opts)
  local log_file = os.tmpname()
  local e = emu.start{ keys = { [M.ID] = { secret_key = M.KEY } },
    command = not (opts and opts.plain) and "lua5.4 spec/nginx/serve_emulator.lua" or nil,
    args = { "--verbose" }, stderr = log_file }
  e.log_file = log_file
  return e
end

--- cleanup(n, e [, dir]): in a teardown, stops nginx and the emulator, removes the emulator's
-- request log and the temporary folder dir; nils (from a setup that failed part-way) are skipped.
function M.cleanup(n, e, dir)
  emu.cleanup(n, e)
  if e then os.remove(e.log_file) end
  util.remove_dir(dir)
end

--- How many requests of `action` the emulator has answered so far.
function M.count(e, action)
  local n = 0
  for line in (util.read(e.log_file) or ""):gmatch("[^\n]+") do
    if line:find(" action=" .. action .. " ", 1, true) then n = n + 1 end
  end
  return n
end

function M.client(e)
  return assert(tcssl.new{ secret_id = M.ID, secret_key = M.KEY, endpoint = e.host, scheme = "http",
    max_retries = 0 })
end

--- upload(client, spec) -> the certificate (certgen's, self-signed) with its id in the account,
-- uploaded with its key. spec: cn, sans, days, not_before, alias (see serve_emulator.lua), or
-- ca = true: a CA certificate named cn, uploaded without a key (its archive has none).
function M.upload(client, spec)
  local cert, res
  if spec.ca then
    cert = certgen.ca(spec.cn)
    res = assert(client:UploadCertificate{ CertificatePublicKey = cert.cert_pem, CertificateType = "CA",
      Alias = spec.alias or "serve-spec" })
  else
    cert = certgen.leaf{ cn = spec.cn, sans = spec.sans, days = spec.days, not_before = spec.not_before }
    res = assert(client:UploadCertificate{ CertificatePublicKey = cert.cert_pem,
      CertificatePrivateKey = cert.key_pem, Alias = spec.alias or "serve-spec" })
  end
  cert.id = res.CertificateId
  return cert
end

local function lua_value(v)
  if type(v) == "string" then return ("%q"):format(v) end
  if type(v) ~= "table" then return tostring(v) end
  local parts = {}
  for k, x in pairs(v) do
    parts[#parts + 1] = (type(k) == "number" and "" or ("[%q] = "):format(k)) .. lua_value(x)
  end
  return "{ " .. table.concat(parts, ", ") .. " }"
end

--- nginx(e, opts) -> a running nginx with tcssl.serve (n.tls_port, n.fallback) in front of a
-- TLS server; opts: domains, cache_dir, workers, refresh (default 1), tick, warn_days, fallback (a certgen
-- certificate to reuse), http (more configuration text for the http block).
function M.nginx(e, opts)
  local fallback = opts.fallback or certgen.leaf{ cn = "fallback.serve.test", days = 30 }
  local dir = util.temp_dir("serve-fallback")
  util.write(dir .. "/fallback.pem", fallback.cert_pem)
  util.write(dir .. "/fallback.key", fallback.key_pem)
  local tls_port = nginx.free_port()
  local settings = {
    client = { secret_id = M.ID, secret_key = M.KEY, endpoint = e.host, scheme = "http", max_retries = 0,
      timeout = 5 },
    domains = opts.domains, dict = "tcssl_certs", refresh = opts.refresh or 1, tick = opts.tick or 0.2,
    cache_dir = opts.cache_dir, retry_bad = opts.retry_bad, warn_days = opts.warn_days,
  }
  local n = nginx.start{
    workers = opts.workers,
    http = ([[
  lua_shared_dict tcssl_certs 1m;
  init_worker_by_lua_block {
    assert(require("tcssl.serve").start(%s))
  }
  server {
    listen 127.0.0.1:%d ssl;
    ssl_certificate %s/fallback.pem;
    ssl_certificate_key %s/fallback.key;
    ssl_certificate_by_lua_block { require("tcssl.serve").certificate() }
    location / { return 200 "tls\n"; }
  }
%s
]]):format(lua_value(settings), tls_port, dir, dir, opts.http or ""),
    server = [[
    location = /status { content_by_lua_block { require("tcssl.serve").status() } }
]],
  }
  n.tls_port, n.fallback, n.fallback_dir = tls_port, fallback, dir
  local stop = n.stop
  function n.stop(self)
    stop(self)
    util.remove_dir(dir)
  end
  return n
end

--- served(port, name) -> the lowercase sha256 of the certificate a handshake with SNI `name`
-- (none when nil) gets, or nil when the handshake fails.
function M.served(port, name)
  local sni = name and ("-servername " .. util.quote(name)) or "-noservername"
  local cmd = ("openssl s_client -connect 127.0.0.1:%d %s </dev/null 2>/dev/null"
    .. " | openssl x509 -noout -fingerprint -sha256 2>/dev/null"):format(port, sni)
  local p = assert(io.popen(cmd))
  local out = p:read("*a")
  p:close()
  local fp = out:match("=([%x:]+)")
  return fp and (fp:gsub(":", ""):lower())
end

--- wait_served(port, name, sha256 [, seconds]) -> true once a handshake gets that certificate.
function M.wait_served(port, name, sha256, seconds)
  return nginx.poll(seconds or 20, function() return M.served(port, name) == sha256 end) or false
end

--- status(n) -> tcssl.serve.status() of that nginx, decoded.
function M.status(n)
  local code, body = n:get("/status")
  assert(code == 200, "status answered " .. tostring(code))
  return assert(require("cjson.safe").decode(body))
end

--- wait_refreshes(n, count [, seconds]) -> the status once `count` more refreshes have ended.
function M.wait_refreshes(n, count, seconds)
  local start = M.status(n).refreshes or 0
  return nginx.poll(seconds or 20, function()
    local st = M.status(n)
    if (st.refreshes or 0) >= start + count then return st end
  end)
end

return M

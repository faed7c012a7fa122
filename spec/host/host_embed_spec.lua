-- examples/host: a C program that embeds Lua 5.4 and links the tcssl core, running
-- examples/host/report.lua against the emulator and printing what it reads back from the
-- returned table. Run by `make test-host` (mk/host.mk), which builds build/host/tcssl-host.
local emu = require "spec.support.emulator"
local pki = require "spec.support.pki"
local util = require "spec.support.util"

local HOST = "build/host/tcssl-host"
local SCRIPT = "examples/host/report.lua"
local ID = "AKIDHOSTSPEC000000000000000000000000"
local KEY = "host-spec-secret-key-0123456789abcdef"

local server, certs

setup(function()
  assert(io.open(HOST, "rb"), HOST .. " is not built (make host)"):close()
  certs = pki.make()
  server = emu.start{ keys = { [ID] = { secret_key = KEY } } }
end)

teardown(function() emu.cleanup(server, certs) end)

-- Runs the host with environment `env` and arguments; returns stdout, the exit code, stderr.
local function run(env, ...)
  local words = { "env", "-i", "PATH=/usr/bin:/bin" }
  local names = {}
  for k in pairs(env) do names[#names + 1] = k end
  table.sort(names)
  for _, k in ipairs(names) do words[#words + 1] = k .. "=" .. util.quote(env[k]) end
  words[#words + 1] = HOST
  for _, a in ipairs({ ... }) do words[#words + 1] = util.quote(a) end
  local err_file = os.tmpname()
  local p = assert(io.popen(table.concat(words, " ") .. " 2>" .. err_file, "r"))
  local out = p:read("*a")
  local _, _, code = p:close()
  local stderr = util.read(err_file) or ""
  os.remove(err_file)
  return out, code, stderr
end

local function env(extra)
  local e = { TENCENTCLOUD_SECRET_ID = ID, TENCENTCLOUD_SECRET_KEY = KEY, TCSSL_ENDPOINT = server.host,
    TCSSL_SCHEME = "http", HOME = "/nonexistent" }
  for k, v in pairs(extra or {}) do e[k] = v end
  return e
end

describe("a C host embedding Lua and tcssl", function()
  before_each(function() server:reset() end)

  it("runs the script against the emulator and reads its report back in C", function()
    local out, code, stderr = run(env{ TCSSL_CERT = certs.leaf_cert_file, TCSSL_KEY = certs.leaf_key_file }, SCRIPT)
    assert.equal(0, code, stderr)
    assert.equal("1", out:match("^total (%d+)\n"))
    assert.truthy(out:match("\nrequest_id [%x%-]+\n"), out)
    local id, domain, ends = out:match("\ncertificate (%S+) (%S+) (%d+%-%d+%-%d+ [%d:]+)\n")
    assert.is_string(id, out)
    assert.equal(pki.LEAF_CN, domain)
    assert.equal("2034-01-01 08:00:00", ends)
    assert.equal(2, server:stats().api_requests) -- the upload and the list
  end)

  it("passes arguments to the script", function()
    run(env{ TCSSL_CERT = certs.leaf_cert_file, TCSSL_KEY = certs.leaf_key_file }, SCRIPT)
    local out, code = run(env(), SCRIPT, "no-such-domain.example")
    assert.equal(0, code)
    assert.equal("0", out:match("^total (%d+)\n"))
  end)

  it("exits 1 with the error's code when the call fails", function()
    local out, code, stderr = run(env{ TENCENTCLOUD_SECRET_KEY = "not-the-key" }, SCRIPT)
    assert.equal(1, code)
    assert.equal("error AuthFailure.SignatureFailure\n", out)
    assert.truthy(stderr:find("AuthFailure.SignatureFailure", 1, true))
    assert.falsy(stderr:find(KEY, 1, true))
  end)

  it("exits 2 on a Lua error, with a traceback", function()
    local script = util.tmpfile('local tcssl = require "tcssl"\nassert(tcssl.version)\nerror("broken script")\n')
    local out, code, stderr = run(env(), script)
    os.remove(script)
    assert.equal(2, code)
    assert.equal("", out)
    assert.truthy(stderr:find("broken script", 1, true))
    assert.truthy(stderr:find("stack traceback", 1, true))
  end)

  it("uses the core linked into the program, not a core.so", function()
    local script = util.tmpfile('package.cpath = ""\nlocal core = require "tcssl.core"\n'
      .. 'return { total = #core.sha256_hex("abc"), request_id = core.version }\n')
    local out, code, stderr = run(env(), script)
    os.remove(script)
    assert.equal(0, code, stderr)
    assert.equal("total 64\nrequest_id 0.1.0\n", out)
  end)

  it("prints usage without a script", function()
    local out, code, stderr = run(env())
    assert.equal(2, code)
    assert.equal("", out)
    assert.truthy(stderr:find("usage:", 1, true))
  end)
end)

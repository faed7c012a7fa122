-- Rate limits and temporary credentials shared between hosts through Redis
-- (tcssl.shared.redis): a redis-server started on a free loopback port, the emulator, and
-- child processes acting as the hosts of a fleet. Run by `make test-redis` (mk/redis.mk).
local rs = require "spec.support.redis"
local emu = require "spec.support.emulator"
local util = require "spec.support.util"
local socket = require "socket"
local runtime = require "tcssl.runtime"
local tcssl = require "tcssl"
local ratelimit = require "tcssl.ratelimit"
local redis = require "tcssl.shared.redis"
local credentials = require "tcssl.credentials"

local server, emulator
-- The hosts run under the interpreter of the specs (test-redis runs them under Lua 5.4 and LuaJIT).
local INTERPRETER = os.getenv("TCSSL_LUA") or (rawget(_G, "jit") and "luajit" or "lua5.4")

setup(function()
  server = rs.start()
  emulator = emu.start{ keys = { [emu.DEMO_SECRET_ID] = { secret_key = emu.DEMO_SECRET_KEY },
    AKIDFLEETACCOUNT0000000000000000002 = { secret_key = "fleet-spec-secret-key-00000000002" } } }
end)

teardown(function() emu.cleanup(emulator, server) end)

-- Starts `n` host processes of spec/redis/host.lua, lets them go together, and returns what
-- each printed last.
local function fleet(mode, n, seconds)
  local go = os.tmpname()
  os.remove(go)
  local procs = {}
  for i = 1, n do
    local cmd = ("%s spec/redis/host.lua %s %s %s %s %s %s 2>&1"):format(INTERPRETER,
      mode, emulator.host, util.quote(server.url), tostring(i * 1000003.37), util.quote(go), tostring(seconds))
    procs[i] = assert(io.popen(cmd, "r"))
  end
  for i = 1, n do assert.equal("ready", procs[i]:read("*l")) end
  util.write(go, "go")
  local out = {}
  for i = 1, n do
    out[i] = procs[i]:read("*a")
    procs[i]:close()
  end
  os.remove(go)
  return out
end

local function rows(action)
  local list = {}
  for _, row in ipairs(emulator:stats().per_second) do
    if row.action == action then list[#list + 1] = row end
  end
  return list
end

describe("tcssl.shared.redis", function()
  before_each(function() emulator:reset() end)

  it("loads Debian's lua-redis from its 5.3 folder under Lua 5.4, its 5.1 folder under LuaJIT, package.path unchanged",
    function()
      local before = package.path
      assert.is_table(redis.lua_redis())
      assert.equal(before, package.path)
      local folder = _VERSION == "Lua 5.1" and "5.1" or "5.3"
      assert.equal("/usr/share/lua/" .. folder .. "/redis.lua", redis.lua_redis_file)
    end)

  it("keeps get, set, incr, add and delete in Redis under its prefix", function()
    local c = assert(redis.new{ url = server.url, prefix = "spec:" })
    assert.is_true(c:set("tcssl:a", "x", 5))
    assert.equal("x", c:get("tcssl:a"))
    assert.is_nil(c:get("tcssl:missing"))
    assert.is_nil(c:incr("tcssl:n", 1))
    assert.equal(1, c:incr("tcssl:n", 1, 0, 2))
    assert.equal(3, c:incr("tcssl:n", 2))
    assert.is_true(c:add("tcssl:lock", "1", 2))
    assert.is_false(c:add("tcssl:lock", "1", 2))
    assert.is_true(c:delete("tcssl:lock"))
    assert.truthy((server:command("EXISTS", "spec:a")):find(":1", 1, true))
    assert.equal("x", c:get("tcssl:a"))
    c:close()
  end)

  it("refuses bad urls and options as config errors", function()
    for _, bad in ipairs{ "http://h", "redis://", "redis://h:99999", "redis://h/x" } do
      local c, err = redis.new{ url = bad }
      assert.is_nil(c, bad)
      assert.equal("config", err.kind)
    end
    assert.is_nil(redis.new{ url = server.url, timeout = 0 })
    assert.is_nil(redis.new{ url = server.url, encryption_key = "short" })
    local u = assert(redis.parse_url("rediss://user:pw@h:7000/3"))
    assert.same({ tls = true, host = "h", port = 7000, db = 3, username = "user", password = "pw" }, u)
  end)

  it("seals what it caches with the encryption key, and opens only what that key sealed", function()
    local c = assert(redis.new{ url = server.url, encryption_key = "a-key-of-sixteen-bytes-or-more" })
    local other = assert(redis.new{ url = server.url, encryption_key = "another-key-of-sixteen-bytes" })
    local sealed = c:seal('{"secret_key":"x"}')
    assert.is_nil(sealed:find("secret", 1, true))
    assert.equal('{"secret_key":"x"}', c:unseal(sealed))
    assert.is_nil(other:unseal(sealed))
    assert.is_nil(c:unseal(sealed:sub(1, -3) .. "AA"))
    assert.is_nil(assert(redis.new{ url = server.url }):seal("x"))
  end)
end)

describe("rate limits through Redis", function()
  before_each(function()
    emulator:reset()
    server:command("FLUSHALL")
  end)

  it("hold across three hosts with different monotonic clocks: the emulator never sees more than 10/s", function()
    local out = fleet("calls", 3, 3.2)
    local total = 0
    for i, text in ipairs(out) do
      local calls, failed = text:match("calls (%d+) failed (%d+)")
      assert(calls, "host " .. i .. ": " .. text)
      assert.equal("0", failed, text)
      total = total + tonumber(calls)
    end
    local max, seen = 0, 0
    for _, row in ipairs(rows("DescribeCertificates")) do
      max = math.max(max, row.count)
      seen = seen + row.count
    end
    assert.equal(total, seen)
    print(("# three hosts: %d calls, at most %d in one wall-clock second"):format(total, max))
    assert.is_true(max <= 10, "the emulator saw " .. max .. " in one second")
    assert.is_true(total >= 20, "too few calls went through: " .. total)
  end)

  it("keep apart budgets for two accounts and two regions", function()
    local cache = assert(redis.new{ url = server.url })
    local t = 5000.5 -- a rate clock that stands still: the window never moves on
    local function client(id, key, region)
      return assert(tcssl.new{ endpoint = emulator.host, scheme = "http", secret_id = id, secret_key = key,
        region = region, shared_dict = cache, rate_clock = function() return t end, deadline = 0.3 })
    end
    local a = client(emu.DEMO_SECRET_ID, emu.DEMO_SECRET_KEY, "ap-guangzhou")
    local a2 = client(emu.DEMO_SECRET_ID, emu.DEMO_SECRET_KEY, "ap-beijing")
    local b = client("AKIDFLEETACCOUNT0000000000000000002", "fleet-spec-secret-key-00000000002", "ap-guangzhou")
    for _, c in ipairs{ a, a2, b } do
      for i = 1, 10 do assert(c:DescribeCertificates{}, "call " .. i) end
      local res, err = c:DescribeCertificates{}
      assert.is_nil(res)
      assert.equal("DeadlineExceeded", err.code)
    end
    assert.equal(30, emulator:stats().api_requests)
    -- the keys name the account by a digest, never the SecretId
    local keys = {}
    local p = io.popen(("redis-cli -p %d --scan 2>/dev/null"):format(server.port))
    if p then
      for k in p:lines() do keys[#keys + 1] = k end
      p:close()
    end
    for _, k in ipairs(keys) do assert.is_nil(k:find("AKID", 1, true), k) end
  end)

  it("count provider credentials by their SecretId too, with the region and the action", function()
    local c = assert(tcssl.new{ endpoint = emulator.host, scheme = "http",
      credentials = credentials.static("AKIDFLEETACCOUNT0000000000000000002",
        "fleet-spec-secret-key-00000000002"), region = "ap-shanghai" })
    local key = assert(ratelimit.key(c, "DescribeCertificates"))
    assert.equal(ratelimit.account("AKIDFLEETACCOUNT0000000000000000002") .. "/ap-shanghai/v3/DescribeCertificates",
      key)
    local s = assert(tcssl.new{ endpoint = emulator.host, scheme = "http", region = "ap-shanghai",
      secret_id = "AKIDFLEETACCOUNT0000000000000000002", secret_key = "fleet-spec-secret-key-00000000002" })
    assert.equal(key, ratelimit.key(s, "DescribeCertificates"))
  end)
end)

describe("temporary credentials through Redis", function()
  local KEY = "fleet-spec-encryption-key-0001" -- the hosts' (spec/redis/host.lua)
  local ROLE_ARN = "qcs::cam::uin/100000000001:roleName/fleet"
  local cache

  before_each(function()
    emulator:reset()
    server:command("FLUSHALL")
    cache = assert(redis.new{ url = server.url, encryption_key = KEY })
  end)

  after_each(function() cache:close() end)

  -- The temporary credentials cached in Redis under the prefix, opened with the hosts' key.
  local function stored()
    local list = util.lines(("redis-cli -p %d --scan --pattern 'tcssl:credentials:*' 2>/dev/null"):format(server.port))
    assert.equal(1, #list, table.concat(list, " "))
    return list[1]
  end

  local function cached()
    local text = assert(cache:unseal(assert(cache:get(stored()))))
    return assert(require("cjson.safe").decode(text))
  end

  -- An earlier fetch, made `ago` seconds back: the emulator's clock and the fetching host's
  -- are both set back, so the keys it hands out expire `duration - ago` seconds from now
  -- and the host caches them for `duration - margin` seconds.
  local function fetched_earlier(mode, ago)
    emulator:fault{ type = "clock", offset = -ago }
    local clock = function() return os.time() - ago end
    local provider
    if mode == "credentials" then
      provider = credentials.cvm_role{ metadata_url = "http://" .. emulator.host .. "/latest/meta-data/",
        role = "tcssl-emulator-role", cache = cache, clock = clock }
    else
      provider = credentials.assume_role{ secret_id = emu.DEMO_SECRET_ID, secret_key = emu.DEMO_SECRET_KEY,
        role_arn = ROLE_ARN, endpoint = emulator.host, scheme = "http", cache = cache, clock = clock }
    end
    local creds = assert(provider.get(clock()))
    emulator:control("POST", "reset-faults") -- the clock comes back; the request counts start afresh
    return ratelimit.account(creds.secret_id), creds.expires
  end

  -- Requests to the metadata service and to STS since the last reset, from the emulator's log.
  local function fetches()
    local n = 0
    for _, row in ipairs(emulator:stats().per_second) do
      if row.action:find("^metadata:") or row.action == "AssumeRole" then n = n + row.count end
    end
    return n
  end

  local cases = {
    { "CVM-role keys inside the refresh margin", "credentials", 21600 - 120 },
    { "CVM-role keys already expired", "credentials", 21600 + 60 },
    { "STS AssumeRole keys inside the refresh margin", "sts", 7200 - 120 },
  }
  for _, case in ipairs(cases) do
    local title, mode, ago = case[1], case[2], case[3]
    it("are fetched once for three hosts when the " .. title .. " are cached, and stored encrypted", function()
      local old, expires = fetched_earlier(mode, ago)
      assert.is_true(expires - os.time() < credentials.REFRESH_MARGIN) -- at expiry, as the hosts see it
      assert.equal(expires, cached().expires) -- and in Redis, left there by the earlier fetch
      local out = fleet(mode, 3, 0)
      local accounts = {}
      for i, text in ipairs(out) do
        accounts[i] = text:match("calls 1 failed 0 account (%x+)")
        assert(accounts[i], "host " .. i .. ": " .. text)
      end
      assert.equal(1, fetches()) -- one request to STS or the metadata service between the three hosts
      assert.are_not.equal(old, accounts[1]) -- new keys, the same for all three
      assert.same({ accounts[1], accounts[1], accounts[1] }, accounts)
      assert.is_true(cached().expires - os.time() > credentials.REFRESH_MARGIN)
    end)
  end

  it("are stored sealed: no secret in Redis in the clear", function()
    fleet("credentials", 1, 0)
    local raw = table.concat(util.lines(("redis-cli -p %d GET %s 2>/dev/null"):format(server.port,
      util.quote(stored()))), "\n")
    assert.truthy(raw:find("^v1:"), raw)
    assert.is_nil(raw:find("secret", 1, true))
    assert.is_nil(raw:find("AKID", 1, true))
  end)
end)

describe("when Redis fails", function()
  it("calls go on under the local limiter, each within its deadline, with a warning", function()
    local own = rs.start()
    local warnings, hooked = {}, {}
    local cache = assert(redis.new{ url = own.url, timeout = 0.2,
      on_warning = function(m) warnings[#warnings + 1] = m end })
    local c = assert(tcssl.new{ endpoint = emulator.host, scheme = "http", secret_id = emu.DEMO_SECRET_ID,
      secret_key = emu.DEMO_SECRET_KEY, shared_dict = cache, deadline = 2,
      on_request = function(info) hooked[#hooked + 1] = info end })
    local ok, err = pcall(function()
      for _ = 1, 3 do assert(c:DescribeCertificates{}) end
      assert.equal(0, #warnings)
      own:stop()
      for _ = 1, 5 do
        local started = socket.gettime()
        assert(c:DescribeCertificates{})
        assert.is_true(socket.gettime() - started < 2)
      end
    end)
    own:stop()
    assert(ok, err)
    assert.equal(1, #warnings) -- once, then Redis is left alone for its cooldown
    assert.truthy(warnings[1]:find("falling back", 1, true))
    assert.truthy(hooked[#hooked].warning:find("local limiter", 1, true))
  end)

  it("a Redis that accepts and never answers costs each call at most its timeout", function()
    local silent = assert(socket.bind("127.0.0.1", 0)) -- listens, never accepts: connect passes, reads wait
    local _, port = silent:getsockname()
    local cache = assert(redis.new{ url = ("redis://127.0.0.1:%d/0"):format(port), timeout = 0.2, cooldown = 0,
      on_warning = function() end })
    local c = assert(tcssl.new{ endpoint = emulator.host, scheme = "http", secret_id = emu.DEMO_SECRET_ID,
      secret_key = emu.DEMO_SECRET_KEY, shared_dict = cache, deadline = 3 })
    local ok, err = pcall(function()
      for _ = 1, 3 do
        local started = socket.gettime()
        assert(c:DescribeCertificates{})
        assert.is_true(socket.gettime() - started < 1.5)
      end
    end)
    silent:close()
    assert(ok, err)
  end)

  -- spec/redis/slow_proxy.lua in front of the spec's redis-server: every answer `delay` late.
  local function slow_redis(delay)
    local proc = assert(io.popen(("echo $$; exec %s spec/redis/slow_proxy.lua %d %s 60"):format(INTERPRETER,
      server.port, tostring(delay)), "r"))
    local pid = tonumber(proc:read("*l"))
    local port = tonumber((proc:read("*l") or ""):match("^listening (%d+)$"))
    local proxy = { url = port and ("redis://127.0.0.1:%d/0"):format(port) }
    function proxy.stop()
      if pid then os.execute("kill " .. pid .. " 2>/dev/null") end
      proc:close()
    end
    if not port then proxy.stop() end
    return assert(port and proxy, "the slow proxy did not start")
  end

  local function counted()
    local line = server:command("EVAL", "local n = 0 for _, k in ipairs(redis.call('KEYS', 'tcssl:rate:*')) do "
      .. "n = n + tonumber(redis.call('GET', k)) end return n", "0")
    return tonumber(line:match("^:(%d+)"))
  end

  it("a Redis that answers slowly: past its timeout each call goes on under the local limiter within its deadline;"
    .. " within it, Redis counts", function()
    server:command("FLUSHALL")
    local proxy = slow_redis(0.4)
    local ok, err = pcall(function()
      local warnings, hooked = {}, {}
      local impatient = assert(redis.new{ url = proxy.url, timeout = 0.1, cooldown = 0,
        on_warning = function(m) warnings[#warnings + 1] = m end })
      local c = assert(tcssl.new{ endpoint = emulator.host, scheme = "http", secret_id = emu.DEMO_SECRET_ID,
        secret_key = emu.DEMO_SECRET_KEY, shared_dict = impatient, deadline = 1,
        on_request = function(info) hooked[#hooked + 1] = info end })
      for i = 1, 4 do
        local started = runtime.now()
        local res, cerr = c:DescribeCertificates{}
        assert(res, "call " .. i .. ": " .. tostring(cerr and cerr.code))
        assert.is_true(runtime.now() - started <= 1, "call " .. i .. " passed its deadline")
        assert.truthy(hooked[#hooked].warning and hooked[#hooked].warning:find("local limiter", 1, true))
      end
      assert.is_true(#warnings >= 1)
      assert.truthy(warnings[1]:find("timeout", 1, true), warnings[1])
      impatient:close()
      -- the same slow Redis with a timeout longer than its delay: no fallback, Redis counts each call
      server:command("FLUSHALL")
      warnings = {}
      local patient = assert(redis.new{ url = proxy.url, timeout = 1,
        on_warning = function(m) warnings[#warnings + 1] = m end })
      local p = assert(tcssl.new{ endpoint = emulator.host, scheme = "http", secret_id = emu.DEMO_SECRET_ID,
        secret_key = emu.DEMO_SECRET_KEY, shared_dict = patient, deadline = 5 })
      for i = 1, 3 do assert(p:DescribeCertificates{}, "patient call " .. i) end
      patient:close()
      assert.same({}, warnings)
      assert.equal(3, counted())
    end)
    proxy.stop()
    assert(ok, err)
  end)

  it("a Redis that refuses (a wrong password) is a warning too, never a failed call", function()
    local locked = rs.start{ password = "the-right-password" }
    local warnings = {}
    local cache = assert(redis.new{ url = locked.url, password = "a-wrong-password",
      on_warning = function(m) warnings[#warnings + 1] = m end })
    local c = assert(tcssl.new{ endpoint = emulator.host, scheme = "http", secret_id = emu.DEMO_SECRET_ID,
      secret_key = emu.DEMO_SECRET_KEY, shared_dict = cache })
    local ok, err = pcall(function() assert(c:DescribeCertificates{}) end)
    locked:stop()
    assert(ok, err)
    assert.equal(1, #warnings)
    assert.is_nil(warnings[1]:find("wrong%-password"))
  end)
end)

describe("the tcssl command", function()
  local cli = require "tcssl.cli"

  local function run(words, vars)
    local env = { TCSSL_ENDPOINT = emulator.host, TCSSL_SCHEME = "http", HOME = "/nonexistent",
      TENCENTCLOUD_SECRET_ID = emu.DEMO_SECRET_ID, TENCENTCLOUD_SECRET_KEY = emu.DEMO_SECRET_KEY }
    for k, v in pairs(vars or {}) do env[k] = v end
    local out, err = {}, {}
    local status = cli.main(words, {
      getenv = function(name) return env[name] end,
      stdout = function(text) out[#out + 1] = text end,
      stderr = { write = function(self, ...) for _, s in ipairs{ ... } do err[#err + 1] = s end return self end },
    })
    return status, table.concat(out), table.concat(err)
  end

  local function rate_keys()
    local line = server:command("EVAL", "return #redis.call('KEYS', 'tcssl:rate:*')", "0")
    return tonumber(line:match("^:(%d+)"))
  end

  before_each(function() server:command("FLUSHALL") end)

  it("takes --shared redis://... and counts its calls in Redis", function()
    local status, out, err = run{ "--shared", server.url, "DescribeCertificates" }
    assert.equal(0, status, err)
    assert.truthy(out:find("TotalCount", 1, true))
    assert.equal(1, rate_keys())
  end)

  it("takes TCSSL_SHARED from the environment, and refuses a bad url as a usage error", function()
    local status, _, err = run({ "DescribeCertificates" }, { TCSSL_SHARED = server.url })
    assert.equal(0, status, err)
    assert.equal(1, rate_keys())
    status, _, err = run{ "--shared", "http://nowhere", "DescribeCertificates" }
    assert.equal(2, status)
    assert.truthy(err:find("redis://", 1, true), err)
  end)
end)

describe("tcssl.shared.redis over TLS (rediss://)", function()
  local pki = require "spec.support.pki"
  local certs, tls, tls_port

  setup(function()
    certs = pki.make()
    tls_port = emu.free_port()
    tls = rs.start{ args = { "--tls-port", tostring(tls_port), "--tls-cert-file", certs.server_cert_file,
      "--tls-key-file", certs.server_key_file, "--tls-ca-cert-file", certs.ca_cert_file,
      "--tls-auth-clients", "no" } }
  end)

  teardown(function() emu.cleanup(tls, certs) end)

  it("verifies the server against ca_file and its name, and works", function()
    local c = assert(redis.new{ url = ("rediss://127.0.0.1:%d/0"):format(tls_port), ca_file = certs.ca_cert_file })
    assert.is_true(c:set("tcssl:tls", "yes"))
    assert.equal("yes", c:get("tcssl:tls"))
    c:close()
  end)

  it("refuses a server whose CA it does not trust, or whose certificate names another host", function()
    local warned = {}
    local function warn(m) warned[#warned + 1] = m end
    local untrusted = assert(redis.new{ url = ("rediss://127.0.0.1:%d/0"):format(tls_port), on_warning = warn })
    local v, err = untrusted:get("tcssl:tls")
    assert.is_nil(v)
    assert.truthy(err:find("tls", 1, true), err)
    local misnamed = assert(redis.new{ url = ("rediss://127.0.0.1:%d/0"):format(tls_port), ca_file = certs.ca_cert_file,
      server_name = "redis.example.com", on_warning = warn })
    v, err = misnamed:get("tcssl:tls")
    assert.is_nil(v)
    assert.truthy(err:find("does not name", 1, true), err)
    local insecure = assert(redis.new{ url = ("rediss://127.0.0.1:%d/0"):format(tls_port), insecure = true })
    assert.is_true(insecure:set("tcssl:tls", "again"))
    assert.equal(2, #warned)
  end)
end)

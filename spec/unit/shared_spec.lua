-- tcssl.shared (caches with expiry over lua_shared_dict, or in memory) and temporary
-- credentials kept there, so that several nginx workers fetch them once between them.
local shared = require "tcssl.shared"
local credentials = require "tcssl.credentials"
local json = require "tcssl.json"
local fakes = require "spec.support.fakes"

local TMP_KEY = "shared-spec-temporary-key-333"

local saved_ngx
before_each(function() saved_ngx = rawget(_G, "ngx") end)
after_each(function() rawset(_G, "ngx", saved_ngx) end)

-- A stand-in for a lua_shared_dict with the same methods (and a clock for expiry).
local function fake_dict(now)
  local d = { values = {}, expires = {} }
  function d.get(self, k)
    if self.expires[k] and self.expires[k] <= now() then self.values[k] = nil end
    return self.values[k]
  end
  function d.set(self, k, v, ttl)
    self.values[k], self.expires[k] = v, ttl and ttl > 0 and now() + ttl or nil
    return true, nil, false
  end
  function d.delete(self, k) self.values[k] = nil end
  function d.incr(self, k, by, init)
    local v = self.values[k]
    if v == nil then
      if init == nil then return nil, "not found" end
      v = init
    end
    self.values[k] = v + by
    return v + by
  end
  return d
end

describe("tcssl.shared", function()
  it("keeps values in memory until they expire", function()
    local t = 100
    local c = shared.memory{ now = function() return t end }
    assert.is_true(c:set("a", "x", 10))
    assert.is_true(c:set("b", 5))
    assert.equal("x", c:get("a"))
    t = 110
    assert.is_nil(c:get("a"))
    assert.equal(5, c:get("b"))
    assert.equal(7, c:incr("b", 2))
    assert.equal(1, c:incr("n", 1, 0, 5))
    t = 116
    assert.is_nil(c:get("n"))
    c:delete("b")
    assert.is_nil(c:get("b"))
    local ok, err = c:set("t", {})
    assert.is_nil(ok)
    assert.truthy(err:find("table", 1, true))
  end)

  it("refuses a lua_shared_dict outside OpenResty, or one nginx.conf lacks", function()
    local c, err = shared.dict("tcssl")
    assert.is_nil(c)
    assert.equal("config", err.kind)
    assert.equal("NoSharedDict", err.code)
    rawset(_G, "ngx", { shared = {} })
    c, err = shared.dict("tcssl")
    assert.is_nil(c)
    assert.truthy(err.message:find("lua_shared_dict tcssl", 1, true))
  end)

  it("wraps a lua_shared_dict by name", function()
    local t = 0
    rawset(_G, "ngx", { shared = { tcssl = fake_dict(function() return t end) } })
    local c = assert(shared.from("tcssl"))
    assert.is_true(c:set("k", "v", 1))
    assert.equal("v", c:get("k"))
    assert.equal(3, c:incr("n", 3, 0))
    t = 2
    assert.is_nil(c:get("k"))
    local m = shared.memory()
    assert.equal(m, shared.from(m))
    assert.is_nil((shared.from(42)))
  end)
end)

describe("temporary credentials in a shared cache", function()
  local BASE = "http://127.0.0.1:9/latest/meta-data/"

  -- A metadata service answering the role and its credentials, counting requests.
  local function metadata(now)
    local t = { count = 0 }
    function t.request(_, _, url)
      t.count = t.count + 1
      if url:find("security%-credentials/$") then return 200, {}, "role" end
      return 200, { ["content-type"] = "application/json" }, json.encode{ Code = "Success",
        TmpSecretId = "AKIDSHARED", TmpSecretKey = TMP_KEY, Token = "tok", ExpiredTime = now() + 3600 }
    end
    return t
  end

  it("are fetched once by providers in several workers", function()
    local now = 1000
    local clock = function() return now end
    local cache = shared.memory{ now = clock }
    local worker1, worker2 = metadata(clock), metadata(clock)
    local p1 = credentials.cvm_role{ metadata_url = BASE, transport = worker1, clock = clock, cache = cache }
    local p2 = credentials.cvm_role{ metadata_url = BASE, transport = worker2, clock = clock, cache = cache }
    assert.equal("AKIDSHARED", assert(p1.get()).secret_id)
    assert.equal(2, worker1.count)
    local c = assert(p2.get())
    assert.equal(TMP_KEY, c.secret_key)
    assert.equal("tok", c.token)
    assert.equal(0, worker2.count)
    -- within the refresh margin the cache has dropped them: each refresh fetches again
    now = now + 3600 - 200
    assert(p2.get())
    assert.equal(2, worker2.count)
    -- invalidate() drops the shared copy too
    p2.invalidate()
    now = now + 1
    local worker3 = metadata(clock)
    local p3 = credentials.cvm_role{ metadata_url = BASE, transport = worker3, clock = clock, cache = cache }
    assert(p3.get())
    assert.equal(2, worker3.count)
  end)

  it("keep nothing secret in the cache key", function()
    local cache = shared.memory()
    local clock = function() return 1000 end
    assert(credentials.cvm_role{ metadata_url = BASE, transport = metadata(clock), clock = clock, cache = cache,
      role = "r1" }.get())
    for key in pairs(cache.entries) do
      assert.equal("tcssl:credentials:cvm_role:" .. BASE .. "r1", key)
    end
  end)

  it("give a credentials error when the named lua_shared_dict is not there", function()
    local p = credentials.cvm_role{ metadata_url = BASE, transport = metadata(os.time), shared_dict = "tcssl" }
    local c, err = p.get()
    assert.is_nil(c)
    assert.equal("credentials", err.kind)
    assert.equal("SharedCacheUnavailable", err.code)
  end)

  it("pass through the default chain", function()
    local now = 1000
    local clock = function() return now end
    local cache = shared.memory{ now = clock }
    local transport = metadata(clock)
    local chain = credentials.default{ getenv = function() return nil end, home = "/nonexistent",
      profile_paths = {}, metadata_url = BASE, transport = transport, clock = clock, cache = cache }
    assert(chain.get())
    assert.truthy(next(cache.entries))
  end)

  it("come from a client's shared_dict through its default chain", function()
    local now = 1000
    local clock = function() return now end
    local cache = shared.memory{ now = clock }
    local c = assert(require("tcssl").new{ shared_dict = cache,
      getenv = function(k) return k == "HOME" and "/nonexistent" or nil end,
      metadata_url = BASE, transport = metadata(clock), clock = clock })
    assert(c.credentials.get(now))
    assert.truthy(next(cache.entries))
  end)
end)

describe("rate limits shared between workers", function()
  local tcssl = require "tcssl"
  local ratelimit = require "tcssl.ratelimit"
  local ID, KEY = "AKIDsharedsharedsharedsharedshared01", "shared-spec-secret-key-000000001"

  -- a fake clock that sleeping advances, both the monotonic clock and the rate clock here
  local function fake_time() return fakes.time(100.25) end

  local function worker(cache, ft, extra)
    local cfg = { secret_id = ID, secret_key = KEY, shared_dict = cache, sleep = ft.sleep, monotonic = ft.monotonic,
      rate_clock = ft.monotonic,
      transport = fakes.transport{ '{"Response":{"TotalCount":0,"RequestId":"r"}}' } }
    for k, v in pairs(extra or {}) do cfg[k] = v end
    return assert(tcssl.new(cfg))
  end

  -- the most calls that fell within any one second
  local function busiest_second(times)
    local most = 0
    for i = 1, #times do
      local n = 0
      for j = i, #times do
        if times[j] < times[i] + 1 - 1e-9 then n = n + 1 end
      end
      if n > most then most = n end
    end
    return most
  end

  it("keep the workers' clients within one documented rate together", function()
    local ft = fake_time()
    local cache = shared.memory{ now = ft.monotonic }
    local workers = { worker(cache, ft), worker(cache, ft), worker(cache, ft) }
    local times = {}
    for i = 1, 40 do
      assert(workers[i % 3 + 1]:DescribeCertificates{})
      times[i] = ft.now
    end
    -- 10 per second (DescribeCertificates): a first second's burst, then a steady 10 per second.
    -- The previous second's count is weighted as if its calls were spread evenly, so a burst
    -- early in one second lets a couple more through in the next (a token bucket allows twice
    -- the rate in a second that straddles its burst).
    assert.is_true(busiest_second(times) <= 12, busiest_second(times))
    assert.is_true(times[40] - times[1] >= 2.9, times[40] - times[1])
    -- the same three without a shared cache: each keeps its own 10 per second
    ft = fake_time()
    local alone = { worker(nil, ft), worker(nil, ft), worker(nil, ft) }
    local start = ft.now
    for i = 1, 30 do assert(alone[i % 3 + 1]:DescribeCertificates{}) end
    assert.equal(start, ft.now)
  end)

  it("give a deadline error rather than wait past it", function()
    local ft = fake_time()
    local c = worker(shared.memory{ now = ft.monotonic }, ft, { deadline = 0.05 })
    for _ = 1, 10 do assert(c:DescribeCertificates{}) end
    local res, err = c:DescribeCertificates{}
    assert.is_nil(res)
    assert.equal("DeadlineExceeded", err.code)
  end)

  it("fall back on the local limiter when the cache fails, with a warning to on_request", function()
    local ft = fake_time()
    local warnings = {}
    local function hook(info) warnings[#warnings + 1] = info.warning end
    local broken = { get = function() return nil end, set = function() return nil, "no memory" end,
      incr = function() return nil, "no memory" end }
    local c = worker(broken, ft, { on_request = hook })
    for _ = 1, 30 do assert(c:DescribeCertificates{}) end
    local raising = { get = function() error("boom") end, set = function() error("boom") end,
      incr = function() error("boom") end }
    c = worker(raising, ft, { on_request = hook })
    for _ = 1, 30 do assert(c:DescribeCertificates{}) end
    -- 60 calls at 10/s under each client's own bucket: each waited, none failed
    assert.is_true(ft.now > 100.25 + 3.9, ft.now)
    assert.equal(60, #warnings)
    assert.truthy(warnings[1]:find("local limiter", 1, true))
  end)

  it("keep apart budgets for clients with different keys (different accounts)", function()
    local ft = fake_time()
    local cache = shared.memory{ now = ft.monotonic }
    local a = worker(cache, ft)
    local b = worker(cache, ft, { secret_id = "AKIDsharedsharedsharedsharedshared02" })
    for _ = 1, 10 do assert(a:DescribeCertificates{}); assert(b:DescribeCertificates{}) end
    assert.equal(100.25, ft.now)
    for key in pairs(cache.entries) do
      assert.is_nil(key:find("AKID", 1, true), key) -- the account is named by a digest
    end
  end)

  it("count whole calls: a rate under one per second still lets a call through", function()
    local ft = fake_time()
    local limiter = assert(ratelimit.shared(shared.memory{ now = ft.monotonic }, { now = ft.monotonic,
      clock = ft.monotonic, sleep = ft.sleep }))
    assert.is_true(limiter:take("slow", 0.5))
    assert.is_true(limiter:take("slow", 0.5))
    assert.is_true(ft.now > 100.25)
    -- and the local token bucket the same
    local bucket = ratelimit.new{ now = ft.monotonic, sleep = ft.sleep }
    local before = ft.now
    assert.is_true(bucket:take("slow", 0.5))
    assert.is_true(bucket:take("slow", 0.5))
    assert.is_true(math.abs(ft.now - before - 2) < 1e-6, ft.now - before)
  end)

  it("are configured by shared_dict, which must name a lua_shared_dict or be a cache", function()
    local c, err = tcssl.new{ secret_id = ID, secret_key = KEY, shared_dict = "tcssl" }
    assert.is_nil(c)
    assert.equal("config", err.kind)
    assert.equal("shared_dict", err.field)
    assert.truthy(err.message:find("lua_shared_dict", 1, true))
    c, err = tcssl.new{ secret_id = ID, secret_key = KEY, shared_dict = 42 }
    assert.is_nil(c)
    assert.equal("shared_dict", err.field)
    local t = 0
    rawset(_G, "ngx", { shared = { tcssl = fake_dict(function() return t end) } })
    assert(tcssl.new{ secret_id = ID, secret_key = KEY, shared_dict = "tcssl" })
    local limiter = assert(ratelimit.shared("tcssl", { now = function() return t end,
      clock = function() return t end }))
    assert.is_true(limiter:take("x", 10))
    assert.is_nil(ratelimit.shared(42))
  end)
end)

-- Rate limits per action, at the rate the documents give for each (requests per second).
-- A call takes a token before it is sent and waits for one rather than fail with
-- RequestLimitExceeded. One limiter serves one client by default; pass the same limiter to
-- several clients (`rate_limiter = limiter`) to share the budget between them.
--
-- new() keeps token buckets in this Lua state. shared(cache) keeps counters in a cache that
-- several processes see (a lua_shared_dict: every nginx worker), so that the workers together
-- stay within the rate rather than each of them. Both have take(key, rate, deadline).
local errors = require "tcssl.error"
local runtime = require "tcssl.runtime"

local M = {}

local Limiter = {}
Limiter.__index = Limiter

--- new{ now = monotonic seconds, sleep = function(seconds) } -> limiter
-- Buckets hold up to one second of tokens (the documented rate is per second).
function M.new(opts)
  opts = opts or {}
  return setmetatable({
    buckets = {},
    now = opts.now or runtime.now,
    sleep = opts.sleep or runtime.sleep,
  }, Limiter)
end

local function bucket(self, key, rate)
  local b = self.buckets[key]
  if not b or b.rate ~= rate then
    -- at least one whole token fits, so that rates under 1 per second work too
    b = { rate = rate, size = math.max(rate, 1), tokens = math.max(rate, 1), stamp = self.now() }
    self.buckets[key] = b
  end
  return b
end

--- take(key, rate, deadline) -> true | nil, seconds it would have had to wait
-- Waits (with sleep) until a token is free, unless that would pass `deadline` (monotonic).
function Limiter:take(key, rate, deadline)
  if not rate or rate <= 0 then return true end
  local b = bucket(self, key, rate)
  -- bounded: each turn either takes a token or sleeps until one is due
  for _ = 1, 1000 do
    local now = self.now()
    b.tokens = math.min(b.size, b.tokens + (now - b.stamp) * rate)
    b.stamp = now
    -- a hair of tolerance: float refills can land a rounding error short of a whole token
    if b.tokens >= 1 - 1e-9 then
      b.tokens = math.max(0, b.tokens - 1)
      return true
    end
    local wait = (1 - b.tokens) / rate
    if deadline and now + wait > deadline then return nil, wait end
    local ok, err = self.sleep(wait)
    if ok == nil and err then return nil, wait, err end
  end
  return nil, 0
end

-- The shared limiter: a sliding-window counter. Each action has a counter per whole second
-- of the rate clock (`clock`: wall-clock seconds, the same on every host, unlike the
-- monotonic clock, which counts from each machine's boot). A call counts itself in the current
-- second, then estimates the last second's load as its own count plus the previous second's,
-- weighted by how much of that second still lies within the last one. Over the rate, it takes
-- its count back and waits. Counting first and checking second keeps concurrent callers from
-- passing together; at worst several back off at once (fewer calls pass than could, never
-- more). A cache with its own `take` (tcssl.shared.redis) does the check and the count in one
-- atomic step instead. Counts are whole calls per second: a rate under 1 counts as 1, and a
-- fractional rate as its whole part, at least 1 (the documents give 10 and 20). Waits and
-- deadlines are on the monotonic clock (`now`).
--
-- When the cache fails (Redis down, slow, refusing; a full dict), the call is not failed: it
-- takes its token from a limiter of this process instead (new() above), and take's second
-- value says why, for the client's on_request hook.
local Shared = {}
Shared.__index = Shared

local PREFIX = "tcssl:rate:"

--- wall() -> seconds of the wall clock, with their fraction (ngx.now inside OpenResty, after
-- ngx.update_time; luasocket's gettime elsewhere; os.time at worst).
function M.wall()
  local ngx = rawget(_G, "ngx")
  if type(ngx) == "table" and ngx.now then
    if ngx.update_time then ngx.update_time() end
    return ngx.now()
  end
  local ok, socket = pcall(require, "socket")
  if ok and socket.gettime then return socket.gettime() end
  return os.time()
end

--- shared(cache, opts) -> limiter | nil, err
-- cache: a lua_shared_dict name or a tcssl.shared cache (needs get and incr, or take). opts:
-- clock (the rate clock: wall-clock seconds, default M.wall), now (monotonic seconds, for
-- waits and deadlines), sleep.
function M.shared(cache, opts)
  local c, err = require("tcssl.shared").from(cache) -- loaded only by clients that share state
  if not c then return nil, err end
  if type(c.incr) ~= "function" and type(c.take) ~= "function" then
    return nil, require("tcssl.error").new("config", "NoSharedDict", "the cache has no incr")
  end
  opts = opts or {}
  local now, sleep = opts.now or runtime.now, opts.sleep or runtime.sleep
  return setmetatable({ cache = c, clock = opts.clock or M.wall, now = now, sleep = sleep,
    fallback = M.new{ now = now, sleep = sleep } }, Shared)
end

-- The cache's own failures (an error or a raise) are nil.
local function counted(cache, key, by)
  local ok, n = pcall(cache.incr, cache, key, by, 0, 2)
  return ok and tonumber(n) or nil
end

local function count_of(cache, key)
  local ok, n = pcall(cache.get, cache, key)
  return ok and tonumber(n) or 0
end

-- One look at the window: true | false, wait | nil, why (the cache failed).
local function step(self, key, rate, t, budget)
  local cache = self.cache
  if cache.take then
    local ok, admitted, wait = pcall(cache.take, cache, key, t, rate, budget)
    if not ok then return nil, tostring(admitted) end
    if admitted == nil then return nil, wait end
    return admitted, wait
  end
  local second = math.floor(t)
  local base = PREFIX .. key .. "@"
  local current = base .. ("%d"):format(second)
  -- the counter lives for this second and the next, where it is "the previous second"
  local n = counted(cache, current, 1)
  if not n then return nil, "the shared cache failed" end
  local previous = count_of(cache, base .. ("%d"):format(second - 1))
  local load = n + previous * (1 - (t - second))
  if load <= rate + 1e-9 then return true end
  counted(cache, current, -1)
  if n > rate then return false, second + 1 - t end -- this second is full: until it ends
  return false, (load - rate) / previous             -- until enough of the previous second has passed
end

--- take(key, rate, deadline) -> true [, warning] | nil, seconds it would have had to wait
function Shared:take(key, rate, deadline)
  if not rate or rate <= 0 then return true end
  rate = math.max(1, math.floor(rate))
  for _ = 1, 1000 do
    local now = self.now()
    local admitted, wait = step(self, key, rate, self.clock(), deadline and math.max(0.001, deadline - now))
    if admitted == nil then
      local ok, lwait, lerr = self.fallback:take(key, rate, deadline)
      local warning = "shared rate limit unavailable (" .. tostring(wait) .. "): the local limiter counts instead"
      if ok then return true, warning end
      return nil, lwait, lerr
    end
    if admitted then return true end
    wait = math.max(wait or 0, 0.001)
    if deadline and self.now() + wait > deadline then return nil, wait end
    local ok, serr = self.sleep(wait)
    if ok == nil and serr then return nil, wait, serr end
  end
  return nil, 0
end

--- account(secret_id) -> the name of the account a SecretId belongs to in rate keys: the first
-- 16 hex digits of its SHA-256 ("-" without one: an unsigned call).
local last_id, last_account
function M.account(secret_id)
  if type(secret_id) ~= "string" then return "-" end
  if secret_id ~= last_id then
    last_id, last_account = secret_id, require("tcssl.core").sha256_hex(secret_id):sub(1, 16)
  end
  return last_account
end

--- key(client, action, budget) -> the rate key of a call: account/region/service/action | nil,
-- err (the credentials error). The account is that of the SecretId the client last signed
-- with; before its first call the client asks its provider (which caches temporary keys)
-- within `budget`.
function M.key(client, action, budget)
  local account = client.account
  if not account then
    local unsigned = client.service.unsigned
    if unsigned and unsigned[action] then
      account = "-"
    else
      local creds, err = require("tcssl.credentials").fetch(client.credentials, os.time(), budget)
      if not creds then
        err.action = action
        return nil, err
      end
      account = M.account(creds.secret_id)
      client.account = account
    end
  end
  return account .. "/" .. (client.config.region or "-") .. "/" .. client.service.name .. "/" .. action
end

--- wait(limiter, key, rate, deadline, action) -> true | nil, err
-- The client's turn at any limiter (its own, shared, or the caller's rate_limiter): a limiter
-- that raises is a `config` error RateLimiterFailed, a wait that would pass the call's
-- deadline a `timeout` error DeadlineExceeded (retryable: the call can come again later).
-- A limiter's warning (a shared limiter that fell back on the local one) is the second value.
function M.wait(limiter, key, rate, deadline, action)
  local ran, ok, wait = pcall(limiter.take, limiter, key, rate, deadline)
  if not ran then
    return nil, errors.new("config", "RateLimiterFailed", "the rate limiter raised: " .. tostring(ok),
      { action = action, field = "rate_limiter" })
  end
  if not ok then
    return nil, errors.new("timeout", "DeadlineExceeded",
      ("waiting %.2fs for the %s rate limit would pass the call's deadline"):format(wait, action),
      { action = action, retryable = true })
  end
  return true, type(wait) == "string" and wait or nil
end

return M

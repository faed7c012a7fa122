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
-- of the monotonic clock (the same clock in every process of the machine). A call counts
-- itself in the current second, then estimates the last second's load as its own count plus
-- the previous second's, weighted by how much of that second still lies within the last one.
-- Over the rate, it takes its count back and waits. Counting first and checking second keeps
-- concurrent callers from passing together; at worst several back off at once (fewer calls
-- pass than could, never more). Counts are whole calls per second: a rate under 1 counts as
-- 1, and a fractional rate as its whole part, at least 1 (the documents give 10 and 20). The
-- processes must share one monotonic clock: the workers of one machine do.
local Shared = {}
Shared.__index = Shared

local PREFIX = "tcssl:rate:"

--- shared(cache, opts) -> limiter | nil, err
-- cache: a lua_shared_dict name or a tcssl.shared cache (needs get and incr). opts: now
-- (monotonic seconds, shared by the processes), sleep. When the cache itself fails (a full
-- dict), calls go ahead: the API's own limit still answers, and that answer is retried.
function M.shared(cache, opts)
  local c, err = require("tcssl.shared").from(cache) -- loaded only by clients that share state
  if not c then return nil, err end
  if type(c.incr) ~= "function" then
    return nil, require("tcssl.error").new("config", "NoSharedDict", "the cache has no incr")
  end
  opts = opts or {}
  return setmetatable({ cache = c, now = opts.now or runtime.now, sleep = opts.sleep or runtime.sleep },
    Shared)
end

-- The cache's own failures (an error or a raise) let the call go ahead.
local function counted(cache, key, by)
  local ok, n = pcall(cache.incr, cache, key, by, 0, 2)
  return ok and tonumber(n) or nil
end

local function count_of(cache, key)
  local ok, n = pcall(cache.get, cache, key)
  return ok and tonumber(n) or 0
end

function Shared:take(key, rate, deadline)
  if not rate or rate <= 0 then return true end
  rate = math.max(1, math.floor(rate))
  local cache, floor = self.cache, math.floor
  local base = PREFIX .. key .. "@"
  for _ = 1, 1000 do
    local now = self.now()
    local second = floor(now)
    local current = base .. ("%d"):format(second)
    -- the counter lives for this second and the next, where it is "the previous second"
    local n = counted(cache, current, 1)
    if not n then return true end
    local previous = count_of(cache, base .. ("%d"):format(second - 1))
    local load = n + previous * (1 - (now - second))
    if load <= rate + 1e-9 then return true end
    counted(cache, current, -1)
    local wait
    if n > rate then
      wait = second + 1 - now                  -- this second is full: until it ends
    else
      wait = (load - rate) / previous          -- until enough of the previous second has passed
    end
    wait = math.max(wait, 0.001)
    if deadline and now + wait > deadline then return nil, wait end
    local ok, serr = self.sleep(wait)
    if ok == nil and serr then return nil, wait, serr end
  end
  return nil, 0
end

--- wait(limiter, key, rate, deadline, action) -> true | nil, err
-- The client's turn at any limiter (its own, shared, or the caller's rate_limiter): a limiter
-- that raises is a `config` error RateLimiterFailed, a wait that would pass the call's
-- deadline a `timeout` error DeadlineExceeded (retryable: the call can come again later).
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
  return true
end

return M

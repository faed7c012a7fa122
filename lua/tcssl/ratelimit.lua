-- Token buckets per action, at the rate the documents give for each (requests per second).
-- A call takes a token before it is sent and waits for one rather than fail with
-- RequestLimitExceeded. One limiter serves one client by default; pass the same limiter to
-- several clients (`rate_limiter = limiter`) to share the budget between them.
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
    b = { rate = rate, tokens = rate, stamp = self.now() }
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
    b.tokens = math.min(rate, b.tokens + (now - b.stamp) * rate)
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

return M

-- Endpoint failover for a client: a breaker that sends attempts to a backup endpoint while the
-- primary one does not answer, and tries the primary again after a cool-down.
--
--   closed     every attempt goes to the primary; failures are counted over a sliding window
--              of `window` seconds, and at least `failures` of them, making at least `ratio`
--              of the attempts counted in the window, open the breaker;
--   open       every attempt goes to the backup for `cooldown` seconds (less when the backup
--              fails too: then the primary is tried again at once);
--   half_open  one attempt at a time (the probe) goes to the primary, the others to the
--              backup; the probe's success closes the breaker, its failure opens it again.
--
-- What counts (outcome): a failure is a network or timeout failure of an attempt that did not
-- reach the server, or of any attempt of a read-only action; a success is any answer of the
-- API, an API error included. Anything else (a gateway page, bad JSON, InternalError, a change
-- that may have reached the server) counts as neither. The breaker only chooses where the next
-- attempt goes: whether there is a next attempt is the client's retry rule, which never sends
-- a change again once it may have arrived.
--
-- Time comes from the client's monotonic clock, so tests step a fake one.
local errors = require "tcssl.error"
local retry = require "tcssl.retry"

local M = {}

M.DEFAULTS = { failures = 3, window = 60, cooldown = 60, ratio = 0.5 }

-- The window is kept as SLOTS counters of window/SLOTS seconds each.
local SLOTS = 10
local floor = math.floor

local function config_error(field, msg)
  return nil, errors.new("config", "InvalidConfig", ("%s: %s"):format(field, msg), { field = field })
end

local function seconds(v)
  return type(v) == "number" and v > 0 and v < math.huge
end

local SETTINGS = {
  failures = function(v)
    return type(v) == "number" and v >= 1 and v <= 1000 and v % 1 == 0, "failures must be a whole number from 1 to 1000"
  end,
  window = function(v) return seconds(v), "window must be a positive number of seconds" end,
  cooldown = function(v) return seconds(v), "cooldown must be a positive number of seconds" end,
  ratio = function(v)
    return type(v) == "number" and v > 0 and v <= 1, "ratio must be a number above 0 and at most 1"
  end,
}

--- check(v) -> true | false, why: the `breaker` option is true, false, or a table of settings.
function M.check(v)
  if type(v) == "boolean" then return true end
  if type(v) ~= "table" then return false, "must be true, false or a table { failures, window, cooldown, ratio }" end
  for k, value in pairs(v) do
    local check = SETTINGS[k]
    if not check then return false, "unknown setting " .. tostring(k) .. " (failures, window, cooldown, ratio)" end
    local ok, why = check(value)
    if not ok then return false, why end
  end
  return true
end

local Breaker = {}
Breaker.__index = Breaker
M.Breaker = Breaker

--- new(settings, now) -> breaker. settings: failures, window, cooldown, ratio (missing ones
-- take M.DEFAULTS); now: a monotonic clock in seconds.
function M.new(settings, now)
  local self = setmetatable({ now = now, state = "closed", generation = 1, reopen_at = 0, probe_until = false,
    slots = {} }, Breaker)
  for k, v in pairs(M.DEFAULTS) do
    local given = type(settings) == "table" and settings[k]
    self[k] = given or v
  end
  for i = 1, SLOTS do self.slots[i] = { index = false, failures = 0, total = 0 } end
  return self
end

--- setup(settings, backup, config, now) -> breaker | false | nil, err
-- The breaker of a new client: settings is the client's `breaker` option (nil, true or a
-- table; the client makes none for false), backup its backup endpoint from tcssl.endpoint
-- (false: none), config its settled configuration, now its monotonic clock. False when the
-- client has no backup. The breaker's `config` is the client's with the backup as host, so
-- that what goes to the backup is signed for the backup's own Host.
function M.setup(settings, backup, config, now)
  if not backup then
    if settings ~= nil then
      return config_error("backup_endpoint", "the breaker needs a backup endpoint, and this client has none by"
        .. " default (an explicit endpoint, a financial zone or the legacy API): give backup_endpoint")
    end
    return false
  end
  local b = M.new(settings, now)
  b.config = setmetatable({ host = backup }, { __index = config })
  return b
end

--- outcome(ok, err, readonly) -> "success" | "failure" | nil: what an attempt tells about the
-- endpoint it went to (see the top of this file).
function M.outcome(ok, err, readonly)
  if ok then return "success" end
  local kind = err.kind
  if kind == "api" then
    if retry.is_internal(err.code) then return nil end
    return "success"
  end
  if (kind == "network" or kind == "timeout") and err.code ~= "SessionFailed"
      and (err.sent == false or readonly) then
    return "failure"
  end
  return nil
end

local function enter(self, state, now)
  self.state = state
  self.generation = self.generation + 1
  self.probe_until = false
  if state == "open" then self.reopen_at = now + self.cooldown end
  if state == "closed" then
    for _, s in ipairs(self.slots) do s.index, s.failures, s.total = false, 0, 0 end
  end
end

--- route() -> ticket: where the next attempt goes. The ticket is the breaker's generation,
-- positive for the primary and negative for the backup; give it back to record().
function Breaker:route()
  local state = self.state
  if state == "closed" then return self.generation end
  local now = self.now()
  if state == "open" then
    if now < self.reopen_at then return -self.generation end
    enter(self, "half_open", now)
  end
  -- half-open: one probe at a time; a probe that never reports frees its place after a cool-down
  if self.probe_until and now < self.probe_until then return -self.generation end
  self.probe_until = now + self.cooldown
  return self.generation
end

--- record(ticket, outcome): the outcome of an attempt routed by `ticket`. Outcomes of attempts
-- routed before the breaker last changed state are ignored.
function Breaker:record(ticket, outcome)
  local generation = self.generation
  if ticket ~= generation and ticket ~= -generation then return end
  local state = self.state
  if ticket < 0 then
    -- the backup does not answer either: try the primary again rather than wait out the cool-down
    if outcome == "failure" and state == "open" then enter(self, "half_open", self.now()) end
    return
  end
  if state == "half_open" then
    if outcome == "success" then
      enter(self, "closed", self.now())
    elseif outcome == "failure" then
      enter(self, "open", self.now())
    else
      self.probe_until = false -- inconclusive: the next attempt probes again
    end
    return
  end
  if outcome == nil or state ~= "closed" then return end
  local now = self.now()
  local width = self.window / SLOTS
  local index = floor(now / width)
  local slot = self.slots[index % SLOTS + 1]
  if slot.index ~= index then slot.index, slot.failures, slot.total = index, 0, 0 end
  slot.total = slot.total + 1
  if outcome ~= "failure" then return end
  slot.failures = slot.failures + 1
  local failures, total = 0, 0
  for _, s in ipairs(self.slots) do
    if s.index and s.index > index - SLOTS then failures, total = failures + s.failures, total + s.total end
  end
  if failures >= self.failures and failures >= self.ratio * total then enter(self, "open", now) end
end

--- status() -> { state, failures, attempts (counted in the window), reopen_in (open only) }
function Breaker:status()
  local now = self.now()
  local index = floor(now / (self.window / SLOTS))
  local failures, total = 0, 0
  for _, s in ipairs(self.slots) do
    if s.index and s.index > index - SLOTS then failures, total = failures + s.failures, total + s.total end
  end
  return { state = self.state, failures = failures, attempts = total,
    reopen_in = self.state == "open" and math.max(0, self.reopen_at - now) or nil }
end

return M

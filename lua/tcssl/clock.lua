-- The two clocks a client reads: the wall clock a signature carries (the client's `clock`,
-- corrected by the offset the server's Date header gives when the server says a signature
-- expired), and the monotonic clock that times deadlines and waits (`monotonic`). Both are
-- caller-supplied functions, so every reading is checked: a clock that raises or answers
-- anything but a usable number is no clock.
local M = {}

local floor, time = math.floor, os.time
local system_monotonic = require("tcssl.runtime").now

-- The latest Unix time a signature's date can carry (9999-12-31).
local MAX_SIGNED_TIME = 253402300800

-- Server times a correction may come from: 2000-01-01 up to 2100-01-01. A Date outside that is
-- no clock anybody runs (a broken or hostile reply); taking it would leave the client unable
-- to sign at all.
local SERVER_TIME_MIN, SERVER_TIME_MAX = 946684800, 4102444800

-- The local clock as a whole Unix time between 1970 and 9999, or nil.
local function wall(client)
  local clock = client.clock
  if clock == time then return time() end -- the system's own clock needs no guard
  local ok, now = pcall(clock)
  if not ok or type(now) ~= "number" or not (now >= 0 and now < MAX_SIGNED_TIME) then return nil end
  return floor(now)
end

--- signing_time(client) -> the Unix time to sign with (the local clock plus the client's
-- clock_offset) | nil when the clock gives no usable time. An offset that no longer gives a
-- signable time is dropped.
function M.signing_time(client)
  local now = wall(client)
  if not now then return nil end
  local offset = client.clock_offset
  if not (now + offset >= 0 and now + offset < MAX_SIGNED_TIME) then
    client.clock_offset = 0
    return now
  end
  return now + offset
end

--- correct(client, date_header) -> true when the server's Date gave a usable offset, which is
-- then the client's clock_offset.
function M.correct(client, date)
  -- tcssl.dates loads here, on the first correction: most clients never need one
  local server_time = require("tcssl.dates").parse_http_date(date)
  if not server_time or server_time < SERVER_TIME_MIN or server_time >= SERVER_TIME_MAX then return false end
  local now = wall(client)
  if not now then return false end
  client.clock_offset = server_time - now
  return true
end

--- monotonic(client) -> seconds on the client's monotonic clock | nil when it raised or gave
-- no finite number.
function M.monotonic(client)
  local monotonic = client.monotonic
  if monotonic == system_monotonic then return monotonic() end
  local ok, t = pcall(monotonic)
  if ok and type(t) == "number" and t == t and t > -math.huge and t < math.huge then return t end
  return nil
end

return M

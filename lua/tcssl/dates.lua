-- Calendar dates and the time stamps that carry them, computed from the date itself: the local
-- time zone is never consulted (os.time would read it, and a server's zone is nobody's business).
-- One implementation for every date tcssl reads or writes: the HTTP Date header (the client's
-- clock correction), the API's China Standard Time stamps (tcssl.certs), the ISO 8601 expiry
-- of temporary credentials (tcssl.credentials), and the same forms written back.
-- Lua 5.1 arithmetic on purpose: this also runs under LuaJIT and OpenResty.
local M = {}

local floor = math.floor

-- The API reports and takes times as China Standard Time without a zone ("2024-05-01 20:00:00").
M.CST_OFFSET = 8 * 3600

--- days_from_civil(y, m, d) -> days since 1970-01-01 of a proleptic Gregorian date (negative
-- before it).
function M.days_from_civil(y, m, d)
  y = m <= 2 and y - 1 or y
  local era = floor(y / 400)
  local yoe = y - era * 400
  local doy = floor((153 * (m + (m > 2 and -3 or 9)) + 2) / 5) + d - 1
  local doe = yoe * 365 + floor(yoe / 4) - floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end
local days_from_civil = M.days_from_civil

--- days_in_month(y, m) -> 28 to 31
function M.days_in_month(y, m)
  if m == 2 then
    local leap = (y % 4 == 0 and y % 100 ~= 0) or y % 400 == 0
    return leap and 29 or 28
  end
  return (m == 4 or m == 6 or m == 9 or m == 11) and 30 or 31
end
local days_in_month = M.days_in_month

-- Whether the fields make a real date and time; a leap second (60) is allowed.
local function valid(y, mo, d, h, mi, s)
  return mo >= 1 and mo <= 12 and d >= 1 and d <= days_in_month(y, mo) and h <= 23 and mi <= 59 and s <= 60
end

local MONTHS = { Jan = 1, Feb = 2, Mar = 3, Apr = 4, May = 5, Jun = 6, Jul = 7, Aug = 8, Sep = 9, Oct = 10,
  Nov = 11, Dec = 12 }

--- parse_http_date(text) -> Unix time | nil: an RFC 1123 date as the Date header carries it,
-- "Wed, 25 Nov 2026 10:23:00 GMT".
function M.parse_http_date(s)
  if type(s) ~= "string" then return nil end
  local d, mon, y, h, mi, sec = s:match("^%a+, (%d%d?) (%a%a%a) (%d%d%d%d) (%d%d):(%d%d):(%d%d) GMT$")
  local m = MONTHS[mon]
  if not m then return nil end
  y, d, h, mi, sec = tonumber(y), tonumber(d), tonumber(h), tonumber(mi), tonumber(sec)
  if not valid(y, m, d, h, mi, sec) then return nil end
  return days_from_civil(y, m, d) * 86400 + h * 3600 + mi * 60 + sec
end

--- format_http_date(unix) -> "Wed, 25 Nov 2026 10:23:00 GMT"
function M.format_http_date(t)
  return os.date("!%a, %d %b %Y %H:%M:%S GMT", floor(t))
end

--- parse(text [, offset]) -> Unix time (an integer) | nil, message
-- A date, or a date and time, as the API and ISO 8601 write them: "2024-05-01",
-- "2024-05-01 12:00:00", "2024-05-01T12:00:00Z", "2024-08-23T01:34:43.000000Z", "…+08:00",
-- "…-0500". A time with a zone is read in that zone; one without is read at `offset` seconds
-- east of UTC, and is refused when no offset is given. Fractions of a second are dropped; a
-- leap second reads as the second before it.
function M.parse(text, offset)
  if type(text) ~= "string" or #text > 40 then return nil, "expected a time such as 2024-05-01 12:00:00" end
  local y, mo, d, rest = text:match("^%s*(%d%d%d%d)%-(%d%d)%-(%d%d)(.-)%s*$")
  if not y then return nil, ("not a time: %q"):format(text) end
  local h, mi, s, zone = 0, 0, 0, nil
  if rest ~= "" then
    local hh, mm, ss, tail = rest:match("^[ T](%d%d):(%d%d):(%d%d)(.*)$")
    if not hh then return nil, ("not a time: %q"):format(text) end
    h, mi, s = tonumber(hh), tonumber(mm), tonumber(ss)
    tail = tail:gsub("^%.%d+", "")
    if tail == "Z" then
      zone = 0
    elseif tail ~= "" then
      local sign, zh, zm = tail:match("^([+-])(%d%d):?(%d%d)$")
      if not sign then return nil, ("unknown time zone in %q"):format(text) end
      zone = (tonumber(zh) * 3600 + tonumber(zm) * 60) * (sign == "-" and -1 or 1)
    end
  end
  y, mo, d = tonumber(y), tonumber(mo), tonumber(d)
  if not valid(y, mo, d, h, mi, s) then return nil, ("not a valid date and time: %q"):format(text) end
  zone = zone or offset
  if not zone then return nil, ("no time zone in %q"):format(text) end
  if s == 60 then s = 59 end
  return floor(days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - zone)
end

--- format(unix, pattern [, offset]) -> the time written by os.date's `pattern` at `offset`
-- seconds east of UTC (default 0): format(t, "%Y-%m-%dT%H:%M:%SZ"),
-- format(t, "%Y-%m-%d %H:%M:%S", CST_OFFSET).
function M.format(t, pattern, offset)
  return os.date("!" .. pattern, floor(t) + (offset or 0))
end

return M

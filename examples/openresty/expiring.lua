-- An OpenResty handler: GET /expiring?days=30 answers, as JSON, the certificates whose
-- CertEndTime falls within the next N days (those already expired included), soonest first.
--
-- The client is made once per worker on first use and kept: calls go out over cosockets
-- (the worker keeps serving other requests meanwhile), connections are kept alive in nginx's
-- pool. The lua_shared_dict "tcssl" holds what the workers share: the rate limits (all workers
-- together stay within each action's documented rate) and the temporary credentials of the
-- default chain (environment, credentials file, CVM role, TKE OIDC), fetched once between them.
local tcssl = require "tcssl"
local json = require "tcssl.json"

local M = {}

local PAGE = 1000      -- DescribeCertificates' largest Limit
local MAX_PAGES = 20   -- stop after 20,000 certificates
local MAX_DAYS = 3650

local client -- per worker, made on first use

local function get_client()
  if client then return client end
  local c, err = tcssl.new{
    region = os.getenv("TENCENTCLOUD_REGION") or "ap-guangzhou",
    endpoint = os.getenv("TCSSL_ENDPOINT"),          -- nil: ssl.tencentcloudapi.com
    scheme = os.getenv("TCSSL_SCHEME"),              -- nil: https
    shared_dict = "tcssl",
    timeout = 10,
    deadline = 20,
  }
  client = c
  return c, err
end

-- Days since 1970-01-01 of a proleptic Gregorian date.
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local doy = math.floor((153 * (m + (m > 2 and -3 or 9)) + 2) / 5) + d - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

-- "2034-01-01 08:00:00", the API's China Standard Time (UTC+8), as Unix time.
local function cst_to_unix(s)
  if type(s) ~= "string" then return nil end
  local y, mo, d, h, mi, sec = s:match("^(%d%d%d%d)%-(%d%d)%-(%d%d) (%d%d):(%d%d):(%d%d)$")
  if not y then return nil end
  return days_from_civil(tonumber(y), tonumber(mo), tonumber(d)) * 86400
    + tonumber(h) * 3600 + tonumber(mi) * 60 + tonumber(sec) - 8 * 3600
end

local function reply(status, doc)
  ngx.status = status
  ngx.header.content_type = "application/json"
  ngx.say(json.encode(doc))
end

local function failed(err)
  return reply(502, { error = { kind = err.kind, code = err.code, message = err.message,
    request_id = err.request_id } })
end

--- expiring(days) -> list of certificates ending within `days` days | nil, err
function M.expiring(days)
  local c, err = get_client()
  if not c then return nil, err end
  local now = ngx.time()
  local horizon = now + days * 86400
  local found, offset = {}, 0
  for _ = 1, MAX_PAGES do
    local res, cerr = c:DescribeCertificates{ Offset = offset, Limit = PAGE }
    if not res then return nil, cerr end
    local page = res.Certificates or {}
    for _, cert in ipairs(page) do
      local ends = cst_to_unix(cert.CertEndTime)
      if ends and ends <= horizon then
        found[#found + 1] = { CertificateId = cert.CertificateId, Domain = cert.Domain, Alias = cert.Alias,
          CertEndTime = cert.CertEndTime, DaysLeft = math.floor((ends - now) / 86400), ends = ends }
      end
    end
    offset = offset + #page
    if #page < PAGE or offset >= (res.TotalCount or 0) then break end
  end
  table.sort(found, function(a, b) return a.ends < b.ends end)
  for _, f in ipairs(found) do f.ends = nil end
  return found
end

--- handle(): the content handler for GET /expiring?days=N (default 30)
function M.handle()
  local days = tonumber(ngx.var.arg_days or "30")
  if not days or days < 0 or days > MAX_DAYS or days % 1 ~= 0 then
    return reply(400, { error = { code = "InvalidParameter", message = "days must be a whole number from 0 to "
      .. MAX_DAYS } })
  end
  local list, err = M.expiring(days)
  if not list then return failed(err) end
  return reply(200, { days = days, count = #list, certificates = json.array(list) })
end

return M

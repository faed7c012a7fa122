-- Expiry report for cron or a monitoring check: the account's certificates that end within
-- DAYS days (default 30), soonest first, as a table or as JSON.
--
--   lua5.4 examples/expiring.lua [DAYS] [--json]
--
-- Exit status: 0 when nothing expires in that time, 3 when something does (so cron mails
-- the table, or a monitoring system raises a warning), 1 when the API could not be asked.
-- Credentials and region come from the environment (TENCENTCLOUD_SECRET_ID,
-- TENCENTCLOUD_SECRET_KEY, TENCENTCLOUD_REGION) or ~/.tencentcloud/credentials;
-- TCSSL_ENDPOINT and TCSSL_SCHEME point it at the local emulator.
local tcssl = require "tcssl"

local days, as_json = 30, false
for _, a in ipairs(arg or {}) do
  if a == "--json" then
    as_json = true
  elseif tonumber(a) then
    days = tonumber(a)
  else
    io.stderr:write("usage: lua5.4 examples/expiring.lua [DAYS] [--json]\n")
    os.exit(1)
  end
end

local client, err = tcssl.new{ endpoint = os.getenv("TCSSL_ENDPOINT"), scheme = os.getenv("TCSSL_SCHEME") }
if not client then
  io.stderr:write(tostring(err), "\n")
  os.exit(1)
end

local report, rerr = tcssl.flows.expiring(client, { days = days })
if not report then
  io.stderr:write(tostring(rerr), "\n")
  os.exit(1)
end
if as_json then
  print(tcssl.flows.expiring_json(report))
else
  print(tcssl.flows.expiring_table(report))
end
os.exit(#report.certificates > 0 and 3 or 0)

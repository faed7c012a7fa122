-- tcssl.cli.expiring: `tcssl expiring [--days N] [--include-expired]`: the issued certificates
-- that end soon (tcssl.flows.expiring), as a table or as JSON.

local tcssl = require "tcssl"
local json = require "tcssl.json"

local M = {}

M.usage = [[
usage: tcssl expiring [--days N] [--include-expired] [--output table|json]

Issued certificates whose end time is within N days (default 30), soonest first.
Exit status 3 when there is one or more (for cron and monitoring checks), 0 when none.
]]

-- The command's options ("value" or "flag"); the completion scripts list them too.
M.options = { days = "value", ["include-expired"] = "flag" }

function M.run(ctx, words)
  local o = ctx:options("expiring", words, M.options)
  local format = ctx:output_format("table")
  local client = ctx:client()
  local report, err = tcssl.flows.expiring(client, { days = ctx:number_option("expiring", o, "days", 30),
    include_expired = o["include-expired"] })
  if not report then ctx:fail(err) end
  if format == "json" then
    ctx:print_json(assert(json.decode(tcssl.flows.expiring_json(report))))
  else
    ctx.out:write(tcssl.flows.expiring_table(report), "\n")
  end
  if #report.certificates > 0 then return require("tcssl.cli").EXIT.found end
  return 0
end

return M

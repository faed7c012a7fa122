-- tcssl.cli.issue_free: `tcssl issue-free --domain NAME`: applies for a free DV certificate,
-- has its validation records published (a hook, a terminal's Enter, or --yes), waits for it and
-- downloads it (tcssl.flows.issue_free).

local tcssl = require "tcssl"
local json = require "tcssl.json"
local shell_quote = require("tcssl.cli").shell_quote

local M = {}

M.usage = [[
usage: tcssl issue-free --domain NAME [options]

Applies for a free DV certificate, shows (or publishes) the validation records, asks the CA
to validate, waits until it is issued and downloads it.

  --domain NAME           the domain
  --method DNS|DNS_AUTO|FILE   validation (default DNS; DNS_AUTO needs DNSPod on the account)
  --algorithm RSA|ECC     key type (default RSA)
  --hook COMMAND          run once per record to publish it, with TCSSL_RECORD_TYPE,
                          TCSSL_RECORD_NAME, TCSSL_RECORD_VALUE, TCSSL_RECORD_DOMAIN,
                          TCSSL_CERTIFICATE_ID in its environment; must exit 0
  --yes                   the records are published already: do not ask
  --certificate-id ID     go on with an order made before
  --out DIR               write cert.pem, chain.pem, fullchain.pem, privkey.pem there
  --wait-timeout SECONDS  how long to wait for issuance (default 1800)
  --poll-interval SECONDS first wait between polls (default 2; it grows to 30)
]]

-- The command's options ("value" or "flag"); the completion scripts list them too.
M.options = {
  domain = "value", method = "value", algorithm = "value", hook = "value", yes = "flag",
  ["certificate-id"] = "value", out = "value", ["wait-timeout"] = "value", alias = "value",
  ["poll-interval"] = "value",
}

function M.run(ctx, words)
  local o = ctx:options("issue-free", words, M.options)
  local format = ctx:output_format("table")
  if not o.domain then ctx:usage_error("issue-free: --domain is needed", "issue-free") end
  local method = o.method and o.method:upper() or "DNS"
  if method ~= "DNS_AUTO" and not o.hook and not o.yes and not ctx.tty("stdin") then
    -- refused before an order exists: nothing could publish the records it would need
    ctx:usage_error("issue-free: the validation records need publishing: give --hook COMMAND, or --yes "
      .. "when they are published already (or run it on a terminal, which waits for Enter)", "issue-free")
  end
  local client = ctx:client()
  local show, finish = ctx:progress()
  local function publish(records, info)
    finish() -- the progress line of the wait for the records goes first
    for _, r in ipairs(records) do
      ctx.err:write(("validation record: %s %s %s%s\n"):format(r.type, r.name or "", r.value,
        r.url and ("  (" .. r.url .. ")") or ""))
    end
    if o.hook then
      for _, r in ipairs(records) do
        local env = ("TCSSL_RECORD_TYPE=%s TCSSL_RECORD_NAME=%s TCSSL_RECORD_VALUE=%s TCSSL_RECORD_DOMAIN=%s "
          .. "TCSSL_CERTIFICATE_ID=%s "):format(shell_quote(r.type), shell_quote(r.name or ""), shell_quote(r.value),
          shell_quote(r.domain or info.domain), shell_quote(info.certificate_id))
        if not ctx:execute(env .. o.hook) then return nil, "the hook failed for " .. tostring(r.name) end
      end
      return true
    end
    if o.yes then return true end
    if ctx.tty("stdin") then
      ctx.err:write("publish the record(s) above, then press Enter (Ctrl-C to stop) ")
      ctx.stdin:read("l")
      return true
    end
    return nil, "publish the records, then run again with --yes --certificate-id " .. info.certificate_id
  end
  local result, err = tcssl.flows.issue_free(client, {
    domain = o.domain, method = o.method, algorithm = o.algorithm, alias = o.alias,
    certificate_id = o["certificate-id"], on_validation = publish, on_progress = show,
    timeout = ctx:number_option("issue-free", o, "wait-timeout", 1800),
    interval = ctx:number_option("issue-free", o, "poll-interval", 2),
  })
  finish()
  local r = result or (err and err.report)
  if format == "json" then
    if r then
      local files
      if r.download then
        files = json.array()
        for i, f in ipairs(r.download.files) do files[i] = f.name end
      end
      ctx:print_json{ CertificateId = r.certificate_id, Domain = r.domain, Ok = r.ok, FailedStep = r.failed_step,
        Files = files }
    end
  elseif r then
    for _, s in ipairs(r.steps) do
      ctx.out:write(("%-6s %-8s %s\n"):format(s.ok and "ok" or "FAILED", s.name, s.message or ""))
    end
  end
  if not result then ctx:fail(err) end
  if o.out then
    require("tcssl.cli.download").write(ctx, o.out, result.download, false)
    ctx.out:write("wrote ", o.out, "/{cert,chain,fullchain,privkey}.pem\n")
  end
  return 0
end

return M

-- tcssl.cli.renew: `tcssl renew --cert FILE --key FILE --replace ID`: uploads a renewed
-- certificate and moves the resources of the old one onto it (tcssl.flows.renew); also a
-- certbot deploy hook and an acme.sh reload command, by their environment variables.

local tcssl = require "tcssl"
local json = require "tcssl.json"

local M = {}

M.usage = [[
usage: tcssl renew --cert FILE --key FILE --replace ID [options]

Uploads the certificate (unless one with the same SHA-256 fingerprint is stored), moves the
resources of the chosen types from certificate ID onto it (UpdateCertificateInstance), waits,
and reports each resource. Safe to run again.

  --cert FILE             certificate or full chain (PEM)
  --key FILE              its private key (PEM)
  --chain FILE            more chain certificates (PEM), if --cert holds only the leaf
  --replace ID            CertificateId of the certificate being replaced (or TCSSL_REPLACE)
  --resource-types LIST   e.g. clb,cdn (default clb,cdn; or TCSSL_RESOURCE_TYPES)
  --regions LIST          regions of the regional types (default --region)
  --alias TEXT            alias of the uploaded certificate
  --no-wait               create the update task, do not wait for it
  --wait-timeout SECONDS  how long to wait (default 600)
  --poll-interval SECONDS first wait between polls (default 2; it grows to 30)
  --allow-expired         upload even an expired certificate
  --allow-unbound         exit 0 even when no resource uses the old or the new certificate
                          (otherwise exit 1: with a fixed --replace, a later renewal finds
                          the resources on the previous renewal's certificate, not on ID)

As a certbot deploy hook (certbot renew --deploy-hook "tcssl renew --replace ID ..."),
--cert and --key default to $RENEWED_LINEAGE/fullchain.pem and privkey.pem. As an acme.sh
--reloadcmd, they default to $CERT_FULLCHAIN_PATH and $CERT_KEY_PATH.
]]

-- The command's options ("value" or "flag"); the completion scripts list them too.
M.options = {
  cert = "value", key = "value", chain = "value", replace = "value", ["resource-types"] = "value",
  regions = "value", alias = "value", ["no-wait"] = "flag", ["wait-timeout"] = "value", ["allow-expired"] = "flag",
  ["poll-interval"] = "value", ["allow-unbound"] = "flag",
}

function M.run(ctx, words)
  local o = ctx:options("renew", words, M.options)
  local format = ctx:output_format("table")
  local getenv = ctx.getenv
  local lineage = getenv("RENEWED_LINEAGE")
  local cert_path = o.cert or (lineage and lineage .. "/fullchain.pem") or getenv("CERT_FULLCHAIN_PATH")
  local key_path = o.key or (lineage and lineage .. "/privkey.pem") or getenv("CERT_KEY_PATH")
  local replace = o.replace or getenv("TCSSL_REPLACE")
  if not cert_path or not key_path then
    ctx:usage_error("renew: --cert and --key are needed (or RENEWED_LINEAGE from certbot)", "renew")
  end
  if not replace or replace == "" then ctx:usage_error("renew: --replace ID is needed", "renew") end
  local types = o["resource-types"] or getenv("TCSSL_RESOURCE_TYPES") or "clb,cdn"
  local client = ctx:client()
  if not o.regions and not client.config.region then
    for t in types:gmatch("[^,%s]+") do
      if tcssl.flows.REGIONAL[t] then
        ctx:usage_error(("renew: %s is a regional resource type: give --regions LIST or --region REGION"):format(t),
          "renew")
      end
    end
  end
  local show, finish = ctx:progress()
  local report, err = tcssl.flows.renew(client, {
    cert = ctx:read_file(cert_path), key = ctx:read_file(key_path), chain = o.chain and ctx:read_file(o.chain) or nil,
    replace = replace, resource_types = types, regions = o.regions, alias = o.alias,
    wait = not o["no-wait"], timeout = ctx:number_option("renew", o, "wait-timeout", 600),
    allow_expired = o["allow-expired"], on_progress = show,
    interval = ctx:number_option("renew", o, "poll-interval", 2),
  })
  finish()
  local r = report or (err and err.report)
  if format == "json" then
    if r then ctx:print_json(assert(json.decode(tcssl.flows.renew_json(r)))) end
  elseif r then
    ctx.out:write(tcssl.flows.format_renew(r), "\n")
  end
  if not report then
    -- the table names the failed step and its error already: not a second time on stderr
    if r and format ~= "json" then ctx:exit(require("tcssl.cli").exit_status(err)) end
    ctx:fail(err)
  end
  if report.unbound and not o["allow-unbound"] then
    -- a hook must not succeed at nothing: no resource used either certificate
    ctx.err:write("tcssl renew: no resource uses ", replace, " or the new certificate ",
      tostring(report.certificate_id), "; nothing was moved (--allow-unbound accepts this)\n")
    return 1
  end
  return 0
end

return M

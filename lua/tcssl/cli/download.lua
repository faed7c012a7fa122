-- tcssl.cli.download: `tcssl download --id ID [--out DIR] [--service-type TYPE]`: downloads a
-- certificate, lists its archive and writes its files; write() also writes what issue-free
-- downloads.

local tcssl = require "tcssl"
local json = require "tcssl.json"
local shell_quote = require("tcssl.cli").shell_quote

local M = {}

M.usage = [[
usage: tcssl download --id ID [--out DIR] [--service-type TYPE]

Downloads a certificate (DownloadCertificate, or with --service-type nginx|apache|iis|tomcat|
other|root the link of DescribeDownloadCertificateUrl), lists the archive's files and, with
--out, writes them and cert.pem, chain.pem, fullchain.pem (and privkey.pem) to DIR.
]]

-- Writes text to path atomically (tcssl.certs.write_file): keys and key stores end with mode
-- 0600 in a new file, never in an existing one or through a link placed at path.
local function write_file(ctx, path, text, private)
  local ok, err = tcssl.certs.write_file(path, text or "", { private = private })
  if not ok then ctx:fail(err) end
end

--- write(ctx, dir, dl, with_archive): cert.pem, chain.pem, fullchain.pem (and privkey.pem) of
-- the download dl in dir, and with with_archive every file of its archive under its own name.
function M.write(ctx, dir, dl, with_archive)
  if not ctx:execute("mkdir -p -- " .. shell_quote(dir)) then
    ctx.err:write("tcssl: cannot create ", dir, "\n")
    ctx:exit(1)
  end
  local certs = tcssl.certs
  if with_archive then
    for _, f in ipairs(dl.files) do
      local name = certs.safe_path(f.name)
      if name then
        local sub = name:match("^(.*)/[^/]+$")
        if sub then ctx:execute("mkdir -p -- " .. shell_quote(dir .. "/" .. sub)) end
        write_file(ctx, dir .. "/" .. name, f.data, certs.holds_key(name, f.data))
      else
        ctx.err:write("tcssl: skipped an archive entry with an unsafe name\n")
      end
    end
  end
  write_file(ctx, dir .. "/cert.pem", dl.cert)
  write_file(ctx, dir .. "/chain.pem", dl.chain)
  write_file(ctx, dir .. "/fullchain.pem", dl.fullchain)
  if dl.key then write_file(ctx, dir .. "/privkey.pem", dl.key, true) end
end

-- The command's options ("value" or "flag"); the completion scripts list them too.
M.options = { id = "value", out = "value", ["service-type"] = "value" }

function M.run(ctx, words)
  local o = ctx:options("download", words, M.options)
  local format = ctx:output_format("table")
  if not o.id then ctx:usage_error("download: --id is needed", "download") end
  local client = ctx:client()
  local dl, err = tcssl.certs.download(client, o.id, { service_type = o["service-type"] })
  if not dl then ctx:fail(err) end
  local out = ctx.out
  if format == "json" then
    local files = json.array()
    for i, f in ipairs(dl.files) do files[i] = { Name = f.name, Size = #f.data } end
    ctx:print_json{ CertificateId = o.id, Files = files, HasKey = dl.key ~= nil,
      NotAfter = dl.certificates[1].not_after_utc, Fingerprint = dl.certificates[1].sha256 }
  else
    for _, f in ipairs(dl.files) do out:write(("%8d  %s\n"):format(#f.data, f.name)) end
    out:write(("%d file(s); certificate %s, valid until %s%s\n"):format(#dl.files,
      dl.certificates[1].common_name or "?", dl.certificates[1].not_after_utc or "?",
      dl.key and ", with its private key" or ""))
  end
  if o.out then M.write(ctx, o.out, dl, true) end
  return 0
end

return M

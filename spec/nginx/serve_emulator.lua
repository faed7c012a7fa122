-- The emulator for the tcssl.serve specs (run by lua5.4 from the repository root, with the
-- emulator's command-line options): bin/tcssl-emulator's, plus two certificates the API
-- never hands out, which tcssl.serve must refuse. An upload whose Alias holds
--   "wrong-key"    downloads (DownloadCertificate) with another key than its own in the .key files
--   "listed-valid" is listed (DescribeCertificates) as valid for 400 days from now, whatever
--                  its certificate says
-- Everything else (a certificate uploaded with its key, a CA certificate uploaded without
-- one) is the emulator's own behaviour. Nothing here is part of the emulator itself.
package.path = "lua/?.lua;lua/?/init.lua;" .. package.path
package.cpath = "lua/?.so;" .. package.cpath

local core = require "tcssl.core"
local certificates = require "tcssl_emulator.certificates"
local issuer = require "tcssl_emulator.issuer"

local upload = certificates.handlers.UploadCertificate
certificates.handlers.UploadCertificate = function(store, p)
  local res = upload(store, p)
  local cert = store.certs[res.CertificateId]
  local alias = p.Alias or ""
  if alias:find("wrong-key", 1, true) then
    cert.wrong_key = require("openssl.pkey").new{ type = "EC", curve = "prime256v1" }:toPEM("private")
  end
  if alias:find("listed-valid", 1, true) then cert.not_after = os.time() + 400 * 86400 end
  return res
end

-- The emulator's archive, with the other key in its .key files.
local download = issuer.handlers.DownloadCertificate
issuer.handlers.DownloadCertificate = function(store, p, ...)
  local res = download(store, p, ...)
  local cert = store.certs[p.CertificateId]
  if not cert.wrong_key then return res end
  local files = assert(core.unzip(assert(core.unbase64(res.Content))))
  for _, f in ipairs(files) do
    if f.name:find("%.key$") then f.data = cert.wrong_key end
  end
  res.Content = core.base64(assert(core.zip(files, { mtime = 315532800 })))
  return res
end

os.exit(require("tcssl_emulator.cli").main(arg))

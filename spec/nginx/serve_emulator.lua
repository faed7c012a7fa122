-- The emulator for the tcssl.serve specs (run by lua5.4 from the repository root, with the
-- emulator's command-line options). The emulator checks and forgets the private key of an
-- uploaded certificate; these specs need downloads with keys, and bad ones, so before the
-- emulator starts its UploadCertificate is wrapped to keep the key, according to the Alias:
--   "no-key"       keep none (the archive has no key, as for a certificate uploaded without one)
--   "wrong-key"    keep another key than the certificate's
--   "listed-valid" list it as valid for 400 days from now, whatever its certificate says
-- Nothing here is part of the emulator itself.
package.path = "lua/?.lua;lua/?/init.lua;" .. package.path
package.cpath = "lua/?.so;" .. package.cpath

local certificates = require "tcssl_emulator.certificates"
local upload = certificates.handlers.UploadCertificate

certificates.handlers.UploadCertificate = function(store, p)
  local res = upload(store, p)
  local cert = store.certs[res.CertificateId]
  local alias = p.Alias or ""
  if alias:find("no-key", 1, true) then
    cert.key_pem = nil
  else
    cert.key_pem = p.CertificatePrivateKey
  end
  if alias:find("wrong-key", 1, true) then
    cert.wrong_key = require("openssl.pkey").new{ type = "EC", curve = "prime256v1" }:toPEM("private")
  end
  if alias:find("listed-valid", 1, true) then cert.not_after = os.time() + 400 * 86400 end
  return res
end

-- A certificate uploaded as "wrong-key" downloads as an nginx archive with another key.
local issuer = require "tcssl_emulator.issuer"
local core = require "tcssl.core"
local download = issuer.handlers.DownloadCertificate
issuer.handlers.DownloadCertificate = function(store, p)
  local cert = store.certs[p.CertificateId]
  if not (cert and cert.wrong_key) then return download(store, p) end
  local zip = assert(core.zip({ { name = "shop_nginx/shop_bundle.crt", data = cert.pem },
    { name = "shop_nginx/shop.key", data = cert.wrong_key } }, { mtime = 315532800 }))
  return { Content = core.base64(zip), ContentType = "application/zip" }
end

os.exit(require("tcssl_emulator.cli").main(arg))

-- Quickstart: upload a certificate and list certificates.
--
-- tcssl must be on the module path: installed (README, Install), or from a clone
--   make && eval "$(make -s env)"
-- Against the real API, set TENCENTCLOUD_SECRET_ID / TENCENTCLOUD_SECRET_KEY and run
--   lua5.4 examples/quickstart.lua
-- Against the local emulator (`lua5.4 bin/tcssl-emulator`), TCSSL_ENDPOINT, TCSSL_SCHEME and
-- TCSSL_CERT / TCSSL_KEY point it there and give it a certificate to upload; specs run it that
-- way (spec/emulator/client_spec.lua, and spec/install/install_spec.lua after `make env`).
local tcssl = require "tcssl"

local client, err = tcssl.new{
  region = os.getenv("TENCENTCLOUD_REGION") or "ap-guangzhou",
  endpoint = os.getenv("TCSSL_ENDPOINT"),               -- nil: ssl.tencentcloudapi.com
  scheme = os.getenv("TCSSL_SCHEME"),                   -- nil: https
  secret_id = os.getenv("TENCENTCLOUD_SECRET_ID"),
  secret_key = os.getenv("TENCENTCLOUD_SECRET_KEY"),
}
if not client then
  io.stderr:write(tostring(err), "\n")
  os.exit(1)
end

local function read(path)
  local f = path and io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

-- Upload a certificate when one is given.
local cert, key = read(os.getenv("TCSSL_CERT")), read(os.getenv("TCSSL_KEY"))
if cert and key then
  local res, uerr = client:call("UploadCertificate", {
    CertificatePublicKey = cert, CertificatePrivateKey = key, Alias = "quickstart",
  })
  if not res then
    io.stderr:write(tostring(uerr), "\n")
    os.exit(1)
  end
  print("uploaded " .. res.CertificateId)
end

-- List them.
local res, lerr = client:call("DescribeCertificates", { Limit = 20 })
if not res then
  io.stderr:write(tostring(lerr), "\n")
  os.exit(1)
end
print(("%d certificate(s)"):format(res.TotalCount))
print(("%-10s  %-24s  %-19s  %s"):format("ID", "DOMAIN", "EXPIRES (UTC+8)", "ALIAS"))
for _, c in ipairs(res.Certificates or {}) do
  print(("%-10s  %-24s  %-19s  %s"):format(c.CertificateId, c.Domain or "", c.CertEndTime or "",
    c.Alias or ""))
end

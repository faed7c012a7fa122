-- The Lua half of examples/host: run by tcssl-host (host.c), which reads the table this
-- returns. Lists certificates (uploading one first when TCSSL_CERT and TCSSL_KEY name PEM
-- files) and returns { total, request_id, certificates = { { id, domain, ends }, ... } }, or
-- nil and the tcssl error.
--
-- Configuration from the environment: TENCENTCLOUD_SECRET_ID / TENCENTCLOUD_SECRET_KEY (or
-- the rest of the default credential chain), TENCENTCLOUD_REGION, and TCSSL_ENDPOINT /
-- TCSSL_SCHEME to point it at the emulator. An argument, if given, is a SearchKey.
local tcssl = require "tcssl"

local search = ...

local client, err = tcssl.new{
  region = os.getenv("TENCENTCLOUD_REGION") or "ap-guangzhou",
  endpoint = os.getenv("TCSSL_ENDPOINT"),
  scheme = os.getenv("TCSSL_SCHEME"),
  timeout = 10,
}
if not client then return nil, err end

local function read(path)
  local f = path and io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

local cert, key = read(os.getenv("TCSSL_CERT")), read(os.getenv("TCSSL_KEY"))
if cert and key then
  local res, uerr = client:UploadCertificate{ CertificatePublicKey = cert, CertificatePrivateKey = key,
    Alias = "tcssl-host" }
  if not res then return nil, uerr end
end

local res, lerr = client:DescribeCertificates{ Limit = 100, SearchKey = search }
client:close()
if not res then return nil, lerr end

local list = {}
for i, c in ipairs(res.Certificates or {}) do
  list[i] = { id = c.CertificateId, domain = c.Domain, ends = c.CertEndTime }
end
return { total = res.TotalCount, request_id = res.RequestId, certificates = list }

-- The `make demo` story, through the Lua API: a certificate in use on a load balancer and a
-- CDN domain is about to expire; a renewed one arrives; tcssl uploads it, moves both
-- resources onto it, waits, downloads the result, reports what expires soon, and gets a free
-- DV certificate for another domain.
--
-- It runs against the local emulator (tools/demo.sh starts one and sets the variables):
--   TCSSL_ENDPOINT=127.0.0.1:PORT TCSSL_SCHEME=http TCSSL_EMULATOR_URL=http://127.0.0.1:PORT
--   TENCENTCLOUD_SECRET_ID=... TENCENTCLOUD_SECRET_KEY=...
--   DEMO_OLD_CERT, DEMO_OLD_KEY, DEMO_NEW_CERT, DEMO_NEW_KEY (PEM files)
--   lua5.4 examples/demo-story.lua
-- It prints the CertificateIds it made as `DEMO_OLD_ID=...` and `DEMO_NEW_ID=...` lines, for
-- the CLI part of the demo.
local tcssl = require "tcssl"
local cjson = require "cjson"

local function read(path)
  local f = assert(io.open(assert(path, "a PEM file path is missing"), "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local function title(text)
  io.write("\n== ", text, "\n")
end

local function check(res, err)
  if res then return res end
  io.stderr:write("demo: ", tostring(err), "\n")
  if type(err) == "table" and err.report then io.stderr:write(tcssl.flows.format_renew(err.report), "\n") end
  os.exit(1)
end

-- The emulator's control endpoint: it plays the cloud resources that use certificates.
local function emulator(name, body)
  local http = require "socket.http"
  local ltn12 = require "ltn12"
  local url = assert(os.getenv("TCSSL_EMULATOR_URL"), "TCSSL_EMULATOR_URL is not set")
  local text = cjson.encode(body)
  local chunks = {}
  local ok, status = http.request{ url = url .. "/__emulator/" .. name, method = "POST",
    source = ltn12.source.string(text), sink = ltn12.sink.table(chunks),
    headers = { ["content-type"] = "application/json", ["content-length"] = tostring(#text) } }
  assert(ok and status == 200, "emulator control failed: " .. tostring(status) .. " " .. table.concat(chunks))
end

local client = check(tcssl.new{
  endpoint = os.getenv("TCSSL_ENDPOINT"), scheme = os.getenv("TCSSL_SCHEME"), region = "ap-guangzhou",
})

title("1. The certificate in use today")
local old = check(client:UploadCertificate{
  CertificatePublicKey = read(os.getenv("DEMO_OLD_CERT")), CertificatePrivateKey = read(os.getenv("DEMO_OLD_KEY")),
  Alias = "shop (2025)",
})
print("uploaded " .. old.CertificateId)
-- in the emulated cloud, a CLB listener and a CDN domain use it
emulator("resources", { resources = {
  { ResourceType = "clb", InstanceId = "lb-shop01", ListenerId = "lbl-https", Region = "ap-guangzhou",
    Domains = { "shop.example.com" }, CertificateId = old.CertificateId },
  { ResourceType = "cdn", InstanceId = "static.shop.example.com", Domains = { "static.shop.example.com" },
    CertificateId = old.CertificateId },
} })
print("bound to clb lb-shop01/lbl-https (ap-guangzhou) and cdn static.shop.example.com")

title("2. Every certificate of the account (tcssl.pages walks the pages)")
local all = check(tcssl.pages.all(client, "DescribeCertificates", {}))
for _, c in ipairs(all) do
  print(("%s  %-22s ends %s (UTC+8)  %s"):format(c.CertificateId, c.Domain, c.CertEndTime, c.Alias))
end

title("3. The renewed certificate arrives: upload it and move the resources onto it")
local report = check(tcssl.flows.renew(client, {
  cert = read(os.getenv("DEMO_NEW_CERT")), key = read(os.getenv("DEMO_NEW_KEY")),
  replace = old.CertificateId, resource_types = { "clb", "cdn" }, regions = { "ap-guangzhou" },
  alias = "shop (2026)", interval = 0.2,
  on_progress = function(info)
    io.write(("   … waiting for %s (poll %d)\n"):format(info.what, info.polls))
  end,
}))
print(tcssl.flows.format_renew(report))

title("4. Download the new certificate (a zip, unzipped with libzip)")
local dl = check(tcssl.certs.download(client, report.certificate_id))
for _, f in ipairs(dl.files) do print(("%6d  %s"):format(#f.data, f.name)) end
local leaf = dl.certificates[1]
print(("certificate %s, SANs %s, valid until %s, SHA-256 %s"):format(leaf.common_name,
  table.concat(leaf.sans, ","), leaf.not_after_utc, leaf.fingerprint:sub(1, 23) .. "…"))

title("5. What expires within 30 days")
print(tcssl.flows.expiring_table(check(tcssl.flows.expiring(client, { days = 30 }))))

title("6. A free DV certificate for api.example.com")
local free = check(tcssl.flows.issue_free(client, {
  domain = "api.example.com", interval = 0.2,
  on_validation = function(records)
    for _, r in ipairs(records) do
      print(("   publish DNS %s record %s = %s"):format(r.type, r.name, r.value))
    end
    return true -- a real hook would create the records at the DNS provider here
  end,
}))
for _, s in ipairs(free.steps) do print(("%-9s %s"):format(s.name, s.message)) end
print(("the key matches the certificate: %s"):format(tostring(tcssl.certs.key_matches(free.download.fullchain,
  free.download.key))))

print(("\nDEMO_OLD_ID=%s\nDEMO_NEW_ID=%s\nDEMO_FREE_ID=%s"):format(old.CertificateId, report.certificate_id,
  free.certificate_id))

-- tcssl.certs against the emulator: downloading an uploaded certificate's archive (with the key
-- it was uploaded with, none for a CA certificate uploaded without one), and finding the
-- certificates that cover a domain.
local certs = require "tcssl.certs"
local certgen = require "spec.support.certgen"

describe("downloads from the emulator", function()
  local emu = require "spec.support.emulator"
  local tcssl = require "tcssl"
  local ID, KEY = "AKIDCERTSSPEC0000000000000000000000", "certs-spec-secret-key-000000000"
  local server, client, log_file

  setup(function()
    log_file = os.tmpname()
    server = emu.start{ keys = { [ID] = { secret_key = KEY } }, args = { "--verbose" }, stderr = log_file }
    client = assert(tcssl.new{ endpoint = server.host, scheme = "http", secret_id = ID, secret_key = KEY,
      timeout = 10 })
  end)
  teardown(function()
    if server then server:stop() end
    if log_file then os.remove(log_file) end
  end)

  it("unzips an uploaded certificate's archive, with the key it was uploaded with", function()
    local root = certgen.ca("tcssl spec root")
    local leaf = certgen.leaf{ cn = "dl.example.com", issuer = root }
    local id = assert(client:UploadCertificate{ CertificatePublicKey = leaf.fullchain,
      CertificatePrivateKey = leaf.key_pem }).CertificateId
    local dl = assert(certs.download(client, id))
    assert.same({ leaf.cert_pem, root.cert_pem }, { dl.cert, dl.chain })
    assert.equal(leaf.key_pem, dl.key)
    local files = {}
    for _, f in ipairs(dl.files) do files[f.name] = f.data end
    assert.truthy(files["dl.example.com_nginx/dl.example.com_bundle.crt"])
    assert.equal(leaf.key_pem, files["dl.example.com_nginx/dl.example.com.key"])
    assert.equal(leaf.key_pem, files["dl.example.com_apache/dl.example.com.key"])
    assert.equal(leaf.key_pem, files["dl.example.com_other/dl.example.com.key"])
    assert.truthy(files["dl.example.com_apache/root_bundle.crt"])
    assert.truthy(files["dl.example.com_iis/dl.example.com.pfx"])
    assert.truthy(files["dl.example.com_tomcat/keystorePass.txt"])
    local via_url = assert(certs.download(client, id, { service_type = "apache" }))
    assert.equal("dl.example.com_apache.zip", via_url.filename)
    assert.equal(leaf.cert_pem, via_url.cert)
    assert.equal(leaf.key_pem, via_url.key)
    local detail = assert(client:DescribeCertificateDetail{ CertificateId = id })
    assert.equal(leaf.key_pem, detail.CertificatePrivateKey)
    assert.equal(leaf.fullchain, detail.CertificatePublicKey)
    assert.is_true(assert(client:DescribeCertificates{ CertIds = { id } }).Certificates[1].SupportDownloadType.IIS)
    assert.equal("FailedOperation.CertificateNotFound", select(2, certs.download(client, "nothere1")).code)
    assert.equal("FailedOperation.CertificateDownloadServiceTypeNotSupport",
      select(2, certs.download(client, id, { service_type = "jks" })).code)
  end)

  it("has no key for a CA certificate uploaded without one", function()
    local root = certgen.ca("ca.example.com")
    local id = assert(client:UploadCertificate{ CertificatePublicKey = root.cert_pem, CertificateType = "CA" })
      .CertificateId
    local dl = assert(certs.download(client, id))
    assert.is_nil(dl.key)
    for _, f in ipairs(dl.files) do
      assert.falsy(f.name:find("%.key$") or f.name:find("%.pfx$"), f.name)
    end
    local detail = assert(client:DescribeCertificateDetail{ CertificateId = id })
    assert.equal("", detail.CertificatePrivateKey)
    assert.is_false(assert(client:DescribeCertificates{ CertIds = { id } }).Certificates[1].SupportDownloadType.IIS)
    assert.equal("FailedOperation.CertificateDownloadServiceTypeNotSupport",
      select(2, certs.download(client, id, { service_type = "iis" })).code)
  end)

  it("keeps the uploaded keys out of its --verbose log", function()
    local f = assert(io.open(log_file, "rb"))
    local log = f:read("*a")
    f:close()
    assert.truthy(log:find("action=DescribeCertificateDetail", 1, true))
    assert.truthy(log:find("action=DownloadCertificate", 1, true))
    assert.falsy(log:find("PRIVATE KEY", 1, true))
  end)

  it("finds the certificates covering a domain, wildcards included", function()
    server:reset()
    local exact = certgen.leaf{ cn = "www.find.example.com" }
    local wild = certgen.leaf{ cn = "*.find.example.com", days = 200 }
    local other = certgen.leaf{ cn = "www.elsewhere.example.com" }
    local ids = {}
    for i, c in ipairs({ exact, wild, other }) do
      ids[i] = assert(client:UploadCertificate{ CertificatePublicKey = c.cert_pem,
        CertificatePrivateKey = c.key_pem }).CertificateId
    end
    local found = assert(certs.find(client, "www.find.example.com"))
    assert.same({ ids[2], ids[1] }, { found[1].CertificateId, found[2].CertificateId }) -- latest end first
    assert.equal(1, #assert(certs.find(client, "api.find.example.com")))
    assert.equal(0, #assert(certs.find(client, "find.example.com")))
    assert.equal("InvalidDomain", select(2, certs.find(client, "bad domain")).code)
  end)
end)

-- Request URLs as on_request and the debug lines show them: private keys, their passwords,
-- secret keys, tokens and signatures hidden, the rest as sent.
local tcssl = require "tcssl"
local fakes = require "spec.support.fakes"

local KEY = "credentials-spec-secret-key-000"

describe("request URLs in on_request and debug lines", function()
  local redact = require("tcssl.redact").url

  it("are the ones tcssl.client re-exports", function()
    assert.equal(redact, require("tcssl.client").redact_url)
  end)

  it("hide private keys, their passwords, secret keys, tokens and signatures, also inside arrays", function()
    local url = "https://h/?Action=UploadCertificate&CertificatePrivateKey=-----BEGIN%20PRIVATE%20KEY-----abc"
      .. "&KeyPassword=pw1&EncryptPrivateKey=epk&SecretId=AKIDVISIBLE&SecretKey=sk&Token=tk"
      .. "&Signature=sig&SignatureMethod=HmacSHA256&key=legacy&Certs.0.PrivateKey=nested&Tags.0.TagKey=env"
      .. "&CertificatePublicKey=pub"
    local out = redact(url)
    for _, hidden in ipairs{ "BEGIN", "pw1", "epk", "=sk", "=tk", "=sig", "legacy", "nested" } do
      assert.falsy(out:find(hidden, 1, true), hidden .. " in " .. out)
    end
    for _, shown in ipairs{ "Action=UploadCertificate", "SecretId=AKIDVISIBLE", "Tags.0.TagKey=env",
      "CertificatePublicKey=pub", "CertificatePrivateKey=***", "key=***",
      "SignatureMethod=HmacSHA256" } do
      assert.truthy(out:find(shown, 1, true), shown .. " not in " .. out)
    end
  end)

  it("keep a GET upload's private key out of the debug line", function()
    local written = {}
    local file = { write = function(_, ...) for _, s in ipairs{ ... } do written[#written + 1] = s end end }
    local t = fakes.router{ { "ssl", { 200, '{"Response":{"CertificateId":"c1","RequestId":"r"}}' } } }
    local c = assert(tcssl.new{ secret_id = "AKIDDEBUG", secret_key = KEY, http_method = "GET", transport = t,
      on_request = require("tcssl.log").debug_writer(file), validate = false })
    assert(c:UploadCertificate{ CertificatePublicKey = "PUBLIC", CertificatePrivateKey = "PRIVATEKEYTEXT",
      KeyPassword = "KEYPASSWORDTEXT" })
    local line = table.concat(written)
    assert.falsy(line:find("PRIVATEKEYTEXT", 1, true))
    assert.falsy(line:find("KEYPASSWORDTEXT", 1, true))
    assert.truthy(line:find("CertificatePublicKey=PUBLIC", 1, true))
  end)
end)

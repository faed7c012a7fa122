-- tcssl.serve with domains = "all": every issued certificate of the account (with its key),
-- each served for every name it covers, found anew at each refresh: a certificate uploaded
-- later is served with no change to the configuration, one deleted from the account is not.
local nginx = require "spec.support.nginx"
local serve = require "spec.support.serve"

describe('tcssl.serve with domains = "all"', function()
  local e, client, n, multi, shop, ca

  setup(function()
    assert(nginx.available())
    e = serve.emulator()
    client = serve.client(e)
    multi = serve.upload(client, { cn = "www.all.test", sans = { "www.all.test", "all.test", "*.img.all.test" },
      days = 60 })
    serve.upload(client, { cn = "shop.other.test", days = 30 })
    shop = serve.upload(client, { cn = "shop.other.test", days = 90 })
    ca = serve.upload(client, { cn = "ca.all.test", ca = true })
    n = serve.nginx(e, { domains = "all" })
    assert(serve.wait_served(n.tls_port, "www.all.test", multi.sha256), "the account's certificate is not served")
  end)

  teardown(function()
    serve.cleanup(n, e)
  end)

  it("serves each issued certificate for every name it covers, the one ending last for each", function()
    assert.equal(multi.sha256, serve.served(n.tls_port, "all.test"))
    assert.equal(multi.sha256, serve.served(n.tls_port, "a.img.all.test"))
    assert.equal(shop.sha256, serve.served(n.tls_port, "shop.other.test"))
    local fallback = n.fallback.sha256
    assert.equal(fallback, serve.served(n.tls_port, "img.all.test"))
    assert.equal(fallback, serve.served(n.tls_port, "ca.all.test"))
    assert.equal(fallback, serve.served(n.tls_port, "unknown.all.test"))
    local st = serve.status(n)
    local names = {}
    for name in pairs(st.names) do names[#names + 1] = name end
    table.sort(names)
    assert.same({ "*.img.all.test", "all.test", "shop.other.test", "www.all.test" }, names)
    assert.equal(multi.id, st.names["all.test"].certificate_id)
    assert.equal(shop.id, st.names["shop.other.test"].certificate_id)
    -- one download for the certificate of three names, none for the older one or the CA
    assert.equal(2, serve.count(e, "DownloadCertificate"))
    assert.falsy(n:log():find(ca.id, 1, true))
  end)

  it("serves a certificate uploaded later, and no more one deleted from the account", function()
    local added = serve.upload(client, { cn = "new.all.test", days = 60 })
    assert.truthy(serve.wait_served(n.tls_port, "new.all.test", added.sha256), "the new certificate is not served")
    assert(client:DeleteCertificate{ CertificateId = multi.id })
    local fallback = n.fallback.sha256
    assert.truthy(serve.wait_served(n.tls_port, "www.all.test", fallback), "a deleted certificate is still served")
    assert.equal(fallback, serve.served(n.tls_port, "a.img.all.test"))
    assert.equal(shop.sha256, serve.served(n.tls_port, "shop.other.test"))
    local st = serve.status(n)
    assert.is_nil(st.names["www.all.test"])
    assert.is_nil(st.names["*.img.all.test"])
    assert.equal(added.id, st.names["new.all.test"].certificate_id)
    assert.truthy(n:log():find("no certificate of the account covers www.all.test any more", 1, true))
    assert.falsy(n:log():find("PRIVATE KEY", 1, true))
  end)
end)

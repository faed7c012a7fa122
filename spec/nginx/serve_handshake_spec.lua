-- tcssl.serve in a real nginx against the emulator: certificates picked by SNI (exact and
-- wildcard, the fallback otherwise), checked with real TLS handshakes (openssl s_client);
-- a renewed certificate served without a reload while handshakes keep succeeding; bad
-- certificates (key that does not match, expired, no key) never served; the warning for a
-- certificate near its end; status().
local nginx = require "spec.support.nginx"
local serve = require "spec.support.serve"
local gettime = require("socket").gettime

describe("tcssl.serve", function()
  local e, client, n, shop, api, soon

  setup(function()
    assert(nginx.available())
    e = serve.emulator()
    client = serve.client(e)
    shop = serve.upload(client, { cn = "shop.serve.test", days = 60 })
    api = serve.upload(client, { cn = "*.api.serve.test", days = 60 })
    soon = serve.upload(client, { cn = "soon.serve.test", days = 5 })
    n = serve.nginx(e, { domains = { "shop.serve.test", "*.api.serve.test", "missing.serve.test", "soon.serve.test" } })
    assert(serve.wait_served(n.tls_port, "shop.serve.test", shop.sha256), "the account's certificate is not served")
  end)

  teardown(function()
    serve.cleanup(n, e)
  end)

  it("serves the account's certificate for each SNI name, and the fallback otherwise", function()
    assert.equal(shop.sha256, serve.served(n.tls_port, "shop.serve.test"))
    assert.equal(shop.sha256, serve.served(n.tls_port, "SHOP.serve.test"))
    assert.equal(api.sha256, serve.served(n.tls_port, "a.api.serve.test"))
    assert.equal(api.sha256, serve.served(n.tls_port, "other.api.serve.test"))
    local fallback = n.fallback.sha256
    assert.equal(fallback, serve.served(n.tls_port, "a.b.api.serve.test"))
    assert.equal(fallback, serve.served(n.tls_port, "api.serve.test"))
    assert.equal(fallback, serve.served(n.tls_port, "unknown.example.com"))
    assert.equal(fallback, serve.served(n.tls_port, "missing.serve.test"))
    assert.equal(fallback, serve.served(n.tls_port, nil))
  end)

  it("reports what it serves in status()", function()
    local st = serve.status(n)
    assert.equal(shop.id, st.names["shop.serve.test"].certificate_id)
    assert.equal(shop.sha256, st.names["shop.serve.test"].fingerprint)
    assert.equal(api.id, st.names["*.api.serve.test"].certificate_id)
    assert.is_nil(st.names["missing.serve.test"])
    assert.truthy(st.last_refresh)
    assert.truthy(st.refreshes >= 1)
    assert.truthy(tostring(st.last_error):find("missing.serve.test", 1, true))
  end)

  it("warns of a served certificate near its end while the account has no newer one", function()
    local function warnings(name)
      local count = 0
      for line in n:log():gmatch("[^\n]+") do
        if line:find("[warn]", 1, true) and line:find("the certificate served for " .. name .. " (", 1, true)
          and line:find("and the account has no newer one", 1, true) then
          count = count + 1
        end
      end
      return count
    end
    assert.truthy(serve.wait_served(n.tls_port, "soon.serve.test", soon.sha256))
    assert.truthy(nginx.poll(20, function() return warnings("soon.serve.test") >= 1 end), n:log())
    assert.truthy(n:log():find("the certificate served for soon.serve.test (" .. soon.id .. ") ends ", 1, true))
    assert.equal(0, warnings("shop.serve.test"))
    assert.equal(0, warnings("*.api.serve.test"))
    -- a newer one: served, and no more warnings
    local newer = serve.upload(client, { cn = "soon.serve.test", days = 60 })
    assert.truthy(serve.wait_served(n.tls_port, "soon.serve.test", newer.sha256))
    assert.truthy(serve.wait_refreshes(n, 1))
    local count = warnings("soon.serve.test")
    assert.truthy(serve.wait_refreshes(n, 2))
    assert.equal(count, warnings("soon.serve.test"))
    assert.falsy(n:log():find("PRIVATE KEY", 1, true))
  end)

  it("serves a renewed certificate from the next refresh on, same master, every handshake succeeding", function()
    local master = n.pid
    local renewed = serve.upload(client, { cn = "shop.serve.test", days = 120 })
    local seen, failures, handshakes = {}, 0, 0
    local swapped = nginx.poll(30, function()
      local fp = serve.served(n.tls_port, "shop.serve.test")
      handshakes = handshakes + 1
      if not fp then failures = failures + 1 else seen[fp] = true end
      return fp == renewed.sha256
    end)
    assert.truthy(swapped, "the renewed certificate is not served")
    -- and a few more after the swap
    for _ = 1, 5 do
      assert.equal(renewed.sha256, serve.served(n.tls_port, "shop.serve.test"))
    end
    assert.equal(0, failures)
    assert.truthy(handshakes >= 1)
    for fp in pairs(seen) do assert.truthy(fp == shop.sha256 or fp == renewed.sha256) end
    assert.equal(master, n.pid)
    assert.truthy(require("spec.support.util").alive(master))
    assert.equal(renewed.id, serve.status(n).names["shop.serve.test"].certificate_id)
    shop = renewed
  end)

  it("never serves a certificate whose key does not match, an expired one or one without a key", function()
    local now = os.time()
    local wrong = serve.upload(client, { cn = "shop.serve.test", days = 200, alias = "wrong-key" })
    local nokey = serve.upload(client, { cn = "shop.serve.test", ca = true }) -- uploaded without a key
    local expired = serve.upload(client, { cn = "shop.serve.test", not_before = now - 20 * 86400, days = 10,
      alias = "listed-valid" })
    assert.truthy(serve.wait_refreshes(n, 2), "no refresh")
    local log = n:log()
    assert.truthy(log:find(wrong.id .. " for shop.serve.test is not served: the private key does not belong", 1, true))
    assert.truthy(log:find(nokey.id .. " for shop.serve.test is not served: no private key", 1, true))
    assert.truthy(log:find(expired.id .. " for shop.serve.test is not served: the certificate expired", 1, true))
    assert.falsy(log:find("PRIVATE KEY", 1, true))
    for _ = 1, 3 do assert.equal(shop.sha256, serve.served(n.tls_port, "shop.serve.test")) end
    assert.equal(shop.id, serve.status(n).names["shop.serve.test"].certificate_id)
    -- each is downloaded once, then remembered as bad
    local downloads = serve.count(e, "DownloadCertificate")
    assert.truthy(serve.wait_refreshes(n, 2), "no refresh")
    assert.equal(downloads, serve.count(e, "DownloadCertificate"))
  end)
end)

describe("tcssl.serve with several workers", function()
  local e, n

  teardown(function()
    serve.cleanup(n, e)
  end)

  it("refreshes in one worker at a time: one refresh per interval among them", function()
    assert(nginx.available())
    e = serve.emulator()
    local shop = serve.upload(serve.client(e), { cn = "shop.serve.test", days = 60 })
    n = serve.nginx(e, { domains = { "shop.serve.test" }, workers = 4, tick = 0.1 })
    assert(serve.wait_served(n.tls_port, "shop.serve.test", shop.sha256))
    -- the workers refresh each second (refresh = 1) between them: n refreshes need at least
    -- n - 1 whole seconds, where four workers refreshing alone would do four in one second
    local t0 = gettime()
    local st = assert(serve.wait_refreshes(n, 3))
    local elapsed = gettime() - t0
    assert.truthy(3 <= elapsed + 1.5, ("3 refreshes in %.2f s"):format(elapsed))
    local calls = serve.count(e, "DescribeCertificates")
    local refreshes = serve.status(n).refreshes
    assert.truthy(refreshes >= st.refreshes)
    -- certs.find asks twice per name (the name, and its parent for wildcards)
    assert.truthy(calls <= 2 * (refreshes + 1), ("%d DescribeCertificates for %d refreshes"):format(calls, refreshes))
    assert.truthy(calls >= 2 * st.refreshes)
    assert.equal(1, serve.count(e, "DownloadCertificate"))
  end)
end)

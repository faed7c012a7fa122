-- tcssl.serve's disk cache: what is served is written to cache_dir (files 0600 in a 0700
-- folder, no key in the index), and an nginx started while the API cannot be reached serves
-- the cached certificates, checked again; a cached file tampered with or cut short is never
-- served, logged and passed over.
local nginx = require "spec.support.nginx"
local serve = require "spec.support.serve"
local util = require "spec.support.util"

describe("tcssl.serve's disk cache", function()
  local e, n, parent, dir, shop, api, fallback
  local domains = { "shop.serve.test", "*.api.serve.test" }

  teardown(function()
    serve.cleanup(n, e, parent)
  end)

  it("survives an API outage and a restart", function()
    assert(nginx.available())
    parent = util.temp_dir("serve-cache")
    assert(os.execute("chmod 777 " .. util.quote(parent))) -- the workers (nobody) make the folder
    dir = parent .. "/tcssl"
    e = serve.emulator()
    local client = serve.client(e)
    shop = serve.upload(client, { cn = "shop.serve.test", days = 60 })
    api = serve.upload(client, { cn = "*.api.serve.test", days = 60 })
    n = serve.nginx(e, { domains = domains, cache_dir = dir })
    assert(serve.wait_served(n.tls_port, "shop.serve.test", shop.sha256))
    assert(nginx.poll(20, function() return util.read(dir .. "/index.json") end))
    assert(serve.wait_refreshes(n, 1))
    assert.equal("700", util.mode(dir))
    for _, file in ipairs({ "index.json", shop.sha256 .. ".pem", api.sha256 .. ".pem" }) do
      assert.equal("600", util.mode(dir .. "/" .. file))
    end
    assert.falsy(util.read(dir .. "/index.json"):find("PRIVATE", 1, true))
    fallback = n.fallback
    n:stop()
    e:stop()

    -- the API is gone: a new nginx serves from the cache
    n = serve.nginx(e, { domains = domains, cache_dir = dir, fallback = fallback })
    assert.equal(shop.sha256, serve.served(n.tls_port, "shop.serve.test"))
    assert.equal(api.sha256, serve.served(n.tls_port, "x.api.serve.test"))
    assert.equal(fallback.sha256, serve.served(n.tls_port, "unknown.serve.test"))
    assert(nginx.poll(20, function() return serve.status(n).last_error end))
    local st = serve.status(n)
    assert.equal("cache", st.names["shop.serve.test"].source)
    assert.truthy(n:log():find("loaded from the disk cache", 1, true))
    assert.equal(shop.sha256, serve.served(n.tls_port, "shop.serve.test"))
    assert.falsy(n:log():find("PRIVATE KEY", 1, true))
  end)

  it("never serves a cached file tampered with or cut short: logged, passed over", function()
    assert(dir and fallback, "the first test did not run")
    n:stop()
    -- shop's file cut short (in its key), api's with another key than its certificate's
    local shop_file, api_file = dir .. "/" .. shop.sha256 .. ".pem", dir .. "/" .. api.sha256 .. ".pem"
    local text = util.must_read(shop_file)
    util.write(shop_file, text:sub(1, #text - 40))
    local other = require("spec.support.certgen").leaf{ cn = "other.serve.test" }
    text = util.must_read(api_file)
    local _, cert_end = text:find("-----END CERTIFICATE-----\n", 1, true)
    util.write(api_file, text:sub(1, cert_end) .. other.key_pem)
    n = serve.nginx(e, { domains = domains, cache_dir = dir, fallback = fallback })
    assert(nginx.poll(20, function() return serve.status(n).last_error end))
    assert.equal(fallback.sha256, serve.served(n.tls_port, "shop.serve.test"))
    assert.equal(fallback.sha256, serve.served(n.tls_port, "x.api.serve.test"))
    assert.same({}, serve.status(n).names)
    local log = n:log()
    assert.truthy(log:find("the cached certificate for shop.serve.test is not used", 1, true), log)
    assert.truthy(log:find("the cached certificate for *.api.serve.test is not used: the private key does not belong",
      1, true), log)
    assert.falsy(log:find("loaded from the disk cache", 1, true))
    assert.falsy(log:find("PRIVATE KEY", 1, true))
    n:stop()

    -- the index cut short
    text = util.must_read(dir .. "/index.json")
    util.write(dir .. "/index.json", text:sub(1, #text // 2))
    n = serve.nginx(e, { domains = domains, cache_dir = dir, fallback = fallback })
    assert(nginx.poll(20, function() return serve.status(n).last_error end))
    assert.equal(fallback.sha256, serve.served(n.tls_port, "shop.serve.test"))
    log = n:log()
    assert.truthy(log:find("index.json cannot be read: the cache is not used", 1, true), log)
    assert.falsy(log:find("PRIVATE KEY", 1, true))
  end)
end)

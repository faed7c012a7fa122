-- tcssl.serve's disk cache: what is served is written to cache_dir (files 0600 in a 0700
-- folder, no key in the index), and an nginx started while the API cannot be reached serves
-- the cached certificates, checked again.
local nginx = require "spec.support.nginx"
local serve = require "spec.support.serve"
local util = require "spec.support.util"

describe("tcssl.serve's disk cache", function()
  local e, n, parent

  teardown(function()
    serve.cleanup(n, e, parent)
  end)

  it("survives an API outage and a restart", function()
    assert(nginx.available())
    parent = util.temp_dir("serve-cache")
    assert(os.execute("chmod 777 " .. util.quote(parent))) -- the workers (nobody) make the folder
    local dir = parent .. "/tcssl"
    e = serve.emulator()
    local client = serve.client(e)
    local shop = serve.upload(client, { cn = "shop.serve.test", days = 60 })
    local api = serve.upload(client, { cn = "*.api.serve.test", days = 60 })
    local domains = { "shop.serve.test", "*.api.serve.test" }
    n = serve.nginx(e, { domains = domains, cache_dir = dir })
    assert(serve.wait_served(n.tls_port, "shop.serve.test", shop.sha256))
    assert(nginx.poll(20, function() return util.read(dir .. "/index.json") end))
    assert(serve.wait_refreshes(n, 1))
    assert.equal("700", util.mode(dir))
    for _, file in ipairs({ "index.json", shop.sha256 .. ".pem", api.sha256 .. ".pem" }) do
      assert.equal("600", util.mode(dir .. "/" .. file))
    end
    assert.falsy(util.read(dir .. "/index.json"):find("PRIVATE", 1, true))
    local fallback = n.fallback
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
end)

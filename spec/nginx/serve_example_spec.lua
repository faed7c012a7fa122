-- examples/openresty/serve.conf as shipped, with its ports and folders moved into a temporary
-- prefix: nginx serves the account's certificate for shop.example.test from the emulator.
local nginx = require "spec.support.nginx"
local serve = require "spec.support.serve"
local certgen = require "spec.support.certgen"
local util = require "spec.support.util"

describe("examples/openresty/serve.conf", function()
  local e, n, dir

  teardown(function()
    serve.cleanup(n, e, dir)
  end)

  it("serves the account's certificate by SNI and reports it at /tcssl-status", function()
    assert(nginx.available())
    e = serve.emulator{ plain = true } -- bin/tcssl-emulator, a certificate uploaded with its key
    local shop = serve.upload(serve.client(e), { cn = "shop.example.test", days = 60 })
    dir = util.temp_dir("serve-example")
    assert(os.execute("chmod 777 " .. util.quote(dir)))
    local fallback = certgen.leaf{ cn = "fallback.invalid", days = 30 }
    util.write(dir .. "/fallback.pem", fallback.cert_pem)
    util.write(dir .. "/fallback.key", fallback.key_pem)
    local tls_port = nginx.free_port()
    local text = util.must_read("examples/openresty/serve.conf")
      :gsub("%.%./%.%./build/openresty%-serve", "PREFIX/build/openresty-serve")
      :gsub(" build/openresty%-serve", " PREFIX/build/openresty-serve") -- not the Lua cache_dir (from the prefix)
      :gsub("127%.0%.0%.1:8443", "127.0.0.1:" .. tls_port)
      :gsub("127%.0%.0%.1:8080", "127.0.0.1:PORT")
      :gsub("refresh = 60", "refresh = 1")
    n = nginx.start{
      config = text,
      links = { lua = nginx.ROOT .. "/lua", ["build/luajit"] = nginx.ROOT .. "/build/luajit",
        ["build/openresty-serve"] = dir },
      env = { TENCENTCLOUD_SECRET_ID = serve.ID, TENCENTCLOUD_SECRET_KEY = serve.KEY, TCSSL_ENDPOINT = e.host,
        TCSSL_SCHEME = "http" },
    }
    assert.truthy(serve.wait_served(tls_port, "shop.example.test", shop.sha256))
    assert.equal(fallback.sha256, serve.served(tls_port, "other.example.test"))
    local code, body = n:get("/tcssl-status")
    assert.equal(200, code)
    local st = require("cjson").decode(body)
    assert.equal(shop.id, st.names["shop.example.test"].certificate_id)
    -- written after the refresh has installed it
    assert.truthy(nginx.poll(20, function() return util.read(dir .. "/cache/index.json") end), n:log())
    assert.equal("700", util.mode(dir .. "/cache"))
    assert.equal("600", util.mode(dir .. "/cache/" .. shop.sha256 .. ".pem"))
  end)
end)

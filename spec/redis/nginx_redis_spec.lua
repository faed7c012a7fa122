-- The Redis limiter inside real nginx: two workers, tcssl.shared.redis over cosockets
-- (lua-resty-redis, Debian's nginx.redis) with its connection pool, against the emulator.
-- The workers load the LuaJIT core (build/luajit), as in spec/nginx.
local nginx = require "spec.support.nginx"
local rs = require "spec.support.redis"
local emu = require "spec.support.emulator"
local cjson = require "cjson.safe"
local pki = require "spec.support.pki"

local server, emulator, web, certs, tls, tls_port

setup(function()
  assert(nginx.available())
  server = rs.start()
  emulator = emu.start()
  certs = pki.make()
  tls_port = emu.free_port()
  tls = rs.start{ args = { "--tls-port", tostring(tls_port), "--tls-cert-file", certs.server_cert_file,
    "--tls-key-file", certs.server_key_file, "--tls-ca-cert-file", certs.ca_cert_file,
    "--tls-auth-clients", "no" } }
  local root = nginx.ROOT
  local loads = {}
  for _, m in ipairs(nginx.MODULES) do loads[#loads + 1] = "load_module " .. m .. ";" end
  web = nginx.start{ config = table.concat(loads, "\n") .. ([[

worker_processes 2;
daemon on;
pid PREFIX/nginx.pid;
error_log PREFIX/error.log warn;
events { worker_connections 512; }
http {
  access_log off;
  client_body_temp_path PREFIX/tmp/body;
  proxy_temp_path PREFIX/tmp/proxy;
  fastcgi_temp_path PREFIX/tmp/fastcgi;
  uwsgi_temp_path PREFIX/tmp/uwsgi;
  scgi_temp_path PREFIX/tmp/scgi;
  lua_package_path "%s/lua/?.lua;%s/lua/?/init.lua;%s/?.lua;;";
  lua_package_cpath "%s/build/luajit/?.so;;";
  lua_ssl_trusted_certificate %s;
  lua_ssl_verify_depth 2;
  server {
    listen 127.0.0.1:PORT reuseport;
    location = /burst { content_by_lua_block { require("spec.redis.nginx_app").burst() } }
    location = /tls { content_by_lua_block { require("spec.redis.nginx_app").tls() } }
  }
}
]]):format(root, root, root, root, certs.ca_cert_file) }
end)

teardown(function() emu.cleanup(web, emulator, server, tls, certs) end)

describe("the Redis limiter in nginx with two workers", function()
  it("keeps both workers' calls within 10/s at the emulator, over cosockets", function()
    local path = ("/burst?seconds=3&redis=%s&emulator=%s&id=%s&key=%s"):format(server.url, emulator.host,
      emu.DEMO_SECRET_ID, emu.DEMO_SECRET_KEY)
    local pending = {}
    for i = 1, 12 do pending[i] = web:send(path, 30) end
    local total, pids = 0, {}
    for i = 1, 12 do
      local status, body = pending[i]:finish()
      assert.equal(200, status, body)
      local doc = assert(cjson.decode(body), body)
      assert.equal(0, doc.failed, doc.error)
      total = total + doc.calls
      pids[doc.pid] = true
    end
    local max, seen = 0, 0
    for _, row in ipairs(emulator:stats().per_second) do
      if row.action == "DescribeCertificates" then
        max, seen = math.max(max, row.count), seen + row.count
      end
    end
    local workers = 0
    for _ in pairs(pids) do workers = workers + 1 end
    print(("# nginx, %d workers answering: %d calls, at most %d in one wall-clock second"):format(workers, total, max))
    assert.equal(total, seen)
    local log = web:log():gsub("[^\n]*ngx.sleep%(0%)[^\n]*\n", "")
    assert.is_true(max <= 10, "the emulator saw " .. max .. " in one second; " .. log)
    assert.is_true(total >= 20, "too few calls went through: " .. total)
    assert.is_nil(web:log():find("tcssl.shared.redis", 1, true), web:log()) -- no fallback warning
  end)
end)

describe("tcssl.shared.redis over TLS in nginx", function()
  -- Debian's lua-resty-redis (0.27) has no ssl option of its own: the adapter shakes hands on
  -- its cosocket, which checks the chain and the name as lua_ssl_trusted_certificate allows.
  -- nginx matches the certificate's DNS names only, never its IP addresses: server_name names
  -- the host when the url gives an address.
  it("talks rediss:// verified by server_name, and refuses a certificate naming another host", function()
    local status, body = web:get(("/tls?redis=rediss://127.0.0.1:%d/0"):format(tls_port), 10)
    assert.equal(200, status, web:log())
    local doc = assert(cjson.decode(body), body)
    assert.is_true(doc.set, doc.set_error)
    assert.equal("yes", doc.get)
    assert.equal("yes", doc.again)
    assert.is_nil(doc.misnamed)
    assert.truthy(doc.misnamed_error:find("tls handshake", 1, true), doc.misnamed_error)
    assert.is_nil(doc.by_address)
    assert.truthy(doc.by_address_error:find("tls handshake", 1, true), doc.by_address_error)
    -- nginx says why in its own log
    assert.truthy(web:log():find('does not match host "redis.example.com"', 1, true), web:log())
    assert.truthy(web:log():find('does not match host "127.0.0.1"', 1, true), web:log())
    assert.equal(2, doc.warnings) -- the fallback warnings of the two refused caches
  end)
end)

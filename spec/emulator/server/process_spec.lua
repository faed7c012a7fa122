-- The emulator as a process: over HTTPS with a test CA, its --max-lifetime, and the shutdown
-- endpoint.
local emu = require "spec.support.emulator"
local pki_support = require "spec.support.pki"
local util = require "spec.support.util"
local wire = require "spec.support.wire"

local connect, call, KEYS = wire.connect, wire.call, wire.KEYS

describe("tcssl emulator over HTTPS", function()
  local e, pki

  setup(function()
    pki = pki_support.make()
    e = emu.start{ keys = KEYS,
      tls = { cert = pki.server_cert_file, key = pki.server_key_file, ca = pki.ca_cert_file } }
  end)

  teardown(function() emu.cleanup(e, pki) end)

  before_each(function()
    e:reset()
  end)

  it("serves signed requests over a verified TLS connection", function()
    assert.matches("^https://127%.0%.0%.1:%d+$", e.url)
    local c = connect(e, { ca = pki.ca_cert_file })
    for _ = 1, 3 do assert.equals(0, call(c, "DescribeCertificates", {}).TotalCount) end
    local up = call(c, "UploadCertificate", {
      CertificatePublicKey = pki.leaf_cert_pem, CertificatePrivateKey = pki.leaf_key_pem,
    })
    assert.matches("^%w+$", up.CertificateId)
    c:close()
    assert.equals(1, e:stats().connections)
  end)

  it("resets TLS connections without a close_notify, then goes on serving", function()
    -- lua-sec reports "closed" for both a close_notify and a reset; openssl s_client tells them apart.
    e:fault{ type = "reset" }
    local request = util.tmpfile("POST / HTTP/1.1\r\nHost: " .. e.host .. "\r\nContent-Length: 0\r\n\r\n")
    local p = assert(io.popen("openssl s_client -quiet -connect " .. e.host .. " -CAfile " .. pki.ca_cert_file
      .. " < " .. request .. " 2>&1"))
    local output = p:read("*a")
    p:close()
    os.remove(request)
    assert.matches("errno=104", output) -- ECONNRESET
    assert.equals(0, e:stats().faults_pending)

    local c = connect(e, { ca = pki.ca_cert_file })
    assert.equals(0, call(c, "DescribeCertificates", {}).TotalCount)
    c:close()
  end)
end)

describe("tcssl emulator process", function()
  it("exits by itself after --max-lifetime", function()
    local e = emu.start{ max_lifetime = 1 }
    local ok = e:wait_exit(10)
    e:stop()
    assert.is_true(ok)
  end)

  it("runs until stopped with --max-lifetime 0", function()
    local in_process = assert(require("tcssl_emulator").new{ max_lifetime = 0 })
    finally(function() in_process:close() end)
    assert.equal(math.huge, in_process.expires_at)
    assert.is_true(in_process:step(0))
    local e = emu.start{ max_lifetime = 0 }
    finally(function() e:stop() end) -- asks it to shut down, kills it if it does not go
    local _, status = e:control("GET", "stats")
    assert.equals(200, status)
  end)

  it("stops on /__emulator/shutdown", function()
    local e = emu.start()
    local _, status = e:control("POST", "shutdown")
    assert.equals(200, status)
    assert.is_true(e:wait_exit(5))
    e:stop()
  end)
end)

-- tcssl.certs: the API's times, PEM text, chains, keys, names, archives and downloads.
local certs = require "tcssl.certs"
local core = require "tcssl.core"
local certgen = require "spec.support.certgen"

describe("API times", function()
  it("reads the API's zone-less times as China Standard Time", function()
    assert.equal(1714536000, certs.parse_api_time("2024-05-01 12:00:00")) -- 04:00 UTC
    assert.equal(1714492800, certs.parse_api_time("2024-05-01"))          -- midnight UTC+8
    assert.equal(1704038400, certs.parse_api_time("2024-01-01 00:00:00"))  -- 2023-12-31 16:00 UTC
    if math.type then assert.equal("integer", math.type(certs.parse_api_time("2024-05-01 12:00:00"))) end
  end)

  it("reads times that carry a zone in that zone", function()
    assert.equal(1724376883, certs.parse_api_time("2024-08-23T01:34:43.000000Z"))
    assert.equal(1724376883, certs.parse_api_time("2024-08-23T09:34:43+08:00"))
    assert.equal(1724376883, certs.parse_api_time("2024-08-22T20:34:43-0500"))
  end)

  it("writes times back the way the API takes them", function()
    assert.equal("2024-05-01 12:00:00", certs.format_api_time(1714536000))
    assert.equal("2024-05-01T04:00:00Z", certs.format_utc(1714536000))
    for _, t in ipairs({ 0, 951782400, 1714536000, 2019686400 }) do
      assert.equal(t, certs.parse_api_time(certs.format_api_time(t)))
    end
  end)

  it("knows leap years and rejects what is not a time, without raising", function()
    assert.equal(certs.parse_api_time("2024-03-01") - 86400, certs.parse_api_time("2024-02-29"))
    for _, bad in ipairs({ "2023-02-29", "2024-13-01 00:00:00", "2024-01-01 24:00:00", "yesterday",
      "2024-01-01 12:00", "2024-01-01T12:00:00+8", "", string.rep("9", 100) }) do
      local t, err = certs.parse_api_time(bad)
      assert.is_nil(t, bad)
      assert.equal("validation", err.kind)
      assert.equal("InvalidTime", err.code)
    end
    assert.is_nil(certs.parse_api_time(nil))
    assert.is_nil(certs.format_api_time("soon"))
  end)
end)

describe("PEM text", function()
  local root, mid, leaf
  setup(function()
    root = certgen.ca("tcssl spec root")
    mid = certgen.ca("tcssl spec intermediate", root)
    leaf = certgen.leaf{ cn = "shop.example.com", sans = { "shop.example.com", "*.shop.example.com" }, issuer = mid }
  end)

  it("puts the leaf first and each issuer after what it issued, whatever the order given", function()
    local shuffled = root.cert_pem .. leaf.cert_pem .. mid.cert_pem
    local fullchain, info = certs.normalize_pem(shuffled)
    assert.equal(leaf.cert_pem .. mid.cert_pem .. root.cert_pem, fullchain)
    assert.equal(3, #info.certificates)
    assert.equal(3, info.certificates.linked)
    assert.same({ "shop.example.com", "tcssl spec intermediate", "tcssl spec root" },
      { info.certificates[1].common_name, info.certificates[2].common_name, info.certificates[3].common_name })
  end)

  it("repairs line endings, indentation and stray blanks, and drops duplicates", function()
    local messy = ("  " .. leaf.cert_pem:gsub("\n", "  \r\n    ") .. "\r\n\r\n" .. mid.cert_pem .. leaf.cert_pem)
    local fullchain = assert(certs.normalize_pem(messy))
    assert.equal(leaf.cert_pem .. mid.cert_pem, fullchain)
    local wrapped = leaf.cert_pem:gsub("\n(%w)", "%1"):gsub("(%-%-%-%-%-)(MI)", "%1\n%2")
    assert.equal(leaf.cert_pem, (certs.normalize_pem(wrapped)))
  end)

  it("separates keys and other blocks from certificates", function()
    local blocks = assert(certs.split_pem("Bag Attributes: x\n" .. leaf.key_pem .. leaf.cert_pem
      .. "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n"))
    assert.equal(1, #blocks.certificates)
    assert.equal(1, #blocks.keys)
    assert.equal(1, #blocks.others)
    local _, info = certs.normalize_pem(leaf.cert_pem .. leaf.key_pem)
    assert.equal(1, #info.keys)
  end)

  it("keeps certificates that do not belong to the chain at the end, and says so", function()
    local stranger = certgen.leaf{ cn = "other.example.com" }
    local chain = assert(certs.parse(stranger.cert_pem .. leaf.cert_pem .. mid.cert_pem))
    assert.equal("shop.example.com", chain[1].common_name)
    assert.equal(2, chain.linked)
    assert.equal("other.example.com", chain[3].common_name)
  end)

  it("describes each certificate", function()
    local c = assert(certs.parse(leaf.fullchain))[1]
    assert.same({ "shop.example.com", "*.shop.example.com" }, c.sans)
    assert.equal(leaf.sha256, c.sha256)
    assert.equal(leaf.sha256, certs.fingerprint(leaf.fullchain))
    assert.matches("^%x%x:%x%x:", c.fingerprint)
    assert.equal(leaf.sha256:upper(), (c.fingerprint:gsub(":", "")))
    assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ$", c.not_after_utc)
    assert.is_true(c.not_after > c.not_before)
    assert.is_false(c.is_ca)
    assert.equal("EC", c.key_type)
  end)

  it("answers bad text with errors, never raising", function()
    local cases = {
      { nil, "InvalidPEM" }, { "", "InvalidPEM" }, { "hello", "InvalidPEM" },
      { "-----BEGIN CERTIFICATE-----\nAAAA\n", "InvalidPEM" },
      { "-----BEGIN CERTIFICATE-----\n%%%%\n-----END CERTIFICATE-----\n", "InvalidPEM" },
      { "-----BEGIN CERTIFICATE-----\nAAA=A\n-----END CERTIFICATE-----\n", "InvalidPEM" },
      { "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "InvalidCertificate" },
      { leaf.key_pem, "InvalidCertificate" },
      { string.rep("-----BEGIN X-----\nAAAA\n-----END X-----\n", 65), "InvalidPEM" },
      { string.rep("x", 1024 * 1024 + 1), "InvalidPEM" },
    }
    for i, case in ipairs(cases) do
      local ok, res, err = pcall(certs.parse, case[1])
      assert.is_true(ok, "case " .. i .. " raised: " .. tostring(res))
      assert.is_nil(res, "case " .. i)
      assert.equal(case[2], err.code, "case " .. i .. ": " .. tostring(err))
      assert.equal("validation", err.kind)
    end
  end)
end)

describe("keys", function()
  it("matches a key to the leaf wherever the leaf stands in the text", function()
    local root = certgen.ca("tcssl spec root")
    local leaf = certgen.leaf{ cn = "a.example.com", issuer = root }
    local other = certgen.leaf{ cn = "b.example.com" }
    assert.is_true(certs.key_matches(root.cert_pem .. leaf.cert_pem, leaf.key_pem))
    assert.is_false(certs.key_matches(leaf.fullchain, other.key_pem))
    local ok, err = certs.key_matches(leaf.fullchain, "not a key")
    assert.is_nil(ok)
    assert.equal("InvalidPEM", err.code)
    ok, err = certs.key_matches(leaf.fullchain, leaf.key_pem .. other.key_pem)
    assert.is_nil(ok)
    assert.equal("InvalidKey", err.code)
    local key, info = certs.normalize_key("\r\n  " .. leaf.key_pem:gsub("\n", "\r\n"))
    assert.equal(leaf.key_pem, key)
    assert.equal("EC", info.key_type)
  end)
end)

describe("names", function()
  it("covers exact names and one label under a wildcard", function()
    local names = { "example.com", "*.example.com" }
    assert.is_true(certs.covers(names, "example.com"))
    assert.is_true(certs.covers(names, "WWW.Example.com."))
    assert.is_false(certs.covers(names, "a.b.example.com"))
    assert.is_false(certs.covers({ "*.example.com" }, "example.com"))
    assert.is_false(certs.covers(names, "example.org"))
    assert.is_false(certs.covers(names, ""))
    assert.is_false(certs.covers(nil, "example.com"))
    assert.is_true(certs.covers({ sans = { "*.example.com" } }, "api.example.com"))
  end)
end)

describe("archives", function()
  it("round-trips files through zip and unzip", function()
    local files = { { name = "a/b.txt", data = "hello" }, { name = "big.bin", data = string.rep("\0\1\2", 50000) } }
    local zip = assert(core.zip(files, { mtime = 1704067200 }))
    assert.equal("PK\3\4", zip:sub(1, 4))
    local back = assert(certs.unzip(zip))
    assert.same(files, back)
    assert.same({}, assert(certs.unzip(assert(core.zip({})))))
  end)

  it("refuses bad archives, bombs and encrypted entries with errors", function()
    local function fails(code, ...)
      local files, err = certs.unzip(...)
      assert.is_nil(files)
      assert.equal(code, err.code, tostring(err))
      return err
    end
    fails("InvalidZip", "")
    fails("InvalidZip", "PK\3\4 definitely not a zip")
    local zip = assert(core.zip({ { name = "zeros", data = string.rep("\0", 2 * 1024 * 1024) } }))
    assert.is_true(#zip < 20000) -- deflated
    assert.matches("size limit", fails("InvalidZip", zip, { max_bytes = 1024 * 1024 }).message)
    local many = {}
    for i = 1, 20 do many[i] = { name = "f" .. i, data = "x" } end
    assert.matches("too many entries", fails("InvalidZip", assert(core.zip(many)), { max_entries = 10 }).message)
    -- the central directory says entry 1 is encrypted (general purpose flag bit 0)
    local plain = assert(core.zip({ { name = "secret", data = "s" } }))
    local at = plain:find("PK\1\2", 1, true)
    local flags = plain:byte(at + 8)
    local encrypted = plain:sub(1, at + 7) .. string.char(flags % 2 == 1 and flags or flags + 1) .. plain:sub(at + 9)
    local err = fails("InvalidZip", encrypted)
    assert.truthy(err.message:find("encrypted", 1, true) or err.message:find("nconsistent"), err.message)
    -- a flipped byte in the data fails its CRC
    local body = assert(core.zip({ { name = "t", data = string.rep("abc", 10) } }))
    fails("InvalidZip", body:sub(1, 40) .. string.char((body:byte(41) + 1) % 256) .. body:sub(42))
    assert.equal("InvalidZip", select(2, certs.unzip(nil)).code)
  end)

  it("finds certificate, chain and key among an archive's files and keeps names inside a folder", function()
    local root = certgen.ca("tcssl spec root")
    local leaf = certgen.leaf{ cn = "a.example.com", issuer = root }
    local out = assert(certs.extract({
      { name = "x_nginx/a.example.com_bundle.crt", data = leaf.fullchain },
      { name = "x_nginx/a.example.com.key", data = leaf.key_pem },
      { name = "x_apache/root_bundle.crt", data = root.cert_pem },
      { name = "x_iis/a.pfx", data = "\48\130binary" },
    }))
    assert.same({ leaf.cert_pem, root.cert_pem, leaf.fullchain, leaf.key_pem },
      { out.cert, out.chain, out.fullchain, out.key })
    assert.equal("NoCertificate", select(2, certs.extract({ { name = "a", data = "b" } })).code)
    for _, bad in ipairs({ "/etc/passwd", "../x", "a/../../x", "a\\b", "C:x", "a//b", "", "./a" }) do
      assert.is_nil(certs.safe_path(bad), bad)
    end
    assert.equal("x_nginx/a.key", certs.safe_path("x_nginx/a.key"))
  end)
end)

describe("downloads from the emulator", function()
  local emu = require "spec.support.emulator"
  local tcssl = require "tcssl"
  local ID, KEY = "AKIDCERTSSPEC0000000000000000000000", "certs-spec-secret-key-000000000"
  local server, client

  setup(function()
    server = emu.start{ keys = { [ID] = { secret_key = KEY } } }
    client = assert(tcssl.new{ endpoint = server.host, scheme = "http", secret_id = ID, secret_key = KEY,
      timeout = 10 })
  end)
  teardown(function() if server then server:stop() end end)

  it("unzips an uploaded certificate's archive (no key is kept for uploads)", function()
    local root = certgen.ca("tcssl spec root")
    local leaf = certgen.leaf{ cn = "dl.example.com", issuer = root }
    local id = assert(client:UploadCertificate{ CertificatePublicKey = leaf.fullchain,
      CertificatePrivateKey = leaf.key_pem }).CertificateId
    local dl = assert(certs.download(client, id))
    assert.same({ leaf.cert_pem, root.cert_pem }, { dl.cert, dl.chain })
    assert.is_nil(dl.key)
    local names = {}
    for _, f in ipairs(dl.files) do names[f.name] = true end
    assert.is_true(names["dl.example.com_nginx/dl.example.com_bundle.crt"])
    assert.is_true(names["dl.example.com_apache/root_bundle.crt"])
    assert.is_nil(names["dl.example.com_iis/dl.example.com.pfx"])
    local via_url = assert(certs.download(client, id, { service_type = "apache" }))
    assert.equal("dl.example.com_apache.zip", via_url.filename)
    assert.equal(leaf.cert_pem, via_url.cert)
    assert.equal("FailedOperation.CertificateNotFound", select(2, certs.download(client, "nothere1")).code)
    assert.equal("FailedOperation.CertificateDownloadServiceTypeNotSupport",
      select(2, certs.download(client, id, { service_type = "jks" })).code)
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

-- tcssl.certs: the API's times, PEM text, chains, keys, names, archives, and certs.write_file,
-- which writes every file through a new file created exclusively beside it (mode 0600 for keys,
-- links not followed) and renamed into place: an existing file's mode is not kept, a link at the
-- path is replaced, a failure leaves the old file and no temporary file.
-- luacheck: read globals math.type (Lua 5.4's, used where the runtime has them)
local certs = require "tcssl.certs"
local core = require "tcssl.core"
local errors = require "tcssl.error"
local certgen = require "spec.support.certgen"
local util = require "spec.support.util"

local quote, read, write, sh = util.quote, util.read, util.write, util.sh
local mode, is_link, listing = util.mode, util.is_link, util.listing

-- Looks like a key to holds_key; no real key is needed to test how it is written.
local KEY_PEM = "-----BEGIN PRIVATE KEY-----\nc3BlYyBrZXkgYm9keQ==\n-----END PRIVATE KEY-----\n"
local OLD_KEY = "-----BEGIN PRIVATE KEY-----\nb2xkIGtleQ==\n-----END PRIVATE KEY-----\n"

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

describe("certs.write_file", function()
  local tmp
  setup(function() tmp = util.temp_dir("files") end)
  teardown(function() util.remove_dir(tmp) end)

  local dir
  local n = 0
  before_each(function()
    n = n + 1
    dir = tmp .. "/w" .. n
    assert(sh("mkdir " .. quote(dir)) == 0)
  end)

  it("leaves an existing 0644 key file at 0600 with the new content", function()
    local path = write(dir .. "/privkey.pem", OLD_KEY)
    assert(sh("chmod 644 " .. quote(path)) == 0)
    assert.is_true(certs.write_file(path, KEY_PEM))
    assert.equal(KEY_PEM, read(path))
    assert.equal("600", mode(path))
    -- opts.private makes any file private, whatever its name and text
    local other = write(dir .. "/secret.bin", "old")
    assert(sh("chmod 644 " .. quote(other)) == 0)
    assert.is_true(certs.write_file(other, "new bytes", { private = true }))
    assert.equal("new bytes", read(other))
    assert.equal("600", mode(other))
    assert.same({ "privkey.pem", "secret.bin" }, listing(dir))
  end)

  it("replaces a symbolic link at the key path instead of following it", function()
    local target = write(tmp .. "/target-" .. n, "someone else's file\n")
    assert(sh("chmod 644 " .. quote(target)) == 0)
    local path = dir .. "/privkey.pem"
    assert(sh("ln -s " .. quote(target) .. " " .. quote(path)) == 0)
    assert.is_true(certs.write_file(path, KEY_PEM))
    assert.is_false(is_link(path))
    assert.equal(KEY_PEM, read(path))
    assert.equal("600", mode(path))
    assert.equal("someone else's file\n", read(target))
    assert.equal("644", mode(target))
    -- a dangling link: nothing is created where it points
    local dangling = dir .. "/dangling.key"
    local nowhere = tmp .. "/nowhere-" .. n
    assert(sh("ln -s " .. quote(nowhere) .. " " .. quote(dangling)) == 0)
    assert.is_true(certs.write_file(dangling, KEY_PEM))
    assert.is_false(is_link(dangling))
    assert.equal("600", mode(dangling))
    assert.is_nil(read(nowhere))
  end)

  it("writes certificates atomically too, replacing a link and keeping no temporary file", function()
    local target = write(tmp .. "/cert-target-" .. n, "untouched\n")
    local path = dir .. "/cert.pem"
    assert(sh("ln -s " .. quote(target) .. " " .. quote(path)) == 0)
    local cert = "-----BEGIN CERTIFICATE-----\nY2VydA==\n-----END CERTIFICATE-----\n"
    assert.is_true(certs.write_file(path, cert))
    assert.is_false(is_link(path))
    assert.equal(cert, read(path))
    assert.equal("untouched\n", read(target))
    assert.same({ "cert.pem" }, listing(dir))
  end)

  it("leaves the old file and no temporary file when the write fails", function()
    -- a file size limit makes the write itself fail part-way (EFBIG; SIGXFSZ ignored)
    local path = write(dir .. "/privkey.pem", OLD_KEY)
    assert(sh("chmod 644 " .. quote(path)) == 0)
    local script = ("package.path = 'lua/?.lua;lua/?/init.lua;' .. package.path\n"
      .. "package.cpath = 'lua/?.so;' .. package.cpath\n"
      .. "local ok, err = require('tcssl.certs').write_file(%q, %q .. string.rep('A', 1048576))\n"
      .. "io.write(tostring(ok), ' ', tostring(err and err.kind), ' ', tostring(err and err.code))\n"
      .. "os.exit(ok and 0 or 3)\n"):format(path, KEY_PEM)
    local script_path = write(tmp .. "/fail-" .. n .. ".lua", script)
    local rc, out = sh("env -u LD_PRELOAD -u ASAN_OPTIONS sh -c " .. quote("ulimit -f 1; trap '' XFSZ; exec lua5.4 "
      .. quote(script_path)))
    assert.equal(3, rc, out)
    assert.equal("nil io NoSpace", out)
    assert.equal(OLD_KEY, read(path))
    assert.equal("644", mode(path))
    assert.same({ "privkey.pem" }, listing(dir))

    -- in this process: the rename fails (a directory stands at the path)
    assert(sh("mkdir " .. quote(dir .. "/taken")) == 0)
    write(dir .. "/taken/inside", "x")
    local ok, err = certs.write_file(dir .. "/taken", KEY_PEM)
    assert.is_nil(ok)
    assert.is_true(errors.is(err))
    assert.equal("io", err.kind)
    assert.equal("IsDirectory", err.code)
    assert.same({ "privkey.pem", "taken" }, listing(dir))
    assert.same({ "inside" }, listing(dir .. "/taken"))
    assert.equal(OLD_KEY, read(path))
  end)

  it("gives an error object for a directory that does not exist", function()
    local path = dir .. "/missing/privkey.pem"
    local ok, err = certs.write_file(path, KEY_PEM)
    assert.is_nil(ok)
    assert.is_true(errors.is(err))
    assert.equal("io", err.kind)
    assert.equal("NotFound", err.code)
    assert.equal(path, err.path)
    assert.truthy(err.message:find(path, 1, true))
    assert.is_nil(err.message:find("c3BlYyBrZXkg", 1, true)) -- never the key
    assert.matches("^tcssl io error NotFound: ", tostring(err))
    assert.same({}, listing(dir))
  end)

  it("refuses bad arguments with validation errors, never raising", function()
    for _, args in ipairs{ { nil, "x" }, { "", "x" }, { dir .. "/a\0b", "x" }, { dir .. "/f", 42 },
                           { dir .. "/f", "x", "private" } } do
      local ok, err = certs.write_file(args[1], args[2], args[3])
      assert.is_nil(ok)
      assert.equal("validation", err.kind)
    end
    local ok, err = certs.write_file(dir .. "/", "x")
    assert.is_nil(ok)
    assert.equal("IsDirectory", err.code)
    assert.same({}, listing(dir))
  end)

  it("knows which archive files hold keys", function()
    for _, name in ipairs{ "a_nginx/a.key", "a_iis/a.pfx", "x.p12", "x.jks", "a_tomcat/keystorePass.txt" } do
      assert.is_true(certs.holds_key(name, "binary"), name)
    end
    assert.is_true(certs.holds_key("a_other/a.pem", "x\n" .. KEY_PEM))
    assert.is_true(certs.holds_key(nil, "-----BEGIN EC PRIVATE KEY-----\n"))
    assert.is_false(certs.holds_key("a_nginx/a_bundle.crt", "-----BEGIN CERTIFICATE-----\n"))
    assert.is_false(certs.holds_key("a.keys.txt", "text"))
  end)
end)

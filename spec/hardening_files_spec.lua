-- Files that hold private keys. certs.write_file, and through it
-- `tcssl download --out` and `tcssl issue-free --out`, write every file through a new file
-- created exclusively beside it (mode 0600 for keys, links not followed) and renamed into
-- place: an existing file's mode is not kept, a link at the path is replaced, a failure leaves
-- the old file and no temporary file.
local certs = require "tcssl.certs"
local errors = require "tcssl.error"
local json = require "tcssl.json"
local emu = require "spec.support.emulator"

local function quote(s)
  return "'" .. tostring(s):gsub("'", [['\'']]) .. "'"
end

local function read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

local function write(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
  return path
end

local function sh(command)
  local p = assert(io.popen(command .. " 2>&1; echo __rc=$?", "r"))
  local out = p:read("*a")
  p:close()
  return tonumber(out:match("__rc=(%d+)\n$")), (out:gsub("__rc=%d+\n$", ""))
end

local function mode(path)
  local _, out = sh("stat -c %a " .. quote(path))
  return out:match("^(%d+)")
end

local function is_link(path)
  return sh("test -L " .. quote(path)) == 0
end

-- The names in a directory, sorted, dot files included.
local function listing(dir)
  local _, out = sh("ls -A " .. quote(dir))
  local names = {}
  for name in out:gmatch("[^\n]+") do names[#names + 1] = name end
  table.sort(names)
  return names
end

local function mktemp_dir()
  local _, out = sh("mktemp -d -t tcssl-files.XXXXXX")
  return (out:gsub("%s+$", ""))
end

-- Looks like a key to holds_key; no real key is needed to test how it is written.
local KEY_PEM = "-----BEGIN PRIVATE KEY-----\nc3BlYyBrZXkgYm9keQ==\n-----END PRIVATE KEY-----\n"
local OLD_KEY = "-----BEGIN PRIVATE KEY-----\nb2xkIGtleQ==\n-----END PRIVATE KEY-----\n"

local tmp

setup(function() tmp = mktemp_dir() end)
teardown(function() if tmp and tmp:find("^/tmp/") then sh("rm -rf " .. quote(tmp)) end end)

describe("certs.write_file", function()
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

describe("tcssl download --out and issue-free --out", function()
  local ID, KEY = "AKIDFILESPEC0000000000000000000000", "files-spec-secret-key-00000000000"
  local server

  setup(function() server = emu.start{ keys = { [ID] = { secret_key = KEY } } } end)
  teardown(function() if server then server:stop() end end)

  local function tcssl(words)
    local parts = { "env -u LD_PRELOAD -u ASAN_OPTIONS", "TENCENTCLOUD_SECRET_ID=" .. ID,
      "TENCENTCLOUD_SECRET_KEY=" .. quote(KEY), "TCSSL_ENDPOINT=" .. server.host, "TCSSL_SCHEME=http",
      "TENCENTCLOUD_REGION=ap-guangzhou", "HOME=" .. quote(tmp), "lua5.4 bin/tcssl" }
    for _, w in ipairs(words) do parts[#parts + 1] = quote(w) end
    local err_path = tmp .. "/stderr"
    local p = assert(io.popen(table.concat(parts, " ") .. " 2>" .. quote(err_path) .. " </dev/null; echo __rc=$?"))
    local out = p:read("*a")
    p:close()
    return tonumber(out:match("__rc=(%d+)\n$")), out:gsub("__rc=%d+\n$", ""), read(err_path) or ""
  end

  it("issue-free writes the key as a new 0600 file over an old 0644 one and a link", function()
    local dir = tmp .. "/issued"
    assert(sh("mkdir " .. quote(dir)) == 0)
    write(dir .. "/privkey.pem", OLD_KEY)
    assert(sh("chmod 644 " .. quote(dir .. "/privkey.pem")) == 0)
    local target = write(tmp .. "/issued-target", "not a certificate\n")
    assert(sh("ln -s " .. quote(target) .. " " .. quote(dir .. "/fullchain.pem")) == 0)
    local rc, out, err = tcssl{ "issue-free", "--domain", "files.example.com", "--yes", "--out", dir,
      "--poll-interval", "0.1" }
    assert.equal(0, rc, err)
    assert.matches("ok%s+download", out)
    local key = read(dir .. "/privkey.pem")
    assert.equal("600", mode(dir .. "/privkey.pem"))
    assert.is_false(is_link(dir .. "/fullchain.pem"))
    assert.is_true(certs.key_matches(read(dir .. "/fullchain.pem"), key))
    assert.equal("not a certificate\n", read(target))
    assert.same({ "cert.pem", "chain.pem", "fullchain.pem", "privkey.pem" }, listing(dir))
  end)

  it("download writes every key file of the archive 0600, replacing links, and fails cleanly", function()
    local rc, out, err = tcssl{ "issue-free", "--domain", "dl-files.example.com", "--yes", "--output", "json",
      "--poll-interval", "0.1" }
    assert.equal(0, rc, err)
    local id = assert(json.decode(out)).CertificateId
    assert.is_string(id)
    local dir = tmp .. "/dl"
    assert(sh("mkdir -p " .. quote(dir .. "/dl-files.example.com_nginx")) == 0)
    write(dir .. "/privkey.pem", OLD_KEY)
    assert(sh("chmod 644 " .. quote(dir .. "/privkey.pem")) == 0)
    local target = write(tmp .. "/dl-target", "someone else's file\n")
    local key_entry = dir .. "/dl-files.example.com_nginx/dl-files.example.com.key"
    assert(sh("ln -s " .. quote(target) .. " " .. quote(key_entry)) == 0)

    rc, out, err = tcssl{ "download", "--id", id, "--out", dir }
    assert.equal(0, rc, err)
    assert.matches("with its private key", out)
    assert.equal("600", mode(dir .. "/privkey.pem"))
    assert.is_false(is_link(key_entry))
    assert.equal("600", mode(key_entry))
    assert.equal(read(dir .. "/privkey.pem"), read(key_entry))
    assert.equal("someone else's file\n", read(target))
    local _, found = sh("find " .. quote(dir) .. " -type f \\( -name '*.key' -o -name '*.pfx' -o -name "
      .. "'keystorePass.txt' -o -name privkey.pem \\) -printf '%m %P\\n' | sort")
    local count = 0
    for line in found:gmatch("[^\n]+") do
      count = count + 1
      assert.matches("^600 ", line)
    end
    assert.is_true(count >= 5, found) -- privkey.pem, the .key files and the key stores
    local _, temps = sh("find " .. quote(dir) .. " -name '.tcssl-*'")
    assert.equal("", temps)

    -- a write that fails: a message naming the file, exit status 1, no traceback
    assert(sh("rm -f " .. quote(dir .. "/privkey.pem") .. " && mkdir " .. quote(dir .. "/privkey.pem")) == 0)
    rc, out, err = tcssl{ "download", "--id", id, "--out", dir }
    assert.equal(1, rc, err .. out)
    assert.matches("^tcssl: tcssl io error IsDirectory: cannot write .*/privkey%.pem: ", err)
    assert.is_nil(err:find("traceback", 1, true))
    assert.is_nil(err:find("PRIVATE KEY", 1, true))
  end)
end)

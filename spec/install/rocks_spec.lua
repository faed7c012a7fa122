-- The LuaRocks routes of README "LuaRocks", end to end (mk/rocks.mk, test-rocks, after
-- `make rocks-config`): the rocks are made from a copy of this clone into temporary trees with
-- Debian's packages standing for the rocks they depend on (nothing is downloaded), then used
-- from a shell whose environment holds only PATH, a HOME of its own and what
-- `luarocks path --tree T` prints, in a folder outside the clone. Every command is bounded by
-- timeout(1); the trees are removed in teardown.
local util = require "spec.support.util"
local emu = require "spec.support.emulator"

local quote = util.quote
local ROOT = util.lines("pwd")[1]
local VERSION = util.must_read("VERSION"):match("^(%S+)")
local ID, KEY = "AKIDROCKSSPEC", "rocks-spec-secret-key-0123456789"

-- Runs `script` with sh under timeout in a clean environment (plus `env`); returns the status
-- and the output (stdout and stderr).
local function clean_sh(limit, script, env)
  local words = { "timeout", "-k", "5", tostring(limit), "env", "-i", "PATH=/usr/bin:/bin" }
  for k, v in pairs(env or {}) do words[#words + 1] = k .. "=" .. quote(v) end
  return util.sh(table.concat(words, " ") .. " sh -c " .. quote(script))
end

-- A copy of the clone's files (tracked and new, not ignored): `luarocks make` builds in the
-- folder it runs in, and the clone's own tree stays as it is.
local function copy_clone(dir)
  local list = {}
  for _, path in ipairs(util.lines("git ls-files -co --exclude-standard")) do
    local f = io.open(path, "rb")
    if f then
      f:close()
      list[#list + 1] = path
    end
  end
  local files = util.tmpfile(table.concat(list, "\n") .. "\n")
  local ok, out = util.run(("tar -cf - -T %s | tar -xf - -C %s"):format(quote(files), quote(dir)))
  os.remove(files)
  assert(ok, out)
end

-- One route: its luarocks flags, config (build/luarocks-config-*.lua) and interpreter.
local ROUTES = {
  ["Lua 5.4"] = { flags = "--lua-version=5.4", config = "build/luarocks-config-5.4.lua", lua = "lua5.4",
    rockspec = "rockspec/tcssl-scm-1.rockspec" },
  LuaJIT = { flags = "--lua-version=5.1", config = "build/luarocks-config-luajit.lua", lua = "luajit",
    rockspec = ROOT .. "/build/rockspec-luajit/tcssl-scm-1.rockspec" },
}

-- The client in the installed tree, through the library: one DescribeCertificates.
local CLIENT = [[
local f = assert(io.open(arg[1], "rb"))
local id, key = f:read("*l"), f:read("*l")
f:close()
local tcssl = require "tcssl"
local client = assert(tcssl.new{ endpoint = arg[2], scheme = "http", secret_id = id, secret_key = key,
  region = "ap-guangzhou", timeout = 10 })
local res, err = client:call("DescribeCertificates", { Limit = 5 })
if not res then
  io.stderr:write("DescribeCertificates failed: ", tostring(err and err.code), "\n")
  os.exit(1)
end
print("tcssl " .. package.searchpath("tcssl", package.path))
print("core " .. package.searchpath("tcssl.core", package.cpath))
print("TotalCount " .. tostring(res.TotalCount))
]]

for _, name in ipairs({ "Lua 5.4", "LuaJIT" }) do
  local route = ROUTES[name]

  describe("the tcssl rock for " .. name .. ", made with luarocks into a temporary tree", function()
    local work, tree, src, server, keys
    local env

    setup(function()
      work = util.temp_dir("rocks")
      tree, src = work .. "/tree", work .. "/src"
      assert(util.run(("mkdir %s %s %s/home"):format(quote(tree), quote(src), quote(work))))
      copy_clone(src)
      keys = work .. "/keys"
      util.write(keys, ID .. "\n" .. KEY .. "\n")
      env = { HOME = work .. "/home", LUAROCKS_CONFIG = ROOT .. "/" .. route.config }
      server = emu.start{ keys = { [ID] = { secret_key = KEY } }, max_lifetime = 90 }
    end)

    teardown(function()
      emu.cleanup(server)
      if work and util.is_temp_dir(work) then util.remove_dir(work) end
    end)

    -- the environment of a user who ran `eval "$(luarocks path --tree T)"` (and nothing else)
    local function in_tree(script)
      return ('eval "$(luarocks %s path --tree %s)" && cd %s && %s'):format(route.flags, quote(tree),
        quote(work), script)
    end

    it("builds and installs with only Debian packages", function()
      local rc, out = clean_sh(120, ("cd %s && luarocks %s make %s --tree %s"):format(quote(src), route.flags,
        quote(route.rockspec), quote(tree)), env)
      assert.equal(0, rc, out)
      assert.matches("tcssl scm%-1 is now installed", out)
      assert.is_nil(out:find("Missing dependencies", 1, true), out)
    end)

    it("is found by require from that tree alone, with the version of VERSION", function()
      local rc, out = clean_sh(20, in_tree(route.lua .. [[ -e 'local t = require "tcssl"
        io.write(package.searchpath("tcssl.core", package.cpath), " ", require("tcssl.core").version, "\n")']]),
        env)
      assert.equal(0, rc, out)
      local abi = name == "LuaJIT" and "5.1" or "5.4"
      assert.equal(tree .. "/lib/lua/" .. abi .. "/tcssl/core.so " .. VERSION .. "\n", out)
    end)

    it("calls DescribeCertificates against an emulator", function()
      local script = work .. "/client.lua"
      util.write(script, CLIENT)
      local rc, out = clean_sh(30, in_tree(("%s %s %s %s"):format(route.lua, quote(script), quote(keys),
        quote(server.host))), env)
      assert.equal(0, rc, out)
      assert.matches("^tcssl " .. tree:gsub("%p", "%%%0") .. "/share/lua/5%.%d/tcssl/init%.lua\n", out)
      assert.matches("\nTotalCount %d+\n$", out)
    end)

    it("installs a tcssl command that prints the version", function()
      local rc, out = clean_sh(20, in_tree("tcssl --version"), env)
      assert.equal(0, rc, out)
      assert.equal("tcssl " .. VERSION .. "\n", out)
    end)

    it("installs a tcssl command that finds its modules without luarocks path", function()
      local rc, out = clean_sh(20, ("cd %s && %s/bin/tcssl --version"):format(quote(work), quote(tree)), env)
      assert.equal(0, rc, out)
      assert.equal("tcssl " .. VERSION .. "\n", out)
    end)

    if name == "Lua 5.4" then
      it("has an emulator rock that installs beside it and serves the installed client", function()
        local rc, out = clean_sh(120, ("cd %s && luarocks %s make %s --tree %s"):format(quote(src), route.flags,
          "rockspec/tcssl-emulator-scm-1.rockspec", quote(tree)), env)
        assert.equal(0, rc, out)
        assert.matches("tcssl%-emulator scm%-1 is now installed", out)
        -- started from the tree: the first line says where it listens; --max-lifetime ends it
        local keys_file = work .. "/emulator-keys"
        util.write(keys_file, ID .. ":" .. KEY .. "\n")
        local words = { "timeout", "-k", "5", "60", "env", "-i", "PATH=/usr/bin:/bin" }
        for k, v in pairs(env) do words[#words + 1] = k .. "=" .. quote(v) end
        local proc = assert(io.popen(table.concat(words, " ") .. " sh -c " .. quote(in_tree(
          "exec tcssl-emulator --port 0 --max-lifetime 30 --keys-file " .. quote(keys_file))) .. " 2>&1", "r"))
        local line = proc:read("*l") or ""
        local host, pid = line:match("^tcssl%-emulator listening on http://(127%.0%.0%.1:%d+) pid=(%d+)$")
        local ok, call_out
        if host then
          local script = work .. "/client.lua"
          util.write(script, CLIENT)
          local crc
          crc, call_out = clean_sh(30, in_tree(("lua5.4 %s %s %s"):format(quote(script), quote(keys), quote(host))),
            env)
          ok = crc == 0
          os.execute("kill " .. pid .. " 2>/dev/null")
        end
        proc:close()
        assert.is_not_nil(host, "the installed emulator did not start: " .. line)
        assert.is_true(ok, call_out)
        assert.matches("\nTotalCount %d+\n$", call_out)
      end)
    end
  end)
end

describe("make dist", function()
  it("builds the same tarball twice and writes its md5 into the versioned rockspecs", function()
    local rc, out = util.sh("timeout 60 make --no-print-directory -s dist 2>&1")
    assert.equal(0, rc, out)
    local tarball = "build/dist/tcssl-" .. VERSION .. ".tar.gz"
    local first = util.lines("md5sum " .. tarball)[1]:match("^(%x+)")
    rc, out = util.sh("timeout 60 make --no-print-directory -s dist 2>&1")
    assert.equal(0, rc, out)
    assert.equal(first, util.lines("md5sum " .. tarball)[1]:match("^(%x+)"))
    for _, name in ipairs({ "tcssl", "tcssl-emulator" }) do
      local text = util.must_read(("rockspec/%s-%s-1.rockspec"):format(name, VERSION))
      assert.matches('\nversion = "' .. VERSION:gsub("%p", "%%%0") .. '%-1"\n', text)
      assert.matches('\n  md5 = "' .. first .. '",\n', text)
      assert.matches('\n  dir = "tcssl%-' .. VERSION:gsub("%p", "%%%0") .. '",\n', text)
    end
    -- the tarball holds the clone's files under tcssl-<version>/
    local listing = table.concat(util.lines("tar -tzf " .. tarball), "\n")
    for _, path in ipairs({ "VERSION", "LICENSE", "rockspec/tcssl-scm-1.rockspec", "csrc/core.c",
        "lua/tcssl/init.lua" }) do
      assert.is_not_nil(listing:find("tcssl-" .. VERSION .. "/" .. path, 1, true), path)
    end
  end)

  it("gives a rockspec that luarocks packs into a source rock, which builds and loads", function()
    local work = util.temp_dir("dist")
    finally(function() util.remove_dir(work) end)
    local env = { HOME = work, LUAROCKS_CONFIG = ROOT .. "/build/luarocks-config-5.4.lua" }
    local rockspec = ("%s/rockspec/tcssl-%s-1.rockspec"):format(ROOT, VERSION)
    local rc, out = clean_sh(120, ("cd %s && luarocks --lua-version=5.4 pack %s && "
      .. "luarocks --lua-version=5.4 build tcssl-%s-1.src.rock --tree tree && "
      .. "eval \"$(luarocks --lua-version=5.4 path --tree tree)\" && "
      .. [[lua5.4 -e 'io.write(require("tcssl.core").version, "\n")']]):format(quote(work), quote(rockspec), VERSION),
      env)
    assert.equal(0, rc, out)
    assert.matches("tcssl " .. VERSION:gsub("%p", "%%%0") .. "%-1 is now installed", out)
    assert.matches("\n" .. VERSION:gsub("%p", "%%%0") .. "\n$", out)
  end)
end)

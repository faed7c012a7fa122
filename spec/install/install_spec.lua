-- make install, end to end: into a DESTDIR staging tree (then moved elsewhere), into a PREFIX
-- for Lua 5.4 and for LuaJIT, and through a symlink to the command. Each tree is then used from
-- a shell that has nothing of the clone: env -i with PATH (the tree's bin/ and the system's)
-- and HOME only, LUA_PATH / LUA_CPATH naming the tree only where the interpreter itself must
-- find the modules (`require "tcssl"`), none for the installed commands. There: require, the
-- command's --version, the emulator started from the tree, and calls of the command against it.
-- And `make env`: a clone's modules from a directory outside it (examples/quickstart.lua).
-- Run by `make test-install` (mk/install.mk), which builds both cores first; every command is
-- bounded by timeout(1), and every tree is removed at the end.
local util = require "spec.support.util"
local emu = require "spec.support.emulator"

local q = util.quote
local CLONE = util.lines("pwd")[1]
local ID, KEY = "AKIDinstallspec", "testsecretkeytestsecretkey-install"
local SYSTEM_PATH = "/usr/bin:/bin"

-- make, run in the clone without the outer make's flags and jobserver (make test runs this).
local function make(args)
  return util.run("cd " .. q(CLONE) .. " && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL timeout 120 make -s " .. args)
end

-- A shell command run with only `vars` ({ "NAME=value", ... }) in its environment.
local function clean_env(vars, command)
  local words = { "env -i", "PATH=" .. q(vars.path .. ":" .. SYSTEM_PATH), "HOME=" .. q(vars.home) }
  for _, v in ipairs(vars) do words[#words + 1] = q(v) end
  words[#words + 1] = command
  return table.concat(words, " ")
end

local function lua_paths(lua, tree)
  local ver = lua == "luajit" and "5.1" or "5.4"
  local share = tree .. "/share/lua/" .. ver
  return { "LUA_PATH=" .. share .. "/?.lua;" .. share .. "/?/init.lua;;",
    "LUA_CPATH=" .. tree .. "/lib/lua/" .. ver .. "/?.so;;" }
end

-- Runs fn(server) with an emulator started with `opts`, and stops it however fn ends (busted
-- keeps one `finally` per test, and a route is checked twice in one).
local function with_server(opts, fn)
  local server = emu.start(opts)
  local ok, err = pcall(fn, server)
  server:stop()
  if not ok then error(err, 0) end
end

-- The checks every route shares: `bin` holds the commands (the tree's bin/, or a folder of links
-- to them), `tree` the modules, `lua` the interpreter they were installed for.
local function check_route(route)
  local home = route.home
  local env = { path = route.bin, home = home }
  local with_paths = { path = route.bin, home = home, table.unpack(lua_paths(route.lua, route.tree)) }

  local ok, out = util.run(clean_env(with_paths, "timeout 20 " .. route.lua ..
    [[ -e 'require "tcssl"; assert(package.searchpath("tcssl.core", package.cpath)); print(package.path)']]))
  assert.is_true(ok, out)

  ok, out = util.run(clean_env(env, "timeout 20 tcssl --version"))
  assert.is_true(ok, out)
  assert.truthy(out:find("^tcssl %d+%.%d+%.%d+"), out)

  local first = util.must_read(route.tree .. "/bin/tcssl"):match("^[^\n]*")
  assert.equal("#!/usr/bin/env " .. route.lua, first)
  assert.equal(first, util.must_read(route.tree .. "/bin/tcssl-emulator"):match("^[^\n]*"))

  with_server({ keys = { [ID] = { secret_key = KEY } }, max_lifetime = 60,
    command = clean_env(env, "timeout 60 tcssl-emulator") }, function(server)
    local call_env = { path = route.bin, home = home, "TENCENTCLOUD_SECRET_ID=" .. ID,
      "TENCENTCLOUD_SECRET_KEY=" .. KEY, "TCSSL_ENDPOINT=" .. server.host, "TCSSL_SCHEME=http",
      "TENCENTCLOUD_REGION=ap-guangzhou" }
    ok, out = util.run(clean_env(call_env, "timeout 20 tcssl DescribeCertificates --Limit 10"))
    assert.is_true(ok, out)
    assert.truthy(out:find('"TotalCount": 0', 1, true), out)
    -- a reply the emulator makes from the model (its integers under the interpreter's numbers)
    ok, out = util.run(clean_env(call_env, "timeout 20 tcssl DescribePackages"))
    assert.is_true(ok, out)
    assert.truthy(out:find('"RequestId"', 1, true), out)
    assert.equal(2, server:stats().api_requests)
  end)
end

describe("make install", function()
  local dir
  setup(function()
    dir = util.temp_dir("install")
    util.sh("mkdir -p " .. q(dir .. "/home"))
  end)
  teardown(function() util.remove_dir(dir) end)

  it("installs into DESTDIR for PREFIX=/usr/local; the tree works once moved, and through a symlink", function()
    local ok, out = make("install DESTDIR=" .. q(dir .. "/stage") .. " PREFIX=/usr/local")
    assert.is_true(ok, out)
    local tree = dir .. "/moved"
    assert.is_true(util.run("mv " .. q(dir .. "/stage/usr/local") .. " " .. q(tree)))
    check_route{ lua = "lua5.4", tree = tree, bin = tree .. "/bin", home = dir .. "/home" }
    -- the manual page and the completions, made from the same text as --help
    local page = util.read(tree .. "/share/man/man1/tcssl.1")
    assert.matches("^%.TH TCSSL 1 ", page)
    assert.truthy(page:find("generate\\-cli\\-skeleton", 1, true), "the options of --help")
    assert.matches("%.SH EXIT STATUS", page)
    local bash = util.read(tree .. "/share/bash-completion/completions/tcssl")
    assert.matches("complete %-o default %-F _tcssl tcssl", bash)
    assert.matches("^#compdef tcssl", util.read(tree .. "/share/zsh/site-functions/_tcssl"))

    -- the commands linked from elsewhere find the tree behind the links
    local links = dir .. "/links"
    assert.is_true(util.run("mkdir -p " .. q(links) .. " && ln -s " .. q(tree .. "/bin/tcssl") .. " "
      .. q(tree .. "/bin/tcssl-emulator") .. " " .. q(links)))
    assert.is_true(util.is_link(links .. "/tcssl"))
    check_route{ lua = "lua5.4", tree = tree, bin = links, home = dir .. "/home" }
  end)

  for _, lua in ipairs{ "lua5.4", "luajit" } do
    it("installs into PREFIX for " .. lua .. ", and the commands need no LUA_PATH there", function()
      local tree = dir .. "/prefix-" .. lua
      local ok, out = make("install LUA=" .. lua .. " PREFIX=" .. q(tree))
      assert.is_true(ok, out)
      assert.truthy(util.read(tree .. "/lib/lua/" .. (lua == "luajit" and "5.1" or "5.4") .. "/tcssl/core.so"))
      check_route{ lua = lua, tree = tree, bin = tree .. "/bin", home = dir .. "/home" }
    end)
  end
end)

describe("make env", function()
  it("puts the clone on the path of a shell elsewhere: examples/quickstart.lua runs", function()
    local dir = util.temp_dir("env")
    finally(function() util.remove_dir(dir) end)
    with_server({ keys = { [ID] = { secret_key = KEY } }, max_lifetime = 60 }, function(server)
      local script = table.concat({
        "eval \"$(cd " .. q(CLONE) .. " && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s env)\"",
        "cd " .. q(dir),
        "timeout 20 lua5.4 " .. q(CLONE .. "/examples/quickstart.lua") }, " && ")
      local ok, out = util.run(clean_env({ path = "/usr/bin", home = dir, "TENCENTCLOUD_SECRET_ID=" .. ID,
        "TENCENTCLOUD_SECRET_KEY=" .. KEY, "TCSSL_ENDPOINT=" .. server.host, "TCSSL_SCHEME=http" },
        "sh -c " .. q(script)))
      assert.is_true(ok, out)
      assert.truthy(out:find("0 certificate(s)", 1, true), out)
    end)
  end)
end)

-- The packaging's facts that need no build: the version is written once (VERSION) and the
-- scm rockspec agrees with it; the client's rock depends only on what the client loads; the
-- Makefile passes the caller's build flags and keeps -Werror for development and CI.
-- (The rocks themselves are built and used by spec/install/rocks_spec.lua, `make test-rocks`.)
local util = require "spec.support.util"

local read = util.must_read

local function rockspec(path)
  local env = {}
  assert(load(read(path), "=" .. path, "t", env))()
  return env
end

local VERSION = read("VERSION"):match("^(%d+%.%d+%.%d+)\n$")

describe("the version", function()
  it("is written once, in VERSION", function()
    assert.is_string(VERSION, "VERSION holds one version and a newline")
  end)

  it("is the one the scm rockspec compiles into the core (tools/gen-rockspec.lua sync)", function()
    local core = rockspec("rockspec/tcssl-scm-1.rockspec").build.modules["tcssl.core"]
    assert.same({ ('TCSSL_VERSION="%s"'):format(VERSION) }, core.defines)
  end)

  it("is the one the Makefile compiles into the core", function()
    local ok, out = util.run("make --no-print-directory -n -B all")
    assert.is_true(ok, out)
    assert.matches("%-DTCSSL_VERSION='\"" .. VERSION:gsub("%p", "%%%0") .. "\"'", out)
  end)
end)

describe("the client's rockspec", function()
  local spec = rockspec("rockspec/tcssl-scm-1.rockspec")

  it("claims the Lua versions the core builds for, and depends on nothing the client does not load", function()
    assert.same({ "lua >= 5.3", "lua-cjson >= 2.1.0" }, spec.dependencies)
    -- every module the client's Lua code requires from outside tcssl, but for those that
    -- OpenResty itself provides (lua-resty-core's ngx.*, for tcssl.serve inside nginx)
    local outside, redis = {}, {}
    for _, path in ipairs(util.lines("find lua/tcssl -name '*.lua'")) do
      for name in read(path):gmatch('require%s*%(?%s*"([%w_.]+)"') do
        -- the Redis adapter loads Debian's luasocket, luasec and luaossl, only when it is used
        local into = path == "lua/tcssl/shared/redis.lua" and redis or outside
        if not name:find("^tcssl") and not name:find("^ngx%.") then into[name] = true end
      end
    end
    assert.same({ cjson = true }, outside)
    assert.same({ socket = true, ssl = true, ["openssl.cipher"] = true }, redis)
  end)

  it("has a homepage, the license of LICENSE, and a test command", function()
    assert.is_string(spec.description.homepage)
    assert.equal("MIT", spec.description.license)
    assert.matches("^MIT License\n", read("LICENSE"))
    assert.equal("command", spec.test.type)
  end)

  it("finds curl by its library, which Debian's multiarch layout does not hide from LuaRocks", function()
    assert.same({ library = "curl" }, spec.external_dependencies.LIBCURL)
  end)
end)

describe("the Makefile's compile line for the core", function()
  local function line(args)
    -- without the WERROR and DEVELOPER of the calling shell (make test exports WERROR)
    local ok, out = util.run("env -u WERROR -u DEVELOPER make --no-print-directory -n -B all " .. args)
    assert.is_true(ok, out)
    return out:match("\n([^\n]*%-o lua/tcssl/core%.so[^\n]*)") or out
  end

  it("passes CC, CFLAGS, CPPFLAGS and LDFLAGS", function()
    local out = line("CC=my-cc CFLAGS=-O1 CPPFLAGS=-D_FORTIFY_SOURCE=2 LDFLAGS=-Wl,-z,relro")
    assert.matches("^my%-cc ", out)
    for _, flag in ipairs({ " %-O1 ", " %-D_FORTIFY_SOURCE=2 ", " %-Wl,%-z,relro " }) do
      assert.matches(flag, out)
    end
  end)

  it("makes warnings errors only when asked (make test, .ci/run, DEVELOPER=1)", function()
    assert.is_nil(line(""):find("-Werror", 1, true))
    assert.matches(" %-Werror ", line("DEVELOPER=1"))
  end)
end)

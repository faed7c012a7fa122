-- The emulator as a package of its own: lua/tcssl_emulator/ and bin/tcssl-emulator, listed by
-- rockspec/tcssl-emulator-scm-1.rockspec with the dependencies only it has; the client's
-- package neither lists nor loads it. And its command line, run in-process.
local cli = require "tcssl_emulator.cli"
local util = require "spec.support.util"

local read, lines_of = util.must_read, util.lines

local function rockspec(path)
  local env = {}
  assert(load(read(path), "=" .. path, "t", env))()
  return env
end

-- A stream that keeps what is written to it.
local function sink()
  return { text = "", write = function(self, ...)
    for _, s in ipairs({ ... }) do self.text = self.text .. tostring(s) end
    return self
  end, flush = function() end }
end

describe("the tcssl-emulator package", function()
  it("lists every module of lua/tcssl_emulator/ under its name, and the launcher", function()
    local spec = rockspec("rockspec/tcssl-emulator-scm-1.rockspec")
    assert.equal("tcssl-emulator", spec.package)
    local files = lines_of("ls lua/tcssl_emulator/*.lua")
    assert.is_true(#files > 1)
    local listed = {}
    for module, path in pairs(spec.build.modules) do
      assert.is_not_nil(io.open(path, "rb"), path .. " is listed but absent")
      listed[path] = module
    end
    for _, path in ipairs(files) do
      local name = path:match("^lua/(.*)%.lua$"):gsub("/init$", ""):gsub("/", ".")
      assert.equal(name, listed[path], path .. " is not in the rockspec under its module name")
    end
    local count = 0
    for _ in pairs(listed) do count = count + 1 end
    assert.equal(#files, count, "the rockspec lists a module that is not in lua/tcssl_emulator/")
    assert.same({ ["tcssl-emulator"] = "bin/tcssl-emulator" }, spec.build.install.bin)
  end)

  it("depends on the client and on the libraries only the server needs", function()
    local deps = {}
    for _, d in ipairs(rockspec("rockspec/tcssl-emulator-scm-1.rockspec").dependencies) do
      deps[d:match("^(%S+)")] = true
    end
    for _, name in ipairs({ "tcssl", "luasocket", "luasec", "luaossl" }) do
      assert.is_true(deps[name], "tcssl-emulator should depend on " .. name)
    end
  end)

  -- `tcssl emulator` is the one door: the command's forwarder loads the package when run,
  -- and says so when it is not installed
  local FORWARDER = "lua/tcssl/cli/emulator.lua"

  it("is neither listed nor loaded by the client's package", function()
    local spec = rockspec("rockspec/tcssl-scm-1.rockspec")
    for module, path in pairs(spec.build.modules) do
      if path ~= FORWARDER then
        assert.is_nil(module:find("emulator", 1, true), module)
        if type(path) == "string" then assert.is_nil(path:find("emulator", 1, true), path) end
      end
    end
    assert.is_nil(spec.build.install.bin["tcssl-emulator"])
    for _, path in ipairs(lines_of("find lua/tcssl -name '*.lua'")) do
      if path ~= FORWARDER then
        assert.is_nil(read(path):find("tcssl_emulator", 1, true), path .. " loads the emulator")
      end
    end
  end)
end)

describe("tcssl_emulator.cli", function()
  it("prints its usage for --help", function()
    local out, err = sink(), sink()
    assert.equal(0, cli.main({ "--help" }, out, err))
    assert.matches("^usage: tcssl%-emulator", out.text)
    assert.equal("", err.text)
  end)

  it("answers a usage error with status 2 and a message, not a traceback", function()
    for _, argv in ipairs({ { "--bogus" }, { "--port" }, { "--port", "-1" }, { "--tls-cert", "x.pem" },
        { "--key", "no-colon" }, { "--keys-file", "/nonexistent/keys" } }) do
      local out, err = sink(), sink()
      assert.equal(2, cli.main(argv, out, err), table.concat(argv, " "))
      assert.matches("^tcssl%-emulator: [^\n]+\n$", err.text)
      assert.is_nil(err.text:find("traceback", 1, true))
      assert.equal("", out.text)
    end
  end)

  it("reports a server that cannot start with status 2", function()
    local out, err = sink(), sink()
    assert.equal(2, cli.main({ "--tls-cert", "/nonexistent/c.pem", "--tls-key", "/nonexistent/k.pem" }, out, err))
    assert.matches("^tcssl%-emulator: TLS setup failed", err.text)
  end)

  it("starts, says where it listens, and stops at --max-lifetime", function()
    local out, err = sink(), sink()
    assert.equal(0, cli.main({ "--port", "0", "--max-lifetime", "0.05" }, out, err))
    assert.matches("^tcssl%-emulator listening on http://127%.0%.0%.1:%d+ pid=%d+\n$", out.text)
  end)
end)

-- Running the emulator: its lifetime (until stopped by hand, bounded for tests and saying so),
-- the demo key pair and the control endpoints in --help and the README, the two resets
-- (faults and counters; the store) and the --verbose request log.
local cli = require "tcssl_emulator.cli"
local emu = require "spec.support.emulator"
local wire = require "spec.support.wire"
local util = require "spec.support.util"

local connect, call, error_code = wire.connect, wire.call, wire.error_code

-- A stream that keeps what is written to it.
local function sink()
  return { text = "", write = function(self, ...)
    for _, s in ipairs({ ... }) do self.text = self.text .. tostring(s) end
    return self
  end, flush = function() end }
end

local CONTROL_ENDPOINTS = {
  "stats", "fault", "reset-faults", "reset-store", "reset", "config", "resources", "shutdown",
}

describe("tcssl emulator lifetime", function()
  it("runs until stopped when started without --max-lifetime", function()
    local real = package.loaded["tcssl_emulator"]
    local seen
    package.loaded["tcssl_emulator"] = { new = function(opts)
      seen = opts
      return { url = function() return "http://127.0.0.1:1" end, run = function() end }
    end }
    local out, err = sink(), sink()
    local ok, status = pcall(cli.main, { "--port", "0" }, out, err)
    package.loaded["tcssl_emulator"] = real
    assert.is_true(ok, status)
    assert.equal(0, status)
    assert.equal(0, seen.max_lifetime)
    assert.equal("", err.text) -- stopped otherwise than by its lifetime: nothing to say
  end)

  it("says on stderr that --max-lifetime ended it", function()
    local out, err = sink(), sink()
    assert.equal(0, cli.main({ "--port", "0", "--max-lifetime", "0.05" }, out, err))
    assert.matches("^tcssl%-emulator listening on ", out.text)
    assert.equal("tcssl-emulator: max lifetime of 0.05 s reached, stopping\n", err.text)
  end)
end)

describe("tcssl emulator documentation", function()
  local help = sink()
  assert.equal(0, cli.main({ "--help" }, help, sink()))
  local readme = util.must_read("README.md")
  local section = assert(readme:match("\n## The emulator\n(.-)\n## "), "README has an emulator section")

  it("gives the demo key pair in --help and the README", function()
    local emulator = require "tcssl_emulator"
    assert.equal(emu.DEMO_SECRET_ID, emulator.DEMO_SECRET_ID)
    assert.equal(emu.DEMO_SECRET_KEY, emulator.DEMO_SECRET_KEY)
    for _, text in ipairs({ help.text, section }) do
      assert.truthy(text:find(emu.DEMO_SECRET_ID, 1, true))
      assert.truthy(text:find(emu.DEMO_SECRET_KEY, 1, true))
    end
  end)

  it("lists every control endpoint in --help and the README", function()
    for _, name in ipairs(CONTROL_ENDPOINTS) do
      assert.truthy(help.text:find("%s" .. name:gsub("%-", "%%-") .. "%s"), name .. " in --help")
      assert.truthy(section:find("`[A-Z/]+ " .. name:gsub("%-", "%%-") .. "`"), name .. " in the README")
    end
    assert.truthy(help.text:find("--max-lifetime", 1, true))
  end)
end)

describe("tcssl emulator control endpoints", function()
  local e, c

  setup(function() e = emu.start{ keys = wire.KEYS } end)
  teardown(function() emu.cleanup(e) end)
  before_each(function()
    e:reset()
    c = connect(e)
  end)
  after_each(function() if c then c:close() end end)

  -- Puts something in each part: a certificate order, a changed setting, an armed fault, a request.
  local function fill()
    local r = call(c, "ApplyCertificate", { DvAuthMethod = "DNS", DomainName = "ops.example.com" })
    assert.is_string(r.CertificateId)
    local _, status = e:control("POST", "config", '{"task_polls": 7}')
    assert.equal(200, status)
    e:fault{ type = "http500", count = 1, action = "NoSuchActionAnywhere" }
    local stats = e:stats()
    assert.equal(1, stats.certificates)
    assert.equal(1, stats.faults_pending)
    assert.equal(1, stats.requests)
  end

  local function task_polls() return (e:control("GET", "config")).task_polls end

  it("reset-faults disarms the faults and zeroes the counters, and keeps the store", function()
    fill()
    local result, status = e:control("POST", "reset-faults")
    assert.equal(200, status)
    assert.is_true(result.ok)
    local stats = e:stats()
    assert.equal(0, stats.faults_pending)
    assert.equal(0, stats.requests)
    assert.equal(1, stats.certificates)
    assert.equal(7, task_polls())
  end)

  it("reset-faults undoes the clock fault", function()
    e:fault{ type = "clock", offset = -3600 }
    assert.equal("AuthFailure.SignatureExpire", error_code(call(c, "DescribeCertificates", {})))
    e:control("POST", "reset-faults")
    assert.is_nil(error_code(call(c, "DescribeCertificates", {})))
  end)

  it("reset-store forgets certificates and settings, and keeps faults and counters", function()
    fill()
    local result, status = e:control("POST", "reset-store")
    assert.equal(200, status)
    assert.is_true(result.ok)
    local stats = e:stats()
    assert.equal(0, stats.certificates)
    assert.equal(1, stats.faults_pending)
    assert.equal(1, stats.requests)
    assert.is_not.equal(7, task_polls())
    -- the accepted keys stay
    assert.is_nil(error_code(call(c, "DescribeCertificates", {})))
  end)

  it("reset does both", function()
    fill()
    e:reset()
    local stats = e:stats()
    assert.equal(0, stats.certificates)
    assert.equal(0, stats.faults_pending)
    assert.equal(0, stats.requests)
    assert.is_not.equal(7, task_polls())
  end)

  it("takes the resets by POST only", function()
    for _, name in ipairs({ "reset", "reset-faults", "reset-store" }) do
      local result, status = e:control("GET", name)
      assert.equal(405, status)
      assert.equal("use POST", result.error)
    end
  end)
end)

describe("tcssl emulator --verbose", function()
  it("logs one line per request: action, verdict, status, duration, and no secret", function()
    local log_path = os.tmpname()
    local e = emu.start{ keys = wire.KEYS, args = { "--verbose" }, stderr = log_path }
    local c
    local ok, why = pcall(function()
      c = connect(e)
      assert.is_nil(error_code(call(c, "DescribeCertificates", {})))
      assert.equal("AuthFailure.SignatureFailure",
        error_code(call(c, "DescribeCertificates", {}, { key = "wrong-secret-key-for-the-log" })))
      assert.equal("InvalidAction", error_code(call(c, "NoSuchAction", {})))
      local query = wire.v1_params(c.host, "DescribeCertificates", {})
      local res = assert(c:request("GET", "/?" .. query, { Host = c.host }))
      assert.equal(200, res.status)
      assert.is_nil(error_code(wire.decode(res)))
      res = assert(c:request("GET", "/__download/downloadtoken0123/x.zip", { Host = c.host }))
      assert.equal(404, res.status)
      c:close()
      c = nil
      e:control("POST", "reset-faults")
      e:stop()

      local log = util.must_read(log_path)
      local lines = {}
      for line in log:gmatch("[^\n]+") do lines[#lines + 1] = line end
      local function expect(pattern)
        for _, line in ipairs(lines) do
          if line:find(pattern) then return end
        end
        error("no log line matches " .. pattern .. " in:\n" .. log)
      end
      local duration = " %d+%.%dms$"
      expect("^tcssl%-emulator: POST / action=DescribeCertificates verdict=ok status=200" .. duration)
      expect("^tcssl%-emulator: POST / action=DescribeCertificates verdict=AuthFailure%.SignatureFailure status=200"
        .. duration)
      expect("^tcssl%-emulator: POST / action=NoSuchAction verdict=InvalidAction status=200" .. duration)
      expect("^tcssl%-emulator: GET / action=DescribeCertificates verdict=ok status=200" .. duration)
      expect("^tcssl%-emulator: GET /__download/%.%.%. action=%- verdict=%- status=404" .. duration)
      expect("^tcssl%-emulator: POST /__emulator/reset%-faults action=%- verdict=%- status=200" .. duration)
      local signature = query:match("Signature=([^&]+)$")
      for _, secret in ipairs({ wire.KEY, wire.TEMP_KEY, "wrong-secret-key-for-the-log", signature,
          "downloadtoken0123", "Nonce=" }) do
        assert.is_nil(log:find(secret, 1, true), secret .. " in the log")
      end
    end)
    if c then c:close() end
    emu.cleanup(e)
    os.remove(log_path)
    assert(ok, why)
  end)
end)

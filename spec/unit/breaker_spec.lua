-- tcssl.breaker on its own, with a clock the spec moves: when it opens, half-opens and closes,
-- and which outcomes count; and the client's failover options (backup endpoints, settings).
-- The failover itself, between two emulators: spec/emulator/breaker_spec.lua.
local tcssl = require "tcssl"
local breaker = require "tcssl.breaker"

local ID, KEY = "AKIDBREAKER", "breaker-spec-secret-key-000000000"

describe("tcssl.breaker", function()
  local function make(settings)
    local t = { now = 1000 }
    return breaker.new(settings, function() return t.now end), t
  end

  it("opens on enough failures that are also a large enough share of the window", function()
    local b = make{ failures = 3, window = 60, ratio = 0.5 }
    for _ = 1, 4 do b:record(b:route(), "success") end
    b:record(b:route(), "failure")
    b:record(b:route(), "failure")
    b:record(b:route(), "failure")
    assert.equal("closed", b.state) -- 3 failures of 7 attempts
    b:record(b:route(), "failure")
    assert.equal("open", b.state)   -- 4 of 8
    assert.is_true(b:route() < 0)
  end)

  it("forgets failures older than the window", function()
    local b, t = make{ failures = 3, window = 60, ratio = 1 }
    b:record(b:route(), "failure")
    b:record(b:route(), "failure")
    t.now = t.now + 61
    b:record(b:route(), "failure")
    assert.equal("closed", b.state)
    b:record(b:route(), "failure")
    b:record(b:route(), "failure")
    assert.equal("open", b.state)
  end)

  it("counts neither success nor failure for what says nothing about the route", function()
    local b = make{ failures = 1 }
    b:record(b:route(), nil)
    assert.equal("closed", b.state)
    assert.same({ state = "closed", failures = 0, attempts = 0 }, b:status())
  end)

  it("lets one probe at a time through when half-open", function()
    local b, t = make{ failures = 1, cooldown = 30 }
    b:record(b:route(), "failure")
    assert.equal("open", b.state)
    t.now = t.now + 29
    assert.is_true(b:route() < 0)
    t.now = t.now + 1
    local probe = b:route()
    assert.is_true(probe > 0)
    assert.equal("half_open", b.state)
    assert.is_true(b:route() < 0) -- while the probe is out, the others use the backup
    b:record(probe, nil)          -- an inconclusive probe frees its place
    local again = b:route()
    assert.is_true(again > 0)
    t.now = t.now + 30            -- a probe that never reports frees it after a cool-down
    local third = b:route()
    assert.is_true(third > 0)
    b:record(third, "success")
    assert.equal("closed", b.state)
    assert.is_true(b:route() > 0)
  end)

  it("ignores outcomes of attempts routed before the last change of state", function()
    local b, t = make{ failures = 1, cooldown = 30 }
    local late = b:route()
    b:record(b:route(), "failure")
    assert.equal("open", b.state)
    b:record(late, "success") -- began while closed: says nothing about now
    assert.equal("open", b.state)
    local to_backup = b:route()
    t.now = t.now + 30
    local probe = b:route()
    b:record(to_backup, "failure") -- from the open period before: ignored
    assert.equal("half_open", b.state)
    b:record(probe, "failure")
    assert.equal("open", b.state)
  end)

  it("tries the primary again at once when the backup fails too", function()
    local b = make{ failures = 1, cooldown = 30 }
    b:record(b:route(), "failure")
    local ticket = b:route()
    assert.is_true(ticket < 0)
    b:record(ticket, "success")
    assert.equal("open", b.state)
    b:record(b:route(), "failure")
    assert.equal("half_open", b.state)
    assert.is_true(b:route() > 0)
  end)

  it("classifies outcomes: only unanswered attempts, or any network failure of a read, count", function()
    local cases = {
      { nil, { kind = "network", code = "ConnectFailed", sent = false }, false, "failure" },
      { nil, { kind = "timeout", code = "Timeout", sent = false }, false, "failure" },
      { nil, { kind = "network", code = "RecvFailed", sent = true }, true, "failure" },
      { nil, { kind = "timeout", code = "Timeout", sent = true }, true, "failure" },
      { nil, { kind = "network", code = "RecvFailed", sent = true }, false, nil },
      { nil, { kind = "timeout", code = "Timeout", sent = true }, false, nil },
      { nil, { kind = "network", code = "EmptyReply" }, false, nil }, -- unknown: may have arrived
      { nil, { kind = "network", code = "SessionFailed", sent = false }, true, nil },
      { nil, { kind = "tls", code = "TLSVerifyFailed", sent = false }, true, nil },
      { nil, { kind = "protocol", code = "UnexpectedStatus", http_status = 502 }, true, nil },
      { nil, { kind = "config", code = "NoCosockets", sent = false }, true, nil },
      { nil, { kind = "api", code = "InternalError" }, true, nil },
      { nil, { kind = "api", code = "FailedOperation.CertificateNotFound" }, false, "success" },
      { {}, nil, false, "success" },
    }
    for i, case in ipairs(cases) do
      assert.equal(case[4], breaker.outcome(case[1], case[2], case[3]), "case " .. i)
    end
  end)
end)

describe("options", function()
  local function make(cfg)
    cfg.secret_id, cfg.secret_key = ID, KEY
    return tcssl.new(cfg)
  end
  local function backup_of(cfg)
    local c = assert(make(cfg))
    return c.config.backup_endpoint, c.breaker
  end
  local function bad(cfg, field, text)
    local c, err = make(cfg)
    assert.is_nil(c)
    assert.equal("config", err.kind)
    assert.equal(field, err.field)
    if text then assert.truthy(err.message:find(text, 1, true), err.message) end
  end

  it("give the default hosts another access point of the same service as backup", function()
    assert.equal("ssl.ap-shanghai.tencentcloudapi.com", backup_of{ region = "ap-shanghai" })
    assert.equal("ssl.ap-guangzhou.tencentcloudapi.com", backup_of{})
    assert.equal("ssl.tencentcloudapi.com", backup_of{ region = "ap-beijing", regional_endpoint = true })
    assert.equal("ssl.ap-singapore.tencentcloudapi.com", backup_of{ region = "ap-singapore", site = "intl" })
    assert.is_false(backup_of{ site = "intl" })
    assert.is_false(backup_of{ region = "ap-shanghai-fsi" })
    assert.is_false(backup_of{ region = "ap-shenzhen-fsi", regional_endpoint = true })
    assert.is_false(backup_of{ endpoint = "127.0.0.1:1" })
    assert.is_false(backup_of{ region = "ap-shanghai", breaker = false })
    local legacy = assert(tcssl.legacy{ secret_id = ID, secret_key = KEY })
    assert.is_false(legacy.breaker)
    local _, b = backup_of{ region = "ap-shanghai" }
    assert.equal("closed", b.state)
    assert.same(breaker.DEFAULTS, { failures = b.failures, window = b.window, cooldown = b.cooldown, ratio = b.ratio })
  end)

  it("take a backup endpoint as a host, or in the SDKs' form without the service", function()
    assert.equal("127.0.0.1:2", backup_of{ endpoint = "127.0.0.1:1", backup_endpoint = "127.0.0.1:2" })
    local beijing = "ssl.ap-beijing.tencentcloudapi.com"
    assert.equal(beijing, backup_of{ backup_endpoint = "AP-Beijing.tencentcloudapi.com" })
    assert.equal(beijing, backup_of{ backup_endpoint = beijing })
    assert.equal("ssl.ap-shenzhen-fsi.tencentcloudapi.com",
      backup_of{ region = "ap-shanghai-fsi", backup_endpoint = "ap-shenzhen-fsi.tencentcloudapi.com" })
    assert.is_false(backup_of{ region = "ap-shanghai", backup_endpoint = false })
    local _, b = backup_of{ backup_endpoint = "127.0.0.1:2", breaker = { failures = 7, window = 10, cooldown = 5,
      ratio = 0.9 } }
    assert.same({ 7, 10, 5, 0.9 }, { b.failures, b.window, b.cooldown, b.ratio })
  end)

  it("refuse what cannot work, with config errors", function()
    bad({ backup_endpoint = "https://x/" }, "backup_endpoint")
    bad({ backup_endpoint = "host:0" }, "backup_endpoint")
    bad({ backup_endpoint = true }, "backup_endpoint")
    bad({ backup_endpoint = "ssl.tencentcloudapi.com" }, "backup_endpoint", "differ")
    bad({ endpoint = "127.0.0.1:1", backup_endpoint = "127.0.0.1:1" }, "backup_endpoint", "differ")
    bad({ endpoint = "127.0.0.1:1", breaker = true }, "backup_endpoint", "give backup_endpoint")
    bad({ region = "ap-shanghai-fsi", breaker = { failures = 2 } }, "backup_endpoint")
    bad({ region = "ap-shanghai-fsi", backup_endpoint = "ssl.ap-guangzhou.tencentcloudapi.com" }, "backup_endpoint",
      "financial")
    bad({ breaker = "on" }, "breaker")
    bad({ breaker = { failures = 0 } }, "breaker", "failures")
    bad({ breaker = { failures = 2.5 } }, "breaker", "failures")
    bad({ breaker = { window = 0 } }, "breaker", "window")
    bad({ breaker = { cooldown = math.huge } }, "breaker", "cooldown")
    bad({ breaker = { cooldown = 0 / 0 } }, "breaker", "cooldown")
    bad({ breaker = { ratio = 1.5 } }, "breaker", "ratio")
    bad({ breaker = { threshold = 3 } }, "breaker", "threshold")
  end)
end)

-- Endpoint failover (tcssl.breaker): a primary that does not answer sends calls to the backup,
-- the primary is tried again after the cool-down, and no change that may have reached a server
-- is sent anywhere again. Everything runs on loopback: the primary and the backup are local
-- emulators, a dead primary is a port that refuses connections, and time is a fake monotonic
-- clock that sleeping advances, so nothing waits for a cool-down.
local tcssl = require "tcssl"
local core = require "tcssl.core"
local breaker = require "tcssl.breaker"
local curl = require "tcssl.transport.curl"
local socket = require "socket"
local cjson = require "cjson.safe"
local emu = require "spec.support.emulator"

local ID, KEY = "AKIDBREAKER", "breaker-spec-secret-key-000000000"

local primary, backup, hold, dead
setup(function()
  primary = emu.start{ keys = { [ID] = { secret_key = KEY } } }
  backup = emu.start{ keys = { [ID] = { secret_key = KEY } } }
  -- a port bound but never listening refuses connections, and stays ours while the specs run
  hold = assert(socket.tcp())
  assert(hold:bind("127.0.0.1", 0))
  local _, port = hold:getsockname()
  dead = "127.0.0.1:" .. port
end)
teardown(function()
  if primary then primary:stop() end
  if backup then backup:stop() end
  if hold then hold:close() end
end)
before_each(function()
  primary:reset()
  backup:reset()
end)

local function api_requests(server) return server:stats().api_requests end

-- Fake time: sleeping advances the clock, nothing waits.
local function fake_time()
  local t = { now = 1000 }
  t.monotonic = function() return t.now end
  t.sleep = function(s)
    t.now = t.now + s
    return true
  end
  return t
end

-- The network between the client and the servers, over the real libcurl transport:
-- * it logs every attempt (host it went to, headers as the client signed them, body);
-- * a host in `down`, or with `fail_next[host]` attempts left, is sent to the dead port instead
--   (a real refused connection);
-- * it leaves the Host header to libcurl, which takes it from the URL: the emulator then checks
--   each signature against the host the request really went to;
-- * `before(entry)`, when set, runs before an attempt is sent (another call "at the same time").
local function network()
  local inner = curl.new()
  local net = { log = {}, down = {}, fail_next = {} }
  function net.request(_, method, url, headers, body, opts)
    local host = url:match("^https?://([^/]+)")
    local entry = { host = host, headers = headers, body = body, method = method, url = url }
    net.log[#net.log + 1] = entry
    if net.before then net.before(entry) end
    local left = net.fail_next[host] or 0
    if net.down[host] or left > 0 then
      net.fail_next[host] = left > 0 and left - 1 or nil
      url = url:gsub("^(https?://)[^/]+", function(scheme) return scheme .. dead end)
    end
    local sent = {}
    for k, v in pairs(headers) do
      if k ~= "Host" then sent[k] = v end
    end
    return inner:request(method, url, sent, body, opts)
  end
  function net.close() inner:close() end
  net.inner = inner
  -- the hosts of the attempts since the last call of hosts()
  local seen = 0
  function net.hosts()
    local list = {}
    for i = seen + 1, #net.log do list[#list + 1] = net.log[i].host end
    seen = #net.log
    return list
  end
  return net
end

local function client(extra)
  local ft, net = fake_time(), network()
  local cfg = { endpoint = primary.host, backup_endpoint = backup.host, scheme = "http", secret_id = ID,
    secret_key = KEY, timeout = 5, sleep = ft.sleep, monotonic = ft.monotonic, transport = net }
  for k, v in pairs(extra or {}) do cfg[k] = v end
  if cfg.credentials then cfg.secret_id, cfg.secret_key = nil, nil end
  local c = assert(tcssl.new(cfg))
  return c, net, ft
end

local function describe_ok(c)
  local res, err = c:DescribeCertificates{}
  assert(res, err and tostring(err))
  return res
end

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

describe("a dead primary", function()
  it("sends calls to the backup once the failures reach the threshold", function()
    local c, net = client{ endpoint = dead, breaker = { failures = 3 } }
    local res = describe_ok(c)
    assert.equal(4, tcssl.meta(res).attempts)
    assert.same({ dead, dead, dead, backup.host }, net.hosts())
    assert.equal("open", c.breaker.state)
    describe_ok(c)
    assert.same({ backup.host }, net.hosts())
    -- a change too: nothing of it reached the dead primary
    local _, err = c:DeleteCertificate{ CertificateId = "abcdefgh" }
    assert.equal("api", err.kind) -- answered by the backup
    assert.equal(1, err.attempts)
    assert.same({ backup.host }, net.hosts())
    assert.equal(3, api_requests(backup))
  end)

  it("fails as before without a breaker, or without a backup", function()
    for _, extra in ipairs{ { endpoint = dead, breaker = false }, { endpoint = dead, backup_endpoint = false } } do
      local c, net = client(extra)
      assert.is_false(c.breaker)
      local res, err = c:DescribeCertificates{}
      assert.is_nil(res)
      assert.equal("ConnectFailed", err.code)
      assert.equal(4, err.attempts)
      assert.same({ dead, dead, dead, dead }, net.hosts())
    end
    assert.equal(0, api_requests(backup))
  end)
end)

describe("the backup", function()
  for _, method in ipairs{ "TC3-HMAC-SHA256", "HmacSHA256" } do
    it("gets requests signed for its own host (" .. method .. ")", function()
      local c, net = client{ endpoint = dead, breaker = { failures = 1 }, sign_method = method }
      describe_ok(c) -- the emulator checked the signature against the host the request went to
      local log = net.log
      assert.equal(2, #log)
      assert.equal(backup.host, log[2].host)
      assert.equal(backup.host, log[2].headers.Host)
      assert.equal(dead, log[1].headers.Host)
      if method == "TC3-HMAC-SHA256" then
        local function sign(host)
          return core.tc3_sign{ secret_id = ID, secret_key = KEY, service = "ssl", host = host, method = "POST",
            query = "", content_type = "application/json", payload = log[2].body,
            timestamp = tonumber(log[2].headers["X-TC-Timestamp"]) }
        end
        assert.equal(sign(backup.host), log[2].headers.Authorization)
        assert.are_not.equal(sign(dead), log[2].headers.Authorization)
      end
    end)
  end

  it("refuses a request signed for the primary's host (the check above is real)", function()
    local c, net = client{ endpoint = dead }
    local req = assert(c:prepare("DescribeCertificates", {}))
    local headers = {}
    for k, v in pairs(req.headers) do
      if k ~= "Host" then headers[k] = v end
    end
    local url = req.url:gsub("^(https?://)[^/]+", function(scheme) return scheme .. backup.host end)
    local status, _, body = net.inner:request(req.method, url, headers, req.body, { timeout = 5 })
    assert.equal(200, status)
    assert.equal("AuthFailure.SignatureFailure", cjson.decode(body).Response.Error.Code)
  end)
end)

describe("a flapping primary", function()
  it("keeps the primary when its failures are a small share of the calls", function()
    local c, net = client{ breaker = { failures = 3 } }
    for _ = 1, 4 do
      net.fail_next[primary.host] = 1
      assert.equal(2, tcssl.meta(describe_ok(c)).attempts)
      describe_ok(c)
      describe_ok(c)
    end
    assert.equal("closed", c.breaker.state) -- 4 failures of 16 attempts
    assert.equal(0, api_requests(backup))
  end)

  it("keeps the primary when its failures are further apart than the window", function()
    local c, net, ft = client{ breaker = { failures = 3, window = 60 } }
    for _ = 1, 4 do
      net.fail_next[primary.host] = 1
      assert.equal(2, tcssl.meta(describe_ok(c)).attempts)
      ft.now = ft.now + 61
    end
    assert.equal("closed", c.breaker.state) -- half of the attempts failed, but never 3 in a minute
    assert.equal(0, api_requests(backup))
  end)

  it("goes to the backup while it flaps, back after the cool-down, and away again", function()
    local c, net, ft = client{ breaker = { failures = 3, cooldown = 30 } }
    for _ = 1, 2 do
      net.fail_next[primary.host] = 1
      describe_ok(c)
    end
    assert.same({ primary.host, primary.host, primary.host, primary.host }, net.hosts())
    net.fail_next[primary.host] = 1
    describe_ok(c) -- the third failure of five attempts opens the breaker
    assert.same({ primary.host, backup.host }, net.hosts())
    assert.equal("open", c.breaker.state)
    describe_ok(c) -- the primary answers again, but the breaker waits out its cool-down
    assert.same({ backup.host }, net.hosts())
    ft.now = ft.now + 30
    describe_ok(c)
    assert.same({ primary.host }, net.hosts())
    assert.equal("closed", c.breaker.state)
    net.down[primary.host] = true
    describe_ok(c)
    assert.same({ primary.host, primary.host, primary.host, backup.host }, net.hosts())
    assert.equal("open", c.breaker.state)
    assert.equal(3, api_requests(backup))
  end)
end)

describe("recovery after the cool-down", function()
  local function opened(extra)
    local c, net, ft = client(extra or { breaker = { failures = 3, cooldown = 30 } })
    net.down[primary.host] = true
    describe_ok(c)
    assert.equal("open", c.breaker.state)
    net.hosts()
    return c, net, ft
  end

  it("goes back to the primary when the probe succeeds", function()
    local c, net, ft = opened()
    ft.now = ft.now + 29
    describe_ok(c)
    assert.same({ backup.host }, net.hosts()) -- not before the cool-down ends
    ft.now = ft.now + 1
    net.down[primary.host] = nil
    describe_ok(c)
    assert.same({ primary.host }, net.hosts())
    assert.equal("closed", c.breaker.state)
    describe_ok(c)
    assert.same({ primary.host }, net.hosts())
    assert.equal(2, api_requests(backup))
  end)

  it("opens again when the probe fails, the same call going on at the backup", function()
    local c, net, ft = opened()
    ft.now = ft.now + 30
    local res = describe_ok(c)
    assert.equal(2, tcssl.meta(res).attempts)
    assert.same({ primary.host, backup.host }, net.hosts())
    assert.equal("open", c.breaker.state)
    describe_ok(c)
    assert.same({ backup.host }, net.hosts()) -- a new cool-down began with the failed probe
    ft.now = ft.now + 30
    net.down[primary.host] = nil
    describe_ok(c)
    assert.same({ primary.host }, net.hosts())
    assert.equal("closed", c.breaker.state)
  end)

  it("lets the next call probe when a probe could not even be signed", function()
    local broken = false
    local keys = { source = "spec", get = function()
      if broken then return nil, { kind = "credentials", code = "NoCredentials", message = "none now" } end
      return { secret_id = ID, secret_key = KEY }
    end }
    local c, net, ft = opened{ breaker = { failures = 3, cooldown = 30 }, credentials = keys }
    ft.now = ft.now + 30
    broken = true
    local _, err = c:DescribeCertificates{}
    assert.equal("NoCredentials", err.code)
    broken = false
    net.down[primary.host] = nil
    describe_ok(c)
    assert.same({ primary.host }, net.hosts())
    assert.equal("closed", c.breaker.state)
  end)

  it("tries the primary at once when the backup stops answering too", function()
    local c, net = opened()
    net.down[primary.host] = nil
    net.down[backup.host] = true
    local res = describe_ok(c)
    assert.equal(2, tcssl.meta(res).attempts)
    assert.same({ backup.host, primary.host }, net.hosts())
    assert.equal("closed", c.breaker.state)
  end)
end)

describe("a change that may have arrived", function()
  it("is not sent again, to the backup or anywhere, and does not count against the primary", function()
    local c, net = client{ breaker = { failures = 1 } }
    primary:fault{ type = "reset", action = "DeleteCertificate" }
    local res, err = c:DeleteCertificate{ CertificateId = "abcdefgh" }
    assert.is_nil(res)
    assert.equal("network", err.kind)
    assert.is_true(err.maybe_applied)
    assert.is_false(err.retryable)
    assert.equal(1, err.attempts)
    assert.same({ primary.host }, net.hosts())
    assert.equal("closed", c.breaker.state)
    assert.equal(1, api_requests(primary))
    assert.equal(0, api_requests(backup))
  end)

  it("is not sent to the backup even when another call opened the breaker meanwhile", function()
    local c, net = client{ breaker = { failures = 1 } }
    primary:fault{ type = "reset", action = "DeleteCertificate" }
    net.before = function(entry)
      if entry.headers["X-TC-Action"] ~= "DeleteCertificate" then return end
      net.before = nil
      -- a read made while the change is on its way meets a refused connection: the breaker opens
      net.fail_next[primary.host] = 1
      describe_ok(c)
      assert.equal("open", c.breaker.state)
    end
    local res, err = c:DeleteCertificate{ CertificateId = "abcdefgh" }
    assert.is_nil(res)
    assert.is_true(err.maybe_applied)
    assert.equal(1, err.attempts)
    assert.same({ primary.host, primary.host, backup.host }, net.hosts()) -- the change, then the read twice
    assert.equal(1, api_requests(primary)) -- the change, which the primary reset
    assert.equal(1, api_requests(backup))  -- the read's second attempt only
    assert.equal("open", c.breaker.state)
  end)

  it("unlike a change refused before it was sent, which the backup gets once", function()
    local c, net = client{ breaker = { failures = 1 } }
    net.down[primary.host] = true
    local res, err = c:DeleteCertificate{ CertificateId = "abcdefgh" }
    assert.is_nil(res)
    assert.equal("api", err.kind) -- the backup's answer
    assert.equal("FailedOperation.CertificateNotFound", err.code)
    assert.equal(2, err.attempts)
    assert.same({ primary.host, backup.host }, net.hosts())
    assert.equal(0, api_requests(primary))
    assert.equal(1, api_requests(backup))
  end)

  it("unlike a read, whose broken exchange counts and is tried again at the backup", function()
    local c, net = client{ breaker = { failures = 1 } }
    primary:fault{ type = "reset", action = "DescribeCertificates" }
    local res = describe_ok(c)
    assert.equal(2, tcssl.meta(res).attempts)
    assert.same({ primary.host, backup.host }, net.hosts())
    assert.equal("open", c.breaker.state)
  end)
end)

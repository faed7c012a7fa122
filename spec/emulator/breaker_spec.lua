-- Endpoint failover (tcssl.breaker): a primary that does not answer sends calls to the backup,
-- the primary is tried again after the cool-down, and no change that may have reached a server
-- is sent anywhere again. Everything runs on loopback: the primary and the backup are local
-- emulators, a dead primary is a port that refuses connections, and time is a fake monotonic
-- clock that sleeping advances, so nothing waits for a cool-down.
local tcssl = require "tcssl"
local core = require "tcssl.core"
local curl = require "tcssl.transport.curl"
local socket = require "socket"
local cjson = require "cjson.safe"
local emu = require "spec.support.emulator"
local fakes = require "spec.support.fakes"

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
  emu.cleanup(primary, backup)
  if hold then hold:close() end
end)
before_each(function()
  primary:reset()
  backup:reset()
end)

local function api_requests(server) return server:stats().api_requests end

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
  local ft, net = fakes.time(), network()
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

-- The cosocket transport and the choice of transport, without nginx: a scripted stand-in
-- for ngx.socket.tcp feeds the HTTP/1.1 reader byte streams and records what is sent.
-- (spec/nginx/ runs the same transport inside a real nginx.)
local tcssl = require "tcssl"
local transport = require "tcssl.transport"
local ngx_transport = require "tcssl.transport.ngx"
local curl_transport = require "tcssl.transport.curl"

local curl_mt = getmetatable(curl_transport.new{})

-- A fake `ngx` whose sockets play `script`:
--   phase (default "content"), connect_err, reused (times), tls_err, send_err,
--   reads = { "bytes", ... } handed out by receiveany (split by its size), then read_err
--   (default "closed"), keepalive_err (setkeepalive fails with it).
-- Returns the fake and a log: host, port, pool, sni, verify, sent, keepalive, closed, and
-- lines ({ level, text } for each ngx.log call).
local function fake_ngx(script)
  local log = { sent = {}, keepalive = 0, closed = 0, connects = 0, lines = {} }
  local reads = {}
  for i, r in ipairs(script.reads or {}) do reads[i] = r end
  local sock = {}
  function sock.settimeouts() end
  function sock.settimeout() end
  function sock.connect(_, host, port, opts)
    log.connects = log.connects + 1
    log.host, log.port, log.pool, log.pool_size = host, port, opts.pool, opts.pool_size
    if script.connect_err then return nil, script.connect_err end
    return 1
  end
  function sock.getreusedtimes()
    if log.closed > 0 then return nil, "closed" end
    return script.reused or 0
  end
  function sock.sslhandshake(_, session, name, verify)
    log.session_arg, log.sni, log.verify = session, name, verify
    if script.tls_err then return nil, script.tls_err end
    if script.tls_closes then log.closed = log.closed + 1 end
    return true
  end
  function sock.send(_, data)
    log.sent[#log.sent + 1] = type(data) == "table" and table.concat(data) or data
    if script.send_err then return nil, script.send_err end
    return #log.sent[#log.sent]
  end
  function sock.receiveany(_, max)
    local r = table.remove(reads, 1)
    if not r then return nil, script.read_err or "closed" end
    if #r > max then
      table.insert(reads, 1, r:sub(max + 1))
      r = r:sub(1, max)
    end
    return r
  end
  function sock.setkeepalive(_, timeout, size)
    log.keepalive = log.keepalive + 1
    log.keepalive_timeout, log.keepalive_size = timeout, size
    if script.keepalive_err then return nil, script.keepalive_err end
    return 1
  end
  function sock.close()
    log.closed = log.closed + 1
    return 1
  end
  local fake = {
    get_phase = function() return script.phase or "content" end,
    socket = { tcp = function() return sock end },
    ERR = 4, WARN = 5, NOTICE = 6, INFO = 7, DEBUG = 8,
    log = function(level, ...) log.lines[#log.lines + 1] = { level = level, text = table.concat({ ... }) } end,
  }
  return fake, log
end

local saved_ngx
before_each(function() saved_ngx = rawget(_G, "ngx") end)
after_each(function() rawset(_G, "ngx", saved_ngx) end)

-- One request through a new cosocket transport against `script` (by default a POST of "{}").
local function exchange(script, opts, method, url, headers, body)
  local fake, log = fake_ngx(script)
  rawset(_G, "ngx", fake)
  local t = ngx_transport.new(opts)
  if not method then method, body = "POST", body or "{}" end
  local status, rheaders, rbody = t:request(method, url or "http://127.0.0.1:8080/",
    headers or { Host = "127.0.0.1:8080" }, body, { timeout = 5, connect_timeout = 1 })
  return status, rheaders, rbody, log, t
end

local function response(head, body)
  return head:gsub("\n", "\r\n") .. "\r\n" .. (body or "")
end

describe("choosing a transport", function()
  it("takes libcurl outside OpenResty", function()
    assert.equal(curl_mt, getmetatable(transport.default{}))
  end)

  it("takes cosockets inside OpenResty, in any phase: the phase is checked at each request", function()
    rawset(_G, "ngx", fake_ngx{ phase = "init" })
    local t = transport.default{}
    assert.equal("ngx", t.name)
    local status, err = t:request("GET", "http://127.0.0.1:9/", {}, nil, { timeout = 1 })
    assert.is_nil(status)
    assert.equal("config", err.kind)
    assert.equal("NoCosockets", err.code)
    assert.is_false(err.sent)
    assert.truthy(err.message:find("init phase", 1, true))
  end)

  it("follows an explicit choice", function()
    rawset(_G, "ngx", fake_ngx{})
    assert.equal(curl_mt, getmetatable(transport.default{ kind = "curl" }))
    rawset(_G, "ngx", nil)
    assert.equal("ngx", transport.default{ kind = "ngx" }.name)
  end)

  it("is configurable on the client as a string", function()
    local c = assert(tcssl.new{ secret_id = "AKIDX", secret_key = "k", endpoint = "127.0.0.1:9", scheme = "http",
      transport = "ngx", max_retries = 0 })
    local res, err = c:DescribeCertificates{}
    assert.is_nil(res)
    assert.equal("NoCosockets", err.code)
    assert.truthy(err.message:find("OpenResty", 1, true))
    assert.is_false(err.maybe_applied)
    local _, cerr = tcssl.new{ transport = "socket" }
    assert.equal("transport", cerr.field)
  end)
end)

describe("the cosocket transport", function()
  it("refuses pool settings nginx would raise on, with config errors", function()
    for _, bad in ipairs{ { keepalive_pool = 0 }, { keepalive_pool = 1.5 }, { keepalive_pool = "16" },
      { keepalive_timeout = 0 }, { keepalive_timeout = 0 / 0 }, { keepalive_timeout = math.huge } } do
      local t, err = ngx_transport.new(bad)
      assert.is_nil(t)
      assert.equal("config", err.kind)
      assert.equal(next(bad), err.field)
    end
    assert.is_table(ngx_transport.new{ keepalive_pool = 4, keepalive_timeout = 0.5 })
  end)

  it("parses the URLs tcssl makes", function()
    local u = ngx_transport.parse_url("https://ssl.tencentcloudapi.com/")
    assert.same({ scheme = "https", host = "ssl.tencentcloudapi.com", port = 443, authority = "ssl.tencentcloudapi.com",
      target = "/" }, u)
    u = ngx_transport.parse_url("http://127.0.0.1:8080?Action=X&b=1")
    assert.equal(8080, u.port)
    assert.equal("/?Action=X&b=1", u.target)
    u = ngx_transport.parse_url("http://[::1]:99/v2/index.php")
    assert.equal("[::1]", u.host)
    assert.equal("/v2/index.php", u.target)
    for _, bad in ipairs{ "ftp://x/", "http://", "http://a b/", "http://x:0/", "http://x:70000/", "http://x/a b",
      "https://x/\r\nHost: y", 42 } do
      assert.is_nil(ngx_transport.parse_url(bad), tostring(bad))
    end
  end)

  it("writes one request with its own framing headers", function()
    local status, headers, body, log = exchange({
      reads = { response("HTTP/1.1 200 OK\nContent-Type: application/json\nContent-Length: 2\n", "{}") },
    }, { user_agent = "ua/1" }, "POST", "http://127.0.0.1:8080/", {
      Host = "127.0.0.1:8080", ["Content-Type"] = "application/json", ["content-length"] = "999",
      Connection = "close",
    }, '{"a":1}')
    assert.equal(200, status)
    assert.equal("application/json", headers["content-type"])
    assert.equal("{}", body)
    assert.equal("127.0.0.1", log.host)
    assert.equal(8080, log.port)
    assert.equal("tcssl:127.0.0.1:8080:plain", log.pool)
    assert.equal('POST / HTTP/1.1\r\nUser-Agent: ua/1\r\nContent-Type: application/json\r\nHost: 127.0.0.1:8080\r\n'
      .. 'Content-Length: 7\r\n\r\n{"a":1}', log.sent[1])
    assert.equal(1, log.keepalive)
    assert.equal(0, log.closed)
  end)

  it("adds Host from the URL and sends no Content-Length for a bodiless GET", function()
    local _, _, _, log = exchange({ reads = { response("HTTP/1.1 200 OK\nContent-Length: 0\n") } }, nil,
      "GET", "https://example.com/?a=1", {}, nil)
    assert.truthy(log.sent[1]:find("^GET /%?a=1 HTTP/1%.1\r\nHost: example%.com\r\nUser%-Agent: tcssl/"))
    assert.falsy(log.sent[1]:find("Content-Length", 1, true))
    assert.equal("example.com", log.sni)
    assert.is_true(log.verify)
    assert.is_false(log.session_arg)
    assert.equal("tcssl:example.com:443:tls:verify", log.pool)
  end)

  it("keeps verification off only with insecure, in a pool of its own", function()
    local _, _, _, log = exchange({ reads = { response("HTTP/1.1 200 OK\nContent-Length: 0\n") } },
      { insecure = true }, "GET", "https://example.com/", {}, nil)
    assert.is_false(log.verify)
    assert.equal("tcssl:example.com:443:tls:noverify", log.pool)
  end)

  it("skips the handshake on a pooled connection", function()
    local _, _, _, log, t = exchange({ reused = 3, reads = { response("HTTP/1.1 200 OK\nContent-Length: 0\n") } },
      nil, "GET", "https://example.com/", {}, nil)
    assert.is_nil(log.sni)
    assert.same({ connects = 0, reused = 1, requests = 1 }, t:stats())
  end)

  it("reads chunked bodies with extensions and trailers, in pieces of any size", function()
    local wire = response("HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n",
      "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n")
    local pieces = {}
    for i = 1, #wire, 3 do pieces[#pieces + 1] = wire:sub(i, i + 2) end
    local status, _, body, log = exchange({ reads = pieces })
    assert.equal(200, status)
    assert.equal("hello world", body)
    assert.equal(1, log.keepalive)
  end)

  it("reads a body to the end of the connection and does not keep that connection", function()
    local status, _, body, log = exchange({ reads = { "HTTP/1.1 200 OK\r\n\r\nall of ", "it" } })
    assert.equal(200, status)
    assert.equal("all of it", body)
    assert.equal(0, log.keepalive)
    assert.equal(1, log.closed)
  end)

  it("skips interim responses, joins repeated headers, unfolds folded ones", function()
    local status, headers = exchange({ reads = { response("HTTP/1.1 100 Continue\n")
      .. response("HTTP/1.1 200 OK\nX-A: 1\nx-a: 2\nX-Long: a\n  b\nContent-Length: 0\n") } })
    assert.equal(200, status)
    assert.equal("1, 2", headers["x-a"])
    assert.equal("a b", headers["x-long"])
  end)

  it("keeps a connection only when the response allows it", function()
    local _, _, _, log = exchange({ reads = { response("HTTP/1.1 200 OK\nConnection: close\nContent-Length: 0\n") } })
    assert.equal(0, log.keepalive)
    _, _, _, log = exchange({ reads = { response("HTTP/1.0 200 OK\nContent-Length: 0\n") } })
    assert.equal(0, log.keepalive)
    _, _, _, log = exchange({ reads = { response("HTTP/1.0 200 OK\nConnection: keep-alive\nContent-Length: 0\n") } })
    assert.equal(1, log.keepalive)
    -- bytes beyond the response: the connection's state is unknown
    _, _, _, log = exchange({ reads = { response("HTTP/1.1 200 OK\nContent-Length: 1\n", "ab") } })
    assert.equal(0, log.keepalive)
  end)

  local function fails(script, kind, code, sent, opts)
    local status, err, _, log = exchange(script, opts)
    assert.is_nil(status)
    assert.equal(kind, err.kind, err.message)
    assert.equal(code, err.code, err.message)
    assert.equal(sent, err.sent)
    assert.is_string(err.message)
    assert.equal(0, log.keepalive)
    return err, log
  end

  it("maps connection failures", function()
    fails({ connect_err = "connection refused" }, "network", "ConnectFailed", false)
    fails({ connect_err = "timeout" }, "timeout", "Timeout", false)
    local err = fails({ connect_err = 'no resolver defined to resolve "x"' }, "network", "ResolveFailed", false)
    assert.truthy(err.message:find("resolver", 1, true))
    fails({ connect_err = "x could not be resolved (3: Host not found)" }, "network", "ResolveFailed", false)
  end)

  it("maps TLS failures, including a success nginx reports on a connection it closed", function()
    local function tls(script, code)
      local status, err = exchange(script, nil, "GET", "https://127.0.0.1:8443/", {}, nil)
      assert.is_nil(status)
      assert.equal("tls", err.kind)
      assert.equal(code, err.code)
      assert.is_false(err.sent)
      return err
    end
    local err = tls({ tls_err = "20: unable to get local issuer certificate" }, "TLSVerifyFailed")
    assert.truthy(err.message:find("lua_ssl_trusted_certificate", 1, true))
    err = tls({ tls_err = "certificate host mismatch" }, "TLSVerifyFailed")
    assert.truthy(err.message:find("DNS names", 1, true))
    tls({ tls_err = "handshake failed" }, "TLSHandshakeFailed")
    tls({ tls_closes = true }, "TLSVerifyFailed")
  end)

  it("maps failures while sending and reading", function()
    fails({ send_err = "broken pipe" }, "network", "SendFailed", true)
    fails({ send_err = "timeout" }, "timeout", "Timeout", true)
    fails({ reads = {} }, "network", "EmptyReply", true)
    fails({ reads = {}, read_err = "connection reset by peer" }, "network", "RecvFailed", true)
    fails({ reads = { "HTTP/1.1 200 OK\r\nContent-" } }, "network", "RecvFailed", true)
    fails({ reads = { "HTTP/1.1 200 OK\r\n" }, read_err = "timeout" }, "timeout", "Timeout", true)
    fails({ reads = { response("HTTP/1.1 200 OK\nContent-Length: 10\n", "short") } }, "protocol", "TruncatedBody",
      true)
    fails({ reads = { response("HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n", "a\r\nhalf") } }, "protocol",
      "TruncatedBody", true)
    fails({ reads = { response("HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n", "zz\r\n") } }, "protocol",
      "MalformedResponse", true)
    fails({ reads = { "SSH-2.0-OpenSSH\r\n" } }, "protocol", "MalformedResponse", true)
    fails({ reads = { response("HTTP/1.1 200 OK\nContent-Length: 1.5\n", "x") } }, "protocol", "MalformedResponse",
      true)
    fails({ reads = { response("HTTP/1.1 200 OK\nContent-Length: 2, 3\n", "xyz") } }, "protocol",
      "MalformedResponse", true)
  end)

  it("bounds lines, heads and bodies", function()
    fails({ reads = { "HTTP/1.1 200 OK\r\nX: " .. ("a"):rep(9000) } }, "protocol", "HeaderTooLarge", true)
    local many = { "HTTP/1.1 200 OK\r\n" }
    for i = 1, 250 do many[#many + 1] = ("X-%d: v\r\n"):format(i) end
    fails({ reads = { table.concat(many) } }, "protocol", "HeaderTooLarge", true)
    fails({ reads = { response("HTTP/1.1 200 OK\nContent-Length: 100\n") } }, "protocol", "ResponseTooLarge", true,
      { max_response_size = 99 })
    fails({ reads = { response("HTTP/1.1 200 OK\nContent-Length: 99999999999999999999999\n") } }, "protocol",
      "ResponseTooLarge", true)
    fails({ reads = { response("HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n", "40\r\n" .. ("x"):rep(64)
      .. "\r\n40\r\n") } }, "protocol", "ResponseTooLarge", true, { max_response_size = 100 })
    fails({ reads = { "HTTP/1.1 200 OK\r\n\r\n", ("x"):rep(80), ("x"):rep(80) } }, "protocol", "ResponseTooLarge",
      true, { max_response_size = 100 })
  end)

  it("refuses what it cannot do before connecting", function()
    local function refused(script, opts, method, url, headers, code, kind)
      local status, err, _, log = exchange(script, opts, method, url, headers)
      assert.is_nil(status)
      assert.equal(kind or "protocol", err.kind)
      assert.equal(code, err.code)
      assert.is_false(err.sent)
      assert.equal(0, log.connects)
      return err
    end
    local err = refused({}, { proxy = "http://127.0.0.1:3128" }, nil, nil, nil, "ProxyUnsupported", "config")
    assert.truthy(err.message:find("curl", 1, true))
    refused({}, nil, nil, "gopher://x/", nil, "BadURL")
    refused({}, nil, "GET /x", nil, nil, "BadHeader")
    refused({}, nil, nil, nil, { ["X-A"] = "b\r\nX-B: c" }, "BadHeader")
    refused({}, nil, nil, nil, { ["Bad Name"] = "v" }, "BadHeader")
    err = refused({ phase = "log" }, nil, nil, nil, nil, "NoCosockets", "config")
    assert.truthy(err.message:find("log phase", 1, true))
  end)
end)

describe("OpenResty details", function()
  local ok_response = response("HTTP/1.1 200 OK\nContent-Length: 2\n", "{}")

  it("allows cosockets in the server_rewrite phase (server_rewrite_by_lua)", function()
    local status, _, body, log = exchange({ phase = "server_rewrite", reads = { ok_response } })
    assert.equal(200, status)
    assert.equal("{}", body)
    assert.equal(1, log.connects)
  end)

  it("names server_rewrite among the phases to call from when a phase has no cosockets", function()
    local status, err = exchange({ phase = "ssl_session_store" })
    assert.is_nil(status)
    assert.equal("NoCosockets", err.code)
    assert.truthy(err.message:find("ssl_session_store phase: call from server_rewrite, rewrite", 1, true),
      err.message)
  end)

  it("logs a failed setkeepalive at warn level through ngx.log, closes the socket, keeps the response", function()
    local status, _, body, log = exchange({ keepalive_err = "closed", reads = { ok_response } })
    assert.equal(200, status)
    assert.equal("{}", body)
    assert.equal(1, log.keepalive)
    assert.equal(1, log.closed)
    assert.equal(1, #log.lines)
    assert.equal(5, log.lines[1].level) -- ngx.WARN
    assert.equal("tcssl: cannot keep the connection to 127.0.0.1:8080 alive for reuse (closed); closed it",
      log.lines[1].text)
  end)

  it("logs nothing when the connection goes back to the pool", function()
    local _, _, _, log = exchange({ reads = { ok_response } })
    assert.equal(1, log.keepalive)
    assert.equal(0, log.closed)
    assert.same({}, log.lines)
  end)

  -- A transport that answers every call, for clients made inside the fake ngx.
  local answering = { name = "answering" }
  function answering.request()
    return 200, { ["content-type"] = "application/json" }, '{"Response":{"TotalCount":0,"RequestId":"req-ngx"}}'
  end

  local SECRET_KEY, TOKEN = "ngx-log-spec-secret-key-000000", "ngx-log-spec-session-token-111"

  it("writes debug = true lines through ngx.log at info level inside nginx, secrets hidden", function()
    local fake, log = fake_ngx{}
    rawset(_G, "ngx", fake)
    local c = assert(tcssl.new{ secret_id = "AKIDNGXLOG", secret_key = SECRET_KEY, token = TOKEN,
      sign_method = "HmacSHA256", http_method = "GET", transport = answering, debug = true })
    assert(c:DescribeCertificates{})
    assert.equal(1, #log.lines)
    local line = log.lines[1]
    assert.equal(7, line.level) -- ngx.INFO
    assert.truthy(line.text:find("^tcssl: DescribeCertificates GET https://ssl%.tencentcloudapi%.com/%?"), line.text)
    assert.truthy(line.text:find("RequestId=req-ngx", 1, true), line.text)
    assert.truthy(line.text:find("Signature=***", 1, true), line.text)
    assert.truthy(line.text:find("Token=***", 1, true), line.text)
    assert.falsy(line.text:find(SECRET_KEY, 1, true))
    assert.falsy(line.text:find(TOKEN, 1, true))
  end)

  it("writes debug and warning lines to stderr outside nginx", function()
    rawset(_G, "ngx", nil)
    local written = {}
    local saved = io.stderr
    rawset(io, "stderr", { write = function(self, ...)
      for _, piece in ipairs{ ... } do written[#written + 1] = piece end
      return self
    end })
    local ok, err = pcall(function()
      local c = assert(tcssl.new{ secret_id = "AKIDNGXLOG", secret_key = SECRET_KEY, transport = answering,
        debug = true })
      assert(c:DescribeCertificates{})
      require("tcssl.log").warn("a warning")
    end)
    rawset(io, "stderr", saved)
    assert(ok, err)
    local out = table.concat(written)
    assert.truthy(out:find("^tcssl: DescribeCertificates POST https://ssl%.tencentcloudapi%.com/ %-> 200 "), out)
    assert.truthy(out:find("\ntcssl: warning: a warning\n$"), out)
    assert.falsy(out:find(SECRET_KEY, 1, true))
  end)
end)

-- The emulator under slow clients. Connections that send a byte now and
-- then must neither fill every slot for good nor hold a slot past the whole-request bound:
-- a request's head and body must arrive within request_timeout of the connection's accept
-- (or of the first byte of a later request), however often bytes trickle in; and when every
-- slot is taken, a newcomer displaces the oldest connection that has not yet sent a whole
-- request. The server runs in this process and the spec turns its loop (server:step), so
-- the order of events is the spec's own; every loop is bounded in turns and in time.
local socket = require "socket"

local emulator = require "tcssl_emulator"
-- In process the emulator needs Lua 5.4 (the other suites run it as a lua5.4 process).
local it = jit and function(name) pending(name .. " (the emulator runs in-process under Lua 5.4 only)") end or it

local STATS = "GET /__emulator/stats HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"

local function client(server)
  local sock = assert(socket.connect("127.0.0.1", server.port))
  sock:settimeout(0)
  return sock
end

-- Reads what has arrived on a non-blocking socket: data, and whether the peer closed.
local function drain(sock)
  local chunk, err, partial = sock:receive(65536)
  return chunk or partial or "", err == "closed"
end

-- Turns the server's loop until done() is true, at most `turns` times and `seconds` long.
local function turn_until(server, done, turns, seconds)
  local deadline = socket.gettime() + seconds
  for _ = 1, turns do
    if done() then return true end
    if socket.gettime() > deadline then return false end
    server:step(0.01)
  end
  return done()
end

describe("tcssl emulator under slow clients", function()
  it("answers a normal request while slow clients hold every slot", function()
    -- no timeout can help here: only displacing a slow connection lets the newcomer in
    local server = assert(emulator.new{ max_connections = 4, idle_timeout = 60, request_timeout = 60,
      max_lifetime = 60 })
    finally(function() server:close() end)
    local slow = {}
    finally(function() for _, s in ipairs(slow) do s:close() end end)
    for i = 1, 6 do
      slow[i] = client(server)
      assert(slow[i]:send("G"))
    end
    -- every slot taken by a connection that sent one byte
    assert.is_true(turn_until(server, function() return server.conn_count == 4 end, 100, 5))
    for _ = 1, 3 do server:step(0) end
    assert.equal(4, server.conn_count)

    local normal = client(server)
    finally(function() normal:close() end)
    assert(normal:send(STATS))
    local got = ""
    local answered = turn_until(server, function()
      got = got .. drain(normal)
      return got:find("\r\n\r\n", 1, true) ~= nil
    end, 500, 5)
    assert.is_true(answered, "no answer while slow clients hold the slots")
    assert.matches("^HTTP/1%.1 200 ", got)
    assert.is_true(server.conn_count <= 4)
    assert.is_true(server.stats.evicted >= 1)

    -- the displaced ones were the oldest slow connections, and they were closed
    local closed = 0
    for _, s in ipairs(slow) do
      local _, was_closed = drain(s)
      if was_closed then closed = closed + 1 end
    end
    assert.equal(server.stats.evicted, closed)
    assert.is_true(closed >= 3) -- two to let in the last slow ones, one for the normal client
  end)

  it("answers normal requests through a stream of new slow clients", function()
    local server = assert(emulator.new{ max_connections = 5, idle_timeout = 60, request_timeout = 60,
      max_lifetime = 60 })
    finally(function() server:close() end)
    local socks = {}
    finally(function() for _, s in ipairs(socks) do s:close() end end)
    -- each normal client stays connected after its answer: a kept-alive connection that has
    -- completed a request is never displaced, and the slow ones still make room for the next
    for round = 1, 4 do
      for _ = 1, 4 do
        local s = client(server)
        socks[#socks + 1] = s
        assert(s:send("P"))
      end
      server:step(0)
      local normal = client(server)
      socks[#socks + 1] = normal
      assert(normal:send(STATS))
      local got = ""
      assert.is_true(turn_until(server, function()
        got = got .. drain(normal)
        return got:find("\r\n\r\n", 1, true) ~= nil
      end, 500, 5), "round " .. round)
      assert.matches("^HTTP/1%.1 200 ", got)
      assert.is_true(server.conn_count <= 5)
    end
  end)

  it("cuts off a client that dribbles one byte at a time after the whole-read bound", function()
    -- the idle timer alone would never fire: a byte arrives far more often than every 60 s
    local server = assert(emulator.new{ idle_timeout = 60, request_timeout = 0.3, max_lifetime = 60 })
    finally(function() server:close() end)
    local sock = client(server)
    finally(function() sock:close() end)
    assert(sock:send("GET /__emulator/stats HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "))
    local got, closed, sent = "", false, 0
    local deadline = socket.gettime() + 10
    for _ = 1, 4000 do
      if closed or socket.gettime() > deadline then break end
      if sock:send("a") then sent = sent + 1 end
      server:step(0)    -- reads the byte
      server:step(0.005) -- and waits a little for the next
      local data
      data, closed = drain(sock)
      got = got .. data
    end
    assert.is_true(closed, "the dribbling client was never cut off")
    assert.matches("^HTTP/1%.1 408 ", got)
    assert.is_true(sent < 64 * 1024) -- cut by time, not by the size of the head
    assert.equal(1, server.stats.request_timeouts)
    assert.equal(0, server.conn_count)
  end)

  it("bounds the first request from the accept, and later ones from their first byte", function()
    local server = assert(emulator.new{ idle_timeout = 60, request_timeout = 0.3, max_lifetime = 60 })
    finally(function() server:close() end)
    -- a connection that never sends anything is closed (without an answer) at the bound
    local silent = client(server)
    finally(function() silent:close() end)
    local closed, got = false, ""
    assert.is_true(turn_until(server, function()
      local data
      data, closed = drain(silent)
      got = got .. data
      return closed
    end, 1000, 10))
    assert.equal("", got)

    -- a kept-alive connection may wait between requests (idle_timeout), and each request
    -- gets the whole bound again from its own first byte
    local kept = client(server)
    finally(function() kept:close() end)
    for _ = 1, 2 do
      assert(kept:send(STATS))
      got = ""
      assert.is_true(turn_until(server, function()
        got = got .. drain(kept)
        return got:find("\r\n\r\n", 1, true) ~= nil and got:find("}", 1, true) ~= nil
      end, 500, 5))
      assert.matches("^HTTP/1%.1 200 ", got)
      -- idle for longer than the request bound, with no request begun
      local until_t = socket.gettime() + 0.5
      for _ = 1, 200 do
        if socket.gettime() > until_t then break end
        server:step(0.01)
      end
      local _, was_closed = drain(kept)
      assert.is_false(was_closed)
    end
    assert.equal(1, server.stats.request_timeouts)
  end)
end)

-- A Redis that answers slowly, for spec/redis/redis_spec.lua: a proxy on a free loopback port
-- in front of a real redis-server, run as its own process:
--   lua5.4 spec/redis/slow_proxy.lua UPSTREAM_PORT DELAY LIFETIME
-- It accepts every connection, passes what the client sends on to Redis at once, and hands
-- each answer back DELAY seconds after Redis gave it: Redis does the work, the answer is late.
-- It prints "listening PORT" and serves until LIFETIME seconds have passed (or it is killed).
local socket = require "socket"

local upstream_port, delay, lifetime = tonumber(arg[1]), tonumber(arg[2]), tonumber(arg[3] or "60")
local server = assert(socket.bind("127.0.0.1", 0))
server:settimeout(0)
local _, port = server:getsockname()
io.stdout:write("listening ", port, "\n")
io.stdout:flush()

local conns = {} -- { client, upstream, late = { { at, data } ... } }

local function drop(c)
  c.client:close()
  c.upstream:close()
  c.gone = true
end

local function read(sock)
  local data, err, partial = sock:receive(8192)
  data = data or partial
  if data and data ~= "" then return data end
  if err == "closed" then return nil end
  return ""
end

local stop = socket.gettime() + lifetime
while socket.gettime() < stop do
  local readers, owner = { server }, {}
  for _, c in ipairs(conns) do
    readers[#readers + 1], owner[c.client] = c.client, c
    readers[#readers + 1], owner[c.upstream] = c.upstream, c
  end
  -- wake for the next late answer that falls due, or every 50 ms
  local wait, now = 0.05, socket.gettime()
  for _, c in ipairs(conns) do
    if c.late[1] then wait = math.max(0, math.min(wait, c.late[1][1] - now)) end
  end
  local ready = socket.select(readers, nil, wait)
  for _, sock in ipairs(ready) do
    if sock == server then
      local client = server:accept()
      if client then
        local upstream = socket.tcp()
        upstream:settimeout(2)
        if upstream:connect("127.0.0.1", upstream_port) then
          client:settimeout(0)
          upstream:settimeout(0)
          conns[#conns + 1] = { client = client, upstream = upstream, late = {} }
        else
          client:close()
          upstream:close()
        end
      end
    else
      local c = owner[sock]
      if not c.gone then
        local data = read(sock)
        if not data then
          drop(c)
        elseif data ~= "" and sock == c.client then
          c.upstream:settimeout(2)
          if not c.upstream:send(data) then drop(c) end
          c.upstream:settimeout(0)
        elseif data ~= "" then
          c.late[#c.late + 1] = { socket.gettime() + delay, data }
        end
      end
    end
  end
  now = socket.gettime()
  local live = {}
  for _, c in ipairs(conns) do
    while not c.gone and c.late[1] and c.late[1][1] <= now do
      c.client:settimeout(2)
      if not c.client:send(table.remove(c.late, 1)[2]) then drop(c) end
      if not c.gone then c.client:settimeout(0) end
    end
    if not c.gone then live[#live + 1] = c end
  end
  conns = live
end

-- Calls per second from inside nginx (content_by_lua_file, see bench/nginx.lua), against the
-- static responder, in one of two modes:
--   /bench?mode=tcssl&port=P&body=B  client:DescribeCertificates{ Limit = 10 } through tcssl's
--                                    cosocket transport (tcssl.transport.ngx)
--   /bench?mode=raw&port=P&body=B&request=F  the floor: the pre-signed request in F (written by
--                                    `bench/calls.lua presign`) sent over one ngx.socket.tcp
--                                    connection, the response read by Content-Length, nothing
--                                    parsed
-- B (page or empty) names what the responder on port P serves. Answers one result line in
-- the format of bench/lib.lua. quick=1 shortens the rounds.
-- luacheck: globals ngx
local cjson = require "cjson"
local core = require "tcssl.core"
local F = require "fixtures"

local args = ngx.req.get_uri_args()
local mode, port, body = args.mode, tonumber(args.port), args.body or "page"
local quick = args.quick == "1"
local ROUNDS, ROUND_SECONDS, WARMUP_SECONDS = quick and 2 or 5, quick and 0.1 or 0.4, quick and 0.05 or 0.3
local BATCH, MAX_OPS = 20, 10000000

local function fail(msg)
  ngx.status = 500
  ngx.say(cjson.encode{ id = ("openresty.%s.%s"):format(tostring(mode), tostring(body)), error = msg })
  return ngx.exit(500)
end

local function rate(step)
  local function timed(limit)
    local ops, start, elapsed = 0, core.monotonic(), 0
    while elapsed < limit and ops < MAX_OPS do
      local ok, err = step(BATCH)
      if not ok then return nil, err end
      ops = ops + BATCH
      elapsed = core.monotonic() - start
    end
    return ops / elapsed
  end
  local _, err = timed(WARMUP_SECONDS)
  if err then return nil, err end
  local best, rounds = 0, {}
  for r = 1, ROUNDS do
    local rt, rerr = timed(ROUND_SECONDS)
    if not rt then return nil, rerr end
    rounds[r] = math.floor(rt * 10 + 0.5) / 10
    if rt > best then best = rt end
  end
  return best, rounds
end

local function tcssl_step()
  local transport_mod = require "tcssl.transport.ngx"
  local tcssl = require "tcssl"
  local client = assert(tcssl.new{
    endpoint = "127.0.0.1:" .. port, scheme = "http", secret_id = F.SECRET_ID,
    secret_key = F.SECRET_KEY, region = F.REGION, rate_limit = false,
    transport = transport_mod.new{},
  })
  return function(n)
    for _ = 1, n do
      local res, err = client:DescribeCertificates{ Limit = 10 }
      if not res then return nil, tostring(err) end
    end
    return true
  end
end

-- The request file: method, URL, header lines, an empty line, the body.
local function raw_request(path)
  local f = assert(io.open(path, "rb"))
  local text = f:read("*a")
  f:close()
  local head, payload = text:match("^(.-)\n\n(.*)$")
  local lines = {}
  for line in head:gmatch("[^\n]+") do lines[#lines + 1] = line end
  local method, url = lines[1], lines[2]
  local target = url:match("^https?://[^/]+(/.*)$") or "/"
  local out = { method .. " " .. target .. " HTTP/1.1" }
  for i = 3, #lines do out[#out + 1] = lines[i] end
  out[#out + 1] = "Content-Length: " .. #payload
  out[#out + 1] = "Connection: keep-alive"
  return table.concat(out, "\r\n") .. "\r\n\r\n" .. payload
end

local function raw_step()
  local request = raw_request(args.request)
  local sock = ngx.socket.tcp()
  sock:settimeout(10000)
  assert(sock:connect("127.0.0.1", port))
  return function(n)
    for _ = 1, n do
      local ok, err = sock:send(request)
      if not ok then return nil, err end
      local status = sock:receive("*l")
      if not status or not status:find("^HTTP/1%.1 200") then return nil, "bad status " .. tostring(status) end
      local length
      repeat
        local line, lerr = sock:receive("*l")
        if not line then return nil, lerr end
        local v = line:match("^[Cc]ontent%-[Ll]ength:%s*(%d+)")
        if v then length = tonumber(v) end
      until line == ""
      if not length then return nil, "no Content-Length" end
      local data, derr = sock:receive(length)
      if not data then return nil, derr end
    end
    return true
  end
end

if mode ~= "tcssl" and mode ~= "raw" then return fail("mode must be tcssl or raw") end
local ok, step = pcall(mode == "tcssl" and tcssl_step or raw_step)
if not ok then return fail(tostring(step)) end
local best, rounds = rate(step)
if not best then return fail(rounds) end
ngx.say(cjson.encode{ id = ("openresty.%s.%s"):format(mode, body), rate = best, unit = "calls/s", rounds = rounds })

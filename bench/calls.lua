-- Sequential keep-alive calls per second of client:DescribeCertificates{ Limit = 10 } against
-- the static nginx responder that bench/run.sh starts: the whole client path (validation,
-- JSON encoding, signing, libcurl, response headers, JSON decoding, the model's conversions).
--   lua5.4 bench/calls.lua http|https page|empty PORT [CA_FILE]
--   lua5.4 bench/calls.lua presign http|https PORT FILE   writes the signed request to FILE
-- page|empty names the response the port serves (10 certificates or none; bench/nginx.lua).
-- The presign form writes exactly what the client sends (method, URL, headers, body), so the
-- bare libcurl loop (bench/calls_curl.c) can send the same bytes.
local B = require "bench.lib"
local F = require "fixtures"
local tcssl = require "tcssl"

local function client_for(scheme, port, ca_file)
  local client = assert(tcssl.new{
    endpoint = "127.0.0.1:" .. port, scheme = scheme, ca_file = ca_file,
    secret_id = F.SECRET_ID, secret_key = F.SECRET_KEY, region = F.REGION,
    -- the bench measures the client's own cost: the per-action token bucket (10/s for
    -- DescribeCertificates) would measure the documented rate limit instead
    rate_limit = false,
  })
  return client
end

-- Measures call() (true when it succeeded) in the usual rounds, then prints one result line
-- with what stats() reports of the connection, or exits 1 when any call failed. close()
-- releases what was measured.
local function measure(subject, scheme, body, call, stats, close)
  local failures = 0
  local rate, rounds = B.rate(function(n)
    for _ = 1, n do
      if not call() then failures = failures + 1 end
    end
  end, { batch = 20 })
  local connection = stats()
  close()
  if failures > 0 then
    io.stderr:write(("calls.lua %s: %d calls failed\n"):format(subject, failures))
    os.exit(1)
  end
  B.emit{ id = ("calls.%s.%s.%s"):format(subject, scheme, body), rate = rate, unit = "calls/s",
    rounds = rounds, connects = connection.connects, requests = connection.requests }
end

-- The session form sends the pre-signed request through tcssl.core's libcurl session alone
-- (no validation, JSON, signing or decoding): what the C layer costs over the bare loop.
--   lua5.4 bench/calls.lua session http|https page|empty FILE [CA_FILE]
if arg[1] == "session" then
  local scheme, body, file, ca_file = arg[2], arg[3], arg[4], arg[5]
  local core = require "tcssl.core"
  local text = assert(io.open(file, "rb")):read("a")
  local head, payload = text:match("^(.-)\n\n(.*)$")
  local lines = {}
  for line in head:gmatch("[^\n]+") do lines[#lines + 1] = line end
  local headers = {}
  for i = 3, #lines do
    local name, value = lines[i]:match("^(.-): (.*)$")
    headers[name] = value
  end
  local req = { method = lines[1], url = lines[2], headers = headers, body = payload,
    timeout = 60, connect_timeout = 10 }
  local session = core.session{ ca_file = ca_file }
  measure("session", scheme, body, function() return session:request(req) == 200 end,
    function() return session:stats() end, function() session:close() end)
  return
end

-- The thin form is the least a Lua client over tcssl.core can do per call: encode the
-- parameters with cjson, sign with tc3_sign, send through the session, cjson.decode the body.
-- No validation, no int64 or null handling, no retries, no error checks beyond the status:
-- the ceiling for any client built this way, against which the full client's policy shows.
--   lua5.4 bench/calls.lua thin http|https page|empty PORT [CA_FILE]
if arg[1] == "thin" then
  local scheme, body, port, ca_file = arg[2], arg[3], arg[4], arg[5]
  local core = require "tcssl.core"
  local cjson = require "cjson"
  local host = "127.0.0.1:" .. port
  local url = scheme .. "://" .. host .. "/"
  local session = core.session{ ca_file = ca_file }
  local sign = { secret_id = F.SECRET_ID, secret_key = F.SECRET_KEY, service = "ssl", host = host,
    method = "POST", query = "", content_type = "application/json" }
  local function call()
    local payload = cjson.encode{ Limit = 10 }
    local now = os.time()
    sign.payload, sign.timestamp = payload, now
    local headers = { Host = host, ["Content-Type"] = "application/json",
      ["X-TC-Action"] = "DescribeCertificates", ["X-TC-Version"] = "2019-12-05",
      ["X-TC-Timestamp"] = ("%d"):format(now), ["X-TC-Region"] = F.REGION,
      Authorization = core.tc3_sign(sign) }
    local status, _, rbody = session:request{ method = "POST", url = url, headers = headers,
      body = payload, timeout = 60, connect_timeout = 10 }
    return status == 200 and cjson.decode(rbody).Response ~= nil
  end
  measure("thin", scheme, body, call, function() return session:stats() end, function() session:close() end)
  return
end

if arg[1] == "presign" then
  local scheme, port, file = arg[2], arg[3], arg[4]
  local client = client_for(scheme, port)
  local req = assert(client:prepare("DescribeCertificates", { Limit = 10 }))
  local lines = { req.method, req.url }
  local names = {}
  for name in pairs(req.headers) do names[#names + 1] = name end
  table.sort(names)
  for _, name in ipairs(names) do lines[#lines + 1] = name .. ": " .. req.headers[name] end
  lines[#lines + 1] = ""
  B.write(file, table.concat(lines, "\n") .. "\n" .. (req.body or ""))
  return
end

local scheme, body, port, ca_file = arg[1], arg[2], arg[3], arg[4]
assert((scheme == "http" or scheme == "https") and (body == "page" or body == "empty"),
  "usage: calls.lua http|https page|empty PORT [CA_FILE]")
local client = client_for(scheme, port, ca_file)

-- one call first: it must succeed and decode what the responder serves
local first, err = client:DescribeCertificates{ Limit = 10 }
if not first then
  io.stderr:write("calls.lua: first call failed: ", tostring(err), "\n")
  os.exit(1)
end
if body == "page" then
  assert(#first.Certificates == 10 and math.type(first.Certificates[1].Status) == "integer")
else
  assert(first.TotalCount == 0 and #first.Certificates == 0)
end

measure("tcssl", scheme, body, function() return client:DescribeCertificates{ Limit = 10 } ~= nil end,
  function() return client.transport:stats() end, function() client:close() end)

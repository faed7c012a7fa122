-- Sequential keep-alive calls of client:DescribeCertificates{ Limit = 10 } against the static
-- nginx responder of bench/run.sh, as a program of the round protocol (bench/lib.lua): the
-- whole client path (validation, JSON encoding, signing, libcurl, response headers, JSON
-- decoding, the model's conversions), under whichever Lua runs it (Lua 5.4 or LuaJIT).
--   lua5.4|luajit bench/calls.lua SCHEME PORT N [CA_FILE]   N: the certificates the port serves
--   lua5.4 bench/calls.lua presign SCHEME PORT FILE         writes the signed request to FILE
-- The presign form writes exactly what the client sends (method, URL, headers, body), so that
-- the floors (bench/calls_curl.c) send the same bytes.
local B = require "bench.lib"
local F = require "fixtures"
local tcssl = require "tcssl"

local function client_for(scheme, port, ca_file)
  return assert(tcssl.new{
    endpoint = "127.0.0.1:" .. port, scheme = scheme, ca_file = ca_file,
    secret_id = F.SECRET_ID, secret_key = F.SECRET_KEY, region = F.REGION,
    -- the bench measures the client's own cost: the per-action token bucket (10/s for
    -- DescribeCertificates) would measure the documented rate limit instead
    rate_limit = false,
  })
end

local PARAMS = { Limit = 10 }

if arg[1] == "presign" then
  local scheme, port, file = arg[2], arg[3], arg[4]
  local client = client_for(scheme, port)
  local req = assert(client:prepare("DescribeCertificates", PARAMS))
  local lines = { req.method, req.url }
  local names = {}
  for name in pairs(req.headers) do names[#names + 1] = name end
  table.sort(names)
  for _, name in ipairs(names) do lines[#lines + 1] = name .. ": " .. req.headers[name] end
  lines[#lines + 1] = ""
  B.write(file, table.concat(lines, "\n") .. "\n" .. (req.body or ""))
  return
end

local scheme, port, n, ca_file = arg[1], arg[2], tonumber(arg[3]), arg[4]
if not ((scheme == "http" or scheme == "https") and port and n) then
  B.fail("usage: calls.lua http|https PORT N [CA_FILE] | presign http|https PORT FILE")
end
local client = client_for(scheme, port, ca_file)

-- one call first: it must succeed and decode what the responder serves
local first, err = client:DescribeCertificates(PARAMS)
if not first then B.fail("calls.lua: first call failed: " .. tostring(err)) end
if #first.Certificates ~= n or first.TotalCount ~= 3 * n then
  B.fail(("calls.lua: expected %d certificates, got %d"):format(n, #first.Certificates))
end

local failures = 0
B.serve(function(count)
  for _ = 1, count do
    if not client:DescribeCertificates(PARAMS) then failures = failures + 1 end
  end
end, {}, function()
  local stats = client.transport:stats()
  client:close()
  return { failures = failures, connects = stats.connects, requests = stats.requests }
end)

-- Sequential keep-alive calls of client:DescribeCertificates{ Limit = 10 } against the static
-- nginx responder of bench/run.sh, as a program of the round protocol (bench/lib.lua): the
-- whole client path (validation, JSON encoding, signing, libcurl, response headers, JSON
-- decoding, the model's conversions), under whichever Lua runs it (Lua 5.4 or LuaJIT).
--   lua5.4|luajit bench/calls.lua SCHEME PORT N [CA_FILE]   N: the certificates the port serves
--   lua5.4 bench/calls.lua presign SCHEME PORT FILE         writes the signed request to FILE
-- The presign form writes exactly what the client sends (method, URL, headers, body), so that
-- the floors (bench/calls_curl.c) send the same bytes.
local B = require "bench.lib"
local PARAMS = B.PARAMS

if arg[1] == "presign" then
  local scheme, port, file = arg[2], arg[3], arg[4]
  local client = B.client(scheme, port)
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

local scheme, port, n, ca_file = B.call_args("calls.lua", " | presign http|https PORT FILE")
local client = B.client(scheme, port, ca_file)
B.first_call(client, n, "calls.lua")

local failures = 0
B.serve(function(count)
  for _ = 1, count do
    if not client:DescribeCertificates(PARAMS) then failures = failures + 1 end
  end
end, {}, function()
  return B.client_facts(client, failures)
end)

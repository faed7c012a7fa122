-- Where a call's time goes in the Lua layer: an in-process timer over each phase of
-- client:DescribeCertificates{ Limit = 10 } with a transport that answers at once (a canned
-- reply of N certificates), so that no network, server or kernel time is counted.
--   lua5.4 bench/phases.lua [N]        luajit bench/phases.lua [N]      (make bench-phases)
-- Prints microseconds per operation for the whole call and for each of its phases, one a line.
-- The phases nest (prepare includes the signature, the exchange json.decode); the whole call is
-- close to validation + prepare + exchange + schema.decode. Times on a shared machine move from run to run: compare
-- phases of one run, not runs.
local B = require "bench.lib"
local F = require "fixtures"
local tcssl = require "tcssl"
local schema = require "tcssl.schema"
local json = require "tcssl.json"
local envelope = require "tcssl.envelope"
local request = require "tcssl.request"
local credentials = require "tcssl.credentials"
local clock = require "tcssl.clock"
local core = require "tcssl.core"

local n = tonumber(arg[1]) or 0
local body = F.describe_certificates(n)
local HEADERS = { ["content-type"] = "application/json" }
local transport = { request = function() return 200, HEADERS, body end }
local client = assert(tcssl.new{ endpoint = "127.0.0.1:1", scheme = "http", secret_id = F.SECRET_ID,
  secret_key = F.SECRET_KEY, region = F.REGION, rate_limit = false, transport = transport })
local PARAMS = { Limit = 10 }
local ACTION = "DescribeCertificates"
local model = schema.model().actions[ACTION]
local COUNT = n >= 100 and 200 or 20000

local function time(name, f, count)
  count = count or COUNT
  for _ = 1, math.floor(count / 10) do f() end
  collectgarbage("collect")
  local t = B.now()
  for _ = 1, count do f() end
  io.write(("%-36s %9.2f us\n"):format(name, (B.now() - t) / count * 1e6))
end

io.write(("%s, a reply of %d certificates (%d bytes)\n"):format(B.RUNTIME, n, #body))
time("whole call", function() assert(client:DescribeCertificates(PARAMS)) end)
time("  schema.check_call (validation)", function()
  return schema.check_call(ACTION, model, PARAMS, client.check_opts)
end, 20000)
time("  client:prepare", function() return client:prepare(ACTION, PARAMS, 10) end, 20000)
time("    clock.signing_time", function() return clock.signing_time(client) end, 20000)
time("    credentials.fetch", function() return credentials.fetch(client.credentials, F.TIMESTAMP, 10) end, 20000)
local creds = credentials.fetch(client.credentials, F.TIMESTAMP, 10)
time("    request.build", function() return request.build(client.config, creds, ACTION, PARAMS, F.TIMESTAMP) end, 20000)
time("      json.encode", function() return json.encode(PARAMS) end, 20000)
local sign = { secret_id = F.SECRET_ID, secret_key = F.SECRET_KEY, service = "ssl", host = "127.0.0.1:1",
  method = "POST", query = "", content_type = "application/json", payload = '{"Limit":10}', timestamp = F.TIMESTAMP }
time("      tc3_sign", function() return core.tc3_sign(sign) end, 20000)
local req = client:prepare(ACTION, PARAMS, 10)
time("  client:exchange", function() return client:exchange(ACTION, req, 10, true) end)
time("    envelope.decode", function() return envelope.decode(200, HEADERS, body) end)
time("      json.decode", function() return json.decode(body) end)
time("  json.decode + schema.decode", function() return schema.decode(model, json.decode(body).Response) end)

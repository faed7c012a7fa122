-- The ceiling of the empty-page target: the core's one crossing alone, with no Lua layer
-- around it, as a program of the round protocol (bench/lib.lua). It calls session:call (sign,
-- send on the kept-alive handle, read the reply under DescribeCertificates' plan) on the
-- session of a client made as bench/calls.lua makes it, with the arguments that client passes
-- (tcssl.transport.curl's call), so it sends the same bytes; but without validation, JSON
-- encoding, credentials, retries, rate limits or the reply's conversions.
--   lua5.4|luajit bench/calls_core.lua SCHEME PORT N [CA_FILE]
-- Whatever tcssl's Lua layer does, a whole call cannot go faster than this loop.
local B = require "bench.lib"
local F = require "fixtures"
local json = require "tcssl.json"
local schema = require "tcssl.schema"

local scheme, port, n, ca_file = B.call_args("calls_core.lua")
local client = B.client(scheme, port, ca_file)
B.first_call(client, n, "calls_core.lua") -- it makes the session
local session, cfg = client.transport.session, client.config
local plan = schema.read_plan(schema.model().actions.DescribeCertificates)
local url, body, null, array_mt = scheme .. "://" .. cfg.host .. "/", json.encode(B.PARAMS), json.null, json.array_mt
local now, failures = os.time(), 0

B.serve(function(count)
  for i = 1, count do
    local status, _, _, doc = session:call(url, cfg.host, cfg.service, "DescribeCertificates", cfg.version,
      cfg.region, now + i % 7, nil, cfg.language, cfg.request_client, F.SECRET_ID, F.SECRET_KEY, body,
      cfg.timeout, cfg.connect_timeout, false, "POST", null, array_mt, plan)
    if status ~= 200 or type(doc) ~= "table" or #doc.Response.Certificates ~= n then failures = failures + 1 end
  end
end, {}, function()
  return B.client_facts(client, failures)
end)

-- TC3 signatures per second through tcssl.core.tc3_sign, signing the request in
-- bench/fixtures.lua. The derived key is cached by the core after the first signature, as it
-- is in a running client. Prints one result line (see bench/lib.lua); the Authorization value
-- goes with it so the report can check that every signer produced the same header.
--   lua5.4 bench/sign.lua
local B = require "bench.lib"
local F = require "fixtures"
local core = require "tcssl.core"

local sign = core.tc3_sign
local t = {
  secret_id = F.SECRET_ID, secret_key = F.SECRET_KEY, service = F.SIGN.service,
  host = F.SIGN.host, method = F.SIGN.method, query = "", content_type = F.SIGN.content_type,
  payload = F.SIGN.payload, timestamp = F.TIMESTAMP,
}

local rate, rounds = B.rate(function(n)
  for _ = 1, n do sign(t) end
end, { batch = 1000 })

B.emit{ id = "sign.tcssl", rate = rate, unit = "signatures/s", rounds = rounds,
  authorization = (sign(t)) }

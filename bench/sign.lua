-- TC3 signing as a program of the round protocol (bench/lib.lua), under Lua 5.4 or LuaJIT:
--   sign     tcssl.core.tc3_sign of the request in bench/fixtures.lua; the derived key is
--            cached by the core after the first signature, as it is in a running client
--   prepare  client:prepare() of the same request: the clock, the credentials, the JSON
--            body, the headers and the signature, what a call does before it sends
-- The final line carries the Authorization value of tc3_sign, which the report compares with
-- bare OpenSSL's (every signer must produce the same header).
--   lua5.4|luajit bench/sign.lua sign|prepare
local B = require "bench.lib"
local F = require "fixtures"
local core = require "tcssl.core"
local tcssl = require "tcssl"

local sign = core.tc3_sign
local t = {
  secret_id = F.SECRET_ID, secret_key = F.SECRET_KEY, service = F.SIGN.service,
  host = F.SIGN.host, method = F.SIGN.method, query = "", content_type = F.SIGN.content_type,
  payload = F.SIGN.payload, timestamp = F.TIMESTAMP,
}

if arg[1] == "sign" then
  B.serve(function(n)
    for _ = 1, n do sign(t) end
  end, { batch = 1000, warm_ops = 1e9 }, function() return { authorization = (sign(t)) } end)
elseif arg[1] == "prepare" then
  local client = assert(tcssl.new{ endpoint = F.SIGN.host, secret_id = F.SECRET_ID,
    secret_key = F.SECRET_KEY, region = F.REGION, rate_limit = false,
    clock = function() return F.TIMESTAMP end })
  local params = B.json.decode(F.SIGN.payload)
  assert(client:prepare("DescribeCertificates", params))
  B.serve(function(n)
    for _ = 1, n do client:prepare("DescribeCertificates", params) end
  end, { batch = 100, warm_ops = 1e9 })
else
  B.fail("usage: sign.lua sign|prepare")
end

-- TC3 signatures per second through tcssl.core (a first figure; `make bench` will compare it
-- with a bare OpenSSL loop and the Node SDK). Run: lua5.4 bench/sign.lua [N]
package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
package.cpath = "./lua/?.so;" .. package.cpath
local core = require "tcssl.core"

local n = tonumber(arg[1]) or 200000
local t = { secret_id = "AKIDTESTTESTTESTTESTTESTTESTTESTTEST", secret_key = "testsecretkeytestsecretkeytestse",
  service = "ssl", host = "ssl.tencentcloudapi.com", method = "POST", query = "",
  content_type = "application/json", payload = '{"Offset":0,"Limit":10,"SearchKey":"bench-example.com"}',
  timestamp = 1700000000 }
for _ = 1, 1000 do core.tc3_sign(t) end
local start = os.clock()
for _ = 1, n do core.tc3_sign(t) end
local elapsed = os.clock() - start
print(("tc3_sign: %d signatures in %.3f s CPU = %.0f signatures/s"):format(n, elapsed, n / elapsed))

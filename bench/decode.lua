-- Decoding a 1,000-certificate DescribeCertificates response (about 1.8 MB): tcssl's full path,
-- tcssl.json.decode (nulls out, integers as integers, arrays marked) followed by
-- tcssl.schema.decode with the action's model (every field's type checked, numeric strings in
-- Integer fields as integers), against a bare cjson.decode of the same text.
--   lua5.4 bench/decode.lua
local B = require "bench.lib"
local F = require "fixtures"
local cjson = require "cjson"
local json = require "tcssl.json"
local schema = require "tcssl.schema"

local text = F.describe_certificates(1000)
local action = schema.model().actions.DescribeCertificates

local function tcssl_decode()
  local doc = assert(json.decode(text))
  return schema.decode(action, doc.Response)
end

-- the two must agree on what they read
local bare, full = cjson.decode(text).Response, tcssl_decode()
assert(#full.Certificates == 1000 and #bare.Certificates == 1000)
assert(math.type(full.Certificates[1].Status) == "integer" and full.Certificates[1].PackageType == nil)

local opts = { batch = 1, seconds = 0.6, warmup = 0.3 }
local function measure(fn)
  collectgarbage("collect")
  return B.rate(function(n) for _ = 1, n do fn() end end, opts)
end

local cj_decode = cjson.decode
local floor, floor_rounds = measure(function() return cj_decode(text) end)
local rate, rounds = measure(tcssl_decode)

B.emit{ id = "decode.cjson", rate = floor, unit = "decodes/s", rounds = floor_rounds, bytes = #text }
B.emit{ id = "decode.tcssl", rate = rate, unit = "decodes/s", rounds = rounds, bytes = #text }

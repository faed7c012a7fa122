-- Decoding a DescribeCertificates response of N certificates (1,000: about 1.8 MB) as a program
-- of the round protocol (bench/lib.lua), under Lua 5.4 or LuaJIT, one decoder a process:
--   cjson   bare cjson.decode (the floor)
--   tcssl   tcssl.json.decode (nulls out, integers exact, arrays marked), whatever it is built on
--   full    tcssl.json.decode under the action's plan, then tcssl.schema.decode: what a call does
--           (the types tested while the text is read, tcssl.schema.read_plan)
--   lua5.4|luajit bench/decode.lua cjson|tcssl|full [N]
local B = require "bench.lib"
local F = require "fixtures"
local cjson = require "cjson"
local json = require "tcssl.json"
local schema = require "tcssl.schema"

local which, n = arg[1], tonumber(arg[2]) or 1000
local text = F.describe_certificates(n)
local action = schema.model().actions.DescribeCertificates
local decoders = {
  cjson = cjson.decode,
  tcssl = json.decode,
  full = function(s)
    local doc, checked = json.decode(s, schema.read_plan(action))
    return schema.decode(action, assert(doc).Response, nil, checked)
  end,
}
local decode = decoders[which] or B.fail("usage: decode.lua cjson|tcssl|full [N]")

-- every decoder must read the page it is given
local doc = decode(text)
local certs = which == "full" and doc.Certificates or doc.Response.Certificates
assert(#certs == n)

B.serve(function(count)
  for _ = 1, count do decode(text) end
end, { warm_ops = 1e9 }, function() return { bytes = #text } end)

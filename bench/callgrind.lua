-- The decode a call runs, repeated, for counting instructions under callgrind: the bench's page
-- of N certificates read by tcssl.json.decode under DescribeCertificates' plan, COUNT times
-- after one unmeasured decode (the plan compiled, the sizes of its fields learned).
--   lua5.4 bench/callgrind.lua [COUNT [N]]        luajit bench/callgrind.lua [COUNT [N]]
-- `make bench-callgrind` runs it under valgrind for both runtimes and prints the instructions
-- executed inside the core's reader (tcssl_json_read and what it calls). Counts, unlike times,
-- do not move with the machine's load: they tell whether a change to the reader pays.
require "bench.lib"
local F = require "fixtures"
local json = require "tcssl.json"
local schema = require "tcssl.schema"

local count = tonumber(arg[1]) or 300
local text = F.describe_certificates(tonumber(arg[2]) or 10)
local plan = schema.read_plan(schema.model().actions.DescribeCertificates)
assert(json.decode(text, plan))
for _ = 1, count do json.decode(text, plan) end

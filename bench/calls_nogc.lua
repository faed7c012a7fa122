-- The ceiling of the 1,000-certificate target under Lua 5.4: the whole client call, as
-- bench/calls.lua makes it, with no garbage collection inside a round. A full collection runs
-- before each round and each warm-up window, outside the timing, and the collector is stopped
-- until the next (a round of 0.4 s leaves about 0.1 GB of replies behind; past 0.5 GB a
-- collection runs anyway). It measures what a call costs when the collector costs nothing:
-- the share of the collector in a call is the gap between this figure and bench/calls.lua's.
-- Not how anyone should run a client: the collector is the host's.
--   lua5.4|luajit bench/calls_nogc.lua SCHEME PORT N [CA_FILE]
local B = require "bench.lib"

local scheme, port, n, ca_file = B.call_args("calls_nogc.lua")
local client = B.client(scheme, port, ca_file)
B.first_call(client, n, "calls_nogc.lua")

local LIMIT_KB = 512 * 1024
local function collect()
  collectgarbage("restart")
  collectgarbage()
  collectgarbage("stop")
end
local failures = 0
B.serve(function(count)
  for _ = 1, count do
    if collectgarbage("count") > LIMIT_KB then collect() end
    if not client:DescribeCertificates(B.PARAMS) then failures = failures + 1 end
  end
end, { before = collect }, function()
  collectgarbage("restart")
  return B.client_facts(client, failures)
end)

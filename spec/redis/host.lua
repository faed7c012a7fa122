-- One "host" of the fleet specs (spec/redis/redis_spec.lua), run as its own process:
--   lua5.4 spec/redis/host.lua MODE EMULATOR_HOST REDIS_URL OFFSET GO_FILE SECONDS
-- MODE calls: DescribeCertificates (10/s) through the Redis limiter until SECONDS of wall clock
-- have passed (at most 200 calls); prints "calls N failed M".
-- MODE credentials: one call with CVM-role keys from the emulator's metadata service, shared
-- through Redis; MODE sts: the same with keys from STS AssumeRole. Both print "calls N failed M
-- account A", A the account digest of the temporary SecretId the call was signed with.
-- OFFSET is added to this process's monotonic clock, so each host has a different one. The
-- process says "ready", then waits (bounded) for GO_FILE, so the hosts start together.
package.path = "./lua/?.lua;./lua/?/init.lua;./?.lua;" .. package.path
package.cpath = (os.getenv("TCSSL_CORE_CPATH") or "./lua/?.so") .. ";" .. package.cpath
local socket = require "socket"
local tcssl = require "tcssl"
local runtime = require "tcssl.runtime"
local redis = require "tcssl.shared.redis"

local mode, emulator, url, offset, go, seconds = arg[1], arg[2], arg[3], tonumber(arg[4]), arg[5], tonumber(arg[6])
local cache = assert(redis.new{ url = url, timeout = 0.5, encryption_key = "fleet-spec-encryption-key-0001" })
local temporary = mode == "credentials" or mode == "sts"
local config = { endpoint = emulator, scheme = "http", shared_dict = cache, deadline = 10,
  monotonic = function() return runtime.now() + offset end }
if mode == "credentials" then
  config.credentials = require("tcssl.credentials").cvm_role{
    metadata_url = "http://" .. emulator .. "/latest/meta-data/",
    role = "tcssl-emulator-role", cache = cache }
elseif mode == "sts" then
  config.credentials = require("tcssl.credentials").assume_role{ secret_id = "AKIDEMULATOR",
    secret_key = "tcssl-emulator-demo-secret-key-0", role_arn = "qcs::cam::uin/100000000001:roleName/fleet",
    endpoint = emulator, scheme = "http", cache = cache }
else
  config.secret_id, config.secret_key = "AKIDEMULATOR", "tcssl-emulator-demo-secret-key-0"
end
local client = assert(tcssl.new(config))

io.stdout:write("ready\n")
io.stdout:flush()
local waited = socket.gettime() + 20
while not io.open(go, "rb") do
  if socket.gettime() > waited then error("no go signal") end
  socket.sleep(0.005)
end

local calls, failed = 0, 0
local stop = socket.gettime() + (seconds or 0)
for _ = 1, temporary and 1 or 200 do
  local res, err = client:DescribeCertificates{}
  calls = calls + 1
  if not res then
    failed = failed + 1
    io.stderr:write(tostring(err.code), " ", tostring(err.message), "\n")
  end
  if socket.gettime() > stop then break end
end
local account = "-"
if temporary then
  local creds = config.credentials.get(os.time())
  account = creds and require("tcssl.ratelimit").account(creds.secret_id) or "none"
end
io.stdout:write(("calls %d failed %d account %s\n"):format(calls, failed, account))

-- The nginx side of spec/redis/nginx_redis_spec.lua: /burst calls a 10/s action for a few
-- luacheck: globals ngx
-- seconds through a client whose limiter is in Redis (tcssl.shared.redis over cosockets).
local cjson = require "cjson.safe"

local M = {}

local client

function M.burst()
  local args = ngx.req.get_uri_args()
  if not client then
    local cache = assert(require("tcssl.shared.redis").new{ url = args.redis, timeout = 0.5 })
    client = assert(require("tcssl").new{ endpoint = args.emulator, scheme = "http", secret_id = args.id,
      secret_key = args.key, shared_dict = cache, deadline = 10 })
  end
  ngx.update_time()
  local stop = ngx.now() + tonumber(args.seconds)
  local calls, failed, last = 0, 0, nil
  for _ = 1, 100 do
    local res, err = client:DescribeCertificates{}
    calls = calls + 1
    if not res then
      failed = failed + 1
      last = tostring(err.code) .. ": " .. tostring(err.message)
    end
    ngx.update_time()
    if ngx.now() > stop then break end
  end
  ngx.say(cjson.encode{ calls = calls, failed = failed, pid = ngx.worker.pid(), error = last })
end

return M

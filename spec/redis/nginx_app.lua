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

-- /tls: tcssl.shared.redis over rediss:// on cosockets (the handshake on lua-resty-redis's
-- socket, verified against lua_ssl_trusted_certificate): a set and two gets, the second on a
-- pooled connection (server_name "localhost", a DNS name of the certificate), then a cache
-- that expects another name and one that checks the address 127.0.0.1, which both fail:
-- nginx matches the name as a DNS name only, never as an IP address.
function M.tls()
  local args = ngx.req.get_uri_args()
  local redis = require "tcssl.shared.redis"
  local warnings = {}
  local function warn(m) warnings[#warnings + 1] = m end
  local good = assert(redis.new{ url = args.redis, timeout = 1, server_name = "localhost", on_warning = warn })
  local out = {}
  out.set, out.set_error = good:set("tcssl:tls", "yes")
  out.get = good:get("tcssl:tls")
  out.again = good:get("tcssl:tls")
  local misnamed = assert(redis.new{ url = args.redis, timeout = 1, server_name = "redis.example.com",
    on_warning = warn })
  out.misnamed, out.misnamed_error = misnamed:get("tcssl:tls")
  local by_address = assert(redis.new{ url = args.redis, timeout = 1, on_warning = warn })
  out.by_address, out.by_address_error = by_address:get("tcssl:tls")
  out.warnings = #warnings
  ngx.say(cjson.encode(out))
end

return M

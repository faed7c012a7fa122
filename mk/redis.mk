# Rate limits and temporary credentials shared between hosts through Redis (tcssl.shared.redis):
#   test-redis   spec/redis: a redis-server of its own on a free loopback port, the emulator,
#                three host processes under the Redis limiter and at a credential refresh,
#                Redis stopped, silent and refusing; and the same limiter inside nginx with two
#                workers over cosockets (spec/redis/nginx_redis_spec.lua, LuaJIT core); then
#                spec/redis/redis_spec.lua again under LuaJIT (redis-lua from Debian's 5.1 folder)
#   bench-redis  bench/redis.lua: calls/s through the Redis limiter against the local one
# redis-lua (lua-redis) is packaged for Lua 5.1-5.3; tcssl.shared.redis loads it from its 5.3
# folder under Lua 5.4. lua-nginx-redis is lua-resty-redis, as the module nginx.redis.

REDIS_PKGS   := redis-server redis-tools lua-redis lua-nginx-redis
REDIS_SUITES := test-redis

.PHONY: test-redis bench-redis

test-redis: all luajit
	@sh tools/run-specs lua5.4 $(CORE) spec/redis
	@sh tools/run-specs luajit $(LUAJIT_CORE) spec/redis/redis_spec.lua

bench-redis: all
	@$(LUA) bench/redis.lua

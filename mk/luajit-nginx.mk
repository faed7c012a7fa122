# The core built for LuaJIT, and the suites that run it, as part of `make test`:
#   test-luajit  the busted specs under LuaJIT against build/luajit/tcssl/core.so
#   test-nginx   Debian's nginx + libnginx-mod-http-lua with the LuaJIT core: the cosocket
#                transport against the emulator, phases, keep-alive, the OpenResty example
# The nginx specs are the folder spec/nginx, named here; a plain busted run leaves it out (.busted).

LUAJIT_NGINX_PKGS   := luajit2 libluajit2-5.1-dev nginx libnginx-mod-http-lua
LUAJIT_NGINX_SUITES := test-luajit test-nginx

LUAJIT_CORE := build/luajit/tcssl/core.so
NGINX_SPECS := spec/nginx

.PHONY: luajit test-luajit test-nginx

luajit:
	@$(MAKE) --no-print-directory LUA=luajit all

test-luajit: luajit
	@sh tools/run-specs luajit $(LUAJIT_CORE)

# The specs run under lua5.4 and start nginx, whose workers load the LuaJIT core.
test-nginx: luajit
	@sh tools/run-specs lua5.4 $(CORE) $(NGINX_SPECS)

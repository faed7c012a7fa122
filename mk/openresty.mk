# OpenResty and embedding (issue 7), as part of `make test`:
#   test-luajit  the busted specs under LuaJIT against build/luajit/tcssl/core.so
#   test-nginx   Debian's nginx + libnginx-mod-http-lua with the LuaJIT core: the cosocket
#                transport against the emulator, phases, keep-alive, the OpenResty example
#   test-host    examples/host/host.c, a C program embedding Lua 5.4 and the core, against
#                the emulator
# The nginx and host specs are named here; .busted keeps them out of plain busted runs.

LUAJIT_CORE := build/luajit/tcssl/core.so
HOST_BIN    := build/host/tcssl-host
NGINX_SPECS := spec/nginx/nginx_cosocket_spec.lua spec/nginx/nginx_hardening_spec.lua
HOST_SPECS  := spec/host/host_embed_spec.lua

DEB_PKGS    += luajit2 libluajit2-5.1-dev nginx libnginx-mod-http-lua
TEST_SUITES += test-luajit test-nginx test-host

.PHONY: luajit test-luajit test-nginx test-host host

luajit:
	@$(MAKE) --no-print-directory LUA=luajit all

test-luajit: luajit
	@sh tools/run-specs luajit $(LUAJIT_CORE)

test-nginx: luajit
	@sh tools/run-specs lua5.4 $(CORE) $(NGINX_SPECS)

# The core is compiled into the program (no core.so); TCSSL_ROOT is where it finds lua/.
$(HOST_BIN): examples/host/host.c $(SRCS) $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) -I/usr/include/lua5.4 -DTCSSL_VERSION='"$(VERSION)"' -DTCSSL_ROOT='"$(CURDIR)"' \
	  -o $@ examples/host/host.c $(SRCS) -llua5.4 $(LIBS)

host: $(HOST_BIN)

test-host: $(HOST_BIN)
	@sh tools/run-specs lua5.4 $(CORE) $(HOST_SPECS)

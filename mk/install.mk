# Using tcssl outside its checkout, and the suite that checks it as part of `make test`:
#   make env               the LUA_PATH / LUA_CPATH exports that put this clone on the path
#                          (eval "$(make -s env)"; `make env LUA=luajit` for LuaJIT's core)
#   test-install           `make install` into temporary trees (DESTDIR, PREFIX, Lua 5.4 and
#                          LuaJIT, a symlinked command), each used from a shell that has only it
# The install specs are spec/install/; a plain busted run leaves them out (.busted). This suite
# runs install_spec.lua by name: the LuaRocks routes there have a suite of their own.

INSTALL_PKGS   :=              # the core's packages, and LuaJIT's (mk/luajit-nginx.mk)
INSTALL_SUITES := test-install

INSTALL_SPECS  := spec/install/install_spec.lua

.PHONY: env test-install

# Lua 5.4 reads LUA_PATH_5_4 / LUA_CPATH_5_4 before LUA_PATH / LUA_CPATH, which LuaJIT reads:
# the two exports can be in one shell. The trailing ";;" keeps each interpreter's defaults.
ifeq ($(LUA_TAG),lua5.4)
  ENV_SUFFIX := _5_4
  ENV_CPATH  := $(CURDIR)/lua/?.so
else
  ENV_SUFFIX :=
  ENV_CPATH  := $(CURDIR)/$(dir $(patsubst %/,%,$(dir $(CORE))))?.so
endif

env:
	@test -f $(CORE) || echo "# $(CORE) is not built yet: run make$(if $(filter luajit,$(LUA)), LUA=luajit)" >&2
	@echo "export LUA_PATH$(ENV_SUFFIX)='$(CURDIR)/lua/?.lua;$(CURDIR)/lua/?/init.lua;;'"
	@echo "export LUA_CPATH$(ENV_SUFFIX)='$(ENV_CPATH);;'"

test-install: all luajit
	@sh tools/run-specs lua5.4 $(CORE) $(INSTALL_SPECS)

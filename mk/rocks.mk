# The LuaRocks packages (rockspec/), their release tarball, and the suite that installs them, as
# part of `make test`:
#   make rocks-config  build/luarocks-config-5.4.lua and build/luarocks-config-luajit.lua: Debian's
#                      lua-cjson, lua-socket, lua-sec and lua-luaossl stand for the rocks of those
#                      names (rocks_provided), so `luarocks make` downloads nothing; the LuaJIT one
#                      also names the interpreter and its headers; and build/rockspec-luajit/
#                      tcssl-scm-1.rockspec, the client's rockspec for LuaJIT (README "LuaRocks")
#   make dist          build/dist/tcssl-$(VERSION).tar.gz from `git archive HEAD` (the same bytes for
#                      the same commit) and, from the scm rockspecs, rockspec/tcssl-$(VERSION)-1.rockspec
#                      and rockspec/tcssl-emulator-$(VERSION)-1.rockspec with its address and md5
#                      (tools/gen-rockspec.lua; generated, not committed); `luarocks pack` of one
#                      gives its .src.rock
#   test-rocks         spec/install/rocks_spec.lua: `luarocks make` of both rocks into temporary
#                      trees for Lua 5.4 and LuaJIT, used from a shell with only that tree on the path
# The install specs are the folder spec/install, run by name; a plain busted run leaves it out (.busted).

ROCKS_PKGS   := luarocks
ROCKS_SUITES := test-rocks

ROCKS_SPECS  := spec/install/rocks_spec.lua
ROCKS_DIST   := build/dist/tcssl-$(VERSION).tar.gz
# where the versioned rockspecs fetch the tarball from: this clone's, unless a release names
# the address it is published at (make dist ROCKS_DIST_URL=https://...)
ROCKS_DIST_URL ?= file://$(CURDIR)/$(ROCKS_DIST)

.PHONY: rocks-config dist test-rocks

rocks-config:
	@sh tools/rocks-config.sh build
	@mkdir -p build/rockspec-luajit
	@lua5.4 tools/gen-rockspec.lua luajit rockspec/tcssl-scm-1.rockspec build/rockspec-luajit

dist:
	@mkdir -p $(dir $(ROCKS_DIST))
	git archive --format=tar.gz --prefix=tcssl-$(VERSION)/ -o $(ROCKS_DIST) HEAD
	@lua5.4 tools/gen-rockspec.lua release $(ROCKS_DIST_URL) $$(md5sum $(ROCKS_DIST) | cut -d' ' -f1)
	@git diff --quiet HEAD || echo "make dist: the tarball is HEAD's; uncommitted changes are not in it" >&2

test-rocks: all rocks-config
	@sh tools/run-specs lua5.4 $(CORE) $(ROCKS_SPECS)

# tcssl: build, test and run. `make test` and `make demo` install what they need first.

.DEFAULT_GOAL := all

LUA        ?= lua5.4
PREFIX     ?= /usr/local
CC         ?= cc
# The one place the version is written; the core (-DTCSSL_VERSION), the rockspecs
# (tools/gen-rockspec.lua) and `make dist` read it from there.
VERSION    := $(shell cat $(CURDIR)/VERSION)

ifeq ($(LUA),luajit)
  LUA_INC  ?= /usr/include/luajit-2.1
  LUA_TAG  := luajit
  LUA_MOD_LDIR := $(PREFIX)/share/lua/5.1
  LUA_MOD_CDIR := $(PREFIX)/lib/lua/5.1
else
  LUA_INC  ?= /usr/include/lua5.4
  LUA_TAG  := lua5.4
  LUA_MOD_LDIR := $(PREFIX)/share/lua/5.4
  LUA_MOD_CDIR := $(PREFIX)/lib/lua/5.4
endif

# Lua 5.4's module sits beside the Lua sources; other builds go under build/<tag>/.
ifeq ($(LUA_TAG),lua5.4)
  CORE     := lua/tcssl/core.so
else
  CORE     := build/$(LUA_TAG)/tcssl/core.so
endif

# CC, CFLAGS, CPPFLAGS and LDFLAGS are the caller's (a distribution's hardening flags go there).
# Warnings are errors in development and CI only: `make test`, `.ci/run` and DEVELOPER=1 set
# WERROR=-Werror; a plain `make` (or `luarocks make`) warns without failing.
ifdef DEVELOPER
  WERROR   ?= -Werror
endif
WERROR     ?=
WARN       := -std=c99 -Wall -Wextra $(WERROR) -Wshadow -Wstrict-prototypes
CFLAGS     ?= -O2 -g
CPPFLAGS   ?=
LDFLAGS    ?=
ALL_CFLAGS := $(CPPFLAGS) $(WARN) $(CFLAGS) -fPIC -fvisibility=hidden -I$(LUA_INC) -DTCSSL_VERSION='"$(VERSION)"'
# The core's own libraries: libcurl (csrc/http.c), OpenSSL's libcrypto (csrc/sign.c, csrc/x509.c)
# and libzip (csrc/zip.c). Every program built from $(SRCS) links them.
LIBS       := -lcurl -lcrypto -lzip
SRCS       := csrc/core.c csrc/sign.c csrc/http.c csrc/x509.c csrc/headers.c csrc/zip.c csrc/json.c csrc/json_write.c csrc/tidy.c csrc/files.c
HDRS       := csrc/compat.h csrc/sign.h csrc/tcssl.h csrc/headers.h

# Debian packages of the core and its Lua 5.4 specs: the compiler, Lua, the headers of the
# libraries above (libssl-dev is OpenSSL's), and what the specs and the emulator run with
# (man-db and zsh: the command's manual page and zsh completion are checked with them).
# `make deps` installs these and the packages the suites in mk/ name (DEB_PKGS, below).
CORE_PKGS  := lua5.4 liblua5.4-dev lua-cjson lua-busted lua-socket lua-sec lua-luaossl lua-check \
              libcurl4-openssl-dev libssl-dev libzip-dev openssl gcc make man-db zsh

BUSTED     := /usr/bin/busted

.PHONY: all deps test test-lua54 demo install uninstall clean lint model model-facts emulator-messages

# The API model is generated in two steps, never edited by hand (docs/model-notes.md):
#   make model-facts SEED=...  the documents -> model/facts.lua (committed), the normalised facts
#   make model                 model/facts.lua -> lua/tcssl/model.lua (what the client uses),
#                              lua/tcssl/model_docs.lua (descriptions, examples) and docs/api.md
# `make model` needs nothing outside the clone; both steps give the same bytes every time.
SEED_NAME := 004_6ca79b59cc431531.txt
SEED ?= $(firstword $(wildcard ../shared/seeds/$(SEED_NAME) /work/shared/seeds/$(SEED_NAME)))
model-facts:
	@test -n "$(SEED)" || { echo "make model-facts: give SEED=path/to/$(SEED_NAME)"; exit 2; }
	lua5.4 tools/gen-facts.lua $(SEED) model/facts.lua

# The emulator's error messages in both languages, from the documents' error code tables
# (tools/gen-messages.lua; lua/tcssl_emulator/messages.lua is committed).
SEEDS_DIR ?= $(firstword $(wildcard ../shared/seeds /work/shared/seeds))
emulator-messages:
	@test -n "$(SEEDS_DIR)" || { echo "make emulator-messages: give SEEDS_DIR=path/to/seeds"; exit 2; }
	lua5.4 tools/gen-messages.lua $(SEEDS_DIR) lua/tcssl_emulator/messages.lua

model:
	lua5.4 tools/gen-model.lua model/facts.lua lua/tcssl --rockspec rockspec/tcssl-scm-1.rockspec
	lua5.4 tools/gen-apidoc.lua model/facts.lua docs/api.md

all: $(CORE)

# The core is rebuilt when its compile line changes (another CC, CFLAGS, -Werror from `make test`):
# the line is kept in build/<tag>.flags, rewritten only when it differs (not under make -n).
FLAGS_STAMP ?= build/$(LUA_TAG).flags
FLAGS_LINE  := $(CC) $(ALL_CFLAGS) -shared $(LDFLAGS) $(LIBS)
ifeq ($(findstring n,$(firstword -$(MAKEFLAGS))),)
  ifneq ($(file <$(FLAGS_STAMP)),$(FLAGS_LINE))
    $(shell mkdir -p $(dir $(FLAGS_STAMP)))
    $(file >$(FLAGS_STAMP),$(FLAGS_LINE))
  endif
endif

$(CORE): $(SRCS) $(HDRS) Makefile VERSION $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -shared $(LDFLAGS) -o $@ $(SRCS) $(LIBS)

deps:
	@sh tools/deps.sh $(DEB_PKGS)

# bin/ scripts have no .lua suffix, so they are named: luacheck skips them in a directory.
LINT_PATHS := lua bin/tcssl bin/tcssl-emulator spec tools examples
lint:
	luacheck -q $(LINT_PATHS)

# One fragment per thing the other targets build (mk/README). Each defines its own variables
# only, and names its suites in <NAME>_SUITES and its Debian packages in <NAME>_PKGS.
include mk/sanitizers.mk mk/fuzz.mk mk/luajit-nginx.mk mk/host.mk mk/bench.mk mk/install.mk mk/rocks.mk mk/node.mk \
        mk/serve.mk mk/redis.mk

# `make test` runs these suites in this order. Each appends "passed failed" to $(COUNTS);
# tools/summary prints the one closing line "N passed, M failed" that CI reads, and fails when
# any suite failed.
TEST_SUITES := test-lua54 $(FUZZ_SUITES) $(SANITIZER_SUITES) $(LUAJIT_NGINX_SUITES) $(HOST_SUITES) \
               $(INSTALL_SUITES) $(ROCKS_SUITES) $(NODE_SUITES) $(REDIS_SUITES)
DEB_PKGS    := $(CORE_PKGS) $(SANITIZER_PKGS) $(FUZZ_PKGS) $(LUAJIT_NGINX_PKGS) $(HOST_PKGS) \
               $(INSTALL_PKGS) $(ROCKS_PKGS) $(NODE_PKGS) $(SERVE_PKGS) $(REDIS_PKGS)
COUNTS      := build/test-counts
export TCSSL_COUNTS := $(CURDIR)/$(COUNTS)

# Strict: every build under `make test` (the core, the suites' builds) makes warnings errors.
test: export WERROR := -Werror
test: deps
	@$(MAKE) --no-print-directory all
	@luacheck -q $(LINT_PATHS) >/dev/null || { luacheck -q $(LINT_PATHS); exit 1; }
	@mkdir -p build && rm -f $(COUNTS)
	@status=0; for suite in $(TEST_SUITES); do \
	  $(MAKE) --no-print-directory $$suite || status=1; done; \
	  sh tools/summary $(COUNTS) && [ $$status -eq 0 ]

test-lua54:
	@sh tools/run-specs lua5.4 $(CORE)

demo: deps
	@$(MAKE) --no-print-directory all
	@sh tools/demo.sh

# The launchers (bin/) are installed for $(LUA): its name in the #! line, and PREFIX written in,
# so that an installed script finds PREFIX's share/lua/<ver> and lib/lua/<ver> without LUA_PATH.
install_launcher = sed -e '1s|^\#!.*|\#!/usr/bin/env $(LUA)|' \
  -e 's|^local INSTALLED_PREFIX = nil|local INSTALLED_PREFIX = "$(PREFIX)"|' $(1) \
  >$(DESTDIR)$(PREFIX)/bin/$(notdir $(1)) && chmod 755 $(DESTDIR)$(PREFIX)/bin/$(notdir $(1))

install: all install-emulator
	install -d $(DESTDIR)$(LUA_MOD_LDIR)/tcssl/transport \
	  $(DESTDIR)$(LUA_MOD_LDIR)/tcssl/model/actions $(DESTDIR)$(LUA_MOD_LDIR)/tcssl/model/structs \
	  $(DESTDIR)$(LUA_MOD_CDIR)/tcssl
	install -m 644 lua/tcssl/*.lua $(DESTDIR)$(LUA_MOD_LDIR)/tcssl/
	install -m 644 lua/tcssl/model/*.lua $(DESTDIR)$(LUA_MOD_LDIR)/tcssl/model/
	install -m 644 lua/tcssl/model/actions/*.lua $(DESTDIR)$(LUA_MOD_LDIR)/tcssl/model/actions/
	install -m 644 lua/tcssl/model/structs/*.lua $(DESTDIR)$(LUA_MOD_LDIR)/tcssl/model/structs/
	install -m 644 lua/tcssl/transport/*.lua $(DESTDIR)$(LUA_MOD_LDIR)/tcssl/transport/
	install -d $(DESTDIR)$(LUA_MOD_LDIR)/tcssl/cli $(DESTDIR)$(LUA_MOD_LDIR)/tcssl/credentials \
	  $(DESTDIR)$(LUA_MOD_LDIR)/tcssl/json $(DESTDIR)$(LUA_MOD_LDIR)/tcssl/shared
	install -m 644 lua/tcssl/cli/*.lua $(DESTDIR)$(LUA_MOD_LDIR)/tcssl/cli/
	install -m 644 lua/tcssl/credentials/*.lua $(DESTDIR)$(LUA_MOD_LDIR)/tcssl/credentials/
	install -m 644 lua/tcssl/json/*.lua $(DESTDIR)$(LUA_MOD_LDIR)/tcssl/json/
	install -m 644 lua/tcssl/shared/*.lua $(DESTDIR)$(LUA_MOD_LDIR)/tcssl/shared/
	install -m 755 $(CORE) $(DESTDIR)$(LUA_MOD_CDIR)/tcssl/core.so
	install -d $(DESTDIR)$(PREFIX)/bin
	$(call install_launcher,bin/tcssl)
	$(MAKE) --no-print-directory install-docs

# The manual page and the completion scripts, made by the command itself from the text of its
# --help and the API model (lua/tcssl/cli/docs.lua): `tcssl man`, `tcssl completion bash|zsh`.
MAN1_DIR     := $(PREFIX)/share/man/man1
BASH_COMP_DIR := $(PREFIX)/share/bash-completion/completions
ZSH_COMP_DIR := $(PREFIX)/share/zsh/site-functions
.PHONY: install-docs
install-docs: all
	install -d $(DESTDIR)$(MAN1_DIR) $(DESTDIR)$(BASH_COMP_DIR) $(DESTDIR)$(ZSH_COMP_DIR)
	$(LUA) bin/tcssl man >$(DESTDIR)$(MAN1_DIR)/tcssl.1
	$(LUA) bin/tcssl completion bash >$(DESTDIR)$(BASH_COMP_DIR)/tcssl
	$(LUA) bin/tcssl completion zsh >$(DESTDIR)$(ZSH_COMP_DIR)/_tcssl

# The emulator is a package of its own (rockspec/tcssl-emulator-scm-1.rockspec) that needs the
# client; `make install` installs both.
.PHONY: install-emulator
install-emulator:
	install -d $(DESTDIR)$(LUA_MOD_LDIR)/tcssl_emulator $(DESTDIR)$(PREFIX)/bin
	install -m 644 lua/tcssl_emulator/*.lua $(DESTDIR)$(LUA_MOD_LDIR)/tcssl_emulator/
	$(call install_launcher,bin/tcssl-emulator)

uninstall:
	rm -rf $(DESTDIR)$(LUA_MOD_LDIR)/tcssl $(DESTDIR)$(LUA_MOD_CDIR)/tcssl
	rm -f $(DESTDIR)$(PREFIX)/bin/tcssl $(DESTDIR)$(MAN1_DIR)/tcssl.1 $(DESTDIR)$(BASH_COMP_DIR)/tcssl \
	  $(DESTDIR)$(ZSH_COMP_DIR)/_tcssl
	rm -rf $(DESTDIR)$(LUA_MOD_LDIR)/tcssl_emulator
	rm -f $(DESTDIR)$(PREFIX)/bin/tcssl-emulator

clean:
	rm -rf build lua/tcssl/core.so

# Benchmarks and the soak, with their own packages (`make bench-deps`); none is part of `make test`.
#   make bench    every figure, as ratios against floors measured in the same run, in
#                 interleaved rounds (bench/run.sh, bench/driver.lua)
#   make soak     only the soak: 100,000 calls through one client, RSS and descriptors
# BENCH_QUICK=1 makes a short smoke run (proves the plumbing, not the numbers).
# Results: a table on stdout, bench/results/<date>.jsonl and bench/results/latest.md.

# The core's build for both runtimes (it links libcurl, OpenSSL and libzip), the floors' programs,
# nginx, and node with npm for the official SDK (bench/run.sh installs it into build/bench-node).
BENCH_PKGS := nginx openssl lua5.4 liblua5.4-dev lua-cjson lua-socket libcurl4-openssl-dev \
              libssl-dev libzip-dev gcc make luajit2 libluajit2-5.1-dev nodejs
BENCH_BINS := build/bench/sign_openssl build/bench/calls_curl build/bench/calls_cjson_lua54 \
              build/bench/calls_cjson_luajit

# The floors send what tcssl sends, its User-Agent included.
BENCH_CFLAGS := $(WARN) -O2 -DUSER_AGENT='"tcssl/$(VERSION)"'

.PHONY: bench soak bench-deps

bench-deps:
	@sh tools/deps.sh $(BENCH_PKGS)

build/bench/sign_openssl: bench/sign_openssl.c bench/rounds.h
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -o $@ $< -lcrypto -lm

build/bench/calls_curl: bench/calls_curl.c bench/rounds.h
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -o $@ $< -lcurl -lm

# libcurl + cjson.decode called from C, in an embedded Lua 5.4 or LuaJIT
build/bench/calls_cjson_lua54: bench/calls_curl.c bench/rounds.h
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -DWITH_LUA -I/usr/include/lua5.4 -o $@ $< -lcurl -llua5.4 -lm

build/bench/calls_cjson_luajit: bench/calls_curl.c bench/rounds.h
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -DWITH_LUA -I/usr/include/luajit-2.1 -o $@ $< -lcurl -lluajit-5.1 -lm

bench: bench-deps
	@$(MAKE) --no-print-directory all $(BENCH_BINS)
	@$(MAKE) --no-print-directory LUA=luajit all
	@sh bench/run.sh

soak: bench-deps
	@$(MAKE) --no-print-directory all $(BENCH_BINS)
	@sh bench/run.sh soak

# Where a call's time goes in the Lua layer, phase by phase, with a transport that answers at
# once (bench/phases.lua), on an empty page and on 10 certificates, under Lua 5.4 and LuaJIT.
.PHONY: bench-phases
bench-phases:
	@$(MAKE) --no-print-directory all >/dev/null
	@for n in 0 10; do lua5.4 bench/phases.lua $$n; done
	@if command -v luajit >/dev/null 2>&1; then \
	  $(MAKE) --no-print-directory LUA=luajit all >/dev/null && for n in 0 10; do luajit bench/phases.lua $$n; done; fi

# The Lua heap one client costs (require, new, one call against the emulator), under Lua 5.4
# and, when luajit is installed, LuaJIT: bench/memory.lua. Quick (a second); part of neither
# `make bench` nor `make test`.
.PHONY: bench-memory
bench-memory:
	@$(MAKE) --no-print-directory all >/dev/null
	@lua5.4 bench/memory.lua
	@if command -v luajit >/dev/null 2>&1; then \
	  $(MAKE) --no-print-directory LUA=luajit all >/dev/null && luajit bench/memory.lua build/luajit; fi

# Instructions the core's reader executes (callgrind's count inside tcssl_json_read, callees
# included) over 300 planned decodes of the 10-certificate page, under Lua 5.4 and LuaJIT
# (bench/callgrind.lua). Unlike a time, the count does not move with the machine's load.
# CALLGRIND_ARGS="COUNT PAGES" changes the loop. Part of neither `make bench` nor `make test`.
CALLGRIND_ARGS ?= 300 10
.PHONY: bench-callgrind
bench-callgrind:
	@sh tools/deps.sh valgrind
	@$(MAKE) --no-print-directory all >/dev/null
	@$(MAKE) --no-print-directory LUA=luajit all >/dev/null
	@sh bench/callgrind.sh $(CALLGRIND_ARGS)

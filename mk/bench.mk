# Benchmarks and the soak, with their own packages (`make bench-deps`); none is part of `make test`.
#   make bench    every figure, as ratios against floors measured in the same run (bench/run.sh)
#   make soak     only the soak: 100,000 calls through one client, RSS and descriptors
# BENCH_QUICK=1 makes a short smoke run (proves the plumbing, not the numbers).
# Results: a table on stdout, bench/results/<date>.jsonl and bench/results/latest.md.

# The core's build (it links libcurl, OpenSSL and libzip), the floors' programs and nginx.
BENCH_PKGS := nginx openssl lua5.4 liblua5.4-dev lua-cjson lua-socket libcurl4-openssl-dev \
              libssl-dev libzip-dev gcc make
BENCH_BINS := build/bench/sign_openssl build/bench/calls_curl

.PHONY: bench soak bench-deps

bench-deps:
	@sh tools/deps.sh $(BENCH_PKGS)

build/bench/sign_openssl: bench/sign_openssl.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) -O2 -o $@ $< -lcrypto

build/bench/calls_curl: bench/calls_curl.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) -O2 -o $@ $< -lcurl

bench: bench-deps
	@$(MAKE) --no-print-directory all $(BENCH_BINS)
	@sh bench/run.sh

soak: bench-deps
	@$(MAKE) --no-print-directory all $(BENCH_BINS)
	@sh bench/run.sh soak

# The Lua heap one client costs (require, new, one call against the emulator), under Lua 5.4
# and, when luajit is installed, LuaJIT: bench/memory.lua. Quick (a second); part of neither
# `make bench` nor `make test`.
.PHONY: bench-memory
bench-memory:
	@$(MAKE) --no-print-directory all >/dev/null
	@lua5.4 bench/memory.lua
	@if command -v luajit >/dev/null 2>&1; then \
	  $(MAKE) --no-print-directory LUA=luajit all >/dev/null && luajit bench/memory.lua build/luajit; fi

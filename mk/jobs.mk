# The jobs layer (issue 8): pagination, waiters, certificate and zip helpers, the flows, the
# `tcssl` CLI. Their specs run in the Lua 5.4 suite by themselves (tools/run-specs takes
# every spec); this file adds what the rest of the build needs to know.

# The core reads and writes zip archives with libzip (csrc/zip.c).
DEB_PKGS += libzip-dev

# A libFuzzer target for core.unzip, with seed archives under fuzz/corpus/unzip/; `make fuzz`
# runs it and `make test` replays its corpus with the others.
FUZZ_TARGETS += unzip

build/fuzz/fuzz_unzip: csrc/fuzz/fuzz_unzip.c csrc/fuzz/lua_harness.h $(SRCS) $(HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ csrc/fuzz/fuzz_unzip.c $(SRCS) -llua5.4 $(LIBS)

fuzz fuzz-regressions test-fuzz-regressions: build/fuzz/fuzz_unzip

# valgrind also runs the specs that drive the zip code in the core.
VALGRIND_SPECS += spec/certs_spec.lua
# ... and the one that drives the core's file writer (csrc/files.c).
VALGRIND_SPECS += spec/hardening_files_spec.lua

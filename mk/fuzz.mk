# Fuzzing the C core with clang's libFuzzer (+ ASan, UBSan, LeakSanitizer).
#   make fuzz                 run every target for FUZZ_SECONDS each
#   make fuzz-regressions     replay the seed corpora and saved crash inputs (part of make test)
# A crash input is saved under fuzz/regressions/<target>/; keep it there as a regression test.
# Targets: headers (csrc/headers.c), base64 and tc3 (csrc/sign.c), lua (the core's certificate,
# key and base64 functions through Lua), unzip (core.unzip; seed archives in fuzz/corpus/unzip/),
# json (core.json_decode, csrc/json.c, and core.json_encode on what it read, csrc/json_write.c;
# seed documents in fuzz/corpus/json/).

FUZZ_PKGS    := clang libclang-rt-dev
FUZZ_SUITES  := test-fuzz-regressions

FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 20
FUZZ_TARGETS := headers base64 tc3 lua unzip json
FUZZ_BINS    := $(addprefix build/fuzz/fuzz_,$(FUZZ_TARGETS))
FUZZ_FLAGS   := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
                -I$(LUA_INC) -DTCSSL_VERSION='"$(VERSION)"'

build/fuzz/fuzz_headers: csrc/fuzz/fuzz_headers.c csrc/headers.c csrc/headers.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ csrc/fuzz/fuzz_headers.c csrc/headers.c

build/fuzz/fuzz_base64: csrc/fuzz/fuzz_base64.c csrc/sign.c csrc/sign.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ csrc/fuzz/fuzz_base64.c csrc/sign.c -lcrypto

build/fuzz/fuzz_tc3: csrc/fuzz/fuzz_tc3.c csrc/sign.c csrc/sign.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ csrc/fuzz/fuzz_tc3.c csrc/sign.c -lcrypto

# The targets that drive the core through a Lua state link the whole core and Lua 5.4.
FUZZ_LUA_BINS := build/fuzz/fuzz_lua build/fuzz/fuzz_unzip build/fuzz/fuzz_json
$(FUZZ_LUA_BINS): build/fuzz/fuzz_%: csrc/fuzz/fuzz_%.c csrc/fuzz/lua_harness.h $(SRCS) $(HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(SRCS) -llua5.4 $(LIBS)

.PHONY: fuzz fuzz-regressions test-fuzz-regressions
fuzz: deps $(FUZZ_BINS)
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p build/fuzz/corpus/$$t fuzz/regressions/$$t; \
	  cp -n fuzz/corpus/$$t/* build/fuzz/corpus/$$t/ 2>/dev/null || true; \
	  echo "fuzz: $$t for $(FUZZ_SECONDS)s"; \
	  ASAN_OPTIONS=detect_leaks=1 build/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -max_len=8192 \
	    -artifact_prefix=fuzz/regressions/$$t/ build/fuzz/corpus/$$t >build/fuzz/$$t.log 2>&1 \
	    || { tail -30 build/fuzz/$$t.log; exit 1; }; \
	  grep -E "^(#[0-9]+ +DONE|Done)" build/fuzz/$$t.log | tail -1; \
	done

# Every saved input through its target once: a crash fails the suite.
fuzz-regressions test-fuzz-regressions: $(FUZZ_BINS)
	@passed=0; failed=0; for t in $(FUZZ_TARGETS); do \
	  for f in fuzz/corpus/$$t/* fuzz/regressions/$$t/*; do \
	    [ -f "$$f" ] || continue; \
	    if ASAN_OPTIONS=detect_leaks=1 build/fuzz/fuzz_$$t "$$f" >build/fuzz/replay.log 2>&1; then \
	      passed=$$((passed + 1)); else failed=$$((failed + 1)); echo "fuzz regression: $$f"; \
	      tail -20 build/fuzz/replay.log; fi; \
	  done; done; \
	echo "fuzz regressions: $$passed passed, $$failed failed"; \
	if [ -n "$${TCSSL_COUNTS:-}" ]; then echo "$$passed $$failed" >>"$$TCSSL_COUNTS"; fi; \
	[ $$failed -eq 0 ]

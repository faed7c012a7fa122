# The core under AddressSanitizer + UBSan, and the specs under valgrind's memcheck.
#   make asan        builds build/asan/tcssl/core.so and runs every spec against it (tools/run-specs
#                    preloads libasan into lua5.4)
#   make valgrind    every spec under memcheck, against the plain core
# `make test` runs test-asan (the same as `make asan`) and test-valgrind, which runs memcheck only
# over $(VALGRIND_SPECS): the specs that drive the C code hardest, since memcheck is slow.

SANITIZER_PKGS   := valgrind
SANITIZER_SUITES := test-asan test-valgrind

ASAN_CORE  := build/asan/tcssl/core.so
ASAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined,float-cast-overflow \
              -fno-sanitize-recover=undefined

# What memcheck runs under `make test`: signing and the checks on the core's numbers (core),
# requests and responses (client), sessions over real sockets (emulator/client), hostile replies
# to the session (transport_curl), archives, unzip and zip code and the file writer (certs), the
# JSON reader (json, json_differential), the one-crossing call against hostile replies (one_call),
# the type test run while reading (read_plan), the JSON writer (json_write).
VALGRIND_SPECS := spec/unit/core_spec.lua spec/unit/client_spec.lua spec/emulator/client_spec.lua \
                  spec/emulator/transport_curl_spec.lua spec/unit/certs_spec.lua spec/emulator/certs_spec.lua \
                  spec/unit/json_spec.lua spec/unit/json_differential_spec.lua spec/emulator/one_call_spec.lua \
                  spec/unit/read_plan_spec.lua spec/unit/json_write_spec.lua

.PHONY: asan valgrind test-asan test-valgrind

asan: deps all
	@mkdir -p $(dir $(ASAN_CORE))
	@echo "asan: building the core with AddressSanitizer and UBSan"
	@$(CC) $(WARN) $(ASAN_FLAGS) -fPIC -I$(LUA_INC) -DTCSSL_VERSION='"$(VERSION)"' \
	  -shared -o $(ASAN_CORE) $(SRCS) $(LIBS)
	@TCSSL_SANITIZE=asan sh tools/run-specs lua5.4 $(ASAN_CORE)

valgrind: deps all
	@TCSSL_SANITIZE=valgrind sh tools/run-specs lua5.4 $(CORE)

test-asan: asan

test-valgrind: all
	@TCSSL_SANITIZE=valgrind sh tools/run-specs lua5.4 $(CORE) $(VALGRIND_SPECS)

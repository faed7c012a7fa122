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

# What memcheck runs under `make test`: signing (core_spec), requests and responses (client_spec),
# sessions over real sockets (integration_spec), hostile replies to the session, unzip and zip code
# (hardening_transport_spec), archives (certs_spec) and the file writer (hardening_files_spec).
VALGRIND_SPECS := spec/core_spec.lua spec/client_spec.lua spec/integration_spec.lua \
                  spec/hardening_transport_spec.lua spec/certs_spec.lua spec/hardening_files_spec.lua

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

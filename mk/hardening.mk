# Sanitizers and memcheck as part of `make test`: the whole suite against the ASan + UBSan
# build of the core, and valgrind over the specs that drive the C code hardest.

VALGRIND_SPECS := spec/core_spec.lua spec/client_spec.lua spec/integration_spec.lua

TEST_SUITES += test-asan test-valgrind

.PHONY: test-asan test-valgrind
test-asan: asan

test-valgrind: all
	@TCSSL_SANITIZE=valgrind sh tools/run-specs lua5.4 $(CORE) $(VALGRIND_SPECS)

# the transport and core hardening specs (issue 14) drive the session, unzip and zip code
VALGRIND_SPECS += spec/hardening_transport_spec.lua

# examples/host/host.c, a C program embedding Lua 5.4 with the core compiled in, and its suite
# as part of `make test`:
#   make host    builds build/host/tcssl-host
#   test-host    its specs against the emulator
# The host specs are the folder spec/host, named here; a plain busted run leaves it out (.busted).

HOST_PKGS   :=              # the core's packages are all it needs
HOST_SUITES := test-host

HOST_BIN    := build/host/tcssl-host
HOST_SPECS  := spec/host

.PHONY: host test-host

# The core is compiled into the program (no core.so); TCSSL_ROOT is where it finds lua/.
$(HOST_BIN): examples/host/host.c $(SRCS) $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(WARN) $(CFLAGS) $(LDFLAGS) -I/usr/include/lua5.4 -DTCSSL_VERSION='"$(VERSION)"' -DTCSSL_ROOT='"$(CURDIR)"' \
	  -o $@ examples/host/host.c $(SRCS) -llua5.4 $(LIBS)

host: $(HOST_BIN)

test-host: $(HOST_BIN)
	@sh tools/run-specs lua5.4 $(CORE) $(HOST_SPECS)

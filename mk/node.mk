# The emulator driven by the official Node.js SDK, as part of `make test`:
#   test-node    spec/node/run.sh: installs the pinned SDK (spec/node/package.json and
#                package-lock.json) into build/node-sdk/ with npm ci, starts an emulator on a
#                free loopback port, runs spec/node/conformance.js (TAP) and stops it; skipped
#                with a notice where npm cannot reach its registry

# nodejs only: this machine's nodejs package carries npm itself, and apt cannot add Debian's npm
# beside it (on a stock Debian, `apt-get install npm` adds it); spec/node/run.sh says when npm is missing.
NODE_PKGS   := nodejs
NODE_SUITES := test-node

.PHONY: test-node

test-node: all
	@sh spec/node/run.sh lua5.4

#!/bin/sh
# The Node.js SDK conformance suite (make test-node): installs the pinned official SDK
# (spec/node/package.json, package-lock.json) into build/node-sdk/ with npm ci, starts an
# emulator on a free loopback port with its own keys, runs spec/node/conformance.js (TAP), stops
# the emulator and appends "passed failed" to $TCSSL_COUNTS. Where npm cannot reach its registry
# (and the SDK is not installed yet) the suite is skipped with a notice.
#   sh spec/node/run.sh [LUA]
set -u
lua=${1:-lua5.4}
sdk=build/node-sdk
counts() { if [ -n "${TCSSL_COUNTS:-}" ]; then echo "$1 $2" >>"$TCSSL_COUNTS"; fi; }

for tool in node npm openssl; do
  command -v $tool >/dev/null 2>&1 || { echo "test-node: $tool is not installed (make deps installs it)" >&2; counts 0 1; exit 1; }
done

if ! cmp -s spec/node/package-lock.json $sdk/package-lock.json || [ ! -d $sdk/node_modules/tencentcloud-sdk-nodejs-common ]; then
  if ! timeout 30 npm ping --loglevel=silent >/dev/null 2>&1; then
    echo "test-node: SKIPPED: npm cannot reach its registry, so the official Node.js SDK cannot be installed" >&2
    counts 0 0
    exit 0
  fi
  rm -rf $sdk && mkdir -p $sdk && cp spec/node/package.json spec/node/package-lock.json $sdk/ || exit 1
  if ! (cd $sdk && timeout 300 npm ci --no-audit --no-fund --loglevel=error); then
    rm -f $sdk/package-lock.json
    echo "test-node: npm ci of the pinned SDK failed" >&2
    counts 0 1
    exit 1
  fi
fi

work=$(mktemp -d) || exit 1
epid=""
cleanup() {
  if [ -n "$epid" ]; then kill "$epid" 2>/dev/null; wait "$epid" 2>/dev/null; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

id=AKIDNODENODENODENODENODENODENODENODE
key=node-conformance-secret-key-00001
temp_id=AKIDNODETEMPORARY temp_key=node-temporary-secret-key token=node-session-token-1
umask 077
printf '%s:%s\n%s:%s:%s\n' "$id" "$key" "$temp_id" "$temp_key" "$token" >"$work/keys"
for n in 1 2; do
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
    -subj "/CN=node.conformance.example" -addext "subjectAltName=DNS:node.conformance.example" \
    -keyout "$work/key$n.pem" -out "$work/cert$n.pem" >/dev/null 2>&1 || { echo "test-node: openssl failed" >&2; counts 0 1; exit 1; }
done

# The emulator's first stdout line says where it listens; the fifo hands it over without polling.
mkfifo "$work/out" || exit 1
$lua bin/tcssl-emulator --port 0 --max-lifetime 120 --keys-file "$work/keys" >"$work/out" 2>"$work/emulator.log" &
epid=$!
exec 3<"$work/out"
IFS= read -r line <&3
exec 3<&-
port=$(echo "$line" | sed -n 's|^tcssl-emulator listening on http://127\.0\.0\.1:\([0-9]*\) pid=[0-9]*$|\1|p')
if [ -z "$port" ]; then
  echo "test-node: the emulator did not start: $line" >&2
  cat "$work/emulator.log" >&2
  counts 0 1
  exit 1
fi

timeout 60 node spec/node/conformance.js "$port" "$id" "$key" "$temp_id" "$temp_key" "$token" \
  "$work/cert1.pem" "$work/key1.pem" "$work/cert2.pem" "$work/key2.pem" >"$work/tap"
status=$?
cat "$work/tap"
passed=$(grep -c '^ok ' "$work/tap")
failed=$(grep -c '^not ok ' "$work/tap")
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "node: $passed passed, $failed failed"
counts "$passed" "$failed"
[ "$failed" -eq 0 ]

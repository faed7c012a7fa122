#!/bin/sh
# bench/callgrind.sh COUNT PAGES: bench/callgrind.lua under callgrind, collecting only inside
# tcssl_json_read, for each runtime installed; prints one line per runtime (make bench-callgrind).
set -eu
count=${1:-300}
pages=${2:-10}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT INT TERM
for lua in lua5.4 luajit; do
    command -v "$lua" >/dev/null 2>&1 || { echo "bench-callgrind: $lua not installed, skipped"; continue; }
    valgrind --tool=callgrind --toggle-collect=tcssl_json_read \
        --callgrind-out-file="$out/$lua.out" "$lua" bench/callgrind.lua "$count" "$pages" \
        >"$out/$lua.log" 2>&1 || { cat "$out/$lua.log" >&2; exit 1; }
    total=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$out/$lua.out")
    [ -n "$total" ] || { echo "bench-callgrind: no totals from callgrind" >&2; exit 1; }
    printf '%s: %s decodes of the %s-certificate page under its plan: %s instructions in tcssl_json_read (%s a decode)\n' \
        "$lua" "$count" "$pages" "$total" "$((total / count))"
done

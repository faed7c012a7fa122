#!/bin/sh
# make demo: start the local emulator on a free loopback port, upload a freshly made
# self-signed certificate through the client, print the listing, stop the emulator.
set -eu
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

openssl req -x509 -newkey rsa:2048 -nodes -days 90 -subj "/CN=demo.example.com" \
  -addext "subjectAltName=DNS:demo.example.com,DNS:www.demo.example.com" \
  -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null

mkfifo "$tmp/ready"
lua5.4 bin/tcssl-emulator --port 0 --key AKIDDEMO:demo-secret-key-not-a-real-one \
  --max-lifetime 120 >"$tmp/ready" &
pid=$!
exec 3<"$tmp/ready"
if ! read -r line <&3; then
  echo "demo: the emulator did not start" >&2
  exit 1
fi
endpoint=$(echo "$line" | sed -n 's|.*://\([^ ]*\).*|\1|p')
echo "demo: $line"

TCSSL_ENDPOINT="$endpoint" TCSSL_SCHEME=http \
TENCENTCLOUD_SECRET_ID=AKIDDEMO TENCENTCLOUD_SECRET_KEY=demo-secret-key-not-a-real-one \
TCSSL_CERT="$tmp/cert.pem" TCSSL_KEY="$tmp/key.pem" \
  lua5.4 -e 'package.path="./lua/?.lua;./lua/?/init.lua;"..package.path; package.cpath="./lua/?.so;"..package.cpath' \
  examples/quickstart.lua

#!/bin/sh
# make demo: one end-to-end story against the local emulator, offline. A certificate in use
# on a load balancer and a CDN domain is about to expire; a renewed one arrives. Through the
# Lua API (examples/demo-story.lua): upload, list, renew and rebind, wait, download, expiring
# report, free DV certificate. Then the same jobs from the shell with bin/tcssl. The emulator
# is stopped at the end, whatever happens.
set -eu
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

if [ -t 1 ]; then
  step() { printf '\n\033[1m%s\033[0m\n' "$*"; }
else
  step() { printf '\n== %s\n' "$*"; }
fi
run() { printf '$ %s\n' "$*"; "$@"; }

# Certificates for the story: a demo CA, and two certificates for shop.example.com from it,
# the one in use (ends in 20 days) and its renewal (90 days).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
  -subj "/O=tcssl demo/CN=tcssl Demo CA" -keyout "$tmp/ca.key" -out "$tmp/ca.pem" 2>/dev/null
for name in old:20 new:90; do
  n=${name%%:*}; days=${name##*:}
  openssl req -newkey rsa:2048 -nodes -subj "/CN=shop.example.com" -keyout "$tmp/$n.key" \
    -out "$tmp/$n.csr" 2>/dev/null
  printf 'subjectAltName=DNS:shop.example.com,DNS:static.shop.example.com\n' >"$tmp/$n.ext"
  openssl x509 -req -in "$tmp/$n.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" -CAcreateserial \
    -days "$days" -extfile "$tmp/$n.ext" -out "$tmp/$n.crt" 2>/dev/null
  cat "$tmp/$n.crt" "$tmp/ca.pem" >"$tmp/$n-fullchain.pem"
done

step "Starting the emulator"
mkfifo "$tmp/ready"
printf 'AKIDDEMO:demo-secret-key-not-a-real-one\n' >"$tmp/keys"
lua5.4 bin/tcssl-emulator --port 0 --keys-file "$tmp/keys" --max-lifetime 120 >"$tmp/ready" &
pid=$!
exec 3<"$tmp/ready"
if ! read -r line <&3; then
  echo "demo: the emulator did not start" >&2
  exit 1
fi
url=$(echo "$line" | sed -n 's|.*listening on \([^ ]*\).*|\1|p')
echo "$line"

export TCSSL_ENDPOINT="${url#http://}" TCSSL_SCHEME=http TCSSL_EMULATOR_URL="$url"
export TENCENTCLOUD_SECRET_ID=AKIDDEMO TENCENTCLOUD_SECRET_KEY=demo-secret-key-not-a-real-one
export TENCENTCLOUD_REGION=ap-guangzhou
export LUA_PATH="./lua/?.lua;./lua/?/init.lua;;" LUA_CPATH="./lua/?.so;;"

step "Part 1: the Lua API (examples/demo-story.lua)"
DEMO_OLD_CERT="$tmp/old-fullchain.pem" DEMO_OLD_KEY="$tmp/old.key" \
DEMO_NEW_CERT="$tmp/new.crt" DEMO_NEW_KEY="$tmp/new.key" \
  lua5.4 examples/demo-story.lua | tee "$tmp/story.out"
old_id=$(sed -n 's/^DEMO_OLD_ID=//p' "$tmp/story.out")
new_id=$(sed -n 's/^DEMO_NEW_ID=//p' "$tmp/story.out")

step "Part 2: the same jobs from the shell (bin/tcssl)"
run bin/tcssl DescribeCertificates --Limit 10 --output table
echo
# certbot runs deploy hooks with RENEWED_LINEAGE set; the renewal is already done, so this
# second run finds the certificate stored and nothing left on the old one
mkdir -p "$tmp/live/shop.example.com"
cp "$tmp/new-fullchain.pem" "$tmp/live/shop.example.com/fullchain.pem"
cp "$tmp/new.key" "$tmp/live/shop.example.com/privkey.pem"
printf '$ RENEWED_LINEAGE=%s bin/tcssl renew --replace %s\n' "/etc/letsencrypt/live/shop.example.com" "$old_id"
RENEWED_LINEAGE="$tmp/live/shop.example.com" bin/tcssl renew --replace "$old_id"
echo
run bin/tcssl download --id "$new_id" --service-type nginx
echo
run bin/tcssl expiring --days 30
echo
run bin/tcssl issue-free --domain www.example.net --yes --out "$tmp/issued"
ls "$tmp/issued"
echo
run bin/tcssl DescribeCertificate --CertificateId nothere1 || echo "(exit status $?: an API error)"
run bin/tcssl DescribeCertificates --Limt 1 || echo "(exit status $?: a usage error)"

step "Stopping the emulator"
kill "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
pid=""
echo "demo: done"

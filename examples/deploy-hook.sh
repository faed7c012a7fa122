#!/bin/sh
# A certbot deploy hook (or acme.sh reload command) that puts each renewed certificate on
# Tencent Cloud: uploads it unless it is stored already, moves the CLB listeners and CDN
# domains that used the certificate it replaces onto it, waits, and reports each resource.
#
# certbot:  certbot renew --deploy-hook /usr/local/lib/tcssl/deploy-hook.sh
#           (certbot sets RENEWED_LINEAGE=/etc/letsencrypt/live/<name>; `tcssl renew` reads
#           fullchain.pem and privkey.pem there)
# acme.sh:  acme.sh --install-cert -d shop.example.com \
#             --reloadcmd "/usr/local/lib/tcssl/deploy-hook.sh shop.example.com"
#           (acme.sh sets CERT_FULLCHAIN_PATH and CERT_KEY_PATH for the reload command)
#
# Which Tencent Cloud certificate a lineage replaces is kept in a small map file, one line
# `<lineage name> <CertificateId>`; after a successful renewal the line is updated to the new
# CertificateId, so next time the new one is the one replaced. Credentials come from the
# environment (TENCENTCLOUD_SECRET_ID / TENCENTCLOUD_SECRET_KEY) or ~/.tencentcloud/credentials.
#
#   TCSSL_MAP             the map file (default /etc/tcssl/certificates)
#   TCSSL_RESOURCE_TYPES  resource types to move (default clb,cdn)
#   TENCENTCLOUD_REGION   the region of the regional resources (CLB)
set -eu

map=${TCSSL_MAP:-/etc/tcssl/certificates}
name=${1:-}
if [ -z "$name" ] && [ -n "${RENEWED_LINEAGE:-}" ]; then name=$(basename "$RENEWED_LINEAGE"); fi
if [ -z "$name" ]; then
  echo "deploy-hook: no lineage: run from certbot, or pass the domain (acme.sh)" >&2
  exit 2
fi
old=$(awk -v n="$name" '$1 == n { print $2 }' "$map" 2>/dev/null || true)
if [ -z "$old" ]; then
  echo "deploy-hook: $map has no line for $name: add '$name <CertificateId>'" >&2
  exit 2
fi

out=$(mktemp)
trap 'rm -f "$out"' EXIT
status=0
tcssl renew --replace "$old" --resource-types "${TCSSL_RESOURCE_TYPES:-clb,cdn}" --output json >"$out" || status=$?
new=$(sed -n 's/^  "CertificateId": "\([A-Za-z0-9]*\)",$/\1/p' "$out")
if [ "$status" -eq 0 ] && [ -n "$new" ] && [ "$new" != "$old" ]; then
  # remember the new certificate as the one the next renewal replaces
  tmpmap=$(mktemp)
  awk -v n="$name" -v id="$new" '$1 == n { $2 = id } { print }' "$map" >"$tmpmap"
  cat "$tmpmap" >"$map" && rm -f "$tmpmap"
  echo "deploy-hook: $name is now $new (was $old)"
fi
cat "$out"
exit "$status"

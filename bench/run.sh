#!/bin/sh
# tcssl's benchmarks (make bench; make soak runs only the soak). Every figure is tcssl over a
# floor measured in the same run, on the same machine:
#   sign       tcssl.core.tc3_sign vs bare OpenSSL (cached and uncached key) and the Node SDK
#   calls      client:DescribeCertificates vs bare libcurl and the Node SDK, HTTP and HTTPS; and
#              to split the cost: the tcssl.core session alone (pre-signed request) and the
#              thinnest Lua client over it (cjson, tc3_sign, session), each vs bare libcurl
#   openresty  the cosocket transport inside nginx vs a bare cosocket loop
#   decode     a 1,000-certificate response through tcssl vs bare cjson.decode
#   soak       RSS and open descriptors over 100,000 calls through one client
#   sh bench/run.sh [part...]        (default: all of them, in that order)
# Needs the core built (make) and build/bench/{sign_openssl,calls_curl} (mk/bench.mk).
# Starts nginx on free loopback ports in a temporary prefix and stops it on every exit path.
# nginx and every measured program share CPU 0 (taskset): each call then costs the CPU work of
# client, kernel and server, and nothing else. Apart, on two virtual CPUs, every round trip
# also waits for the other CPU to wake up, which on this kind of machine takes longer than the
# work itself and varies from run to run (a bare libcurl loop measured 5k calls/s apart,
# 21k calls/s together), hiding what the client costs.
# Environment: BENCH_QUICK=1 for a short smoke run (the plumbing, not the numbers);
# BENCH_PASSES (default 3): how many times each floor/subject pair runs, alternating.
set -u
cd "$(dirname "$0")/.." || exit 1
repo=$(pwd)
LUA=lua5.4
parts=${*:-sign calls openresty decode soak}
passes=${BENCH_PASSES:-3}
[ "${BENCH_QUICK:-}" = 1 ] && passes=1

work=$(mktemp -d "${TMPDIR:-/tmp}/tcssl-bench.XXXXXX") || exit 1
chmod 755 "$work" # nginx workers (user nobody) read the request file of the OpenResty part
raw=$work/raw.jsonl
: >"$raw"
pids=""
status=0

stop_servers() {
  for p in $pids; do kill -TERM "$p" 2>/dev/null; done
  for p in $pids; do wait "$p" 2>/dev/null; done
  pids=""
}
cleanup() {
  stop_servers
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

note() { printf 'bench: %s\n' "$*" >&2; }

client_cpu="" server_cpu=""
if command -v taskset >/dev/null 2>&1; then
  client_cpu="taskset -c 0"
  server_cpu="taskset -c 0"
fi

# skip ID WHY: a result line saying why a figure is missing
skip() {
  printf '{"id":"%s","skipped":"%s"}\n' "$1" "$2" >>"$raw"
  note "$1 skipped: $2"
}

# measure ID COMMAND...: runs one benchmark program, its result lines going to the raw file
measure() {
  id=$1
  shift
  note "measuring $id"
  if ! $client_cpu "$@" >>"$raw"; then
    printf '{"id":"%s","error":"the benchmark program failed"}\n' "$id" >>"$raw"
    status=1
  fi
}

for bin in build/bench/sign_openssl build/bench/calls_curl lua/tcssl/core.so; do
  if [ ! -x "$bin" ] && [ ! -f "$bin" ]; then
    note "$bin is missing: run make bench"
    exit 1
  fi
done

# --- the Node SDK (optional) -------------------------------------------------------------
node_why=""
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  node_why="node or npm is not installed"
elif [ ! -f bench/node_modules/tencentcloud-sdk-nodejs-common/package.json ]; then
  note "installing the Node SDK into bench/node_modules"
  if ! (cd bench && npm install --no-package-lock --no-audit --no-fund --loglevel=error) >"$work/npm.log" 2>&1; then
    node_why="npm install of tencentcloud-sdk-nodejs-common failed"
    cat "$work/npm.log" >&2
  fi
fi

# --- servers -------------------------------------------------------------------------------
make_certs() {
  d=$work/pki
  mkdir -p "$d"
  (
    cd "$d" &&
      openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -subj "/CN=tcssl bench CA" -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" -keyout ca.key -out ca.pem &&
      openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=127.0.0.1" \
        -keyout server.key -out server.csr &&
      printf '%s\n' "subjectAltName=IP:127.0.0.1" "basicConstraints=CA:FALSE" \
        "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" >server.ext &&
      openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
        -extfile server.ext -out server.pem
  ) >"$work/openssl.log" 2>&1 || { cat "$work/openssl.log" >&2; return 1; }
}

# start_nginx CPU PREFIX PORT...: starts nginx in the foreground of a background job, on CPU
# (a taskset prefix, or empty), and waits until every PORT accepts connections
start_nginx() {
  cpu=$1
  prefix=$2
  shift 2
  $cpu nginx -p "$prefix/" -c "$prefix/conf/nginx.conf" -e "$prefix/logs/error.log" \
    >"$prefix/logs/stdout.log" 2>&1 &
  pids="$pids $!"
  for port in "$@"; do
    if ! $LUA bench/nginx.lua wait "$port" 10; then
      note "nginx did not start:"
      cat "$prefix/logs/stdout.log" "$prefix/logs/error.log" >&2 2>/dev/null
      return 1
    fi
  done
}

# The responder: four servers, (HTTP, HTTPS) x (page of 10 certificates, empty page), and one
# pre-signed request per server for the bare loops (written by tcssl itself).
responder_up=""
start_responder() {
  [ -n "$responder_up" ] && return 0
  command -v nginx >/dev/null 2>&1 || { note "nginx is not installed (apt-get install nginx)"; return 1; }
  make_certs || return 1
  ports=$($LUA bench/nginx.lua ports 4) || return 1
  port_http_page=$(echo "$ports" | sed -n 1p)
  port_https_page=$(echo "$ports" | sed -n 2p)
  port_http_empty=$(echo "$ports" | sed -n 3p)
  port_https_empty=$(echo "$ports" | sed -n 4p)
  $LUA bench/nginx.lua static "$work/static" "$port_http_page" "$port_https_page" \
    "$port_http_empty" "$port_https_empty" "$work/pki/server.pem" "$work/pki/server.key" || return 1
  start_nginx "$server_cpu" "$work/static" $ports || return 1
  for scheme in http https; do
    for body in page empty; do
      eval "port=\$port_${scheme}_$body"
      $LUA bench/calls.lua presign $scheme "$port" "$work/request.$scheme.$body" || return 1
      chmod 644 "$work/request.$scheme.$body"
    done
  done
  note "nginx responder on 127.0.0.1:$port_http_page, $port_http_empty (HTTP) and $port_https_page, $port_https_empty (HTTPS)"
  responder_up=1
}

# --- the parts -------------------------------------------------------------------------------
part_sign() {
  i=0
  while [ $i -lt "$passes" ]; do
    measure sign.openssl.cached build/bench/sign_openssl cached
    measure sign.openssl.uncached build/bench/sign_openssl uncached
    measure sign.tcssl $LUA bench/sign.lua
    if [ -z "$node_why" ]; then measure sign.node node bench/node/sign.js; fi
    i=$((i + 1))
  done
  if [ -n "$node_why" ]; then
    skip sign.node "$node_why"
    skip sign.node.bytes "$node_why"
  fi
}

part_calls() {
  if ! start_responder; then
    skip calls.tcssl.http.page "the nginx responder did not start"
    status=1
    return
  fi
  for scheme in http https; do
    ca=""
    [ $scheme = https ] && ca=$work/pki/ca.pem
    for body in page empty; do
      eval "port=\$port_${scheme}_$body"
      i=0
      while [ $i -lt "$passes" ]; do
        measure calls.curl.$scheme.$body build/bench/calls_curl $scheme $body "$work/request.$scheme.$body" $ca
        measure calls.tcssl.$scheme.$body $LUA bench/calls.lua $scheme $body "$port" $ca
        measure calls.thin.$scheme.$body $LUA bench/calls.lua thin $scheme $body "$port" $ca
        if [ $body = empty ]; then
          measure calls.session.$scheme.$body $LUA bench/calls.lua session $scheme $body "$work/request.$scheme.$body" $ca
        fi
        if [ -z "$node_why" ]; then
          measure calls.node.$scheme.$body node bench/node/calls.js $scheme $body "$port" $ca
        fi
        i=$((i + 1))
      done
      [ -n "$node_why" ] && skip calls.node.$scheme.$body "$node_why"
    done
  done
}

part_openresty() {
  why=""
  if [ ! -f lua/tcssl/transport/ngx.lua ]; then
    why="no cosocket transport yet"
  elif [ ! -f /usr/lib/nginx/modules/ngx_http_lua_module.so ]; then
    why="nginx's Lua module is not installed (libnginx-mod-http-lua)"
  elif [ ! -f build/luajit/tcssl/core.so ] &&
    ! make --no-print-directory LUA=luajit >"$work/luajit.log" 2>&1; then
    why="the LuaJIT build of the core failed (make LUA=luajit)"
  elif ! start_responder; then
    why="the nginx responder did not start"
  fi
  if [ -n "$why" ]; then
    echo "skipped: $why"
    skip openresty.tcssl.page "$why"
    skip openresty.tcssl.empty "$why"
    return
  fi
  or_port=$($LUA bench/nginx.lua ports 1)
  $LUA bench/nginx.lua openresty "$work/openresty" "$or_port" "$repo" &&
    start_nginx "$client_cpu" "$work/openresty" "$or_port" || {
    skip openresty.tcssl.page "the OpenResty nginx did not start"
    skip openresty.tcssl.empty "the OpenResty nginx did not start"
    status=1
    return
  }
  for body in page empty; do
    eval "port=\$port_http_$body"
    base="http://127.0.0.1:$or_port/bench?port=$port&body=$body&quick=${BENCH_QUICK:-0}"
    i=0
    while [ $i -lt "$passes" ]; do
      measure openresty.raw.$body $LUA bench/nginx.lua get "$base&mode=raw&request=$work/request.http.$body"
      measure openresty.tcssl.$body $LUA bench/nginx.lua get "$base&mode=tcssl"
      i=$((i + 1))
    done
  done
}

part_decode() {
  # in passes like the others: a decode of 1.8 MB moves with the heap's layout from run to run
  i=0
  while [ $i -lt "$passes" ]; do
    measure decode $LUA bench/decode.lua
    i=$((i + 1))
  done
}

part_soak() {
  if ! start_responder; then
    skip soak.http "the nginx responder did not start"
    status=1
    return
  fi
  note "soak: ${BENCH_SOAK_CALLS:-100000} calls through one client (stops early past ${BENCH_SOAK_SECONDS:-170} s)"
  measure soak.http $LUA bench/soak.lua http "$port_http_page"
}

for part in $parts; do
  case $part in
    sign | calls | openresty | decode | soak) "part_$part" ;;
    *) note "unknown part $part (sign, calls, openresty, decode, soak)"; exit 2 ;;
  esac
done
stop_servers

# --- the report --------------------------------------------------------------------------------
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -n "$(git status --porcelain 2>/dev/null)" ] && commit="$commit+changes"
sdk=$(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' bench/node_modules/tencentcloud-sdk-nodejs-common/package.json 2>/dev/null | head -1)
versions="$($LUA -v 2>&1 | cut -d' ' -f1-2), $(curl-config --version 2>/dev/null), $(openssl version | cut -d' ' -f1-2)"
versions="$versions, $(nginx -v 2>&1 | sed 's/.*: //')"
[ -z "$node_why" ] && versions="$versions, node $(node --version) with tencentcloud-sdk-nodejs-common ${sdk:-?}"
if [ "$#" -eq 0 ]; then command="make bench"; else command="make bench (bench/run.sh $*)"; fi
[ "$parts" = soak ] && command="make soak"
BENCH_COMMAND=$command BENCH_COMMIT=$commit BENCH_VERSIONS=$versions $LUA bench/report.lua "$raw" || status=1
exit $status

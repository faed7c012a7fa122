#!/bin/sh
# tcssl's benchmarks (make bench; make soak runs only the soak). Every figure compares tcssl
# with a floor measured in the same run, on the same machine, in interleaved rounds
# (bench/driver.lua): each program of a group (subject and floors) runs one round in turn,
# nine times, and a figure is the ratio of medians with the range of the round-by-round ratios.
#   sign     tcssl.core.tc3_sign and client:prepare() (Lua 5.4, LuaJIT) vs bare OpenSSL and
#            the Node SDK's signer
#   calls    client:DescribeCertificates (Lua 5.4, LuaJIT) on pages of 0, 1, 10, 100 and 1,000
#            certificates, HTTP and HTTPS, vs bare libcurl with tcssl's request bytes and
#            options, libcurl + cjson.decode called from C (Lua 5.4 and LuaJIT), the Node SDK
#   decode   a 1,000-certificate page: json.decode under the plan with schema.decode (what a call
#            does; the target), and tcssl.json.decode alone, vs cjson.decode
#   soak     RSS and open descriptors over 100,000 calls through one client, on the page of
#            one certificate (every kind of field decoded, at close to the empty page's rate)
#   openresty  (not in the default run) the cosocket transport inside nginx vs a bare cosocket
#   sh bench/run.sh [part...]        (default: sign calls decode soak)
# Needs the core built for Lua 5.4 (and for LuaJIT: make LUA=luajit) and build/bench/*
# (mk/bench.mk). Starts nginx on free loopback ports in a temporary prefix and stops it on
# every exit path.
# nginx and every measured program share CPU 0 (taskset): each call then costs the CPU work of
# client, kernel and server, and nothing else. Apart, on two virtual CPUs, every round trip
# also waits for the other CPU to wake up, which on this kind of machine takes longer than the
# work itself and varies from run to run (a bare libcurl loop measured 5k calls/s apart,
# 21k calls/s together), hiding what the client costs; and on a machine shared with other
# work, one CPU for all makes subject and floor meet the same disturbance.
# Environment: BENCH_QUICK=1 for a short smoke run (the plumbing, not the numbers);
# BENCH_ROUNDS (default 9); BENCH_PAGES (default "0 1 10 100 1000").
set -u
cd "$(dirname "$0")/.." || exit 1
repo=$(pwd)
LUA=lua5.4
parts=${*:-sign calls decode soak}
pages=${BENCH_PAGES:-0 1 10 100 1000}
[ "${BENCH_QUICK:-}" = 1 ] && pages=${BENCH_PAGES:-0 10 1000}
node_dir=build/bench-node

work=$(mktemp -d "${TMPDIR:-/tmp}/tcssl-bench.XXXXXX") || exit 1
chmod 755 "$work" # nginx workers (user nobody) read the request file of the OpenResty part
raw=$work/raw.jsonl
: >"$raw"
pids=""
status=0
export BENCH_WORK=$work BENCH_NODE_MODULES=$repo/$node_dir/node_modules

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

cpu=""
command -v taskset >/dev/null 2>&1 && cpu="taskset -c 0"

# skip ID WHY: a result line saying why a figure is missing
skip() {
  printf '{"id":"%s","skipped":"%s"}\n' "$1" "$2" >>"$raw"
}

# group NAME SPEC [ROUND_SECONDS]: the programs of SPEC in interleaved rounds. SIGPIPE is
# ignored in the driver, so that a program that dies is an error line, not the driver's end.
group() {
  if ! (trap '' PIPE; $LUA bench/driver.lua "$1" "$2" ${3:-}) >>"$raw"; then
    printf '{"id":"%s","error":"the driver failed"}\n' "$1" >>"$raw"
    status=1
  fi
}

for bin in build/bench/sign_openssl build/bench/calls_curl build/bench/calls_cjson_lua54 lua/tcssl/core.so; do
  if [ ! -f "$bin" ]; then
    note "$bin is missing: run make bench"
    exit 1
  fi
done

jit_why=""
if ! command -v luajit >/dev/null 2>&1; then
  jit_why="luajit is not installed"
elif [ ! -f build/luajit/tcssl/core.so ] || [ ! -f build/bench/calls_cjson_luajit ]; then
  jit_why="the LuaJIT build is missing (make bench builds it)"
fi

# --- the Node SDK: the pinned version of bench/package.json, installed under build/ ---------
node_why=""
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  node_why="node or npm is not installed"
elif ! cmp -s bench/package.json $node_dir/package.json ||
  [ ! -f $node_dir/node_modules/tencentcloud-sdk-nodejs-common/package.json ]; then
  note "installing the Node SDK into $node_dir"
  rm -rf $node_dir && mkdir -p $node_dir && cp bench/package.json $node_dir/
  if ! (cd $node_dir && npm install --no-package-lock --no-audit --no-fund --loglevel=error) >"$work/npm.log" 2>&1; then
    node_why="npm install of tencentcloud-sdk-nodejs-common failed"
    cat "$work/npm.log" >&2
    rm -f $node_dir/package.json
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
  ncpu=$1
  prefix=$2
  shift 2
  $ncpu nginx -p "$prefix/" -c "$prefix/conf/nginx.conf" -e "$prefix/logs/error.log" \
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

# The responder: one server per (scheme, page), and one pre-signed request per server for the
# floors (written by tcssl itself). port_<scheme>_<n> holds each port.
responder_up=""
start_responder() {
  [ -n "$responder_up" ] && return 0
  command -v nginx >/dev/null 2>&1 || { note "nginx is not installed (apt-get install nginx)"; return 1; }
  make_certs || return 1
  all_pages=$pages
  case " $all_pages " in *" 1 "*) ;; *) all_pages="$all_pages 1" ;; esac   # the soak's page
  case " $all_pages " in *" 10 "*) ;; *) all_pages="$all_pages 10" ;; esac # OpenResty's
  case " $all_pages " in *" 0 "*) ;; *) all_pages="$all_pages 0" ;; esac  # OpenResty's too
  count=0
  for n in $all_pages; do count=$((count + 2)); done
  ports=$($LUA bench/nginx.lua ports $count) || return 1
  servers="" i=1
  for scheme in http https; do
    for n in $all_pages; do
      port=$(echo "$ports" | sed -n ${i}p)
      eval "port_${scheme}_$n=$port"
      servers="$servers $scheme:$n:$port"
      i=$((i + 1))
    done
  done
  $LUA bench/nginx.lua static "$work/static" "$work/pki/server.pem" "$work/pki/server.key" $servers || return 1
  start_nginx "$cpu" "$work/static" $ports || return 1
  for s in $servers; do
    scheme=${s%%:*} port=${s##*:} rest=${s#*:} n=${rest%%:*}
    $LUA bench/calls.lua presign $scheme "$port" "$work/request.$scheme.$n" || return 1
    chmod 644 "$work/request.$scheme.$n"
  done
  note "nginx responder on 127.0.0.1, ports $(echo $ports | tr '\n' ' ')"
  responder_up=1
}

# --- the parts -------------------------------------------------------------------------------
part_sign() {
  spec=$work/sign.spec
  {
    printf 'sign.openssl\tsignatures/s\t%s build/bench/sign_openssl cached\n' "$cpu"
    printf 'sign.tcssl.lua54\tsignatures/s\t%s lua5.4 bench/sign.lua sign\n' "$cpu"
    printf 'prepare.tcssl.lua54\tcalls/s\t%s lua5.4 bench/sign.lua prepare\n' "$cpu"
    if [ -z "$jit_why" ]; then
      printf 'sign.tcssl.luajit\tsignatures/s\t%s luajit bench/sign.lua sign\n' "$cpu"
      printf 'prepare.tcssl.luajit\tcalls/s\t%s luajit bench/sign.lua prepare\n' "$cpu"
    fi
    [ -z "$node_why" ] && printf 'sign.node\tsignatures/s\t%s node bench/node/sign.js\n' "$cpu"
  } >"$spec"
  group sign "$spec"
  [ -n "$jit_why" ] && skip sign.tcssl.luajit "$jit_why" && skip prepare.tcssl.luajit "$jit_why"
  [ -n "$node_why" ] && skip sign.node "$node_why"
}

part_calls() {
  if ! start_responder; then
    skip calls.http.0.tcssl.lua54 "the nginx responder did not start"
    status=1
    return
  fi
  for scheme in http https; do
    ca=""
    [ $scheme = https ] && ca=$work/pki/ca.pem
    for n in $pages; do
      eval "port=\$port_${scheme}_$n"
      req=$work/request.$scheme.$n
      id=calls.$scheme.$n
      spec=$work/$id.spec
      {
        printf '%s.curl\tcalls/s\t%s build/bench/calls_curl %s %s\n' $id "$cpu" "$req" "$ca"
        printf '%s.cjson.lua54\tcalls/s\t%s build/bench/calls_cjson_lua54 %s %s\n' $id "$cpu" "$req" "$ca"
        printf '%s.tcssl.lua54\tcalls/s\t%s lua5.4 bench/calls.lua %s %s %s %s\n' $id "$cpu" $scheme "$port" $n "$ca"
        # the empty page also measures the ceiling of its target: the core alone, no Lua layer
        [ "$n" = 0 ] && printf '%s.core.lua54\tcalls/s\t%s lua5.4 bench/calls_core.lua %s %s %s %s\n' $id "$cpu" $scheme "$port" $n "$ca"
        # and 1,000 certificates the ceiling of theirs under Lua 5.4: the call with no collection in a round
        [ "$n" = 1000 ] && printf '%s.nogc.lua54\tcalls/s\t%s lua5.4 bench/calls_nogc.lua %s %s %s %s\n' $id "$cpu" $scheme "$port" $n "$ca"
        if [ -z "$jit_why" ]; then
          printf '%s.cjson.luajit\tcalls/s\t%s build/bench/calls_cjson_luajit %s %s\n' $id "$cpu" "$req" "$ca"
          printf '%s.tcssl.luajit\tcalls/s\t%s luajit bench/calls.lua %s %s %s %s\n' $id "$cpu" $scheme "$port" $n "$ca"
          [ "$n" = 0 ] && printf '%s.core.luajit\tcalls/s\t%s luajit bench/calls_core.lua %s %s %s %s\n' $id "$cpu" $scheme "$port" $n "$ca"
        fi
        [ -z "$node_why" ] && printf '%s.node\tcalls/s\t%s node bench/node/calls.js %s %s %s %s\n' $id "$cpu" $scheme "$port" $n "$ca"
      } >"$spec"
      # a page of 1,000 certificates takes milliseconds a call: longer rounds, fewer to a round
      seconds=0.2
      [ "$n" -ge 1000 ] && seconds=0.4
      group $id "$spec" $seconds
      [ -n "$node_why" ] && skip $id.node "$node_why"
      [ -n "$jit_why" ] && skip $id.tcssl.luajit "$jit_why" && skip $id.cjson.luajit "$jit_why"
    done
  done
}

part_decode() {
  spec=$work/decode.spec
  {
    for d in cjson tcssl full; do
      printf 'decode.lua54.%s\tdecodes/s\t%s lua5.4 bench/decode.lua %s 1000\n' $d "$cpu" $d
      [ -z "$jit_why" ] && printf 'decode.luajit.%s\tdecodes/s\t%s luajit bench/decode.lua %s 1000\n' $d "$cpu" $d
    done
  } >"$spec"
  group decode "$spec" 0.3
}

part_soak() {
  if ! start_responder; then
    skip soak.http "the nginx responder did not start"
    status=1
    return
  fi
  note "soak: ${BENCH_SOAK_CALLS:-100000} calls through one client (stops early past ${BENCH_SOAK_SECONDS:-150} s)"
  if ! BENCH_SOAK_SECONDS=${BENCH_SOAK_SECONDS:-150} $cpu $LUA bench/soak.lua http "$port_http_1" >>"$raw"; then
    printf '{"id":"soak.http","error":"the soak failed"}\n' >>"$raw"
    status=1
  fi
}

part_openresty() {
  why=""
  if [ ! -f /usr/lib/nginx/modules/ngx_http_lua_module.so ]; then
    why="nginx's Lua module is not installed (libnginx-mod-http-lua)"
  elif [ -n "$jit_why" ]; then
    why=$jit_why
  elif ! start_responder; then
    why="the nginx responder did not start"
  fi
  if [ -n "$why" ]; then
    skip openresty.tcssl.page "$why"
    return
  fi
  or_port=$($LUA bench/nginx.lua ports 1)
  $LUA bench/nginx.lua openresty "$work/openresty" "$or_port" "$repo" &&
    start_nginx "$cpu" "$work/openresty" "$or_port" || {
    skip openresty.tcssl.page "the OpenResty nginx did not start"
    status=1
    return
  }
  for n in 10 0; do
    body=page
    [ $n = 0 ] && body=empty
    eval "port=\$port_http_$n"
    base="http://127.0.0.1:$or_port/bench?port=$port&body=$body&quick=${BENCH_QUICK:-0}"
    for _ in 1 2 3; do
      $LUA bench/nginx.lua get "$base&mode=raw&request=$work/request.http.$n" >>"$raw" || status=1
      $LUA bench/nginx.lua get "$base&mode=tcssl" >>"$raw" || status=1
    done
  done
}

for part in $parts; do
  case $part in
    sign | calls | openresty | decode | soak) note "part $part"; "part_$part" ;;
    *) note "unknown part $part (sign, calls, decode, soak, openresty)"; exit 2 ;;
  esac
done
stop_servers

# --- the report --------------------------------------------------------------------------------
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] && commit="$commit+changes"
sdk=$(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' $node_dir/node_modules/tencentcloud-sdk-nodejs-common/package.json 2>/dev/null | head -1)
versions="$($LUA -v 2>&1 | cut -d' ' -f1-2)"
[ -z "$jit_why" ] && versions="$versions, $(luajit -v 2>&1 | cut -d' ' -f1-2)"
versions="$versions, $(curl-config --version 2>/dev/null), $(openssl version | cut -d' ' -f1-2)"
versions="$versions, $(nginx -v 2>&1 | sed 's/.*: //')"
[ -z "$node_why" ] && versions="$versions, node $(node --version) with tencentcloud-sdk-nodejs-common ${sdk:-?}"
if [ "$#" -eq 0 ]; then command="make bench"; else command="make bench (bench/run.sh $*)"; fi
[ "$parts" = soak ] && command="make soak"
load=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)
BENCH_COMMAND=$command BENCH_COMMIT=$commit BENCH_VERSIONS=$versions BENCH_LOAD=$load \
  $LUA bench/report.lua "$raw" || status=1
exit $status

#!/usr/bin/env bash
# Instructions per request: medusa-demo and bare_epoll each run under valgrind's callgrind while
# wrk drives them with keep-alive GETs of a 128-byte file; the total instructions the server
# executed, divided by the requests wrk completed, is the figure. Unlike requests/s it does not
# move with the machine's load: the same binary and inputs give the same count within a few
# tenths of a percent, so it shows what a change to the hot path did. (Startup and the wait for
# the first connection are included: a few hundred thousand instructions, under 1% here.)
#
#   make bench-instructions                 both servers, 50 connections, 6 s each
#   CONNS=1 SECONDS_PER_RUN=4 bench/instructions.sh
#   TOP=25 ...                              also list the 25 costliest functions of medusa-demo
#
# Prints one line per server, "NAME: N requests, I instructions, I/N per request", then the
# ratio; writes bench/results/instructions-DATE.md. Needs valgrind and wrk (installed from
# Debian's packages when missing and run as root).
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
CONNS=${CONNS:-50}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-6}
TOP=${TOP:-15}
CLIENT_CPU=${CLIENT_CPU:-1}

log() { echo "instructions: $*" >&2; }
missing=""
command -v valgrind >/dev/null || missing="$missing valgrind"
command -v wrk >/dev/null || missing="$missing wrk"
if [ -n "$missing" ]; then
    [ "$(id -u)" = 0 ] || { log "missing Debian packages; run: sudo apt-get install -y$missing"; exit 1; }
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >&2
fi

TMP=$(mktemp -d)
VPID=""
cleanup() {
    if [ -n "$VPID" ]; then kill -KILL "$VPID" 2>/dev/null || true; fi
    rm -rf "$TMP"
}
trap cleanup EXIT
mkdir -p "$TMP/root"
head -c 128 /dev/urandom >"$TMP/root/128b.bin"

. bench/lib/free_port.sh

# heap_allocations PROFILE: the calls to malloc, calloc, realloc and aligned allocation that
# the profile recorded (operator new calls malloc, so it is counted once, there). Callgrind names
# a function once, "cfn=(ID) NAME", then "cfn=(ID)" alone; a "calls=N" line follows each call.
heap_allocations() {
    awk '
        /^c?fn=\(/ {
            id = $1; sub(/^c?fn=/, "", id)
            rest = $0; sub(/^c?fn=\([0-9]+\) ?/, "", rest)
            if (rest != "") name[id] = rest
            callee = (substr($0, 1, 4) == "cfn=") ? name[id] : ""
            next
        }
        /^calls=/ && callee ~ /^(malloc|calloc|realloc|aligned_alloc|posix_memalign|memalign)$/ {
            n = $0; sub(/^calls=/, "", n); sub(/ .*/, "", n); total += n
        }
        END { print total + 0 }' "$1"
}

# measure NAME COMMAND...: sets R_REQ, R_IR and R_ALLOC.
measure() {
    local name=$1 port out i
    shift
    port=$(free_port)
    valgrind --tool=callgrind --callgrind-out-file="$TMP/$name.out" "$@" --port "$port" \
        >"$TMP/$name.log" 2>&1 &
    VPID=$!
    for i in $(seq 1 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        kill -0 "$VPID" 2>/dev/null || { log "$name exited:"; tail -5 "$TMP/$name.log" >&2; exit 1; }
        sleep 0.2
    done
    out=$(taskset -c "$CLIENT_CPU" timeout $(( SECONDS_PER_RUN + 60 )) \
        wrk -t1 -c"$CONNS" -d"${SECONDS_PER_RUN}s" "http://127.0.0.1:$port/128b.bin" 2>&1 || true)
    R_REQ=$(echo "$out" | awk '/ requests in / { print $1 }')
    # SIGTERM: callgrind writes its profile as the program exits.
    kill -TERM "$VPID" 2>/dev/null || true
    for i in $(seq 1 100); do kill -0 "$VPID" 2>/dev/null || break; sleep 0.2; done
    wait "$VPID" 2>/dev/null || true
    VPID=""
    R_IR=$(callgrind_annotate "$TMP/$name.out" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
    R_ALLOC=$(heap_allocations "$TMP/$name.out")
    if [ -z "$R_REQ" ] || [ "$R_REQ" = 0 ] || [ -z "$R_IR" ]; then
        log "$name: no measurement (requests '$R_REQ', instructions '$R_IR')"; exit 1
    fi
}

make --no-print-directory "$BUILD/bin/medusa-demo" "$BUILD/bin/bare_epoll" >&2

measure medusa "$BUILD/bin/medusa-demo" --host 127.0.0.1 --root "$TMP/root" --no-log \
    --chat-port 0 --threads 0
M_REQ=$R_REQ M_IR=$R_IR M_ALLOC=$R_ALLOC
measure bare "$BUILD/bin/bare_epoll" --host 127.0.0.1 --root "$TMP/root"
B_REQ=$R_REQ B_IR=$R_IR B_ALLOC=$R_ALLOC

mkdir -p bench/results
REPORT=bench/results/instructions-$(date -u +%Y%m%d-%H%M%S).md
{
    echo "# Instructions per request, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "- callgrind (valgrind $(valgrind --version | sed 's/valgrind-//')), wrk -t1 -c$CONNS -d${SECONDS_PER_RUN}s, GET of a 128-byte file, keep-alive"
    echo "- medusa-demo $(git rev-parse --short HEAD 2>/dev/null || echo '?') --no-log --threads 0 --chat-port 0; bare_epoll: bench/bare/ (a fixed reply, no library)"
    echo
    echo "| server | requests | instructions | per request | heap allocations (whole run) | per request |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: |"
    echo "| medusa-demo | $M_REQ | $M_IR | $(( M_IR / M_REQ )) | $M_ALLOC | $(awk -v a="$M_ALLOC" -v n="$M_REQ" 'BEGIN { printf "%.3f", a / n }') |"
    echo "| bare epoll | $B_REQ | $B_IR | $(( B_IR / B_REQ )) | $B_ALLOC | $(awk -v a="$B_ALLOC" -v n="$B_REQ" 'BEGIN { printf "%.3f", a / n }') |"
    echo
    echo "medusa-demo / bare epoll: $(awk -v a=$(( M_IR / M_REQ )) -v b=$(( B_IR / B_REQ )) 'BEGIN { printf "%.1f", a / b }')×"
    echo
    echo "## medusa-demo's costliest functions (instructions per request, self)"
    echo
    echo '```'
    # (Paths are shown relative to the tree: the report names no directory of this machine.)
    callgrind_annotate "$TMP/medusa.out" 2>/dev/null | sed "s|$PWD/||g" | awk -v n="$M_REQ" -v top="$TOP" '
        /^-+$/ { dashes++; next }
        dashes >= 3 && $1 ~ /^[0-9,]+$/ && !/PROGRAM TOTALS/ && shown < top {
            v = $1; gsub(",", "", v); line = $0
            sub(/^ *[0-9,]+ *\( *[0-9.]+%\) */, "", line)
            printf "%7d  %s\n", v / n, substr(line, 1, 110); shown++ }'
    echo '```'
} | tee "$REPORT"
log "wrote $REPORT"

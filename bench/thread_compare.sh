#!/usr/bin/env bash
# Thread load comparison: the same reply from an in-loop handler, from a script on the worker pool
# and from a hand-off, served by one server (bench/servers/thread_bench_server.cc), under wrk.
#
#   make bench-threads                          3 runs of 5 s per cell (about 3 minutes)
#   DURATION=3 RUNS=1 make bench-threads        smoke run
#   BUILD=build bench/thread_compare.sh         the script alone (the server must be built)
#
# Environment:
#   DURATION=5 RUNS=3   seconds per run, runs per cell (the table shows medians)
#   THREADS=4           threads in each of the server's two pools (scripts, hand-offs)
#   BODY=128            reply body in bytes
#   BACKEND=epoll       the server's loop backend (select|poll|epoll)
#   SERVER_CPU=0 CLIENT_CPU=1   where the server (all its threads) and wrk are pinned
#   OUT=FILE            where the report goes besides stdout (default
#                       bench/results/threads-DATE.md; OUT=/dev/null for none)
#
# Routes (byte-identical replies, the Date header's value aside; checked before measuring):
#   /inloop   a handler answers in the loop thread: the baseline
#   /pool     a script run by a worker of the pool; its output comes back through the trigger
#   /handoff  the connection is handed to a pool thread, which writes the reply and closes
# Loads (wrk -t1, pinned to CLIENT_CPU):
#   keep-alive, 1 and 50 connections: what a keep-alive client gets. The hand-off closes the
#     connection after each reply whatever the client asked, so its rows there pay a new
#     connection per request; the in-loop and pool routes keep theirs.
#   Connection: close, 1 and 50 connections (wrk -H 'Connection: close'): every route closes
#     after each reply, so the hand-off is compared with the in-loop handler like with like.
# Each row gives req/s, p99 latency, errors (wrk's socket errors + non-2xx/3xx replies) and the
# server's CPU time per request (utime+stime of the whole process from /proc/PID/stat), medians
# over RUNS; ×in-loop is the route's req/s over the in-loop route's on the same load. The
# summary gives the two ratios the thread issue asks for: pool / in-loop (keep-alive) and
# hand-off / in-loop (Connection: close), at 1 and 50 connections.
#
# It installs wrk (and taskset's util-linux) from Debian when missing (root; otherwise it prints
# the apt-get line), starts the server on a free loopback port, stops it by pid on exit (also on
# Ctrl-C), and every wrk run is bounded by `timeout`. Progress goes to stderr.
set -euo pipefail

cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
DURATION=${DURATION:-5}
RUNS=${RUNS:-3}
THREADS=${THREADS:-4}
BODY=${BODY:-128}
BACKEND=${BACKEND:-epoll}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
SERVER_BIN=${SERVER_BIN:-$BUILD/bin/thread_bench_server}
ROUTES="inloop pool handoff"
LOADS="c1 c50 x1 x50"   # cN: keep-alive, N connections; xN: Connection: close, N connections

log() { echo "thread_compare: $*" >&2; }
die() { log "$*"; exit 1; }

install_tools() {
    local missing=""
    command -v wrk >/dev/null || missing="$missing wrk"
    command -v taskset >/dev/null || missing="$missing util-linux"
    [ -z "$missing" ] && return 0
    [ "$(id -u)" = 0 ] || die "missing Debian packages; run: sudo apt-get install -y$missing"
    log "installing$missing"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >&2
}

SERVER_PID=""
TMP=""
cleanup() {
    local i
    if [ -n "$SERVER_PID" ]; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for i in $(seq 1 30); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    [ -n "$TMP" ] && rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

. bench/lib/free_port.sh

# GET PATH (HTTP/1.1, with the extra header line EXTRA if given) on 127.0.0.1:PORT; prints the
# reply's head without its Date line, then the body (Content-Length bytes). Every read has a
# timeout; runs in a subshell so a refused connection only fails this call.
fetch() (
    local port=$1 path=$2 extra="" line len=0 body=""
    [ -n "${3:-}" ] && extra="$3"$'\r\n'
    exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
    printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n' "$path" "$extra" >&3
    while IFS= read -r -t 5 line <&3; do
        line=${line%$'\r'}
        [ -z "$line" ] && break
        case "${line,,}" in
            date:*) continue ;;
            content-length:*) len=${line#*:}; len=${len//[[:space:]]/} ;;
        esac
        echo "$line"
    done
    echo
    if [ "$len" -gt 0 ]; then LC_ALL=C IFS= read -r -t 5 -N "$len" body <&3 || exit 1; fi
    printf '%s' "$body"
)

# The three routes give the same bytes: with Connection: close all three; with keep-alive the
# in-loop and pool routes (the hand-off closes, and says so).
check_replies() {
    local r ref got
    ref=$(fetch "$PORT" /inloop 'Connection: close') || die "GET /inloop failed"
    [[ $ref == "HTTP/1.1 200 "* ]] || die "GET /inloop: $(echo "$ref" | head -1)"
    for r in pool handoff; do
        got=$(fetch "$PORT" "/$r" 'Connection: close') || die "GET /$r failed"
        [ "$got" = "$ref" ] || die "GET /$r (Connection: close) differs from /inloop:"$'\n'"$got"$'\n---\n'"$ref"
    done
    ref=$(fetch "$PORT" /inloop) || die "GET /inloop (keep-alive) failed"
    got=$(fetch "$PORT" /pool) || die "GET /pool (keep-alive) failed"
    [ "$got" = "$ref" ] || die "GET /pool (keep-alive) differs from /inloop:"$'\n'"$got"$'\n---\n'"$ref"
    [[ $ref != *"Connection: close"* ]] || die "/inloop closes a keep-alive connection"
    log "replies checked: byte-identical (Date aside), $BODY-byte body"
}

CLK_TCK=$(getconf CLK_TCK)
cpu_ticks() {  # utime+stime of the process (every thread), in clock ticks
    awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0
}

to_ms() {  # wrk latency (123.45us, 1.20ms, 2.00s) -> milliseconds
    awk -v v="$1" 'BEGIN {
        n = v + 0
        if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /m$/) n *= 60000; else if (v ~ /s$/) n *= 1000
        printf "%.3f", n }'
}

median() {
    printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END {
        if (NR == 0) print "nan"; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# One run: sets R_RPS R_P99 (ms) R_ERR R_REQ R_CPU (µs/req).
run_load() {
    local route=$1 load=$2 n out t0 t1
    local -a hdr=()
    n=${load:1}
    [[ $load == x* ]] && hdr=(-H "Connection: close")
    t0=$(cpu_ticks "$SERVER_PID")
    out=$(taskset -c "$CLIENT_CPU" timeout $(( DURATION + 30 )) \
        wrk -t1 -c"$n" -d"${DURATION}s" --latency "${hdr[@]}" "http://127.0.0.1:$PORT/$route" 2>&1 || true)
    t1=$(cpu_ticks "$SERVER_PID")
    R_RPS=$(echo "$out" | awk '/^Requests\/sec:/ { print $2 }')
    R_P99=$(to_ms "$(echo "$out" | awk '$1 == "99%" { print $2 }')")
    R_REQ=$(echo "$out" | awk '/ requests in / { print $1 }')
    R_ERR=$(echo "$out" | awk '
        /Socket errors:/ { gsub(/,/, ""); e += $4 + $6 + $8 + $10 }
        /Non-2xx or 3xx responses:/ { e += $NF }
        END { print e + 0 }')
    if [ -z "$R_RPS" ] || [ -z "$R_REQ" ] || [ "$R_REQ" = 0 ]; then
        log "$route $load: no result:"; echo "$out" | tail -5 >&2
        R_RPS=0; R_P99=nan; R_ERR=$(( R_ERR > 0 ? R_ERR : 1 )); R_CPU=nan
        return
    fi
    R_CPU=$(awk -v d=$(( t1 - t0 )) -v hz="$CLK_TCK" -v n="$R_REQ" 'BEGIN { printf "%.2f", d * 1e6 / hz / n }')
}

# ---------------------------------------------------------------------------------------------

install_tools
[ -x "$SERVER_BIN" ] || die "$SERVER_BIN not built (make $SERVER_BIN, or make bench-threads)"
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
TMP=$(mktemp -d /tmp/medusa-threads.XXXXXX)

PORT=$(free_port)
taskset -c "$SERVER_CPU" "$SERVER_BIN" --host 127.0.0.1 --port "$PORT" --threads "$THREADS" \
    --body "$BODY" --backend "$BACKEND" >"$TMP/server.log" 2>&1 &
SERVER_PID=$!
for i in $(seq 1 100); do
    kill -0 "$SERVER_PID" 2>/dev/null || { tail -20 "$TMP/server.log" >&2; die "the server exited at start"; }
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
    sleep 0.1
done
log "$(head -1 "$TMP/server.log") (pid $SERVER_PID, cpu $SERVER_CPU)"
check_replies

declare -A V_RPS V_P99 V_ERR V_CPU
for load in $LOADS; do
    for run in $(seq 1 "$RUNS"); do
        for route in $ROUTES; do   # interleaved: a slow moment of the machine hits every route
            run_load "$route" "$load"
            key="$load|$route"
            V_RPS[$key]="${V_RPS[$key]:-} $R_RPS"
            V_P99[$key]="${V_P99[$key]:-} $R_P99"
            V_ERR[$key]=$(( ${V_ERR[$key]:-0} + R_ERR ))
            V_CPU[$key]="${V_CPU[$key]:-} $R_CPU"
            log "$load run $run/$RUNS /$route: $R_RPS req/s, p99 $R_P99 ms, $R_ERR errors, $R_CPU us/req"
            kill -0 "$SERVER_PID" 2>/dev/null || die "the server died during /$route $load"
        done
    done
done

# ---------------------------------------------------------------------------------------------

load_label() {
    case $1 in
        c*) echo "keep-alive, ${1:1} conn" ;;
        x*) echo "Connection: close, ${1:1} conn" ;;
    esac
}
conn_label() {  # what happened to the connection after each reply
    if [[ $1 == x* ]] || [ "$2" = handoff ]; then echo "closed"; else echo "kept"; fi
}
ratio() {  # req/s of route A over route B on LOAD
    awk -v a="$(median ${V_RPS[$3|$1]})" -v b="$(median ${V_RPS[$3|$2]})" \
        'BEGIN { if (b > 0) printf "%.2f", a / b; else print "—" }'
}

report() {
    local load route key rps
    echo "# Thread load comparison, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "- machine: $(nproc) CPUs, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), Linux $(uname -r)"
    echo "- server: thread_bench_server, backend $BACKEND, $THREADS threads per pool, $BODY-byte body, pinned (all threads) to CPU $SERVER_CPU; wrk -t1 pinned to CPU $CLIENT_CPU; loopback"
    echo "- $RUNS run(s) of ${DURATION} s per cell; req/s, p99 and CPU are medians, errors are summed over the runs"
    echo "- replies byte-identical on every route (Date aside); the hand-off closes the connection after each reply, so its keep-alive rows pay a new connection per request; the Connection: close rows (wrk -H 'Connection: close') close on every route"
    echo "- errors: wrk socket errors (connect, read, write, timeout) + non-2xx/3xx replies; CPU: server utime+stime per request (µs)"
    echo "- ×in-loop: the route's req/s over /inloop's on the same load"
    echo
    echo "| load | route | connection | req/s | p99 ms | errors | CPU µs/req | ×in-loop |"
    echo "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |"
    for load in $LOADS; do
        for route in $ROUTES; do
            key="$load|$route"
            rps=$(median ${V_RPS[$key]})
            echo "| $(load_label "$load") | /$route | $(conn_label "$load" "$route") | $(printf '%.0f' "$rps") | $(median ${V_P99[$key]}) | ${V_ERR[$key]} | $(median ${V_CPU[$key]}) | $([ "$route" = inloop ] && echo — || ratio "$route" inloop "$load") |"
        done
    done
    echo
    echo "Ratios (req/s of the route over the in-loop handler's, same load):"
    echo
    echo "- pool / in-loop, keep-alive: $(ratio pool inloop c1) at 1 connection, $(ratio pool inloop c50) at 50"
    echo "- hand-off / in-loop, both closing after each reply (Connection: close): $(ratio handoff inloop x1) at 1 connection, $(ratio handoff inloop x50) at 50"
    echo "- hand-off / in-loop keep-alive (what a keep-alive client loses to the hand-off): $(ratio handoff inloop c1) at 1 connection, $(ratio handoff inloop c50) at 50"
}

if [ -z "${OUT:-}" ]; then
    mkdir -p bench/results
    OUT="bench/results/threads-$(date -u +%Y%m%d-%H%M%S).md"
fi
report | tee "$OUT"
[ "$OUT" = /dev/null ] || log "written to $OUT"

#!/usr/bin/env bash
# Load comparison: medusa-demo (epoll, and again on its io_uring backend) against nginx, lighttpd,
# bare_epoll, bare_uring and medusa 0.5.4 itself (Python), on the same files, the same CPU, the same client; then each server again,
# fresh, holding thousands of idle keep-alive connections. Ends with the performance issue's
# targets, each met or not.
#
#   make bench-compare               full run: 12 rows x RUNS rounds x DURATION seconds per server,
#                                    then the idle section (about 40 min)
#   QUICK=1 make bench-compare       smoke run: 1 run of 2 s, 7 rows, 2,000 idle connections
#   BUILD=build bench/compare.sh     the script alone (binaries must be built)
#
# Environment:
#   DURATION=3 RUNS=5   seconds per run, runs (rounds) per cell (the table shows medians, and
#                       ratios as the median of the rounds' ratios)
#   QUICK=1             DURATION=2 RUNS=1, fewer rows and IDLE_CONNS=2000, unless given too
#   ROWS="1m.bin:c500"  only these rows (FILE:LOAD, LOAD cN for wrk -cN or abN for ab -c N; files
#                       128b.bin 16k.bin 1m.bin), to re-measure a row that a change concerns
#   SERVERS="medusa medusa-uring nginx lighttpd lighttpd-aa bare bare-uring medusa-py"
#                       which servers to start (peers that fail to start are reported and left
#                       out; medusa is skipped when its binary is missing; medusa-uring is
#                       medusa-demo --backend uring; lighttpd-aa is a second lighttpd, the A/A
#                       control: what two identical servers measure apart, row by row). Not in
#                       the default: bare-spin, bare_epoll --spin BARE_SPIN, the bare loop made
#                       to spend about medusa-demo's user time per request and nothing else (what
#                       the CPU target's figure owes to a server's own code; see its target line);
#                       chat-fixed and chat-fixed-uring, bench/servers/chat_fixed.cc: medusa's loop
#                       and async_chat answering each head with a prebuilt reply, no HTTP layer
#                       (the framework's own floor; the CPU target's "for scale" line)
#   BARE_SPIN=2000      empty loop turns per request for bare-spin
#   MEDUSA_BACKEND=epoll                   --backend for medusa-demo (select|poll|epoll|uring)
#   MEDUSA_ARGS=""                         more flags for medusa-demo (after the script's own)
#   MEDUSA_LOG=0        1: keep medusa-demo's access log (the peers run with theirs off)
#   SERVER_CPU=0 CLIENT_CPU=1              where servers and the load generator are pinned
#   PYTHON=/usr/bin/python3                runs medusa-py and the idle client (needs the system's
#                       python3 for supervisor.medusa)
#   IDLE=1              0: skip the idle section
#   IDLE_CONNS=10000    idle keep-alive connections held open in the idle section
#   IDLE_BACKENDS="epoll poll select"      medusa-demo's backends in the idle section
#   IDLE_RUNS=RUNS      wrk runs per cell in the idle section
#   MEDUSA_PY_IDLE=900  idle connections for medusa-py (its select() loop ends past fd 1023)
#   KEEP_TMP=1          keep the temp dir (configs, logs, docroot) for inspection
#
# What it does: makes a temp docroot with 128 B, 16 KiB and 1 MiB files; starts every server on it,
# each on a free loopback port, pinned to SERVER_CPU (nginx: one worker, access log off, sendfile
# on; lighttpd: one process, no access log; bare_epoll: a fixed reply from memory, the ceiling;
# bare_uring: the same through io_uring, the ceiling without a system call per recv and send;
# medusa-py: medusa 0.5.4 from supervisor's package, bench/medusa_py/start_medusa.py, no access
# log); checks that each serves every file with status 200 and the right Content-Length; then
# drives each with wrk (keep-alive, 1, 50 and 500 connections) or ab (-c 50, a new connection per
# request), pinned to CLIENT_CPU. Runs of different servers are interleaved in rounds, lighttpd
# between the two medusa-demo flavours and every other round reversed, and ratios against a peer
# are the median of per-round ratios (see ROUND_ORDER). Server CPU time per request is the growth
# of utime+stime in /proc/PID/stat (the server and its children) over the run, divided by the
# requests completed.
#
# Idle section: each server (medusa-demo once per IDLE_BACKENDS) is started again, fresh, with a
# twin (a second fresh instance); bench/idle/idle_conns.py opens IDLE_CONNS connections on the
# first, one request and reply on each, and holds them idle; its RSS (VmRSS, with its children)
# before and after gives the user memory per idle connection. Then wrk at 1 and 50 connections,
# in rounds that run the instance holding the idle connections and the twin one right after the
# other (reversed every other round), gives the throughput ratio with the idle connections open
# against none, round by round. After the idle connections are released, one more request must
# get its 200. On the select backend the server must refuse what it cannot hold (fd >= 1024)
# with a log line: the script counts those lines, and skips wrk (and the twin) there: every new
# connection would be refused while the idle ones hold the low descriptors.
#
# The A/A control (lighttpd-aa): a second lighttpd runs in every round of the load rows like the
# other servers; its ratio to lighttpd, row by row, is the spread two identical servers show on
# this machine. A target NOT met on a shortfall within that spread says so.
#
# It installs nginx, lighttpd, wrk, apache2-utils and supervisor (for medusa-py) from Debian's
# packages when missing, and stops and disables the system services the packages may have
# started: it runs only its own instances, from its own config files. Everything it starts is
# stopped on exit (by pid). Output: a markdown report on stdout, also written to
# bench/results/compare-DATE.md; progress goes to stderr.
set -euo pipefail

cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/sbin:/sbin"

BUILD=${BUILD:-build}
QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
    DURATION=${DURATION:-2}
    RUNS=${RUNS:-1}
    IDLE_CONNS=${IDLE_CONNS:-2000}
    IDLE_OPEN_TIMEOUT=${IDLE_OPEN_TIMEOUT:-60}
else
    # Five short rounds rather than three long ones: a pair of runs is closer in time, and a
    # median of five ratios survives a round that straddled a change of the machine's speed.
    DURATION=${DURATION:-3}
    RUNS=${RUNS:-5}
    IDLE_CONNS=${IDLE_CONNS:-10000}
    IDLE_OPEN_TIMEOUT=${IDLE_OPEN_TIMEOUT:-120}
fi
SERVERS=${SERVERS:-"medusa medusa-uring nginx lighttpd lighttpd-aa bare bare-uring medusa-py"}
MEDUSA_BACKEND=${MEDUSA_BACKEND:-epoll}
MEDUSA_LOG=${MEDUSA_LOG:-0}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
MEDUSA_BIN=${MEDUSA_BIN:-$BUILD/bin/medusa-demo}
BARE_BIN=${BARE_BIN:-$BUILD/bin/bare_epoll}
BARE_URING_BIN=${BARE_URING_BIN:-$BUILD/bin/bare_uring}
CHAT_FIXED_BIN=${CHAT_FIXED_BIN:-$BUILD/bin/chat_fixed}
BARE_SPIN=${BARE_SPIN:-2000}
PYTHON=${PYTHON:-/usr/bin/python3}
IDLE=${IDLE:-1}
IDLE_BACKENDS=${IDLE_BACKENDS:-"epoll poll select"}
IDLE_RUNS=${IDLE_RUNS:-$RUNS}
MEDUSA_PY_IDLE=${MEDUSA_PY_IDLE:-900}

# Rows: FILE:LOAD. LOAD is cN (wrk, keep-alive, N connections) or abN (ab -c N, one connection
# per request).
FILES="128b.bin 16k.bin 1m.bin"
if [ -n "${ROWS:-}" ]; then
    :  # given: only those rows (ROWS="1m.bin:c500 128b.bin:c50")
elif [ "$QUICK" = 1 ]; then
    ROWS="128b.bin:c1 128b.bin:c50 128b.bin:c500 128b.bin:ab50 16k.bin:c50 1m.bin:c1 1m.bin:c50"
else
    ROWS=""
    for f in $FILES; do for l in c1 c50 c500 ab50; do ROWS="$ROWS $f:$l"; done; done
fi

log() { echo "compare: $*" >&2; }
die() { log "$*"; exit 1; }
wants() { [[ " $SERVERS " == *" $1 "* ]]; }

# ---------------------------------------------------------------------------------------------
# Tools

medusa_py_importable() { "$PYTHON" -c 'import supervisor.http, supervisor.medusa.default_handler' 2>/dev/null; }

install_tools() {
    local missing="" services=""
    command -v nginx >/dev/null || { missing="$missing nginx"; services="$services nginx"; }
    command -v lighttpd >/dev/null || { missing="$missing lighttpd"; services="$services lighttpd"; }
    command -v wrk >/dev/null || missing="$missing wrk"
    command -v ab >/dev/null || missing="$missing apache2-utils"
    command -v taskset >/dev/null || missing="$missing util-linux"
    [ -x "$PYTHON" ] || missing="$missing python3"
    if wants medusa-py && ! medusa_py_importable; then
        missing="$missing supervisor"; services="$services supervisor"
    fi
    [ -z "$missing" ] && return 0
    [ "$(id -u)" = 0 ] || die "missing Debian packages; run: sudo apt-get install -y$missing"
    log "installing$missing"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >&2
    # A package install may start the distribution's service (nginx and lighttpd on port 80,
    # supervisord with its own config). This benchmark runs only its own instances: stop and
    # disable what the install started.
    local svc
    for svc in $services; do
        if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
            systemctl disable --now "$svc" >&2 || true
        elif [ -x "/etc/init.d/$svc" ]; then
            "/etc/init.d/$svc" stop >&2 || true
            update-rc.d "$svc" disable >&2 || true
        fi
    done
}

# ---------------------------------------------------------------------------------------------
# Processes we started: name -> pid. Stopped on exit, children first collected so that an nginx
# worker is not orphaned if its master has to be killed.

declare -A PID=() PORT=()
TMP=""

descendants() {  # PID -> every descendant pid, from /proc (no /proc/PID/task/*/children needed)
    local parent=$1 f line rest k
    local -a kids=() fields
    for f in /proc/[0-9]*/stat; do
        IFS= read -r line 2>/dev/null <"$f" || continue   # the process may have gone meanwhile
        rest=${line##*) }                                   # after "pid (comm) ": state ppid ...
        read -r -a fields <<<"$rest"
        if [ "${fields[1]}" = "$parent" ]; then kids+=("${line%% *}"); fi
    done
    for k in "${kids[@]}"; do echo "$k"; descendants "$k"; done
}

# Stop NAME (SIGTERM, then SIGKILL for it and its children after 3 s) and forget its pid.
stop_one() {
    local name=$1 pid all p i
    pid=${PID[$name]:-}
    [ -n "$pid" ] || return 0
    all="$pid $(descendants "$pid" | tr '\n' ' ')"
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 30); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    for p in $all; do kill -KILL "$p" 2>/dev/null || true; done
    wait "$pid" 2>/dev/null || true
    unset "PID[$name]"
}

cleanup() {
    local name
    for name in "${!PID[@]}"; do stop_one "$name"; done
    if [ -n "$TMP" ] && [ -d "$TMP" ]; then
        if [ "${KEEP_TMP:-0}" = 1 ]; then log "kept $TMP"; else rm -rf "$TMP"; fi
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

. bench/lib/free_port.sh

# GET PATH over HTTP/1.0 on 127.0.0.1:PORT; prints "STATUS CONTENT-LENGTH". Every read has a
# timeout; runs in a subshell so a refused connection only fails this call.
http_head() (
    local port=$1 path=$2 line status len=""
    exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
    printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$path" >&3
    IFS= read -r -t 5 line <&3 || exit 1
    status=$(echo "$line" | awk '{print $2}')
    while IFS= read -r -t 5 line <&3; do
        line=${line%$'\r'}
        [ -z "$line" ] && break
        case "${line,,}" in content-length:*) len=${line#*:}; len=${len//[[:space:]]/} ;; esac
    done
    echo "$status $len"
)

# Wait (at most 10 s) until NAME answers, then check every file's status and length.
wait_ready() {
    local name=$1 i f want got
    for i in $(seq 1 100); do
        kill -0 "${PID[$name]}" 2>/dev/null || { log "$name exited at start:"; tail -20 "$TMP/$name.log" >&2; return 1; }
        http_head "${PORT[$name]}" /128b.bin >/dev/null 2>&1 && break
        sleep 0.1
    done
    for f in $FILES; do
        want="200 $(stat -c %s "$TMP/root/$f")"
        got=$(http_head "${PORT[$name]}" "/$f" 2>/dev/null || echo "no answer")
        if [ "$got" != "$want" ]; then
            log "$name: GET /$f gave '$got', expected '$want'"; tail -20 "$TMP/$name.log" >&2; return 1
        fi
    done
}

# ---------------------------------------------------------------------------------------------
# Servers: each start_NAME writes its config, starts it pinned to SERVER_CPU in the foreground
# (no daemon), and records its pid and port. start_server NAME picks the function (medusa-py's
# is start_medusa_py).

# start_server NAME [INSTANCE]: INSTANCE (default NAME) keys PID, PORT and the log; the idle
# section starts a second instance of a server, NAME-twin, to measure it side by side.
start_server() { "start_${1//-/_}" "${2:-$1}"; }

start_bare() {  # INSTANCE [MORE FLAGS...]
    local n=$1
    [ -x "$BARE_BIN" ] || { log "$n: $BARE_BIN not built (make $BARE_BIN)"; return 1; }
    PORT[$n]=$(free_port)
    taskset -c "$SERVER_CPU" "$BARE_BIN" --host 127.0.0.1 --port "${PORT[$n]}" --root "$TMP/root" \
        "${@:2}" >>"$TMP/$n.log" 2>&1 &
    PID[$n]=$!
}
start_bare_spin() { start_bare "$1" --spin "$BARE_SPIN"; }

start_bare_uring() {
    local n=$1
    [ -x "$BARE_URING_BIN" ] || { log "bare-uring: $BARE_URING_BIN not built (make $BARE_URING_BIN)"; return 1; }
    PORT[$n]=$(free_port)
    taskset -c "$SERVER_CPU" "$BARE_URING_BIN" --host 127.0.0.1 --port "${PORT[$n]}" \
        --root "$TMP/root" >>"$TMP/$n.log" 2>&1 &
    PID[$n]=$!
}

# medusa's framework with no HTTP layer (bench/servers/chat_fixed.cc), on epoll and io_uring.
start_chat_fixed() {  # INSTANCE [BACKEND]
    local n=$1
    [ -x "$CHAT_FIXED_BIN" ] || { log "$n: $CHAT_FIXED_BIN not built (make $CHAT_FIXED_BIN)"; return 1; }
    PORT[$n]=$(free_port)
    taskset -c "$SERVER_CPU" "$CHAT_FIXED_BIN" --host 127.0.0.1 --port "${PORT[$n]}" \
        --root "$TMP/root" --backend "${2:-epoll}" >>"$TMP/$n.log" 2>&1 &
    PID[$n]=$!
}
start_chat_fixed_uring() { start_chat_fixed "$1" uring; }

# medusa-demo's flags beyond address, root and backend, from what its --help offers: no access
# log (the peers have theirs off; MEDUSA_LOG=1 keeps it), no chat server (its fixed default port
# would collide between runs and with anything else on the machine), no thread modules (the peers
# serve files only; MEDUSA_ARGS="--threads 2" puts them back).
MEDUSA_FLAGS=""
medusa_flags() {
    local help
    help=$("$MEDUSA_BIN" --help 2>&1 || true)
    MEDUSA_FLAGS=""
    if [ "$MEDUSA_LOG" != 1 ] && [[ $help == *--no-log* ]]; then MEDUSA_FLAGS="$MEDUSA_FLAGS --no-log"; fi
    if [[ $help == *--chat-port* ]]; then MEDUSA_FLAGS="$MEDUSA_FLAGS --chat-port 0"; fi
    if [[ $help == *--threads* ]]; then MEDUSA_FLAGS="$MEDUSA_FLAGS --threads 0"; fi
    MEDUSA_FLAGS=${MEDUSA_FLAGS# }
}

start_medusa() {
    local n=$1
    [ -x "$MEDUSA_BIN" ] || { log "medusa: $MEDUSA_BIN not built (make $MEDUSA_BIN)"; return 1; }
    PORT[$n]=$(free_port)
    taskset -c "$SERVER_CPU" "$MEDUSA_BIN" --host 127.0.0.1 --port "${PORT[$n]}" \
        --root "$TMP/root" --backend "$MEDUSA_BACKEND" $MEDUSA_FLAGS ${MEDUSA_ARGS:-} \
        >>"$TMP/$n.log" 2>&1 &
    PID[$n]=$!
}

# The same program on the io_uring backend, as a column of its own.
start_medusa_uring() {
    local n=$1
    [ -x "$MEDUSA_BIN" ] || { log "medusa-uring: $MEDUSA_BIN not built (make $MEDUSA_BIN)"; return 1; }
    PORT[$n]=$(free_port)
    taskset -c "$SERVER_CPU" "$MEDUSA_BIN" --host 127.0.0.1 --port "${PORT[$n]}" \
        --root "$TMP/root" --backend uring $MEDUSA_FLAGS ${MEDUSA_ARGS:-} \
        >>"$TMP/$n.log" 2>&1 &
    PID[$n]=$!
}

start_medusa_py() {
    local n=$1
    medusa_py_importable || { log "medusa-py: $PYTHON cannot import supervisor.medusa (apt-get install supervisor)"; return 1; }
    PORT[$n]=$(free_port)
    taskset -c "$SERVER_CPU" "$PYTHON" bench/medusa_py/start_medusa.py --host 127.0.0.1 \
        --port "${PORT[$n]}" --root "$TMP/root" >>"$TMP/$n.log" 2>&1 &
    PID[$n]=$!
}

# nginx and lighttpd get room for the idle section's connections: nginx counts every connection
# against worker_connections; lighttpd allows at most half its max-fds as connections (one fd for
# the socket, one for a file it serves).
FD_LIMIT=1024
conn_room() { local want=$(( IDLE_CONNS + 1024 )); [ "$want" -lt 8192 ] && want=8192; echo "$want"; }

start_nginx() {
    local n=$1 conns
    conns=$(conn_room); [ "$conns" -gt $(( FD_LIMIT - 200 )) ] && conns=$(( FD_LIMIT - 200 ))
    PORT[$n]=$(free_port)
    mkdir -p "$TMP/$n"
    cat >"$TMP/$n/nginx.conf" <<EOF
# One worker, access log off, sendfile on; keep-alive connections are not cut after N requests.
daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile $FD_LIMIT;
pid $TMP/$n/nginx.pid;
error_log $TMP/$n.log warn;
events { worker_connections $conns; }
http {
    access_log off;
    sendfile on;
    keepalive_requests 1000000;
    keepalive_timeout 600s;
    default_type application/octet-stream;
    client_body_temp_path $TMP/$n/body;
    proxy_temp_path $TMP/$n/proxy;
    fastcgi_temp_path $TMP/$n/fastcgi;
    uwsgi_temp_path $TMP/$n/uwsgi;
    scgi_temp_path $TMP/$n/scgi;
    server {
        listen 127.0.0.1:${PORT[$n]};
        root $TMP/root;
    }
}
EOF
    taskset -c "$SERVER_CPU" nginx -p "$TMP/$n/" -c "$TMP/$n/nginx.conf" -e "$TMP/$n.log" \
        >>"$TMP/$n.log" 2>&1 &
    PID[$n]=$!
}

LIGHTTPD_CONNS=8192
start_lighttpd() {
    local n=$1
    LIGHTTPD_CONNS=$(conn_room)
    [ "$LIGHTTPD_CONNS" -gt $(( FD_LIMIT / 2 )) ] && LIGHTTPD_CONNS=$(( FD_LIMIT / 2 ))
    PORT[$n]=$(free_port)
    cat >"$TMP/$n.conf" <<EOF
# One process (no max-worker), no mod_accesslog; keep-alive connections are not cut after N requests.
server.modules = ()
server.document-root = "$TMP/root"
server.bind = "127.0.0.1"
server.port = ${PORT[$n]}
server.errorlog = "$TMP/$n.log"
server.max-fds = $(( LIGHTTPD_CONNS * 2 ))
server.max-connections = $LIGHTTPD_CONNS
server.max-keep-alive-requests = 1000000
server.max-keep-alive-idle = 600
mimetype.assign = ( "" => "application/octet-stream" )
EOF
    taskset -c "$SERVER_CPU" lighttpd -D -f "$TMP/$n.conf" >>"$TMP/$n.log" 2>&1 &
    PID[$n]=$!
}

# The A/A control: a second lighttpd, configured as the first, run in every round like the
# others. Its ratio to lighttpd on a row is what two identical servers measure apart on this
# machine: the noise a ratio of medusa-demo's to lighttpd's is read against.
start_lighttpd_aa() { start_lighttpd "$1"; }

# ---------------------------------------------------------------------------------------------
# Measurement

CLK_TCK=$(getconf CLK_TCK)

cpu_ticks() {  # utime+stime, then utime alone, of PID and its descendants, in clock ticks
    local p total=0 user=0 t u
    for p in "$1" $(descendants "$1"); do
        read -r t u < <(awk '{ sub(/^.*\) /, ""); print $12 + $13, $12 }' "/proc/$p/stat" 2>/dev/null || echo 0 0)
        total=$(( total + ${t:-0} )); user=$(( user + ${u:-0} ))
    done
    echo "$total $user"
}

rss_kb() {  # VmRSS of PID and its descendants, in KiB
    local p total=0 t
    for p in "$1" $(descendants "$1"); do
        t=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null || echo 0)
        total=$(( total + ${t:-0} ))
    done
    echo "$total"
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

ratio() {  # A B [DIGITS]: A / B, or — when either is missing or B is not positive
    awk -v a="$1" -v b="$2" -v d="${3:-2}" 'BEGIN { if (a != "" && a != "nan" && b + 0 > 0) printf "%.*f", d, a / b; else print "—" }'
}

# One run: sets R_RPS R_P99 (ms) R_ERR R_REQ R_CPU, R_CPUU and R_CPUK (all, user-space and kernel
# CPU, µs/req).
run_load() {
    local name=$1 file=$2 load=$3 url out t0 t1 u0 u1 n
    url="http://127.0.0.1:${PORT[$name]}/$file"
    read -r t0 u0 < <(cpu_ticks "${PID[$name]}")
    if [[ $load == c* ]]; then
        n=${load#c}
        out=$(taskset -c "$CLIENT_CPU" timeout $(( DURATION + 30 )) \
            wrk -t1 -c"$n" -d"${DURATION}s" --latency "$url" 2>&1 || true)
        read -r t1 u1 < <(cpu_ticks "${PID[$name]}")
        R_RPS=$(echo "$out" | awk '/^Requests\/sec:/ { print $2 }')
        R_P99=$(to_ms "$(echo "$out" | awk '$1 == "99%" { print $2 }')")
        R_REQ=$(echo "$out" | awk '/ requests in / { print $1 }')
        R_ERR=$(echo "$out" | awk '
            /Socket errors:/ { gsub(/,/, ""); e += $4 + $6 + $8 + $10 }
            /Non-2xx or 3xx responses:/ { e += $NF }
            END { print e + 0 }')
    else
        n=${load#ab}
        # -n only bounds ab's statistics array; -t ends the run. -r: count socket errors, don't abort.
        out=$(taskset -c "$CLIENT_CPU" timeout $(( DURATION + 30 )) \
            ab -q -r -c "$n" -t "$DURATION" -n $(( DURATION * 200000 )) "$url" 2>&1 || true)
        read -r t1 u1 < <(cpu_ticks "${PID[$name]}")
        R_RPS=$(echo "$out" | awk '/^Requests per second:/ { print $4 }')
        R_P99=$(echo "$out" | awk '$1 == "99%" { print $2 }')
        R_REQ=$(echo "$out" | awk '/^Complete requests:/ { print $3 }')
        R_ERR=$(echo "$out" | awk '
            /^Failed requests:/ || /^Non-2xx responses:/ || /^Write errors:/ { e += $NF }
            END { print e + 0 }')
    fi
    if [ -z "$R_RPS" ] || [ -z "$R_REQ" ] || [ "$R_REQ" = 0 ]; then
        log "$name $file $load: no result:"; echo "$out" | tail -5 >&2
        R_RPS=0; R_P99=nan; R_ERR=${R_ERR:-1}; [ "$R_ERR" = 0 ] && R_ERR=1; R_CPU=nan; R_CPUU=nan; R_CPUK=nan
        return
    fi
    R_P99=${R_P99:-nan}
    R_CPU=$(awk -v d=$(( t1 - t0 )) -v hz="$CLK_TCK" -v n="$R_REQ" 'BEGIN { printf "%.2f", d * 1e6 / hz / n }')
    R_CPUU=$(awk -v d=$(( u1 - u0 )) -v hz="$CLK_TCK" -v n="$R_REQ" 'BEGIN { printf "%.2f", d * 1e6 / hz / n }')
    R_CPUK=$(awk -v d=$(( t1 - t0 - u1 + u0 )) -v hz="$CLK_TCK" -v n="$R_REQ" 'BEGIN { printf "%.2f", d * 1e6 / hz / n }')
}

# ---------------------------------------------------------------------------------------------
# Idle section. One case: KEY (server/backend) SERVER BACKEND N. Results in the I_* arrays.

IDLE_KEYS=""   # the cases in the order they ran: SERVER/BACKEND (BACKEND "-" for the peers)
# I_B*: the twin's req/s (no idle connections), I_I*: the idle-holding instance's, at 1 and 50
# connections, every run; I_R1 / I_R50 [KEY|RUN]: their ratio in each round.
declare -A I_N=() I_HELD=() I_FAILED=() I_UNFIN=() I_RSS0=() I_RSS1=() I_BPC=() I_B1=() I_B50=() \
    I_I1=() I_I50=() I_R1=() I_R50=() I_ERR=() I_OPEN=() I_AFTER=() I_REFUSED=() I_ALIVE=() I_NOTE=()

idle_case() {
    local key=$1 s=$2 b=$3 n=$4 run out line rc i t saved_backend=$MEDUSA_BACKEND
    IDLE_KEYS="$IDLE_KEYS $key"
    I_N[$key]=$n; I_ERR[$key]=0; I_B1[$key]=""; I_B50[$key]=""; I_I1[$key]=""; I_I50[$key]=""
    # medusa-demo on select cannot take a new connection while the idle ones hold every fd below
    # 1024: wrk would measure refusals. There the case checks the refusal and the recovery only.
    local with_wrk=1
    [ "$key" = medusa/select ] && with_wrk=0
    # The throughput "with none open" comes from a twin: a second fresh instance of the same
    # server, run in the same rounds as the one holding the idle connections (one right after
    # the other, the order reversed every other round), so that both figures of a round come
    # from the same phase of the machine's speed.
    local twin=$s-twin
    : >"$TMP/$s.log"; : >"$TMP/$twin.log"
    [ "$s" = medusa ] && MEDUSA_BACKEND=$b
    if ! { start_server "$s" && wait_ready "$s"; }; then
        MEDUSA_BACKEND=$saved_backend
        I_NOTE[$key]="did not start"; log "idle $key: did not start"; stop_one "$s"; return
    fi
    if [ "$with_wrk" = 1 ] && ! { start_server "$s" "$twin" && wait_ready "$twin"; }; then
        MEDUSA_BACKEND=$saved_backend
        I_NOTE[$key]="its twin did not start"; log "idle $key: its twin did not start"
        stop_one "$twin"; stop_one "$s"; return
    fi
    MEDUSA_BACKEND=$saved_backend
    log "idle $key: fresh on 127.0.0.1:${PORT[$s]} (pid ${PID[$s]})${PID[$twin]:+, twin on ${PORT[$twin]} (pid ${PID[$twin]})}"

    I_RSS0[$key]=$(rss_kb "${PID[$s]}")
    out="$TMP/idle-${key//\//-}.out"
    taskset -c "$CLIENT_CPU" "$PYTHON" bench/idle/idle_conns.py --port "${PORT[$s]}" --count "$n" \
        --open-timeout "$IDLE_OPEN_TIMEOUT" --hold $(( IDLE_RUNS * 4 * (DURATION + 35) + 300 )) \
        >"$out" 2>"$out.err" &
    PID[idle-client]=$!
    line=""
    for i in $(seq 1 $(( (IDLE_OPEN_TIMEOUT + 30) * 5 ))); do
        line=$(grep '^ready ' "$out" 2>/dev/null || true)
        [ -n "$line" ] && break
        kill -0 "${PID[idle-client]}" 2>/dev/null || break
        sleep 0.2
    done
    if [ -z "$line" ]; then
        I_NOTE[$key]="idle client gave no result"; log "idle $key: idle client gave no result:"
        cat "$out.err" >&2 || true
        stop_one idle-client; stop_one "$twin"; stop_one "$s"; return
    fi
    I_HELD[$key]=$(echo "$line" | sed -n 's/.* held=\([0-9]*\).*/\1/p')
    I_FAILED[$key]=$(echo "$line" | sed -n 's/.* failed=\([0-9]*\).*/\1/p')
    I_UNFIN[$key]=$(echo "$line" | sed -n 's/.* unfinished=\([0-9]*\).*/\1/p')
    log "idle $key: $line"
    sed 's/^/compare:   /' "$out.err" >&2 || true
    I_RSS1[$key]=$(rss_kb "${PID[$s]}")
    if [ "${I_HELD[$key]}" -gt 0 ]; then
        I_BPC[$key]=$(awk -v a="${I_RSS0[$key]}" -v b="${I_RSS1[$key]}" -v n="${I_HELD[$key]}" \
            'BEGIN { printf "%.0f", (b - a) * 1024 / n }')
    fi
    log "idle $key: RSS ${I_RSS0[$key]} KiB -> ${I_RSS1[$key]} KiB with ${I_HELD[$key]} idle (${I_BPC[$key]:-?} B each)"

    if [ "$with_wrk" = 1 ] && [ "${I_HELD[$key]}" -gt 0 ]; then
        local order c rs rt
        for run in $(seq 1 "$IDLE_RUNS"); do
            order="$s $twin"; [ $(( run % 2 )) = 0 ] && order="$twin $s"
            for c in 1 50; do
                rs=""; rt=""
                for t in $order; do
                    run_load "$t" 128b.bin "c$c"
                    if [ "$t" = "$s" ]; then
                        rs=$R_RPS; I_ERR[$key]=$(( ${I_ERR[$key]} + R_ERR ))
                        log "idle $key with ${I_HELD[$key]} idle, $c conn run $run: $R_RPS req/s, $R_ERR errors"
                    else
                        rt=$R_RPS; I_ERR[$key]=$(( ${I_ERR[$key]} + R_ERR ))  # either side's errors spoil the round
                        log "idle $key twin without idle conns, $c conn run $run: $R_RPS req/s, $R_ERR errors"
                    fi
                done
                if [ "$c" = 1 ]; then
                    I_I1[$key]="${I_I1[$key]} $rs"; I_B1[$key]="${I_B1[$key]} $rt"; I_R1[$key|$run]=$(ratio "$rs" "$rt" 6)
                else
                    I_I50[$key]="${I_I50[$key]} $rs"; I_B50[$key]="${I_B50[$key]} $rt"; I_R50[$key|$run]=$(ratio "$rs" "$rt" 6)
                fi
            done
        done
    fi
    stop_one "$twin"

    if kill -0 "${PID[$s]}" 2>/dev/null; then I_ALIVE[$key]=yes; else I_ALIVE[$key]=no; fi
    kill -TERM "${PID[idle-client]}" 2>/dev/null || true
    rc=0; wait "${PID[idle-client]}" 2>/dev/null || rc=$?
    unset "PID[idle-client]"
    line=$(grep '^done ' "$out" 2>/dev/null || true)
    I_OPEN[$key]=$(echo "$line" | sed -n 's/.* still_open=\([0-9]*\).*/\1/p')
    log "idle $key: ${line:-idle client ended without a summary (status $rc)}"

    # The idle connections are gone: a normal request must be served again.
    sleep 0.5
    if [ "$(http_head "${PORT[$s]}" /128b.bin 2>/dev/null || true)" = "200 128" ]; then I_AFTER[$key]=yes; else I_AFTER[$key]=no; fi
    if [ "$s" = medusa ]; then I_REFUSED[$key]=$(grep -c 'FD_SETSIZE' "$TMP/medusa.log" || true); fi
    stop_one "$s"
}

idle_section() {
    local s b n
    for s in $ACTIVE; do
        n=$IDLE_CONNS
        case $s in
            medusa)
                for b in $IDLE_BACKENDS; do idle_case "medusa/$b" medusa "$b" "$n"; done
                continue ;;
            medusa-uring) b=uring ;;
            medusa-py) [ "$n" -gt "$MEDUSA_PY_IDLE" ] && n=$MEDUSA_PY_IDLE; b=select ;;
            lighttpd-aa) continue ;;  # the load rows' control; lighttpd's own case has a twin
            bare-spin|chat-fixed|chat-fixed-uring) continue ;;  # experiments of the CPU row
            lighttpd) [ "$n" -gt $(( LIGHTTPD_CONNS - 100 )) ] && n=$(( LIGHTTPD_CONNS - 100 )); b=- ;;
            *) b=- ;;
        esac
        idle_case "$s/$b" "$s" "$b" "$n"
    done
}

# ---------------------------------------------------------------------------------------------
# Main

install_tools
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
FD_LIMIT=$(ulimit -n)
if [ $(( IDLE_CONNS + 200 )) -gt "$FD_LIMIT" ]; then
    log "IDLE_CONNS=$IDLE_CONNS needs more descriptors than the limit ($FD_LIMIT): using $(( FD_LIMIT - 200 ))"
    IDLE_CONNS=$(( FD_LIMIT - 200 ))
fi
if { wants medusa || wants medusa-uring; } && [ -x "$MEDUSA_BIN" ]; then medusa_flags; fi

TMP=$(mktemp -d /tmp/medusa-compare.XXXXXX)
chmod 755 "$TMP"    # nginx's worker runs as nobody when started as root
mkdir -p "$TMP/root"
head -c 128 /dev/urandom >"$TMP/root/128b.bin"
head -c 16384 /dev/urandom >"$TMP/root/16k.bin"
head -c 1048576 /dev/urandom >"$TMP/root/1m.bin"
chmod 755 "$TMP/root"; chmod 644 "$TMP/root"/*

ACTIVE=""
for s in $SERVERS; do
    if start_server "$s" && wait_ready "$s"; then
        ACTIVE="$ACTIVE $s"
        log "$s ready on 127.0.0.1:${PORT[$s]} (pid ${PID[$s]}, cpu $SERVER_CPU)"
    else
        log "$s left out"
        stop_one "$s"
    fi
done
[ -n "$ACTIVE" ] || die "no server started"

# The order of one round. The VM this runs on changes speed by up to 1.6x for tens of seconds at
# a time (seen: bare epoll at 9.99, 7.03 and 6.97 µs per request in three runs of one row), so a
# ratio of two servers' medians can compare a fast phase with a slow one. Every round therefore
# runs lighttpd, the target's reference, between the two medusa-demo flavours, and every other
# round runs the whole order backwards: each medusa-demo run has its lighttpd run right next to
# it, before it in one round and after it in the next. The ratios against a peer are taken per
# round and the report gives their median (P_* below).
# medusa's framework with no HTTP layer runs right next to the medusa-demo flavour it is the floor
# of (chat-fixed before medusa, chat-fixed-uring after medusa-uring): the CPU target takes their
# difference round by round.
ROUND_ORDER=""
for s in chat-fixed medusa lighttpd medusa-uring chat-fixed-uring lighttpd-aa; do [[ " $ACTIVE " == *" $s "* ]] && ROUND_ORDER="$ROUND_ORDER $s"; done
# bare-spin runs right after bare: the CPU target takes their difference round by round.
for s in $ACTIVE; do
    [ "$s" = bare-spin ] && [[ " $ACTIVE " == *" bare "* ]] && continue
    [[ " $ROUND_ORDER " == *" $s "* ]] || ROUND_ORDER="$ROUND_ORDER $s"
    [ "$s" = bare ] && [[ " $ACTIVE " == *" bare-spin "* ]] && ROUND_ORDER="$ROUND_ORDER bare-spin"
done
round_order() {  # RUN -> the servers in the order that round runs them
    if [ $(( $1 % 2 )) = 1 ]; then echo $ROUND_ORDER; else echo $ROUND_ORDER | tr ' ' '\n' | tac | tr '\n' ' '; fi
}

# V_*: every run's value of a cell, for its median; P_*[ROW|SERVER|RUN]: the same by round.
declare -A V_RPS=() V_P99=() V_ERR=() V_CPU=() V_CPUU=() V_KCPU=() P_RPS=() P_P99=() P_CPU=() P_CPUU=() P_KCPU=()
DEAD=""
for row in $ROWS; do
    file=${row%%:*}; load=${row#*:}
    for run in $(seq 1 "$RUNS"); do
        for s in $(round_order "$run"); do
            [[ " $DEAD " == *" $s "* ]] && continue
            run_load "$s" "$file" "$load"
            key="$row|$s"
            V_RPS[$key]="${V_RPS[$key]:-} $R_RPS"
            V_P99[$key]="${V_P99[$key]:-} $R_P99"
            V_ERR[$key]=$(( ${V_ERR[$key]:-0} + R_ERR ))
            V_CPU[$key]="${V_CPU[$key]:-} $R_CPU"
            V_CPUU[$key]="${V_CPUU[$key]:-} $R_CPUU"
            P_RPS[$key|$run]=$R_RPS; P_P99[$key|$run]=$R_P99; P_CPU[$key|$run]=$R_CPU; P_CPUU[$key|$run]=$R_CPUU
            V_KCPU[$key]="${V_KCPU[$key]:-} $R_CPUK"
            P_KCPU[$key|$run]=$R_CPUK
            log "$file $load run $run/$RUNS $s: $R_RPS req/s, p99 $R_P99 ms, $R_ERR errors, $R_CPU us/req"
            if ! kill -0 "${PID[$s]}" 2>/dev/null; then
                log "$s died during $file $load"; DEAD="$DEAD $s"
            fi
            # A server run with its access log on (MEDUSA_LOG=1): keep the log from filling the disk.
            if [ "$(stat -c %s "$TMP/$s.log" 2>/dev/null || echo 0)" -gt 10000000 ]; then
                : >"$TMP/$s.log"
            fi
        done
    done
done

# The idle section starts every server afresh: stop the ones the load rows used.
for s in $ACTIVE; do stop_one "$s"; done
if [ "$IDLE" = 1 ]; then idle_section; fi

# ---------------------------------------------------------------------------------------------
# Report

load_label() {
    case $1 in
        c*) echo "keep-alive, ${1#c} conn" ;;
        ab*) echo "conn/request, ab -c ${1#ab}" ;;
    esac
}

server_label() {
    case $1 in
        medusa) echo "medusa-demo" ;;
        medusa-uring) echo "medusa-demo io_uring" ;;
        medusa-py) echo "medusa 0.5.4 (Python)" ;;
        bare) echo "bare epoll" ;;
        bare-uring) echo "bare io_uring" ;;
        bare-spin) echo "bare epoll, $BARE_SPIN spins" ;;
        chat-fixed) echo "medusa loop, no HTTP" ;;
        chat-fixed-uring) echo "medusa loop, no HTTP, io_uring" ;;
        lighttpd-aa) echo "lighttpd A/A twin" ;;
        *) echo "$1" ;;
    esac
}

PEERS=""
for p in nginx lighttpd bare bare-uring medusa-py; do [[ " $ACTIVE " == *" $p "* ]] && PEERS="$PEERS $p"; done

# Medians of one cell, or empty when the cell was not measured.
m_rps() { [ -n "${V_RPS[$1|$2]:-}" ] && median ${V_RPS[$1|$2]} || true; }
m_p99() { [ -n "${V_P99[$1|$2]:-}" ] && median ${V_P99[$1|$2]} || true; }
m_cpu() { [ -n "${V_CPU[$1|$2]:-}" ] && median ${V_CPU[$1|$2]} || true; }
m_cpuu() { [ -n "${V_CPUU[$1|$2]:-}" ] && median ${V_CPUU[$1|$2]} || true; }
m_cpuk() { [ -n "${V_KCPU[$1|$2]:-}" ] && median ${V_KCPU[$1|$2]} || true; }
# What a server's CPU per request on ROW is made of: "user U + kernel K µs" (the medians of its
# runs' user-space and kernel time; the kernel's share is the TCP work every server does, the
# user's its own code).
cpu_parts() {
    local k u
    u=$(m_cpuu "$1" "$2"); k=$(m_cpuk "$1" "$2")
    [ -n "$k" ] && [ -n "$u" ] && [ "$k" != nan ] && [ "$u" != nan ] || { echo "—"; return; }
    awk -v k="$k" -v u="$u" 'BEGIN { printf "user %.2f + kernel %.2f µs", u, k }'
}
# Each round's ratio of METRIC (RPS, P99 or CPU) of A over B on ROW, one word per round, "—"
# for a round that lacks either: ROUND_RATIOS ROW A B METRIC -> "1.021 0.984 —"
round_ratios() {  # [METRIC_B]: B's metric when it is not A's (kernel CPU over all CPU)
    local row=$1 a=$2 b=$3 m=$4 run out=""
    local -n tab="P_$m"
    local -n tab_b="P_${5:-$m}"
    for run in $(seq 1 "$RUNS"); do
        out="$out $(ratio "${tab[$row|$a|$run]:-}" "${tab_b[$row|$b|$run]:-}" 6)"
    done
    echo "${out# }"
}
# Paired ratio: the median of the rounds' ratios: PAIRED ROW A B METRIC [DIGITS [METRIC_B]] ->
# ratio, or — when no round has both. METRIC_B: B's metric when it is not A's (KCPU over CPU).
paired() {
    local d=${5:-2} v
    local -a rs=()
    for v in $(round_ratios "$1" "$2" "$3" "$4" "${6:-$4}"); do [ "$v" = "—" ] || rs+=("$v"); done
    [ "${#rs[@]}" -gt 0 ] || { echo "—"; return; }
    awk -v m="$(median "${rs[@]}")" -v d="$d" 'BEGIN { printf "%.*f", d, m }'
}
# The rounds' ratios for the report, two decimals: ROUNDS ROW A B METRIC -> "1.02 0.98 —"
rounds() {
    local v out=""
    for v in $(round_ratios "$1" "$2" "$3" "$4"); do
        if [ "$v" = "—" ]; then out="$out —"; else out="$out $(printf '%.2f' "$v")"; fi
    done
    echo "${out# }"
}
times() { [ "$1" = "—" ] && echo "—" || echo "$1×"; }
num() { [ -n "$1" ] && [ "$1" != nan ] && printf "%.${2:-0}f" "$1" || echo "—"; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "" && a != "nan" && b != "" && b != "nan" && a + 0 >= b + 0) }'; }

# The idle case that stands for SERVER in the summary (medusa-demo: its epoll backend).
idle_key() {
    local s=$1 k
    for k in "${!I_N[@]}"; do
        if [ "$s" = medusa ]; then [ "$k" = medusa/epoll ] && { echo "$k"; return; }
        elif [ "${k%%/*}" = "$s" ]; then echo "$k"; return
        fi
    done
}
idle_ratio() {  # KEY 1|50 [DIGITS] -> the median of the rounds' ratios, with idle / the twin without
    local key=$1 c=$2 d=${3:-2} run v
    local -a rs=()
    local -n tab="I_R$c"
    for run in $(seq 1 "$IDLE_RUNS"); do
        v=${tab[$key|$run]:-}
        [ -n "$v" ] && [ "$v" != "—" ] && rs+=("$v")
    done
    [ "${#rs[@]}" -gt 0 ] || { echo "—"; return; }
    awk -v m="$(median "${rs[@]}")" -v d="$d" 'BEGIN { printf "%.*f", d, m }'
}
idle_rounds() {  # KEY 1|50 -> the rounds' ratios, two decimals
    local key=$1 c=$2 run v out=""
    local -n tab="I_R$c"
    for run in $(seq 1 "$IDLE_RUNS"); do
        v=${tab[$key|$run]:-—}
        [ "$v" = "—" ] && out="$out —" || out="$out $(printf '%.2f' "$v")"
    done
    echo "${out# }"
}

summary() {
    local s hdr sep k r
    hdr="| case |"; sep="| --- |"
    for s in $ACTIVE; do hdr="$hdr $(server_label "$s") |"; sep="$sep ---: |"; done
    echo "$hdr"; echo "$sep"
    srow() {  # LABEL FUNCTION ROW [DIGITS]
        local label=$1 fn=$2 row=$3 d=${4:-0} s r
        r="| $label |"
        [[ " $ROWS " == *" $row "* ]] || return 0
        for s in $ACTIVE; do r="$r $(num "$($fn "$row" "$s")" "$d") |"; done
        echo "$r"
    }
    srow "128 B, keep-alive, 50 conns: req/s" m_rps 128b.bin:c50
    srow "server CPU per request at that load: µs" m_cpu 128b.bin:c50 1
    srow "16 KiB, keep-alive, 50 conns: req/s" m_rps 16k.bin:c50
    srow "1 MiB, keep-alive, 50 conns: req/s" m_rps 1m.bin:c50
    srow "1 MiB, keep-alive, 1 conn: p99 ms" m_p99 1m.bin:c1 2
    srow "one connection per request (ab -c 50): req/s" m_rps 128b.bin:ab50
    [ "${#I_N[@]}" -gt 0 ] || return 0
    r="| user memory per idle keep-alive connection: B (idle conns held) |"
    for s in $ACTIVE; do
        k=$(idle_key "$s")
        if [ -n "$k" ] && [ -n "${I_BPC[$k]:-}" ]; then r="$r ${I_BPC[$k]} (${I_HELD[$k]}) |"; else r="$r — |"; fi
    done
    echo "$r"
    for c in 1 50; do
        r="| $c conn throughput with the idle conns open, vs none |"
        for s in $ACTIVE; do
            k=$(idle_key "$s")
            if [ -n "$k" ]; then r="$r $(times "$(idle_ratio "$k" "$c")") |"; else r="$r — |"; fi
        done
        echo "$r"
    done
}

idle_table() {
    local k s b note rps
    echo "| server | backend | idle conns held / tried | RSS before KiB | RSS after KiB | B per idle conn | 1 conn req/s none → idle | ×none (rounds) | 50 conns req/s none → idle | ×none (rounds) | errors | still open at the end | 200 after | notes |"
    echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |"
    for k in $IDLE_KEYS; do
        s=${k%%/*}; b=${k#*/}
        note=${I_NOTE[$k]:-}
        if [ -z "${I_HELD[$k]:-}" ]; then
            echo "| $(server_label "$s") | $b | — / ${I_N[$k]} | | | | | | | | | | | $note |"; continue
        fi
        [ "${I_FAILED[$k]:-0}" -gt 0 ] && note="$note${note:+; }${I_FAILED[$k]} refused or failed"
        [ "${I_UNFIN[$k]:-0}" -gt 0 ] && note="$note${note:+; }${I_UNFIN[$k]} not open in time"
        [ -n "${I_REFUSED[$k]:-}" ] && [ "$b" = select ] && note="$note${note:+; }${I_REFUSED[$k]} refusal lines in its log"
        [ "$s" = medusa-py ] && note="$note${note:+; }capped at MEDUSA_PY_IDLE (select)"
        [ "${I_ALIVE[$k]:-yes}" = no ] && note="$note${note:+; }DIED"
        rps() { [ -n "$1" ] && num "$(median $1)" || echo "—"; }
        echo "| $(server_label "$s") | $b | ${I_HELD[$k]} / ${I_N[$k]} | ${I_RSS0[$k]} | ${I_RSS1[$k]} | ${I_BPC[$k]:-—} | $(rps "${I_B1[$k]}") → $(rps "${I_I1[$k]}") | $(idle_ratio "$k" 1) ($(idle_rounds "$k" 1)) | $(rps "${I_B50[$k]}") → $(rps "${I_I50[$k]}") | $(idle_ratio "$k" 50) ($(idle_rounds "$k" 50)) | ${I_ERR[$k]} | ${I_OPEN[$k]:-—} | ${I_AFTER[$k]:-—} | $note |"
    done
}

# The A/A control on ROW for METRIC (RPS, P99 or CPU): lighttpd-aa over lighttpd by round. Sets
# AA_MED (the median of the rounds' ratios) and AA_LO, AA_HI: the band they span, made symmetric
# (which of two equal servers is "A" is arbitrary: a round at 1.08 counts as 1/1.08 below 1 too);
# returns 1 when the control did not run on that row.
aa_band() {
    local v
    local -a rs=()
    AA_MED=""; AA_LO=""; AA_HI=""
    [[ " $ACTIVE " == *" lighttpd-aa "* ]] || return 1
    for v in $(round_ratios "$1" lighttpd-aa lighttpd "$2"); do [ "$v" = "—" ] || rs+=("$v"); done
    [ "${#rs[@]}" -gt 0 ] || return 1
    AA_MED=$(median "${rs[@]}")
    AA_LO=$(printf '%s\n' "${rs[@]}" | sort -g | head -1)
    AA_HI=$(printf '%s\n' "${rs[@]}" | sort -g | tail -1)
    AA_MIN=$AA_LO AA_MAX=$AA_HI  # the rounds as measured, before the band is made symmetric
    read -r AA_LO AA_HI < <(awk -v lo="$AA_LO" -v hi="$AA_HI" 'BEGIN {
        l = lo; h = hi
        if (hi > 0 && 1 / hi < l) l = 1 / hi
        if (lo > 0 && 1 / lo > h) h = 1 / lo
        printf "%.6f %.6f\n", l, h }')
}
# sign_test K N: the two-sided sign test's p for K of N rounds on one side of a line (each side
# equally likely when the two servers are equal): how often chance alone puts that many rounds,
# or more, on one side.
sign_test() {
    awk -v k="$1" -v n="$2" 'BEGIN {
        if (n == 0) { print "1.000"; exit }
        m = (k > n - k) ? k : n - k; t = 0; c = 1
        for (i = 0; i <= n; i++) { if (i >= m) t += c; c = c * (n - i) / (i + 1) }
        p = 2 * t / 2 ^ n; if (p > 1) p = 1
        printf "%.3f", p }'
}
# rounds_past ROW SERVER METRIC LIMIT above|below -> "K N": of the N rounds with SERVER's METRIC
# ratio to lighttpd's on ROW, K are past LIMIT on that side (a round exactly at LIMIT is left out).
rounds_past() {
    local v k=0 n=0
    for v in $(round_ratios "$1" "$2" lighttpd "$3"); do
        [ "$v" = "—" ] && continue
        awk -v a="$v" -v l="$4" 'BEGIN { exit !(a == l) }' && continue
        n=$(( n + 1 ))
        if [ "$5" = above ]; then ge "$v" "$4" && k=$(( k + 1 ))
        else ge "$4" "$v" && k=$(( k + 1 ))
        fi
    done
    echo "$k $n"
}
# The rounds behind a median past LIMIT: " [past in K of N rounds, sign test p P]", with
# ": consistent" when p < 0.05 (the rounds agree, not just their median).
sign_note() {  # ROW SERVER METRIC LIMIT above|below WORD
    local k n p
    read -r k n < <(rounds_past "$1" "$2" "$3" "$4" "$5")
    [ "$n" -gt 0 ] || return 0
    p=$(sign_test "$k" "$n")
    printf ' [%s in %d of %d rounds, sign test p %s%s]' "$6" "$k" "$n" "$p" \
        "$(awk -v p="$p" 'BEGIN { if (p < 0.05) print ": consistent" }')"
}
# A shortfall RATIO on ROW / METRIC (RPS or P99) of the caller's server ($who) against lighttpd,
# against the A/A control: " [A/A 1.004×, rounds 0.97–1.03: within]" when lighttpd against itself
# has measured as far from 1 (a ratio below 1 for req/s no lower than the control's lowest round,
# above 1 for p99 no higher than its highest), with "beyond" otherwise; " [A/A: no control]" when
# the control has no round on that row. The sign test of the server's own rounds (sign_note)
# comes first, and prints with or without the control.
aa_note() {
    local row=$1 m=$2 r=$3 where
    if [ "$m" = P99 ]; then sign_note "$row" "$who" P99 1 above over
    else sign_note "$row" "$who" "$m" 1 below short
    fi
    [[ " $ACTIVE " == *" lighttpd-aa "* ]] || return 0
    aa_band "$row" "$m" || { printf ' [A/A: no control]'; return 0; }
    if [ "$m" = P99 ]; then ge "$AA_HI" "$r" && where=within || where=beyond
    else ge "$r" "$AA_LO" && where=within || where=beyond
    fi
    printf ' [A/A %.3f×, rounds %.2f–%.2f: %s]' "$AA_MED" "$AA_LO" "$AA_HI" "$where"
}
# The closing words of a target NOT met, from its shortfalls (TEXT, with their A/A notes).
aa_verdict() {
    [[ " $ACTIVE " == *" lighttpd-aa "* ]] || return 0
    local errors='(^|[^0-9])[1-9][0-9]* errors'
    if [[ $1 == *": beyond]"* ]] || [[ $1 =~ $errors ]]; then
        echo "; a shortfall beyond the A/A control's spread"
    elif [[ $1 == *": consistent]"* ]]; then
        if [[ $1 == *"no control]"* ]] || [[ $1 == *"not read"* ]]; then
            echo "; a shortfall the rounds agree on (sign test p < 0.05) that the A/A control does not cover"
        else echo "; within the A/A control's spread, but a shortfall the rounds agree on (sign test p < 0.05)"
        fi
    elif [[ $1 == *"no control]"* ]] || [[ $1 == *"not read"* ]]; then
        echo "; a shortfall the A/A control does not cover"
    else echo "; every shortfall within the A/A control's spread: parity as far as this machine can tell"
    fi
}

# What the server's own code weighs in the CPU target's ratio, when bare and bare-spin both ran:
# the CPU per request bare-spin adds to bare's against the user time it adds (each the median of
# the rounds' differences: bare-spin runs right after bare in every round, see ROUND_ORDER) gives
# what a microsecond of user time moves the ratio on this row; times WHO's user time, what the
# ratio would lose if WHO's own code cost nothing at all.
# ROUND_DIFFS ROW A B: the CPU and user time per request A spends over B on ROW, each the median
# of the rounds' differences, in DIFF_CPU and DIFF_USER; false when no round has both.
round_diffs() {
    local row=$1 a=$2 b=$3 run ac bc au bu
    local -a dcs=() dus=()
    for run in $(seq 1 "$RUNS"); do
        ac=${P_CPU[$row|$a|$run]:-} bc=${P_CPU[$row|$b|$run]:-}
        au=${P_CPUU[$row|$a|$run]:-} bu=${P_CPUU[$row|$b|$run]:-}
        [ -n "$ac" ] && [ -n "$bc" ] && [ -n "$au" ] && [ -n "$bu" ] || continue
        [[ "$ac$bc$au$bu" == *nan* ]] && continue
        dcs+=("$(awk -v x="$ac" -v y="$bc" 'BEGIN { print x - y }')")
        dus+=("$(awk -v x="$au" -v y="$bu" 'BEGIN { print x - y }')")
    done
    [ "${#dcs[@]}" -gt 0 ] || return 1
    DIFF_CPU=$(median "${dcs[@]}"); DIFF_USER=$(median "${dus[@]}")
}

cpu_user_weight() {
    local who=$1 row=128b.bin:c50 cl uw dc du v
    [[ " $ACTIVE " == *" bare "* ]] && [[ " $ACTIVE " == *" bare-spin "* ]] || return 0
    round_diffs "$row" bare-spin bare || return 0
    dc=$DIFF_CPU du=$DIFF_USER
    cl=$(m_cpu "$row" lighttpd); uw=$(m_cpuu "$row" "$who")
    for v in "$cl" "$uw"; do [ -n "$v" ] && [ "$v" != nan ] || return 0; done
    ge 0 "$cl" && return 0  # no CPU measured for lighttpd: nothing to divide by
    awk -v du="$du" -v dc="$dc" -v cl="$cl" -v uw="$uw" -v spin="$BARE_SPIN" -v who="$(server_label "$who")" \
        -v r="$(paired "$row" bare-spin lighttpd CPU 3)" 'BEGIN {
        printf "  - a server'"'"'s own code, measured: the bare loop with %d empty loop turns per request spends %+.2f µs of user time and %+.2f µs of CPU per request against the bare loop (medians of the rounds'"'"' differences; %s× lighttpd by round)", spin, du, dc, r
        if (du > 0.1) printf "; a µs of user time moves the ratio by %.3f here, and %s'"'"'s whole user time (%.2f µs) is worth %.3f of its ratio", dc / du / cl, who, uw, uw * dc / du / cl
        printf "\n" }'
}

# What medusa-demo's HTTP layer costs on the CPU row, when its floor ran next to it: the CPU and
# user time per request WHO spends over chat-fixed (medusa's loop and async_chat answering from
# memory, bench/servers/chat_fixed.cc) on the same backend, each the median of the rounds'
# differences (the two run side by side in every round, see ROUND_ORDER).
http_layer_cost() {
    local who=$1 floor row=128b.bin:c50
    case $who in
        medusa) [ "$MEDUSA_BACKEND" = epoll ] && floor=chat-fixed || return 0 ;;
        medusa-uring) floor=chat-fixed-uring ;;
        *) return 0 ;;
    esac
    [[ " $ACTIVE " == *" $floor "* ]] || return 0
    round_diffs "$row" "$who" "$floor" || return 0
    awk -v dc="$DIFF_CPU" -v du="$DIFF_USER" -v who="$(server_label "$who")" -v fl="$(server_label "$floor")" \
        -v r="$(paired "$row" "$floor" lighttpd CPU 3)" 'BEGIN {
        printf "  - the HTTP layer, measured: %s spends %+.2f µs of CPU and %+.2f µs of user time per request over %s (medusa'"'"'s loop with no HTTP layer, run next to it in every round; medians of the rounds'"'"' differences), which alone reads %s× lighttpd by round\n", who, dc, du, fl, r }'
}

# One line of the Targets block: TEXT STATUS [VALUE], STATUS met|fail|none.
target() {
    case $2 in
        met) echo "- $1: met${3:+ ($3)}" ;;
        fail) echo "- $1: NOT met ($3)" ;;
        *) echo "- $1: not measured ($3)" ;;
    esac
}

idle_absent() {  # BACKEND -> why the idle section has no medusa-demo case for it
    if [ "$IDLE" != 1 ]; then echo "IDLE=$IDLE: no idle section"
    elif [[ " $ACTIVE " != *" medusa "* ]]; then echo "medusa-demo not in the run"
    else echo "$1 not in IDLE_BACKENDS"
    fi
}

# The load targets for one medusa-demo flavour: WHO is medusa (its MEDUSA_BACKEND) or medusa-uring.
load_targets() {
    local who=$1 row file load a b pa pb fails="" any="" cpu_l r v
    local tag; tag=" — $(server_label "$who")"
    local have_l=0; [[ " $ACTIVE " == *" lighttpd "* ]] && [[ " $ACTIVE " == *" $who "* ]] && have_l=1

    # Every keep-alive row: >= 1.0x lighttpd's req/s, p99 no worse, zero errors.
    if [ "$have_l" = 1 ]; then
        for row in $ROWS; do
            file=${row%%:*}; load=${row#*:}
            [[ $load == c* ]] || continue
            [ -n "${V_RPS[$row|$who]:-}" ] && [ -n "${V_RPS[$row|lighttpd]:-}" ] || continue
            any=1
            a=$(paired "$row" "$who" lighttpd RPS 3); pa=$(paired "$row" "$who" lighttpd P99 3)
            v=""
            ge "$a" 1 || v="${a}×$(aa_note "$row" RPS "$a")"
            if [ "$pa" = "—" ]; then v="$v${v:+, }p99 not read"
            else ge 1 "$pa" || v="$v${v:+, }p99 ${pa}× ($(m_p99 "$row" "$who") vs $(m_p99 "$row" lighttpd) ms)$(aa_note "$row" P99 "$pa")"
            fi
            [ "${V_ERR[$row|$who]}" = 0 ] || v="$v${v:+, }${V_ERR[$row|$who]} errors"
            [ -z "$v" ] || fails="$fails; $file $(load_label "$load"): $v"
        done
        if [ -z "$any" ]; then target "every keep-alive row ≥ 1.0× lighttpd req/s, p99 no worse, zero errors$tag" none "no keep-alive row"
        elif [ -z "$fails" ]; then target "every keep-alive row ≥ 1.0× lighttpd req/s, p99 no worse, zero errors$tag" met
        else target "every keep-alive row ≥ 1.0× lighttpd req/s, p99 no worse, zero errors$tag" fail "${fails#; }$(aa_verdict "$fails")"
        fi
    else
        target "every keep-alive row ≥ 1.0× lighttpd req/s, p99 no worse, zero errors$tag" none "$(server_label "$who") and lighttpd not both in the run"
    fi

    # Server CPU per request at 128 B / 50 connections: <= 0.8x lighttpd's.
    cpu_w=$(m_cpu 128b.bin:c50 "$who"); cpu_l=$(m_cpu 128b.bin:c50 lighttpd)
    if [ -n "$cpu_w" ] && [ -n "$cpu_l" ] && [ "$cpu_w" != nan ] && [ "$cpu_l" != nan ]; then
        r=$(paired 128b.bin:c50 "$who" lighttpd CPU 3)
        if ge 0.8 "$r"; then target "server CPU per request at 128 B / 50 conns ≤ 0.8× lighttpd's$tag" met "${r}× by round; medians $cpu_w / $cpu_l µs$(sign_note 128b.bin:c50 "$who" CPU 0.8 below under)"
        else target "server CPU per request at 128 B / 50 conns ≤ 0.8× lighttpd's$tag" fail "${r}× by round; medians $cpu_w / $cpu_l µs$(sign_note 128b.bin:c50 "$who" CPU 0.8 above over)"
        fi
    else
        target "server CPU per request at 128 B / 50 conns ≤ 0.8× lighttpd's$tag" none "row 128b.bin c50 without medusa and lighttpd"
    fi
    # The ceilings on the same row, for scale: what a loop with no library costs, per kernel
    # interface (the target asks medusa-demo to be near or below them), and, when they ran, what
    # medusa's own loop costs with no HTTP layer (chat-fixed: the floor under medusa-demo).
    if [ -n "$cpu_l" ] && [ "$cpu_l" != nan ]; then
        local ceil=""
        for k in bare bare-uring chat-fixed chat-fixed-uring; do
            v=$(m_cpu 128b.bin:c50 "$k")
            [ -n "$v" ] && [ "$v" != nan ] && ceil="$ceil, $(server_label "$k") $v µs (median), $(paired 128b.bin:c50 "$k" lighttpd CPU 3)× by round"
        done
        [ -n "$ceil" ] && echo "  - for scale, against lighttpd's on the same row:${ceil#,}"
        # Split into user and kernel time: the kernel's part is the floor below which no code of
        # the server's own can bring it.
        local parts="" k u
        for k in "$who" lighttpd bare bare-uring chat-fixed chat-fixed-uring; do
            [ "$(cpu_parts 128b.bin:c50 "$k")" = "—" ] || parts="$parts, $(server_label "$k") $(cpu_parts 128b.bin:c50 "$k")"
        done
        u=$(m_cpuu 128b.bin:c50 "$who")
        if [ -n "$parts" ] && [ -n "$cpu_w" ] && [ -n "$u" ] && [ "$cpu_w" != nan ] && [ "$u" != nan ]; then
            echo "  - made of (medians):${parts#,}; $(server_label "$who")'s kernel time alone is $(paired 128b.bin:c50 "$who" lighttpd KCPU 3 CPU)× lighttpd's CPU by round"
        fi
        cpu_user_weight "$who"
        http_layer_cost "$who"
        if aa_band 128b.bin:c50 CPU; then
            printf '  - the A/A twin against lighttpd on this row: %.3f× by round, rounds %.2f–%.2f (two identical servers)\n' "$AA_MED" "$AA_MIN" "$AA_MAX"
        fi
    fi

    # One connection per request: >= 1.0x lighttpd (every ab row).
    fails=""; any=""
    for row in $ROWS; do
        load=${row#*:}; [[ $load == ab* ]] || continue
        a=$(paired "$row" "$who" lighttpd RPS 3)
        [ "$a" != "—" ] || continue
        any=1
        ge "$a" 1 && [ "${V_ERR[$row|$who]}" = 0 ] || fails="$fails; ${row%%:*} ${a}×$(ge "$a" 1 || aa_note "$row" RPS "$a"), ${V_ERR[$row|$who]} errors"
    done
    if [ -z "$any" ]; then target "one connection per request ≥ 1.0× lighttpd$tag" none "no ab row with medusa and lighttpd"
    elif [ -z "$fails" ]; then target "one connection per request ≥ 1.0× lighttpd$tag" met
    else target "one connection per request ≥ 1.0× lighttpd$tag" fail "${fails#; }$(aa_verdict "$fails")"
    fi

    # 1 MiB at 1 connection: p99 no worse than lighttpd's.
    pa=$(m_p99 1m.bin:c1 "$who"); pb=$(m_p99 1m.bin:c1 lighttpd)
    if [ -n "$pa" ] && [ -n "$pb" ]; then
        r=$(paired 1m.bin:c1 "$who" lighttpd P99 3)
        if ge 1 "$r"; then target "1 MiB at 1 conn: p99 ≤ lighttpd's$tag" met "${r}× by round; medians $pa / $pb ms"
        else v="${r}× by round; medians $pa / $pb ms$(aa_note 1m.bin:c1 P99 "$r")"
            target "1 MiB at 1 conn: p99 ≤ lighttpd's$tag" fail "$v$(aa_verdict "$v")"
        fi
    else
        target "1 MiB at 1 conn: p99 ≤ lighttpd's$tag" none "row 1m.bin c1 without medusa and lighttpd"
    fi

}

targets() {
    local row file load a b fails="" any="" cpu_m cpu_l k v
    local w
    for w in medusa medusa-uring; do
        [[ " $ACTIVE " == *" $w "* ]] && load_targets "$w"
    done
    cpu_m=$(m_cpu 128b.bin:c50 medusa)

    # Idle connections, epoll: memory, and throughput within 5%.
    k=medusa/epoll
    local held_all=""
    if [ -n "${I_HELD[$k]:-}" ]; then
        [ "${I_HELD[$k]}" = "${I_N[$k]}" ] || held_all="held ${I_HELD[$k]} of ${I_N[$k]}"
        if [ -z "${I_BPC[$k]:-}" ]; then target "idle keep-alive conns: user memory ≤ 512 B each (epoll)" none "no connection held"
        elif [ "${I_BPC[$k]}" -le 512 ] && [ -z "$held_all" ]; then target "idle keep-alive conns: user memory ≤ 512 B each (epoll)" met "${I_BPC[$k]} B at ${I_HELD[$k]} idle"
        else target "idle keep-alive conns: user memory ≤ 512 B each (epoll)" fail "${I_BPC[$k]} B at ${I_HELD[$k]} idle${held_all:+; $held_all}"
        fi
        local r1 r50
        r1=$(idle_ratio "$k" 1 3); r50=$(idle_ratio "$k" 50 3)
        v=""
        ge "$r1" 0.95 || v="1 conn ${r1}×"
        ge "$r50" 0.95 || v="$v${v:+, }50 conns ${r50}×"
        [ "${I_ERR[$k]}" = 0 ] || v="$v${v:+, }${I_ERR[$k]} errors"
        [ "${I_OPEN[$k]:-}" = "${I_HELD[$k]}" ] || v="$v${v:+, }${I_OPEN[$k]:-?} of ${I_HELD[$k]} still open"
        [ -z "$held_all" ] || v="$v${v:+, }$held_all"
        if [ -z "$v" ]; then target "1 and 50 conns with ${I_HELD[$k]} idle within 5% of none (epoll)" met "${r1}×, ${r50}×"
        else target "1 and 50 conns with ${I_N[$k]} idle within 5% of none (epoll)" fail "$v"
        fi
    else
        target "idle keep-alive conns: user memory ≤ 512 B each (epoll)" none "${I_NOTE[$k]:-$(idle_absent epoll)}"
        target "1 and 50 conns with $IDLE_CONNS idle within 5% of none (epoll)" none "${I_NOTE[$k]:-$(idle_absent epoll)}"
    fi

    # poll: may slow down, must not fail.
    k=medusa/poll
    if [ -n "${I_HELD[$k]:-}" ]; then
        v=""
        [ "${I_HELD[$k]}" = "${I_N[$k]}" ] || v="held ${I_HELD[$k]} of ${I_N[$k]}"
        [ "${I_ERR[$k]}" = 0 ] || v="$v${v:+, }${I_ERR[$k]} wrk errors"
        [ "${I_OPEN[$k]:-}" = "${I_HELD[$k]}" ] || v="$v${v:+, }${I_OPEN[$k]:-?} of ${I_HELD[$k]} still open"
        [ "${I_AFTER[$k]}" = yes ] || v="$v${v:+, }no 200 afterwards"
        [ "${I_ALIVE[$k]}" = yes ] || v="$v${v:+, }died"
        if [ -z "$v" ]; then target "poll backend with ${I_N[$k]} idle: slower at most, no failure" met "$(idle_ratio "$k" 1)×, $(idle_ratio "$k" 50)× of none"
        else target "poll backend with ${I_N[$k]} idle: slower at most, no failure" fail "$v"
        fi
    else
        target "poll backend with idle conns: slower at most, no failure" none "${I_NOTE[$k]:-$(idle_absent poll)}"
    fi

    # select: refuses past fd 1023 with a log line, keeps serving the rest.
    k=medusa/select
    if [ -n "${I_HELD[$k]:-}" ]; then
        v=""
        if [ "${I_N[$k]}" -gt 1100 ]; then
            [ "${I_REFUSED[$k]:-0}" -gt 0 ] || v="no refusal line in its log"
            [ "${I_FAILED[$k]:-0}" -gt 0 ] || v="$v${v:+, }no connection refused"
        fi
        [ "${I_HELD[$k]}" -gt 0 ] || v="$v${v:+, }held none"
        [ "${I_OPEN[$k]:-}" = "${I_HELD[$k]}" ] || v="$v${v:+, }${I_OPEN[$k]:-?} of ${I_HELD[$k]} still open"
        [ "${I_AFTER[$k]}" = yes ] || v="$v${v:+, }no 200 afterwards"
        [ "${I_ALIVE[$k]}" = yes ] || v="$v${v:+, }died"
        if [ -z "$v" ]; then target "select backend: refuses past fd 1023 with a log line, keeps serving the rest" met "held ${I_HELD[$k]} of ${I_N[$k]}, ${I_REFUSED[$k]:-0} refusal lines, 200 afterwards"
        else target "select backend: refuses past fd 1023 with a log line, keeps serving the rest" fail "$v"
        fi
    else
        target "select backend: refuses past fd 1023 with a log line, keeps serving the rest" none "${I_NOTE[$k]:-$(idle_absent select)}"
    fi

    # The http issue's target: medusa-demo >= 1.0x nginx on every keep-alive row, zero errors.
    fails=""; any=""
    for row in $ROWS; do
        file=${row%%:*}; load=${row#*:}
        [[ $load == c* ]] && [ -n "${V_RPS[$row|medusa]:-}" ] && [ -n "${V_RPS[$row|nginx]:-}" ] || continue
        any=1
        a=$(paired "$row" medusa nginx RPS 3)
        ge "$a" 1 && [ "${V_ERR[$row|medusa]}" = 0 ] || fails="$fails; $file $(load_label "$load"): ${a}×, ${V_ERR[$row|medusa]} errors"
    done
    if [ -z "$any" ]; then target "every keep-alive row ≥ 1.0× nginx, zero errors (http issue)" none "medusa and nginx not both in the run"
    elif [ -z "$fails" ]; then target "every keep-alive row ≥ 1.0× nginx, zero errors (http issue)" met
    else target "every keep-alive row ≥ 1.0× nginx, zero errors (http issue)" fail "${fails#; }"
    fi

    # How far the port came: no threshold, the range of medusa-demo / medusa-py over the rows.
    if [[ " $ACTIVE " == *" medusa-py "* ]] && [[ " $ACTIVE " == *" medusa "* ]]; then
        local lo="" hi="" x
        for row in $ROWS; do
            a=$(m_rps "$row" medusa); b=$(m_rps "$row" medusa-py)
            [ -n "$a" ] && [ -n "$b" ] || continue
            x=$(ratio "$a" "$b"); [ "$x" = "—" ] && continue
            if [ -z "$lo" ] || ! ge "$x" "$lo"; then lo=$x; fi
            if [ -z "$hi" ] || ge "$x" "$hi"; then hi=$x; fi
        done
        cpu_l=$(m_cpu 128b.bin:c50 medusa-py)
        echo "- against medusa 0.5.4 itself (no threshold): medusa-demo's req/s is ${lo:-?}× to ${hi:-?}× medusa-py's over the rows; CPU per request at 128 B / 50 conns $(num "$cpu_m" 1) against $(num "$cpu_l" 1) µs"
    fi
}

# Each round's ratio against lighttpd, for the medusa-demo flavours: how far the rounds agree.
rounds_table() {
    local w row file load
    [[ " $ACTIVE " == *" lighttpd "* ]] && [ "$RUNS" -gt 1 ] || return 0
    echo
    echo "## Round by round against lighttpd"
    echo
    echo "Each cell: this server's value divided by lighttpd's in the same round, rounds 1 to $RUNS, then their median. The lighttpd-aa lines are the A/A control: a second, identical lighttpd against the first, in the same rounds: how far apart two equal servers measure on each row."
    echo
    echo "| file | load | server | req/s | p99 | CPU µs/req |"
    echo "| --- | --- | --- | --- | --- | --- |"
    for row in $ROWS; do
        file=${row%%:*}; load=${row#*:}
        for w in medusa medusa-uring lighttpd-aa; do
            [ -n "${V_RPS[$row|$w]:-}" ] && [ -n "${V_RPS[$row|lighttpd]:-}" ] || continue
            echo "| $file | $(load_label "$load") | $w | $(rounds "$row" "$w" lighttpd RPS) → $(paired "$row" "$w" lighttpd RPS) | $(rounds "$row" "$w" lighttpd P99) → $(paired "$row" "$w" lighttpd P99) | $(rounds "$row" "$w" lighttpd CPU) → $(paired "$row" "$w" lighttpd CPU) |"
        done
    done
}

report() {
    local hdr sep s p row file load key rps r
    echo "# Load comparison, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "- machine: $(nproc) CPUs, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), Linux $(uname -r)"
    echo "- servers pinned to CPU $SERVER_CPU, client (wrk -t1 / ab / idle_conns.py) pinned to CPU $CLIENT_CPU, loopback only"
    echo "- $RUNS run(s) of ${DURATION} s per cell; req/s, p99 and CPU are medians, errors are summed over the runs"
    echo "- errors: wrk socket errors (connect, read, write, timeout) + non-2xx/3xx replies; ab failed + non-2xx + write errors"
    echo "- CPU: server utime+stime per completed request (µs), from /proc/PID/stat, the server and its children; \"of it user\": utime alone (its own code; the rest is the kernel's, mostly TCP)"
    echo "- ×PEER: this server's req/s divided by PEER's on the same row in the same round, the median over the rounds (a round runs every server once: medusa-demo, lighttpd and medusa-demo io_uring next to each other, every other round in reverse order); the targets against lighttpd and nginx take their ratios (req/s, p99, CPU) the same way"
    local v=""
    for s in $ACTIVE; do
        case $s in
            medusa) v="$v, $(echo "medusa-demo $(git rev-parse --short HEAD 2>/dev/null || echo '?') --backend $MEDUSA_BACKEND $MEDUSA_FLAGS ${MEDUSA_ARGS:-}" | xargs)" ;;
            medusa-uring) v="$v, medusa-demo --backend uring" ;;
            nginx) v="$v, $(nginx -v 2>&1 | sed 's/^nginx version: //')" ;;
            lighttpd) v="$v, $(lighttpd -v 2>&1 | awk '{ print $1 }')" ;;
            lighttpd-aa) v="$v, lighttpd-aa: a second lighttpd with the same configuration" ;;
            bare) v="$v, bare_epoll" ;;
            bare-spin) v="$v, bare-spin: bare_epoll --spin $BARE_SPIN" ;;
            chat-fixed) v="$v, chat-fixed: chat_fixed --backend epoll" ;;
            chat-fixed-uring) v="$v, chat-fixed-uring: chat_fixed --backend uring" ;;
            bare-uring) v="$v, bare_uring (liburing $(dpkg-query -W -f='${Version}' liburing-dev 2>/dev/null || echo '?'))" ;;
            medusa-py) v="$v, medusa-py: medusa 0.5.4 from supervisor $(dpkg-query -W -f='${Version}' supervisor 2>/dev/null || echo '?') on $("$PYTHON" -V 2>&1)" ;;
        esac
    done
    echo "- versions: ${v#, }; $(wrk --version 2>&1 | head -1 | awk '{ print $1, $2 }'); ab $(ab -V 2>&1 | awk '/Version/ { print $5; exit }')"
    [ -n "$DEAD" ] && echo "- died during the run:$DEAD"
    echo
    echo "## Summary (the performance issue's table)"
    echo
    summary
    echo
    echo "## Every row"
    echo
    hdr="| file | load | server | req/s | p99 ms | errors | CPU µs/req | of it user |"
    sep="| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |"
    for p in $PEERS; do hdr="$hdr ×$p |"; sep="$sep ---: |"; done
    echo "$hdr"; echo "$sep"
    for row in $ROWS; do
        file=${row%%:*}; load=${row#*:}
        for s in $ACTIVE; do
            key="$row|$s"
            [ -n "${V_RPS[$key]:-}" ] || continue
            rps=$(median ${V_RPS[$key]})
            r="| $file | $(load_label "$load") | $s | $(printf '%.0f' "$rps") | $(median ${V_P99[$key]}) | ${V_ERR[$key]} | $(median ${V_CPU[$key]}) | $(median ${V_CPUU[$key]}) |"
            for p in $PEERS; do
                if [ "$p" = "$s" ] || [ -z "${V_RPS[$row|$p]:-}" ]; then r="$r — |"
                else r="$r $(paired "$row" "$s" "$p" RPS) |"
                fi
            done
            echo "$r"
        done
    done
    rounds_table
    if [ "${#I_N[@]}" -gt 0 ]; then
        echo
        echo "## Idle keep-alive connections"
        echo
        echo "Each server started afresh, with a twin (a second fresh instance of it). bench/idle/idle_conns.py opens the idle connections on the first (one request and reply on each) and holds them; then wrk on 128b.bin, $IDLE_RUNS round(s) of ${DURATION} s runs at 1 and at 50 connections, each round running the instance holding the idle connections and the twin (none open) one right after the other, the order reversed every other round. req/s are medians; ×none is the median of the rounds' ratios (each round's in brackets), so that both sides of a ratio come from the same phase of the machine's speed. B per idle conn = (RSS after − RSS before) / held, of the first instance; RSS is VmRSS of the server and its children. medusa-demo on select skips wrk and the twin (it refuses every connection past fd 1023 while the idle ones hold the rest)."
        echo
        idle_table
    fi
    echo
    echo "## Targets"
    echo
    targets
}

mkdir -p bench/results
OUT="bench/results/compare-$([ "$QUICK" = 1 ] && echo quick-)$(date -u +%Y%m%d-%H%M%S).md"
report | tee "$OUT"
log "written to $OUT"

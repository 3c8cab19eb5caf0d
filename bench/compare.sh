#!/usr/bin/env bash
# Load comparison: medusa-demo against nginx, lighttpd and bare_epoll, on the same files, the same
# CPU, the same client.
#
#   make bench-compare               full run: 12 rows x RUNS runs x DURATION seconds per server
#   QUICK=1 make bench-compare       smoke run: 1 run of 2 s, 6 rows
#   BUILD=build bench/compare.sh     the script alone (binaries must be built)
#
# Environment:
#   DURATION=5 RUNS=3   seconds per run, runs per cell (the table shows medians)
#   QUICK=1             DURATION=2 RUNS=1 and fewer rows, unless DURATION/RUNS are given too
#   SERVERS="medusa nginx lighttpd bare"   which servers to start (peers that fail to start are
#                       reported and left out; medusa is skipped when its binary is missing)
#   MEDUSA_BACKEND=epoll                   --backend for medusa-demo (select|poll|epoll)
#   MEDUSA_ARGS=""                         more flags for medusa-demo
#   SERVER_CPU=0 CLIENT_CPU=1              where servers and the load generator are pinned
#   KEEP_TMP=1          keep the temp dir (configs, logs, docroot) for inspection
#
# What it does: makes a temp docroot with 128 B, 16 KiB and 1 MiB files; starts every server on it,
# each on a free loopback port, pinned to SERVER_CPU (nginx: one worker, access log off, sendfile
# on; lighttpd: one process, no access log; bare_epoll: a fixed reply from memory, the ceiling);
# checks that each serves every file with status 200 and the right Content-Length; then drives
# each with wrk (keep-alive, 1, 50 and 500 connections) or ab (-c 50, a new connection per
# request), pinned to CLIENT_CPU. Runs of different servers are interleaved so drift on the
# machine hits all of them alike. Server CPU time per request is the growth of utime+stime in
# /proc/PID/stat (the server and its children) over the run, divided by the requests completed.
#
# It installs nginx, lighttpd, wrk and apache2-utils from Debian's packages when missing, and
# stops and disables the system services the packages may have started: it runs only its own
# instances, from its own config files. Everything it starts is stopped on exit (by pid).
# Output: a markdown table on stdout, also written to bench/results/compare-DATE.md; progress
# goes to stderr.
set -euo pipefail

cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/sbin:/sbin"

BUILD=${BUILD:-build}
QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
    DURATION=${DURATION:-2}
    RUNS=${RUNS:-1}
else
    DURATION=${DURATION:-5}
    RUNS=${RUNS:-3}
fi
SERVERS=${SERVERS:-"medusa nginx lighttpd bare"}
MEDUSA_BACKEND=${MEDUSA_BACKEND:-epoll}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
MEDUSA_BIN=${MEDUSA_BIN:-$BUILD/bin/medusa-demo}
BARE_BIN=${BARE_BIN:-$BUILD/bin/bare_epoll}

# Rows: FILE:LOAD. LOAD is cN (wrk, keep-alive, N connections) or abN (ab -c N, one connection
# per request).
FILES="128b.bin 16k.bin 1m.bin"
if [ "$QUICK" = 1 ]; then
    ROWS="128b.bin:c1 128b.bin:c50 128b.bin:c500 128b.bin:ab50 16k.bin:c50 1m.bin:c50"
else
    ROWS=""
    for f in $FILES; do for l in c1 c50 c500 ab50; do ROWS="$ROWS $f:$l"; done; done
fi

log() { echo "compare: $*" >&2; }
die() { log "$*"; exit 1; }

# ---------------------------------------------------------------------------------------------
# Tools

install_tools() {
    local missing="" installed_servers=""
    command -v nginx >/dev/null || { missing="$missing nginx"; installed_servers="$installed_servers nginx"; }
    command -v lighttpd >/dev/null || { missing="$missing lighttpd"; installed_servers="$installed_servers lighttpd"; }
    command -v wrk >/dev/null || missing="$missing wrk"
    command -v ab >/dev/null || missing="$missing apache2-utils"
    command -v taskset >/dev/null || missing="$missing util-linux"
    [ -z "$missing" ] && return 0
    [ "$(id -u)" = 0 ] || die "missing Debian packages; run: sudo apt-get install -y$missing"
    log "installing$missing"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >&2
    # A package install may start the distribution's service (port 80, its own config). This
    # benchmark runs only its own instances: stop and disable what the install started.
    local svc
    for svc in $installed_servers; do
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

declare -A PID PORT
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

cleanup() {
    local name pid all p i
    for name in "${!PID[@]}"; do
        pid=${PID[$name]}
        all="$pid $(descendants "$pid" | tr '\n' ' ')"
        kill -TERM "$pid" 2>/dev/null || true
        for i in $(seq 1 30); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        for p in $all; do kill -KILL "$p" 2>/dev/null || true; done
        wait "$pid" 2>/dev/null || true
    done
    if [ -n "$TMP" ] && [ -d "$TMP" ]; then
        if [ "${KEEP_TMP:-0}" = 1 ]; then log "kept $TMP"; else rm -rf "$TMP"; fi
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A loopback port nobody listens on (connect is refused), not yet handed to another server.
free_port() {
    local p i used
    for i in $(seq 1 200); do
        p=$(( 20000 + (RANDOM * 32768 + RANDOM) % 30000 ))
        used=0
        for q in "${PORT[@]}"; do [ "$q" = "$p" ] && used=1; done
        [ "$used" = 1 ] && continue
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
    done
    die "no free loopback port found"
}

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
# (no daemon), and records its pid and port.

start_bare() {
    [ -x "$BARE_BIN" ] || { log "bare: $BARE_BIN not built (make $BARE_BIN)"; return 1; }
    PORT[bare]=$(free_port)
    taskset -c "$SERVER_CPU" "$BARE_BIN" --host 127.0.0.1 --port "${PORT[bare]}" --root "$TMP/root" \
        >>"$TMP/bare.log" 2>&1 &
    PID[bare]=$!
}

start_medusa() {
    [ -x "$MEDUSA_BIN" ] || { log "medusa: $MEDUSA_BIN not built (make $MEDUSA_BIN)"; return 1; }
    PORT[medusa]=$(free_port)
    taskset -c "$SERVER_CPU" "$MEDUSA_BIN" --host 127.0.0.1 --port "${PORT[medusa]}" \
        --root "$TMP/root" --backend "$MEDUSA_BACKEND" ${MEDUSA_ARGS:-} >>"$TMP/medusa.log" 2>&1 &
    PID[medusa]=$!
}

start_nginx() {
    PORT[nginx]=$(free_port)
    mkdir -p "$TMP/nginx"
    cat >"$TMP/nginx/nginx.conf" <<EOF
# One worker, access log off, sendfile on; keep-alive connections are not cut after N requests.
daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile 16384;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx.log warn;
events { worker_connections 8192; }
http {
    access_log off;
    sendfile on;
    keepalive_requests 1000000;
    keepalive_timeout 60s;
    default_type application/octet-stream;
    client_body_temp_path $TMP/nginx/body;
    proxy_temp_path $TMP/nginx/proxy;
    fastcgi_temp_path $TMP/nginx/fastcgi;
    uwsgi_temp_path $TMP/nginx/uwsgi;
    scgi_temp_path $TMP/nginx/scgi;
    server {
        listen 127.0.0.1:${PORT[nginx]};
        root $TMP/root;
    }
}
EOF
    taskset -c "$SERVER_CPU" nginx -p "$TMP/nginx/" -c "$TMP/nginx/nginx.conf" -e "$TMP/nginx.log" \
        >>"$TMP/nginx.log" 2>&1 &
    PID[nginx]=$!
}

start_lighttpd() {
    PORT[lighttpd]=$(free_port)
    cat >"$TMP/lighttpd.conf" <<EOF
# One process (no max-worker), no mod_accesslog; keep-alive connections are not cut after N requests.
server.modules = ()
server.document-root = "$TMP/root"
server.bind = "127.0.0.1"
server.port = ${PORT[lighttpd]}
server.errorlog = "$TMP/lighttpd.log"
server.max-fds = 16384
server.max-connections = 8192
server.max-keep-alive-requests = 1000000
server.max-keep-alive-idle = 60
mimetype.assign = ( "" => "application/octet-stream" )
EOF
    taskset -c "$SERVER_CPU" lighttpd -D -f "$TMP/lighttpd.conf" >>"$TMP/lighttpd.log" 2>&1 &
    PID[lighttpd]=$!
}

# ---------------------------------------------------------------------------------------------
# Measurement

CLK_TCK=$(getconf CLK_TCK)

cpu_ticks() {  # utime+stime of PID and its descendants, in clock ticks
    local p total=0 t
    for p in "$1" $(descendants "$1"); do
        t=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$p/stat" 2>/dev/null || echo 0)
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

# One run: sets R_RPS R_P99 (ms) R_ERR R_REQ R_CPU (µs/req).
run_load() {
    local name=$1 file=$2 load=$3 url out t0 t1 n
    url="http://127.0.0.1:${PORT[$name]}/$file"
    t0=$(cpu_ticks "${PID[$name]}")
    if [[ $load == c* ]]; then
        n=${load#c}
        out=$(taskset -c "$CLIENT_CPU" timeout $(( DURATION + 30 )) \
            wrk -t1 -c"$n" -d"${DURATION}s" --latency "$url" 2>&1 || true)
        t1=$(cpu_ticks "${PID[$name]}")
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
        t1=$(cpu_ticks "${PID[$name]}")
        R_RPS=$(echo "$out" | awk '/^Requests per second:/ { print $4 }')
        R_P99=$(echo "$out" | awk '$1 == "99%" { print $2 }')
        R_REQ=$(echo "$out" | awk '/^Complete requests:/ { print $3 }')
        R_ERR=$(echo "$out" | awk '
            /^Failed requests:/ || /^Non-2xx responses:/ || /^Write errors:/ { e += $NF }
            END { print e + 0 }')
    fi
    if [ -z "$R_RPS" ] || [ -z "$R_REQ" ] || [ "$R_REQ" = 0 ]; then
        log "$name $file $load: no result:"; echo "$out" | tail -5 >&2
        R_RPS=0; R_P99=nan; R_ERR=${R_ERR:-1}; [ "$R_ERR" = 0 ] && R_ERR=1; R_CPU=nan
        return
    fi
    R_P99=${R_P99:-nan}
    R_CPU=$(awk -v d=$(( t1 - t0 )) -v hz="$CLK_TCK" -v n="$R_REQ" 'BEGIN { printf "%.2f", d * 1e6 / hz / n }')
}

# ---------------------------------------------------------------------------------------------
# Main

install_tools
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

TMP=$(mktemp -d /tmp/medusa-compare.XXXXXX)
chmod 755 "$TMP"    # nginx's worker runs as nobody when started as root
mkdir -p "$TMP/root"
head -c 128 /dev/urandom >"$TMP/root/128b.bin"
head -c 16384 /dev/urandom >"$TMP/root/16k.bin"
head -c 1048576 /dev/urandom >"$TMP/root/1m.bin"
chmod 755 "$TMP/root"; chmod 644 "$TMP/root"/*

ACTIVE=""
for s in $SERVERS; do
    if "start_$s" && wait_ready "$s"; then
        ACTIVE="$ACTIVE $s"
        log "$s ready on 127.0.0.1:${PORT[$s]} (pid ${PID[$s]}, cpu $SERVER_CPU)"
    else
        log "$s left out"
        if [ -n "${PID[$s]:-}" ]; then kill -TERM "${PID[$s]}" 2>/dev/null || true; wait "${PID[$s]}" 2>/dev/null || true; unset "PID[$s]"; fi
    fi
done
[ -n "$ACTIVE" ] || die "no server started"

declare -A V_RPS V_P99 V_ERR V_CPU
DEAD=""
for row in $ROWS; do
    file=${row%%:*}; load=${row#*:}
    for run in $(seq 1 "$RUNS"); do
        for s in $ACTIVE; do
            [[ " $DEAD " == *" $s "* ]] && continue
            run_load "$s" "$file" "$load"
            key="$row|$s"
            V_RPS[$key]="${V_RPS[$key]:-} $R_RPS"
            V_P99[$key]="${V_P99[$key]:-} $R_P99"
            V_ERR[$key]=$(( ${V_ERR[$key]:-0} + R_ERR ))
            V_CPU[$key]="${V_CPU[$key]:-} $R_CPU"
            log "$file $load run $run/$RUNS $s: $R_RPS req/s, p99 $R_P99 ms, $R_ERR errors, $R_CPU us/req"
            if ! kill -0 "${PID[$s]}" 2>/dev/null; then
                log "$s died during $file $load"; DEAD="$DEAD $s"
            fi
            # The demo may log every request: keep its log from filling the disk.
            if [ "$s" = medusa ] && [ "$(stat -c %s "$TMP/medusa.log")" -gt 10000000 ]; then
                : >"$TMP/medusa.log"
            fi
        done
    done
done

# ---------------------------------------------------------------------------------------------
# Report

load_label() {
    case $1 in
        c*) echo "keep-alive, ${1#c} conn" ;;
        ab*) echo "conn/request, ab -c ${1#ab}" ;;
    esac
}

PEERS=""
for p in nginx lighttpd bare; do [[ " $ACTIVE " == *" $p "* ]] && PEERS="$PEERS $p"; done

report() {
    local hdr sep s p row file load key rps r verdict="" fails=""
    echo "# Load comparison, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "- machine: $(nproc) CPUs, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), Linux $(uname -r)"
    echo "- servers pinned to CPU $SERVER_CPU, client (wrk -t1 / ab) pinned to CPU $CLIENT_CPU, loopback only"
    echo "- $RUNS run(s) of ${DURATION} s per cell; req/s, p99 and CPU are medians, errors are summed over the runs"
    echo "- errors: wrk socket errors (connect, read, write, timeout) + non-2xx/3xx replies; ab failed + non-2xx + write errors"
    echo "- CPU: server utime+stime per completed request (µs), from /proc/PID/stat, the server and its children"
    echo "- ×PEER: this server's req/s divided by PEER's on the same row"
    local v=""
    for s in $ACTIVE; do
        case $s in
            medusa) v="$v, medusa-demo $(git rev-parse --short HEAD 2>/dev/null || echo '?') --backend $MEDUSA_BACKEND" ;;
            nginx) v="$v, $(nginx -v 2>&1 | sed 's/^nginx version: //')" ;;
            lighttpd) v="$v, $(lighttpd -v 2>&1 | awk '{ print $1 }')" ;;
            bare) v="$v, bare_epoll" ;;
        esac
    done
    echo "- versions: ${v#, }; $(wrk --version 2>&1 | head -1 | awk '{ print $1, $2 }'); ab $(ab -V 2>&1 | awk '/Version/ { print $5; exit }')"
    [ -n "$DEAD" ] && echo "- died during the run:$DEAD"
    echo
    hdr="| file | load | server | req/s | p99 ms | errors | CPU µs/req |"
    sep="| --- | --- | --- | ---: | ---: | ---: | ---: |"
    for p in $PEERS; do hdr="$hdr ×$p |"; sep="$sep ---: |"; done
    echo "$hdr"; echo "$sep"
    for row in $ROWS; do
        file=${row%%:*}; load=${row#*:}
        for s in $ACTIVE; do
            key="$row|$s"
            [ -n "${V_RPS[$key]:-}" ] || continue
            rps=$(median ${V_RPS[$key]})
            r="| $file | $(load_label "$load") | $s | $(printf '%.0f' "$rps") | $(median ${V_P99[$key]}) | ${V_ERR[$key]} | $(median ${V_CPU[$key]}) |"
            for p in $PEERS; do
                if [ "$p" = "$s" ] || [ -z "${V_RPS[$row|$p]:-}" ]; then r="$r — |"
                else r="$r $(awk -v a="$rps" -v b="$(median ${V_RPS[$row|$p]})" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "—" }') |"
                fi
            done
            echo "$r"
        done
        # The http issue's target: medusa-demo >= 1.0x nginx on every keep-alive row, zero errors.
        if [[ $load == c* ]] && [ -n "${V_RPS[$row|medusa]:-}" ] && [ -n "${V_RPS[$row|nginx]:-}" ]; then
            if awk -v a="$(median ${V_RPS[$row|medusa]})" -v b="$(median ${V_RPS[$row|nginx]})" 'BEGIN { exit !(a >= b) }' \
                && [ "${V_ERR[$row|medusa]}" = 0 ]; then :; else fails="$fails $file/$load"; fi
            verdict=checked
        fi
    done
    echo
    if [ -n "$verdict" ]; then
        if [ -z "$fails" ]; then echo "Target (medusa-demo >= 1.0x nginx on every keep-alive row, zero errors): met."
        else echo "Target (medusa-demo >= 1.0x nginx on every keep-alive row, zero errors): NOT met on:$fails."
        fi
    fi
}

mkdir -p bench/results
OUT="bench/results/compare-$([ "$QUICK" = 1 ] && echo quick-)$(date -u +%Y%m%d-%H%M%S).md"
report | tee "$OUT"
log "written to $OUT"

#!/usr/bin/env bash
# CGI load comparison: medusa-demo's CGI/1.1 handler against lighttpd's mod_cgi, running the
# same `hello` script (demo/cgi-bin/hello: a shell script, so most of the time is fork+exec of
# /bin/sh on both sides), on the same CPU, with the same client.
#
#   make bench-cgi                         (builds medusa-demo, then runs this script)
#   BUILD=build bench/cgi_compare.sh       (medusa-demo must be built: make build/bin/medusa-demo)
#
# Environment:
#   DURATION=10 RUNS=3          seconds per run, runs per server (the table shows medians)
#   CONNECTIONS=10              wrk connections (keep-alive; one thread)
#   SERVER_CPU=0 CLIENT_CPU=1   where the servers (and the scripts they start) and wrk are pinned
#   KEEP_TMP=1                  keep the temp dir (configs, logs) for inspection
#   MEDUSA_BIN=BUILD/bin/medusa-demo   the medusa-demo binary to run
#
# Each server is started on a free loopback port, pinned with taskset (its scripts inherit the
# pinning), checked to answer GET /cgi-bin/hello with 200 and "Hello, world!", then driven with
# `wrk -t1 -cCONNECTIONS --latency`. Runs of the two servers alternate so drift on the machine
# hits both alike. medusa-demo runs with `--threads 0 --chat-port 0 --no-log` when its --help
# offers those flags (no thread modules, no chat server on its fixed port, no access log: lighttpd
# has none); without --no-log its log goes to /dev/null. lighttpd,
# wrk and taskset are installed from Debian's packages when missing (the package's own service
# is stopped and disabled: only this script's instance runs). Everything it starts is stopped on
# exit, by pid. Output on stdout: a markdown table (medians of requests/s and p99; errors: wrk's
# socket errors plus non-2xx/3xx replies, summed over all runs), the ratio, and a verdict line
#   Target (medusa-demo >= 1.0x lighttpd mod_cgi requests/s): met|NOT met (RATIO)
# Progress goes to stderr.
set -euo pipefail

cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/sbin:/sbin"

BUILD=${BUILD:-build}
DURATION=${DURATION:-10}
RUNS=${RUNS:-3}
CONNECTIONS=${CONNECTIONS:-10}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
MEDUSA_BIN=${MEDUSA_BIN:-$BUILD/bin/medusa-demo}

log() { echo "cgi_compare: $*" >&2; }
die() { log "$*"; exit 1; }

install_tools() {
    local missing=""
    command -v lighttpd >/dev/null || missing="$missing lighttpd"
    command -v wrk >/dev/null || missing="$missing wrk"
    command -v taskset >/dev/null || missing="$missing util-linux"
    [ -z "$missing" ] && return 0
    [ "$(id -u)" = 0 ] || die "missing Debian packages; run: sudo apt-get install -y$missing"
    log "installing$missing"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >&2
    if [[ "$missing" == *lighttpd* ]]; then
        if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
            systemctl disable --now lighttpd >&2 || true
        elif [ -x /etc/init.d/lighttpd ]; then
            /etc/init.d/lighttpd stop >&2 || true
            update-rc.d lighttpd disable >&2 || true
        fi
    fi
}

declare -A PID PORT
TMP=""

cleanup() {
    local name pid i
    for name in "${!PID[@]}"; do
        pid=${PID[$name]}
        kill -TERM "$pid" 2>/dev/null || true
        for i in $(seq 1 30); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [ -n "$TMP" ] && [ -d "$TMP" ]; then
        if [ "${KEEP_TMP:-0}" = 1 ]; then log "kept $TMP"; else rm -rf "$TMP"; fi
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

. bench/lib/free_port.sh

# GET /cgi-bin/hello over HTTP/1.0; prints the status code and the body's first line.
probe() (
    local port=$1 line status body=""
    exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
    printf 'GET /cgi-bin/hello HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
    IFS= read -r -t 5 line <&3 || exit 1
    status=$(echo "$line" | awk '{print $2}')
    while IFS= read -r -t 5 line <&3; do
        line=${line%$'\r'}
        [ -z "$line" ] && break
    done
    IFS= read -r -t 5 body <&3 || true
    echo "$status $body"
)

wait_ready() {
    local name=$1 i got
    for i in $(seq 1 100); do
        kill -0 "${PID[$name]}" 2>/dev/null || { log "$name exited at start:"; tail -20 "$TMP/$name.log" >&2; return 1; }
        got=$(probe "${PORT[$name]}" 2>/dev/null || true)
        [ "$got" = "200 Hello, world!" ] && return 0
        sleep 0.1
    done
    log "$name: GET /cgi-bin/hello gave '$got'"; tail -20 "$TMP/$name.log" >&2
    return 1
}

# The flags medusa-demo's --help offers among --threads, --chat-port and --no-log (see above).
medusa_flags() {
    local help flags=""
    help=$("$MEDUSA_BIN" --help 2>&1 || true)
    if [[ $help == *--threads* ]]; then flags="$flags --threads 0"; fi
    if [[ $help == *--chat-port* ]]; then flags="$flags --chat-port 0"; fi
    if [[ $help == *--no-log* ]]; then flags="$flags --no-log"; fi
    echo "${flags# }"
}

start_medusa() {
    [ -x "$MEDUSA_BIN" ] || die "medusa: $MEDUSA_BIN not built (make $MEDUSA_BIN)"
    PORT[medusa]=$(free_port)
    local flags
    read -r -a flags <<<"$(medusa_flags)"
    taskset -c "$SERVER_CPU" "$MEDUSA_BIN" --host 127.0.0.1 --port "${PORT[medusa]}" \
        --root "$TMP/root" --cgi-bin "$TMP/cgi-bin" "${flags[@]}" >/dev/null 2>>"$TMP/medusa.log" &
    PID[medusa]=$!
}

start_lighttpd() {
    PORT[lighttpd]=$(free_port)
    cat >"$TMP/lighttpd.conf" <<EOF
server.modules = ("mod_alias", "mod_cgi")
server.document-root = "$TMP/root"
server.bind = "127.0.0.1"
server.port = ${PORT[lighttpd]}
server.errorlog = "$TMP/lighttpd.log"
server.max-keep-alive-requests = 100000
alias.url = ("/cgi-bin/" => "$TMP/cgi-bin/")
\$HTTP["url"] =~ "^/cgi-bin/" { cgi.assign = ("" => "") }
EOF
    taskset -c "$SERVER_CPU" lighttpd -D -f "$TMP/lighttpd.conf" >>"$TMP/lighttpd.log" 2>&1 &
    PID[lighttpd]=$!
}

# One wrk run; prints "requests/s p99(ms) errors", errors being wrk's socket errors (connect,
# read, write, timeout) plus its "Non-2xx or 3xx responses".
run_wrk() {
    local port=$1 out rps p99 errors
    out=$(taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency \
        "http://127.0.0.1:$port/cgi-bin/hello" 2>&1)
    rps=$(echo "$out" | awk '/^Requests\/sec:/ {print $2}')
    p99=$(echo "$out" | awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us$/,"",v); v=v/1000}
        else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v=v*1000}
        printf "%.2f", v}')
    errors=$(echo "$out" | awk '
        /^ *Socket errors:/ {for (i = 3; i <= NF; i += 2) {v = $(i + 1); sub(/,$/, "", v); n += v}}
        /^ *Non-2xx or 3xx responses:/ {n += $NF}
        END {print n + 0}')
    if [ "$errors" != 0 ]; then log "errors: $(echo "$out" | grep -E 'Socket errors|Non-2xx' | tr -s ' ')"; fi
    echo "${rps:-0} ${p99:-0} ${errors:-0}"
}

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

install_tools
TMP=$(mktemp -d /tmp/medusa-cgi-compare.XXXXXX)
mkdir -p "$TMP/root" "$TMP/cgi-bin"
cp demo/cgi-bin/hello "$TMP/cgi-bin/hello"
chmod 755 "$TMP/cgi-bin/hello"

# Start a server and wait for its first reply; a port taken meanwhile by another program (the
# free_port probe and the bind race) gets a new port, up to three times.
start_ready() {
    local name=$1 attempt
    for attempt in 1 2 3; do
        "start_$name"
        wait_ready "$name" && return 0
        kill -KILL "${PID[$name]}" 2>/dev/null || true
        wait "${PID[$name]}" 2>/dev/null || true
        unset "PID[$name]"
        log "$name: retrying on another port"
    done
    die "$name did not start"
}
start_ready medusa
start_ready lighttpd
log "medusa on ${PORT[medusa]}, lighttpd on ${PORT[lighttpd]}; $RUNS runs of ${DURATION}s, $CONNECTIONS connections"

declare -A RPS P99 ERR=([medusa]=0 [lighttpd]=0)
for run in $(seq 1 "$RUNS"); do
    for name in medusa lighttpd; do
        read -r rps p99 errors < <(run_wrk "${PORT[$name]}")
        log "run $run $name: $rps req/s, p99 $p99 ms, $errors errors"
        RPS[$name]="${RPS[$name]:-} $rps"
        P99[$name]="${P99[$name]:-} $p99"
        ERR[$name]=$(( ${ERR[$name]} + errors ))
    done
done

m_rps=$(echo "${RPS[medusa]}" | tr ' ' '\n' | grep . | median)
l_rps=$(echo "${RPS[lighttpd]}" | tr ' ' '\n' | grep . | median)
m_p99=$(echo "${P99[medusa]}" | tr ' ' '\n' | grep . | median)
l_p99=$(echo "${P99[lighttpd]}" | tr ' ' '\n' | grep . | median)
ratio=$(awk -v a="$m_rps" -v b="$l_rps" 'BEGIN {printf "%.2f", (b > 0) ? a / b : 0}')

met=$(awk -v r="$ratio" 'BEGIN {print (r >= 1.0) ? "met" : "NOT met"}')

# The report: on stdout, and kept as bench/results/cgi-DATE.md.
mkdir -p bench/results
REPORT=bench/results/cgi-$(date -u +%Y%m%d-%H%M%S).md
{
    echo "# CGI comparison, $(date -u '+%Y-%m-%d %H:%M UTC') (medusa-demo $(git rev-parse --short HEAD 2>/dev/null || echo '?'))"
    echo
    echo "| server | requests/s | p99 (ms) | errors |"
    echo "| --- | ---: | ---: | ---: |"
    echo "| medusa-demo (cgi_handler) | $m_rps | $m_p99 | ${ERR[medusa]} |"
    echo "| lighttpd (mod_cgi) | $l_rps | $l_p99 | ${ERR[lighttpd]} |"
    echo
    echo "medusa/lighttpd requests/s: $ratio (GET /cgi-bin/hello, wrk -t1 -c$CONNECTIONS, ${DURATION}s x $RUNS, median; errors: socket errors + non-2xx/3xx replies over all runs; server on CPU $SERVER_CPU, wrk on CPU $CLIENT_CPU)"
    echo "Target (medusa-demo >= 1.0x lighttpd mod_cgi requests/s): $met ($ratio)"
} | tee "$REPORT"
log "written to $REPORT"

#!/usr/bin/env bash
# What a page costs: bare_epoll serving keep-alive GETs of a 128-byte file, as it is and made to
# touch N more distinct 4 KiB pages per request (--touch-pages N: one byte written in each, no
# other work), in alternating rounds; the server CPU per request (user + system, from
# /proc/PID/stat) of each, and what each page added.
#
#   make bench-page-cost                 N = 0 16 64, 5 rounds of 3 s, 50 connections
#   PAGES="0 32 128" ROUNDS=3 bench/page_cost.sh
#
# Why it exists: on the machine this project is measured on (a PVM guest), the server's CPU per
# request hardly follows its instruction count (cutting medusa-demo's by a third, 6,832 to 4,760
# per request, moved it by about 2%), and its user time on epoll is twice what the same library
# costs on io_uring, which makes fewer system calls. What it follows is how many distinct pages a
# request touches between system calls: the TLB is cold after each, and every page is a walk. This
# shows that cost on the bare loop, where nothing else changes. Writes bench/results/page-cost-DATE.md.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
PAGES=${PAGES:-"0 16 64"}
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-3}
CONNS=${CONNS:-50}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}

log() { echo "page_cost: $*" >&2; }
command -v wrk >/dev/null || { log "needs wrk (apt-get install wrk)"; exit 1; }
make --no-print-directory "$BUILD/bin/bare_epoll" >&2

TMP=$(mktemp -d)
declare -A PID PORT
cleanup() {
    for n in "${!PID[@]}"; do kill "${PID[$n]}" 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT
mkdir -p "$TMP/root"
head -c 128 /dev/urandom >"$TMP/root/128b.bin"

. bench/lib/free_port.sh

for n in $PAGES; do
    PORT[$n]=$(free_port)
    taskset -c "$SERVER_CPU" "$BUILD/bin/bare_epoll" --host 127.0.0.1 --port "${PORT[$n]}" \
        --root "$TMP/root" --touch-pages "$n" >"$TMP/$n.log" 2>&1 &
    PID[$n]=$!
    for i in $(seq 1 50); do
        (exec 3<>"/dev/tcp/127.0.0.1/${PORT[$n]}") 2>/dev/null && break
        sleep 0.1
    done
done

TICK=$(getconf CLK_TCK)
# cpu_ticks PID FIELD...: the sum of those fields of /proc/PID/stat (14 utime, 15 stime).
cpu_ticks() { awk -v a="$2" -v b="${3:-0}" '{ print $a + (b ? $b : 0) }' "/proc/$1/stat"; }

declare -A CPU USER
order=($PAGES)
for r in $(seq 1 "$ROUNDS"); do
    # Every other round runs the servers in reverse order: each pair of runs is close in time.
    if [ $(( r % 2 )) = 0 ]; then order=($(printf '%s\n' "${order[@]}" | tac)); fi
    for n in "${order[@]}"; do
        pid=${PID[$n]}
        t0=$(cpu_ticks "$pid" 14 15) u0=$(cpu_ticks "$pid" 14)
        out=$(taskset -c "$CLIENT_CPU" timeout $(( DURATION + 30 )) \
            wrk -t1 -c"$CONNS" -d"${DURATION}s" "http://127.0.0.1:${PORT[$n]}/128b.bin" 2>&1 || true)
        t1=$(cpu_ticks "$pid" 14 15) u1=$(cpu_ticks "$pid" 14)
        req=$(echo "$out" | awk '/ requests in / { print $1 }')
        [ -n "$req" ] && [ "$req" -gt 0 ] || { log "no requests for --touch-pages $n"; exit 1; }
        CPU[$n]="${CPU[$n]:-} $(awk -v d=$(( t1 - t0 )) -v t="$TICK" -v q="$req" 'BEGIN { printf "%.2f", d / t * 1e6 / q }')"
        USER[$n]="${USER[$n]:-} $(awk -v d=$(( u1 - u0 )) -v t="$TICK" -v q="$req" 'BEGIN { printf "%.2f", d / t * 1e6 / q }')"
    done
done

median() { printf '%s\n' $1 | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

mkdir -p bench/results
REPORT=bench/results/page-cost-$(date -u +%Y%m%d-%H%M%S).md
base=${order[0]}
for n in $PAGES; do [ "$n" -lt "$base" ] && base=$n; done
{
    echo "# What a page costs, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "- bare_epoll --touch-pages N, keep-alive GETs of a 128-byte file, wrk -t1 -c$CONNS, $ROUNDS rounds of ${DURATION}s (order reversed every other round)"
    echo "- machine: $(nproc) CPUs, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo), Linux $(uname -r); server on CPU $SERVER_CPU, wrk on CPU $CLIENT_CPU"
    echo "- CPU: server utime+stime per request (µs) from /proc/PID/stat; medians over the rounds"
    echo
    echo "| pages touched per request | CPU µs/req (rounds) | median | user µs/req (median) | added per page, ns |"
    echo "| ---: | --- | ---: | ---: | ---: |"
    bmed=$(median "${CPU[$base]}")
    for n in $PAGES; do
        m=$(median "${CPU[$n]}")
        per="—"
        [ "$n" != "$base" ] && per=$(awk -v a="$m" -v b="$bmed" -v n="$n" -v z="$base" 'BEGIN { printf "%.1f", (a - b) * 1000 / (n - z) }')
        echo "| $n | ${CPU[$n]# } | $m | $(median "${USER[$n]}") | $per |"
    done
} | tee "$REPORT"
log "wrote $REPORT"

#!/usr/bin/env bash
# The attack suite: hostile clients (build/bin/medusa-attack) against a running medusa-demo.
#
#   test/attack/run.sh              every attack
#   test/attack/run.sh slowloris    just the ones named (see ATTACKS below)
#
# Each attack gets a fresh medusa-demo on a free loopback port over a temporary docroot (a 1 MiB
# file, a small index.html, files for the pipeline, a symlink out of the root and, outside the
# root, a file with a secret marker), with the scripts of test/attack/cgi-bin at /cgi-bin/. After
# the attack the server must still be alive, answer GET /index.html with the right body, have its
# VmRSS back under its baseline + RSS_SLACK_MIB, no more descriptors open than before (files of
# the docroot aside: the file cache keeps a sent file open) and no child
# process left (a CGI script it did not stop or reap). One attack is one case; the last line is
# "N passed, M failed". BUILD (default build) names the build directory.
set -u
cd "$(dirname "$0")/../.." || exit 2
BUILD=${BUILD:-build}
DEMO=$BUILD/bin/medusa-demo
ATTACK=$BUILD/bin/medusa-attack
RSS_SLACK_MIB=16
ATTACKS="slowloris noread reset cgireset fdexhaust smuggle traverse cgi pipeline churn"
SMUGGLED=SMUGGLED-c0ffee-1e7a
SECRET=OUTSIDE-SECRET-4b9d-77a1

for f in "$DEMO" "$ATTACK"; do
  [ -x "$f" ] || { echo "missing $f (make BUILD=$BUILD $f)"; echo "0 passed, 1 failed"; exit 1; }
done

tmp=$(mktemp -d)
server_pid=""
stop_server() {
  [ -n "$server_pid" ] || return 0
  kill -TERM "$server_pid" 2>/dev/null
  for _ in $(seq 1 30); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$server_pid" 2>/dev/null
  wait "$server_pid" 2>/dev/null
  server_pid=""
}
trap 'stop_server; rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

# The docroot and the secret beside it.
root=$tmp/root
mkdir -p "$root/sub" "$tmp/cgi-bin"
printf '<html><body>attack suite index</body></html>\n' >"$root/index.html"
head -c 1048576 /dev/urandom >"$root/1m.bin"
for k in 1 2 3 4 5 6 7; do head -c $((k * 13)) /dev/zero | tr '\0' "$k" >"$root/p$k.txt"; done
printf '%s\n' "$SMUGGLED" >"$root/smuggled.txt"
printf '%s\n' "$SECRET" >"$tmp/secret.txt"
ln -s ../secret.txt "$root/escape.txt"
ln -s .. "$root/escape-dir"
# The CGI scripts (copied, so that their mode does not depend on how the tree was checked out).
cp test/attack/cgi-bin/* "$tmp/cgi-bin/" && chmod +x "$tmp/cgi-bin"/*

port=""
# start_server [PREFIX...] -- [DEMO FLAGS...]: a demo on a free port; sets server_pid and port.
start_server() {
  local prefix=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do prefix+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  local log=$tmp/server.log
  : >"$log"
  "${prefix[@]}" "$DEMO" --host 127.0.0.1 --port 0 --root "$root" --cgi-bin "$tmp/cgi-bin" "$@" \
    >"$log" 2>&1 &
  server_pid=$!
  port=""
  for _ in $(seq 1 50); do
    port=$(sed -n 's|^medusa-demo: http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$log" | head -n1)
    [ -n "$port" ] && return 0
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "server did not start:"; cat "$log"
  return 1
}

rss() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$1/status" 2>/dev/null; }
# Descriptors, less two kinds that are made once and kept on purpose: files of the docroot (the
# file cache, http/file_cache.h, keeps a file it sent by sendfile open between requests: the 1 MiB
# file after noread and reset) and the loop's trigger eventfd (made on the first request a worker
# thread answers: the cgi attack's /cgi module).
fds() {
  local n=0 f t
  for f in "/proc/$1/fd/"*; do
    t=$(readlink "$f" 2>/dev/null) || continue
    case $t in "$root"/* | "anon_inode:[eventfd]") ;; *) n=$((n + 1)) ;; esac
  done
  echo "$n"
}
# The server's child processes (CGI scripts): field 4 of /proc/N/stat is the parent.
kids() { awk -v p="$1" '$4 == p' /proc/[0-9]*/stat 2>/dev/null | wc -l; }
probe() { "$ATTACK" probe --port "$port" --path /index.html --expect-file "$root/index.html"; }

passed=0 failed=0
# run_case NAME: start the server the attack needs, attack, then check the server is whole.
run_case() {
  local name=$1 why="" prefix=() flags=() args=() slack=$RSS_SLACK_MIB
  case $name in
    slowloris) flags=(--header-timeout 2)
               args=(--conns 1000 --reclaim 15 --latency-bound 2000) ;;
    # Two rounds: the second must not grow past the first (a leak would). The heap the first
    # round grew is kept by malloc after the channels close, hence the larger slack.
    noread)    args=(--conns 200 --pipeline 50 --path /1m.bin --seconds 3 --rss-bound 64)
               slack=32 ;;
    reset)     args=(--count 200 --path /1m.bin) ;;
    cgireset)  args=(--count 50 --reclaim 5) ;;
    fdexhaust) prefix=(prlimit --nofile=128:128)
               args=(--conns 200 --cpu-bound 300 --expect-file "$root/index.html") ;;
    smuggle)   args=(--path /smuggled.txt --marker "$SMUGGLED") ;;
    traverse)  args=(--marker "$SECRET") ;;
    # /cgi/env (the thread handler's medusa-style environment) needs --fixture cgi; the server's
    # own environment holds proxy variables that must not reach a script either.
    cgi)       prefix=(env HTTP_PROXY=http://server-env.invalid:1 http_proxy=http://server-env.invalid:1)
               flags=(--fixture cgi)
               args=(--count 20 --expect-file "$root/index.html") ;;
    pipeline)  args=(--count 10000 --root "$root") ;;
    # The server holds each closed channel's memory for its 2 s lingering close (the linger
    # timer's weak_ptr keeps the make_shared block), so RSS plateaus at rate x 2 s and malloc
    # keeps that heap afterwards: the leak check is "no growth over the second half".
    churn)     args=(--conns 100 --seconds 10 --path /index.html --rss-bound 4)
               slack=64 ;;
    *) echo "unknown attack $name (one of: $ATTACKS)"; failed=$((failed + 1)); return ;;
  esac
  echo "== $name"
  if ! start_server "${prefix[@]}" -- "${flags[@]}"; then
    failed=$((failed + 1)); echo "FAIL $name: server did not start"; return
  fi
  probe >/dev/null || why="no service before the attack"
  local rss0 fd0
  rss0=$(rss "$server_pid"); fd0=$(fds "$server_pid")
  timeout 120 "$ATTACK" "$name" --port "$port" --pid "$server_pid" "${args[@]}" || why="${why:+$why; }attack failed"
  # The server closes what the attack left behind; give it up to 10 s.
  local rss1="" fd1="" kids1="" ok=0
  for _ in $(seq 1 100); do
    kill -0 "$server_pid" 2>/dev/null || break
    rss1=$(rss "$server_pid"); fd1=$(fds "$server_pid"); kids1=$(kids "$server_pid")
    [ -n "${ATTACK_DEBUG_FDS:-}" ] && ls -l "/proc/$server_pid/fd" >&2
    if [ "$rss1" -lt $((rss0 + slack * 1024)) ] && [ "$kids1" -eq 0 ] &&
       { [ "$fd1" -le "$fd0" ] || [ "$name" = noread ] || [ "$name" = reset ] || [ "$name" = cgi ]; }; then
      ok=1; break
    fi
    sleep 0.1
  done
  if ! kill -0 "$server_pid" 2>/dev/null; then
    why="${why:+$why; }server died"; tail -n 20 "$tmp/server.log"
  else
    probe || why="${why:+$why; }GET /index.html not served after the attack"
    [ "$rss1" -lt $((rss0 + slack * 1024)) ] ||
      why="${why:+$why; }RSS ${rss1} KiB not back under ${rss0} + ${slack} MiB"
    [ "$fd1" -le "$fd0" ] || why="${why:+$why; }descriptors ${fd0} -> ${fd1}"
    [ "$kids1" -eq 0 ] || why="${why:+$why; }${kids1} child processes left"
  fi
  echo "server: rss ${rss0} KiB -> ${rss1} KiB, fds ${fd0} -> ${fd1}, children left ${kids1}"
  stop_server
  if [ -z "$why" ]; then passed=$((passed + 1)); echo "PASS $name"
  else failed=$((failed + 1)); echo "FAIL $name: $why"; fi
}

for name in ${@:-$ATTACKS}; do run_case "$name"; done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

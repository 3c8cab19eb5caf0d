#!/usr/bin/env bash
# Replays the transcript corpora against the demo server, once per event-loop backend.
#
# For each fixture (table below) and each backend (select, poll, epoll, and uring where the kernel
# allows io_uring; MEDUSA_BACKENDS overrides)
# it starts $BUILD/bin/medusa-demo on free ports over a fresh copy of a docroot (every mtime set to
# 2001-09-09T01:46:40Z, as when the transcripts were recorded), then replays the cases whose
# "@ fixture:" is that fixture's name:
#   1. for the fixtures over the shared docroot, the shared medusa corpus (../shared/transcripts/medusa/,
#      or $MEDUSA_SHARED/transcripts/medusa/), skipping the cases listed in
#      test/transcripts/medusa-fixes.txt (behaviour the port fixes);
#   2. the project's own corpora: every folder test/transcripts/*/ (medusa-fixed/ among them).
# Each replay prints its cases and ends with "N passed, M failed"; test/run_all.sh sums those lines.
# Exits non-zero when anything failed.
set -u
cd "$(dirname "$0")/.." || exit 1

BUILD=${BUILD:-build}
demo=$BUILD/bin/medusa-demo
tool=$BUILD/bin/medusa-transcript
repo=$(git rev-parse --show-toplevel 2>/dev/null || pwd)
shared=${MEDUSA_SHARED:-$repo/../shared}
backends=${MEDUSA_BACKENDS:-select poll epoll uring}
jobs=${MEDUSA_TRANSCRIPT_JOBS:-4}

# One line per fixture, fields separated by "|":
#   name     the transcripts' "@ fixture:"
#   root     the docroot served (a copy): shared (../shared/transcripts/docroot, the medusa
#            corpus's) or demo (demo/docroot, the demo's own, with demo/cgi-bin at /cgi-bin/)
#   target   the port the cases are replayed at: http, or chat (the --chat-port, protocol raw)
#   jobs     cases replayed at once; 1 where cases would see each other (chat callers are listed
#            to each other)
#   args     medusa-demo arguments beyond --port/--root/--backend; FREE becomes a free port
# Every fixture names --threads and --chat-port, whose defaults are on: the fixture stays what
# the transcripts were recorded against, and no two servers ask for the default chat port.
fixtures=(
  "docroot|shared|http|$jobs|--threads 0 --chat-port 0"
  "cgi|shared|http|$jobs|--fixture cgi --threads 0 --chat-port 0"
  "demo|demo|http|$jobs|--threads 2 --cgi-bin demo/cgi-bin --chat-port FREE"
  "chat|demo|chat|1|--threads 2 --cgi-bin demo/cgi-bin --chat-port FREE"
)

give_up() {  # message: counts as one failure
  echo "transcripts: $1"
  echo "0 passed, 1 failed"
  exit 1
}

[ -x "$demo" ] || give_up "medusa-demo not built; skipped"
[ -x "$tool" ] || give_up "medusa-transcript not built; skipped"
[ -d "$shared/transcripts/medusa" ] || give_up "no shared transcripts at $shared/transcripts (set MEDUSA_SHARED)"

work=$(mktemp -d)
server_pid=""
stop_server() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
    server_pid=""
  fi
}
trap 'stop_server; rm -rf "$work"' EXIT

# The docroots, copied with every mtime at 1000000000 (If-Modified-Since cases, Last-Modified).
declare -A roots=([shared]="$shared/transcripts/docroot" [demo]=demo/docroot)
for r in "${!roots[@]}"; do
  cp -R "${roots[$r]}" "$work/root-$r" || give_up "cannot copy the docroot ${roots[$r]}"
  find "$work/root-$r" -exec touch -h -d @1000000000 {} + || give_up "cannot set the mtimes of $work/root-$r"
done

# The port answers (bounded: 10 s), or the server has exited.
wait_for_port() {
  local port=$1 i
  for ((i = 0; i < 100; i++)); do
    kill -0 "$server_pid" 2>/dev/null || return 1
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  return 1
}

# The server has printed its chat line (bounded: 10 s): every port it has is listening.
wait_for_chat() {
  local i
  for ((i = 0; i < 100; i++)); do
    grep -q '^medusa-demo: chat  *[0-9[]' "$work/server.log" 2>/dev/null && return 0
    kill -0 "$server_pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# start_server BACKEND ROOT ARGS...: sets $port and $chat_port (each FREE in ARGS becomes a free
# port, the last one being $chat_port); a port taken meanwhile is retried with another.
start_server() {
  local backend=$1 root=$2 attempt a
  shift 2
  for attempt in 1 2 3; do
    port=$("$tool" free-port) || return 1
    chat_port=""
    local argv=()
    for a in "$@"; do
      if [ "$a" = FREE ]; then
        chat_port=$("$tool" free-port) || return 1
        a=$chat_port
      fi
      argv+=("$a")
    done
    "$demo" --port "$port" --root "$root" --backend "$backend" "${argv[@]}" >"$work/server.log" 2>&1 &
    server_pid=$!
    if wait_for_port "$port" && { [ -z "$chat_port" ] || wait_for_chat; }; then return 0; fi
    stop_server
  done
  return 1
}

project_dirs=()
for d in test/transcripts/*/; do [ -d "$d" ] && project_dirs+=("${d%/}"); done

status=0
for entry in "${fixtures[@]}"; do
  IFS='|' read -r fixture root target fixture_jobs rest <<<"$entry"
  read -r -a args <<<"$rest"
  for backend in $backends; do
    echo "== transcripts: fixture $fixture, backend $backend"
    if ! start_server "$backend" "$work/root-$root" "${args[@]}"; then
      if [ "$backend" = uring ] && [ -z "${MEDUSA_BACKENDS:-}" ] && grep -q 'io_uring' "$work/server.log"; then
        # Not this program's failure: the kernel (or a seccomp profile) refuses io_uring.
        echo "transcripts: backend uring left out here: $(grep -m1 'io_uring' "$work/server.log")"
        continue
      fi
      echo "transcripts: medusa-demo --backend $backend ${args[*]} did not start; its output:"
      sed 's/^/    /' "$work/server.log"
      echo "0 passed, 1 failed"
      status=1
      continue
    fi
    at=127.0.0.1:$port
    [ "$target" = chat ] && at=127.0.0.1:$chat_port
    if [ "$root" = shared ]; then
      echo "-- shared medusa corpus ($at)"
      "$tool" replay --target "$at" --fixture "$fixture" --jobs "$fixture_jobs" \
        --expect-diff test/transcripts/medusa-fixes.txt "$shared/transcripts/medusa" || status=1
    fi
    if [ ${#project_dirs[@]} -gt 0 ]; then
      echo "-- project corpus ($at): ${project_dirs[*]}"
      "$tool" replay --target "$at" --fixture "$fixture" --jobs "$fixture_jobs" "${project_dirs[@]}" || status=1
    fi
    if ! kill -0 "$server_pid" 2>/dev/null; then
      echo "transcripts: medusa-demo exited during the replay; its output:"
      sed 's/^/    /' "$work/server.log"
      echo "0 passed, 1 failed"
      status=1
    fi
    stop_server
  done
done
exit $status

#!/usr/bin/env bash
# Replays the transcript corpora against the demo server, once per event-loop backend.
#
# For each fixture (table below) and each backend (select, poll, epoll; MEDUSA_BACKENDS overrides)
# it starts $BUILD/bin/medusa-demo on a free port over a fresh copy of the shared docroot (every
# mtime set to 2001-09-09T01:46:40Z, as when the transcripts were recorded), then replays
#   1. the shared medusa corpus (../shared/transcripts/medusa/, or $MEDUSA_SHARED/transcripts/medusa/),
#      skipping the cases listed in test/transcripts/medusa-fixes.txt (behaviour the port fixes);
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
backends=${MEDUSA_BACKENDS:-select poll epoll}
jobs=${MEDUSA_TRANSCRIPT_JOBS:-4}

# One line per fixture: its name (the transcripts' "@ fixture:") and the medusa-demo arguments that
# set it up beyond --port/--root/--backend. A fixture that needs --fixture runs only when the demo
# lists --fixture in its --help.
fixtures=(
  "docroot|"
  "cgi|--fixture cgi"
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

docroot=$work/docroot
cp -R "$shared/transcripts/docroot" "$docroot" || give_up "cannot copy the docroot"
find "$docroot" -exec touch -h -d @1000000000 {} + || give_up "cannot set the docroot's mtimes"

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

# start_server BACKEND ARGS...: sets $port; a port taken meanwhile is retried with another.
start_server() {
  local backend=$1 attempt
  shift
  for attempt in 1 2 3; do
    port=$("$tool" free-port) || return 1
    "$demo" --port "$port" --root "$docroot" --backend "$backend" "$@" >"$work/server.log" 2>&1 &
    server_pid=$!
    if wait_for_port "$port"; then return 0; fi
    stop_server
  done
  return 1
}

demo_help=$("$demo" --help 2>&1)
project_dirs=()
for d in test/transcripts/*/; do [ -d "$d" ] && project_dirs+=("${d%/}"); done

status=0
for entry in "${fixtures[@]}"; do
  fixture=${entry%%|*}
  read -r -a args <<<"${entry#*|}"
  if [[ " ${args[*]} " == *" --fixture "* ]] && ! grep -q -- '--fixture' <<<"$demo_help"; then
    echo "transcripts: medusa-demo has no --fixture option; the $fixture fixture is not replayed"
    continue
  fi
  for backend in $backends; do
    echo "== transcripts: fixture $fixture, backend $backend"
    if ! start_server "$backend" "${args[@]}"; then
      echo "transcripts: medusa-demo --backend $backend ${args[*]} did not start; its output:"
      sed 's/^/    /' "$work/server.log"
      echo "0 passed, 1 failed"
      status=1
      continue
    fi
    target=127.0.0.1:$port
    echo "-- shared medusa corpus (127.0.0.1:$port)"
    "$tool" replay --target "$target" --fixture "$fixture" --jobs "$jobs" \
      --expect-diff test/transcripts/medusa-fixes.txt "$shared/transcripts/medusa" || status=1
    if [ ${#project_dirs[@]} -gt 0 ]; then
      echo "-- project corpus: ${project_dirs[*]}"
      "$tool" replay --target "$target" --fixture "$fixture" --jobs "$jobs" "${project_dirs[@]}" || status=1
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

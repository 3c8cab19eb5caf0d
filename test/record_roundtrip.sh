#!/usr/bin/env bash
# The recording proxy against the real programs: $BUILD/bin/medusa-demo serves a small docroot,
# `medusa-transcript record` sits in front of it, a bash client sends pipelined keep-alive requests
# through the proxy; the transcript written must pass `check`, replay against the demo, and fail
# with a diff at the byte once one byte of a served file changes. Then: SIGTERM writes an open
# connection's transcript, and (when $BUILD/bin/echo_server is built) a raw session with a pause.
# Ends with "N passed, M failed"; exits non-zero when anything failed. Takes a few seconds.
# KEEP=1 keeps the work folder (transcripts and logs) and prints where it is.
set -u
cd "$(dirname "$0")/.." || exit 1

BUILD=${BUILD:-build}
demo=$BUILD/bin/medusa-demo
tool=$BUILD/bin/medusa-transcript
echo_bin=$BUILD/bin/echo_server

passed=0
failed=0
ok() { echo "PASS $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1"; failed=$((failed + 1)); }

if [ ! -x "$demo" ] || [ ! -x "$tool" ]; then
  echo "record_roundtrip: medusa-demo or medusa-transcript not built in $BUILD"
  echo "0 passed, 1 failed"
  exit 1
fi

work=$(mktemp -d)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  [ -n "${KEEP:-}" ] && echo "kept $work" || rm -rf "$work"
}
trap cleanup EXIT

# Waits (at most 5 s) until FILE holds a line matching PATTERN.
wait_for_line() {
  local i
  for ((i = 0; i < 100; i++)); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

# Waits (at most 5 s) for PID to exit; its status in $exit_status.
wait_exit() {
  local i
  for ((i = 0; i < 100; i++)); do
    if ! kill -0 "$1" 2>/dev/null; then
      wait "$1"
      exit_status=$?
      return 0
    fi
    sleep 0.05
  done
  exit_status=124
  return 1
}

root=$work/root
mkdir -p "$root" "$work/out" "$work/out2" "$work/out3"
printf '<html><body><h1>index</h1></body></html>\n' >"$root/index.html"
printf 'body { color: black; }\n' >"$root/style.css"
printf 'hello, world\n' >"$root/hello.txt"
touch -d @1000000000 "$root"/*

demo_port=$("$tool" free-port)
"$demo" --port "$demo_port" --root "$root" --chat-port 0 >"$work/demo.log" 2>&1 &
pids+=($!)
wait_for_line "$work/demo.log" "medusa-demo: http" || { bad "medusa-demo did not start"; }

# --- 1. record pipelined keep-alive requests -----------------------------------------------------
rec_port=$("$tool" free-port)
"$tool" record --listen "$rec_port" --target "127.0.0.1:$demo_port" --out "$work/out" \
  --max-connections 1 >"$work/rec.log" 2>&1 &
rec_pid=$!
pids+=($rec_pid)
if wait_for_line "$work/rec.log" "^listening on"; then
  {
    exec 3<>"/dev/tcp/127.0.0.1/$rec_port"
    printf 'GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\nGET /style.css HTTP/1.1\r\nHost: localhost\r\n\r\n' >&3
    sleep 0.2
    printf 'GET /hello.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' >&3
    timeout 5 cat <&3 >"$work/client.out"
    exec 3>&-
  } 2>/dev/null
  if grep -q 'hello, world' "$work/client.out" && grep -q 'color: black' "$work/client.out"; then
    ok "the client gets the replies through the proxy"
  else
    bad "the client gets the replies through the proxy"
  fi
  wait_exit "$rec_pid"
  if [ "$exit_status" = 0 ] && grep -q "^wrote .*get_index_html.transcript" "$work/rec.log"; then
    ok "record exits after --max-connections and names the file from the request line"
  else
    bad "record exits after --max-connections (status $exit_status): $(cat "$work/rec.log")"
  fi
else
  bad "record did not start: $(cat "$work/rec.log")"
fi

file=$work/out/get_index_html.transcript
if [ -f "$file" ]; then
  if "$tool" check "$work/out" >"$work/check.log" 2>&1; then
    ok "the transcript passes check"
  else
    bad "the transcript passes check: $(cat "$work/check.log")"
  fi
  if grep -q '^< Date: {\*}\\r\\n$' "$file" && grep -q '^<close>$' "$file"; then
    ok "Date is masked and the server's close is recorded"
  else
    bad "Date is masked and the server's close is recorded"
  fi
  if "$tool" replay --target "127.0.0.1:$demo_port" "$file" >"$work/replay.log" 2>&1; then
    ok "the transcript replays against medusa-demo"
  else
    bad "the transcript replays against medusa-demo: $(cat "$work/replay.log")"
  fi
  printf 'body { color: blacK; }\n' >"$root/style.css"
  touch -d @1000000000 "$root/style.css"
  # A file changed behind the server's back may be served as it was for up to 1 s (the file
  # cache's max_age, http/file_cache.h): let that pass.
  sleep 1.2
  if "$tool" replay --target "127.0.0.1:$demo_port" "$file" >"$work/replay2.log" 2>&1; then
    bad "a changed byte fails the replay"
  elif grep -q '^    -< body { color: black; }\\n$' "$work/replay2.log" &&
       grep -q '^    +< body { color: blacK; }\\n$' "$work/replay2.log"; then
    ok "a changed byte fails the replay with a diff at that byte"
  else
    bad "a changed byte fails the replay with a diff at that byte: $(cat "$work/replay2.log")"
  fi
  printf 'body { color: black; }\n' >"$root/style.css"
  touch -d @1000000000 "$root/style.css"
else
  bad "no transcript written at $file"
fi

# --- 2. SIGTERM writes the open connection ----------------------------------------------------------
rec_port=$("$tool" free-port)
"$tool" record --listen "$rec_port" --target "127.0.0.1:$demo_port" --out "$work/out2" \
  --name session >"$work/rec2.log" 2>&1 &
rec_pid=$!
pids+=($rec_pid)
if wait_for_line "$work/rec2.log" "^listening on"; then
  {
    exec 4<>"/dev/tcp/127.0.0.1/$rec_port"
    printf 'GET /hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n' >&4
    timeout 5 head -c 1 <&4 >/dev/null  # the reply has started: the connection is live
  } 2>/dev/null
  sleep 0.1
  kill -TERM "$rec_pid"
  wait_exit "$rec_pid"
  exec 4>&- 2>/dev/null
  if [ "$exit_status" = 0 ] && [ -f "$work/out2/session-0001.transcript" ] &&
     ! grep -q '<close>' "$work/out2/session-0001.transcript"; then
    ok "SIGTERM ends the open connection and writes its transcript"
  else
    bad "SIGTERM ends the open connection and writes its transcript (status $exit_status): $(cat "$work/rec2.log")"
  fi
else
  bad "record did not start: $(cat "$work/rec2.log")"
fi

# --- 3. a raw session with a pause, against the echo server -----------------------------------------
if [ -x "$echo_bin" ]; then
  echo_port=$("$tool" free-port)
  "$echo_bin" --port "$echo_port" >"$work/echo.log" 2>&1 &
  pids+=($!)
  sleep 0.2
  rec_port=$("$tool" free-port)
  "$tool" record --listen "$rec_port" --target "127.0.0.1:$echo_port" --out "$work/out3" \
    --protocol raw --fixture echo --name echo --max-connections 1 >"$work/rec3.log" 2>&1 &
  rec_pid=$!
  pids+=($rec_pid)
  if wait_for_line "$work/rec3.log" "^listening on"; then
    {
      exec 5<>"/dev/tcp/127.0.0.1/$rec_port"
      printf 'hel' >&5
      sleep 0.3
      printf 'lo\n' >&5
      timeout 5 head -n 1 <&5 >"$work/echo.out"
      exec 5>&-
    } 2>/dev/null
    wait_exit "$rec_pid"
    f=$work/out3/echo-0001.transcript
    if [ -f "$f" ] && grep -q '^~ [0-9]' "$f" && grep -q '^@ protocol: raw$' "$f" &&
       "$tool" replay --target "127.0.0.1:$echo_port" "$f" >"$work/replay3.log" 2>&1; then
      ok "a raw session keeps the client's pause and replays"
    else
      bad "a raw session keeps the client's pause and replays: $(cat "$f" "$work/replay3.log" 2>/dev/null)"
    fi
  else
    bad "record did not start: $(cat "$work/rec3.log")"
  fi
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]

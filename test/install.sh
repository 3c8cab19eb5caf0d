#!/usr/bin/env bash
# The way a user's project consumes medusa: `make install PREFIX=<temp>`, then build
# test/install/app.cc out of tree with `pkg-config --cflags --libs medusa`, run it, talk to it,
# and `make uninstall`. Prints "1 passed, 0 failed" or "0 passed, 1 failed".
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "install: FAIL: $*"; echo "0 passed, 1 failed"; exit 1; }

make --no-print-directory BUILD="$BUILD" install PREFIX="$work/prefix" >"$work/log" 2>&1 \
  || { cat "$work/log"; fail "make install"; }
export PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig"
flags=$(pkg-config --cflags --libs medusa) || fail "pkg-config --cflags --libs medusa"
mkdir -p "$work/app" && cp test/install/app.cc "$work/app/"
( cd "$work/app" && ${CXX:-g++} app.cc -o app $flags ) >"$work/log" 2>&1 \
  || { cat "$work/log"; fail "building the out-of-tree app with: $flags"; }

for try in 1 2 3 4 5; do
  port=$(( 20000 + RANDOM % 20000 ))
  LD_LIBRARY_PATH="$work/prefix/lib" "$work/app/app" "$port" >"$work/out" 2>&1 &
  pid=$!
  for _ in $(seq 50); do grep -q listening "$work/out" 2>/dev/null && break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && break
  pid=
done
[ -n "$pid" ] || { cat "$work/out"; fail "the app did not start"; }
reply=$(timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port; printf 'hello\n' >&3; cat <&3") \
  || fail "no reply from the app"
wait "$pid" 2>/dev/null; pid=
[ "$reply" = "echo: hello" ] || fail "expected 'echo: hello', got '$reply'"
make --no-print-directory BUILD="$BUILD" uninstall PREFIX="$work/prefix" >/dev/null 2>&1 || fail "make uninstall"
[ -e "$work/prefix/include/medusa" ] && fail "uninstall left headers behind"
echo "install: PASS (built with: $flags)"
echo "1 passed, 0 failed"

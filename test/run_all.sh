#!/usr/bin/env bash
# Runs every GoogleTest binary given, then the script suites below, and ends with one line summing them all: "N passed, M failed".
# Exits non-zero when anything failed or a binary crashed.
set -u
passed=0 failed=0 crashed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

for bin in "$@"; do
  echo "== $bin"
  "$bin" --gtest_brief=1 >"$log" 2>&1
  rc=$?
  cat "$log"
  p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n1)
  f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n1)
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
  if [ $rc -ne 0 ] && [ -z "${f:-}" ]; then
    echo "!! $bin exited with status $rc before reporting (crash or sanitizer report)"
    crashed=$((crashed + 1)); failed=$((failed + 1))
  fi
done

# Script suites, each ending with its own "N passed, M failed": the transcript replays, the
# install test, the attacks on a running demo, the record/replay round trip. A missing script is
# skipped. MEDUSA_SCRIPTS overrides the list ("" runs none: the sanitizer builds).
scripts=${MEDUSA_SCRIPTS-test/run_transcripts.sh test/install.sh test/attack/run.sh test/record_roundtrip.sh}
for script in $scripts; do
  [ -x "$script" ] || continue
  echo "== $script"
  "$script" >"$log" 2>&1
  rc=$?
  cat "$log"
  counted=0
  while read -r p f; do
    passed=$((passed + p)); failed=$((failed + f)); counted=1
  done < <(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed.*/\1 \2/p' "$log")
  if [ $rc -ne 0 ] && [ $counted = 0 ]; then
    echo "!! $script exited with status $rc without a count"; failed=$((failed + 1))
  fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

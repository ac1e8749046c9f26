#!/usr/bin/env bash
# Runs test files again and again to prove they are deterministic: `scripts/repeat_tests.sh 20 a_test.ts b_test.ts`
# runs each file 20 times on its own (as a flaky test would show itself in CI) and prints one line per file
# with its failures; exits 1 when any run failed. The whole suite three times in a row is
# `for i in 1 2 3; do npm test || break; done`.
set -uo pipefail
cd "$(dirname "$0")/.."
runs=${1:?usage: scripts/repeat_tests.sh <runs> <test files...>}
shift
deno=node_modules/.bin/deno
status=0
for file in "$@"; do
  failed=0
  for ((i = 1; i <= runs; i++)); do
    if ! NO_COLOR=1 "$deno" test -A --quiet "$file" >"/tmp/repeat_$$.log" 2>&1; then
      failed=$((failed + 1))
      cp "/tmp/repeat_$$.log" "/tmp/repeat_failed_$(basename "$file" .ts)_$i.log"
    fi
  done
  echo "$file: $((runs - failed))/$runs green"
  [ "$failed" -eq 0 ] || status=1
done
rm -f "/tmp/repeat_$$.log"
exit "$status"

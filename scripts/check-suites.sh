#!/usr/bin/env bash
# check-suites.sh BUILD_DIR: the suites of a configured build against tests/suites.txt.
# Fails (exit 1, naming each problem) when a listed suite is not registered with CTest, a
# registered suite is not listed, or a Criterion binary lists fewer tests than its count (or none).
# scripts/test.sh runs it before ctest, so a suite or tests that drop out fail the run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LIST="$ROOT/tests/suites.txt"
BUILD="${1:?usage: scripts/check-suites.sh BUILD_DIR}"

declare -A want cmd
while read -r name count _; do
  [ -n "$name" ] && [ "${name#\#}" = "$name" ] || continue
  want[$name]="$count"
done <"$LIST"

# `ctest -N -V` prints "N: Test command: PATH ARGS..." and then "Test #N: NAME" for each suite.
declare -A path_of
while IFS= read -r line; do
  if [[ $line =~ ^([0-9]+):\ Test\ command:\ ([^ ]+) ]]; then
    path_of[${BASH_REMATCH[1]}]="${BASH_REMATCH[2]}"
  elif [[ $line =~ Test\ +#([0-9]+):\ ([^ ]+)$ ]]; then
    cmd[${BASH_REMATCH[2]}]="${path_of[${BASH_REMATCH[1]}]:-}"
  fi
done < <(cd "$BUILD" && ctest -N -V)

fail=0
problem() { echo "check-suites: $*" >&2; fail=1; }
for name in "${!cmd[@]}"; do
  [ -n "${want[$name]+x}" ] || problem "suite '$name' is registered but not listed in tests/suites.txt"
done
total=0
for name in $(printf '%s\n' "${!want[@]}" | sort); do
  if [ -z "${cmd[$name]+x}" ]; then
    problem "suite '$name' (tests/suites.txt) is not registered in $BUILD"
    continue
  fi
  min="${want[$name]}"
  [ "$min" = "-" ] && continue
  # Criterion's --list prints "suite: N tests" per suite, then the test names.
  if ! out="$("${cmd[$name]}" --list 2>&1)"; then
    problem "suite '$name': ${cmd[$name]} --list failed: $out"
    continue
  fi
  n="$(awk '/^[^ ]+: [0-9]+ tests?$/ { s += $(NF - 1) } END { print s + 0 }' <<<"$out")"
  total=$((total + n))
  if [ "$n" -eq 0 ] || [ "$n" -lt "$min" ]; then
    problem "suite '$name' has $n Criterion tests; tests/suites.txt expects at least $min"
  fi
done
[ "$fail" -eq 0 ] || exit 1
echo "check-suites: ${#cmd[@]} suites registered as listed, $total Criterion tests (at least the listed counts)"

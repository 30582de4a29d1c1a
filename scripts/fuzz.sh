#!/usr/bin/env bash
# fuzz.sh: build the libFuzzer targets of tests/fuzz (clang, ASan+UBSan) and run each one: first
# its committed corpus (tests/fuzz/corpus/<target>/: the seeds and every crash found so far,
# kept as regression inputs), then new inputs for a bounded time.
#   scripts/fuzz.sh                 every target, 15 s each (CI)
#   scripts/fuzz.sh 300             every target, 5 minutes each
#   scripts/fuzz.sh 600 sp_frame    one target (or several), 10 minutes
# Fails (exit 1) when a target does not build or run, or reports a crash, a leak, a sanitizer
# finding, a timeout (> 10 s for one input) or an out-of-memory (> 2 GiB). What a run found is
# in the fuzz build's own out/<target>/ folder (crash-*, leak-*, timeout-*, oom-* and the log);
# new inputs that reached new code stay in its work/<target>/ folder (neither is committed).
# RS_FUZZ_BUILD_DIR: the build folder (default build-fuzz).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SECS="${1:-15}"
[ $# -gt 0 ] && shift
case "$SECS" in '' | *[!0-9]*) echo "usage: scripts/fuzz.sh [SECONDS] [TARGET...]" >&2; exit 2 ;; esac
BUILD="${RS_FUZZ_BUILD_DIR:-build-fuzz}"
CORPUS="$ROOT/tests/fuzz/corpus"

scripts/deps.sh --fuzz
CC=clang cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS=-O1 \
  -DRS_BUILD_TESTS=OFF -DRS_FUZZ=ON >/dev/null
cmake --build "$BUILD" -j 2 --target rs_fuzz_targets

# The targets: one tests/fuzz/<name>.c with LLVMFuzzerTestOneInput each.
ALL=()
for f in tests/fuzz/*.c; do
  grep -q LLVMFuzzerTestOneInput "$f" && ALL+=("$(basename "$f" .c)")
done
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=("${ALL[@]}")

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
OUT="$ROOT/$BUILD/tests/fuzz/out" WORK="$ROOT/$BUILD/tests/fuzz/work"
failed=()
printf '%-14s %6s %10s %8s %8s  %s\n' target seeds execs exec/s corpus result
for t in "${TARGETS[@]}"; do
  bin="$ROOT/$BUILD/tests/fuzz/fuzz_$t"
  seeds="$CORPUS/$t"
  rm -rf "$OUT/$t"
  mkdir -p "$OUT/$t" "$WORK/$t"
  log="$OUT/$t/log"
  result=ok
  if [ ! -x "$bin" ]; then
    result="not built"
  elif [ ! -d "$seeds" ] || [ -z "$(ls -A "$seeds")" ]; then
    result="no seed corpus"
  else
    # The committed corpus first, every input once (regressions), then new inputs.
    if ! "$bin" -runs=0 -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$OUT/$t/" \
           "$seeds" >"$log.replay" 2>&1; then
      result="corpus replay failed"
    elif ! "$bin" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
           -artifact_prefix="$OUT/$t/" "$WORK/$t" "$seeds" >"$log" 2>&1; then
      result="failed"
    elif grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|^fuzz: ' \
           "$log.replay" "$log"; then
      result="sanitizer report"
    fi
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" 2>/dev/null | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" 2>/dev/null | tail -1)
  printf '%-14s %6s %10s %8s %8s  %s\n' "$t" "$(ls "$seeds" 2>/dev/null | wc -l)" \
    "${execs:--}" "${rate:--}" "$(ls "$WORK/$t" | wc -l)" "$result"
  if [ "$result" != ok ]; then
    failed+=("$t")
    echo "--- $t: $result; the end of its log ($log*):" >&2
    tail -n 40 "$log.replay" "$log" 2>/dev/null >&2 || true
    ls "$OUT/$t" >&2
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz.sh: ${#TARGETS[@]} targets clean (${SECS} s each after their corpus)"

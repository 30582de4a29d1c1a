#!/usr/bin/env bash
# bench/serving/instructions.sh [SERVICE...]: instructions per recommendation request of each
# service, counted by callgrind: unlike CPU time, the count does not move with the machine's
# other load, so before/after pairs of a change can be taken on a busy machine.
#
# Uses run.sh's work folder (its shop and published model: run bench/serving/run.sh once
# first). For each SERVICE (default: gateway feature candidate ranking) it starts the stack of
# run.sh with that service under
#   valgrind --tool=callgrind --instr-atstart=no
# (the gateway's deadline raised so the slow service is waited for), asks for the
# recommendations of customers 1..BS_IC_USERS (300) once, one at a time (the feature service's
# cache warms up: the counts are the warm path), switches callgrind's instrumentation on, asks
# for the same customers again, dumps, and prints the instructions per request and the
# functions with the most of them (self cost, per request). Fails on any failed or degraded
# answer. Dumps and annotations stay in $WORK/callgrind.
#
# Environment: as run.sh (BUILD, WORK, BS_USERS, BS_ITEMS, BS_PG_PORT, BS_PORT, RS_*), plus
# BS_IC_USERS (300), BS_IC_TOP (15: functions listed per service), BS_IC_COLD (1: no warm-up
# pass, so the measured pass is each customer's first sight: the feature service's history
# load and fold-in). Run it under `flock /tmp/rs-serving.lock`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
. "$ROOT/bench/serving/lib.sh"
bs_vars
N="${BS_IC_USERS:-300}"; TOP="${BS_IC_TOP:-15}"; K="${BS_K:-10}"
TARGETS=("$@"); [ ${#TARGETS[@]} -gt 0 ] || TARGETS=(gateway feature candidate ranking)
mkdir -p "$WORK/log" "$WORK/callgrind"
command -v valgrind >/dev/null && command -v callgrind_control >/dev/null \
  || { echo "instructions.sh: valgrind missing" >&2; exit 1; }

ME=instructions.sh
bs_binaries
trap bs_stop EXIT
bs_cached_stack

echo "Instructions per request (callgrind), $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo '+changes'),"
if [ "${BS_IC_COLD:-0}" = 1 ]; then
  echo "binaries $BUILD, model $VERSION, $USERS customers, $ITEMS items: customers 1..$N measured on first sight (BS_IC_COLD=1), k=$K."
else
  echo "binaries $BUILD, model $VERSION, $USERS customers, $ITEMS items: customers 1..$N once warm, then again measured, k=$K."
fi
for svc in "${TARGETS[@]}"; do
  rm -f "$WORK/callgrind/$svc".*
  declare "BS_WRAP_$svc=valgrind --tool=callgrind --instr-atstart=no --dump-instr=no --callgrind-out-file=$WORK/callgrind/$svc.%p"
  export "BS_WRAP_$svc"
  BS_READY_S=300 bs_start
  bs_wait_version
  [ "${BS_IC_COLD:-0}" = 1 ] || bs_pass warm-up
  callgrind_control -i on "${PID[$svc]}" >/dev/null
  bs_pass measured
  callgrind_control -d "${PID[$svc]}" >/dev/null
  pid="${PID[$svc]}"
  bs_stop_services
  unset "BS_WRAP_$svc"
  f="$WORK/callgrind/$svc.$pid.1"  # the dump of the measured pass (not the one at exit)
  [ -f "$f" ] || { say "$ME: no callgrind dump $f"; exit 1; }
  callgrind_annotate --inclusive=no "$f" >"$WORK/callgrind/$svc.txt" 2>/dev/null
  total="$(awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }' "$WORK/callgrind/$svc.txt")"
  echo
  echo "rs-$svc: $(awk -v t="$total" -v n="$N" 'BEGIN { printf "%.0f", t / n }') instructions per request ($total over $N requests); the most, self, per request:"
  awk -v n="$N" -v top="$TOP" '
    /PROGRAM TOTALS/ { next }
    /^ *[0-9,]+ +\(/ && shown < top {
      line = $0; sub(/^ +/, "", line); c = line; sub(/ .*/, "", c); gsub(",", "", c)
      sub(/^[0-9,]+ +\( *[0-9.]+%\) +/, "", line); sub(/ \[[^]]*\]$/, "", line)
      printf "    %10.0f  %s\n", c / n, line; shown++
    }' "$WORK/callgrind/$svc.txt"
done

#!/usr/bin/env bash
# bench/serving/profile.sh [SERVICE...]: where each service's CPU time goes under warm load, by
# function, sampled by `perf record` (the CPU's own clock: cache misses and the kernels a library
# picked at run time count as they cost). callgrind (instructions.sh) counts instructions on
# valgrind's simulated CPU instead: it cannot see a slow kernel chosen for the real CPU (OpenBLAS's
# SSE3 fallback, docs/BENCHMARKS.md "Issue 11, session 11") nor memory stalls.
#
# Uses run.sh's work folder (its shop and published model: run bench/serving/run.sh once
# first). Starts the stack of run.sh, warms it (BS_WARMUP s of wrk -c16 over random customers),
# then samples every SERVICE (default: gateway feature candidate ranking) at once with
#   perf record -F BS_PROF_HZ -p PID
# during BS_PROF_S seconds of wrk -t2 -c BS_PROF_CONNS (recs.lua: random customers, k=BS_K), and
# prints wrk's RESULT line, and per service the functions with the most samples (self, % of the
# service's samples; [k] = kernel) and the libraries with the most. Fails on non-2xx or degraded
# answers. perf's data stays in $WORK/profile.
#
# Environment: as run.sh (BUILD, WORK, BS_USERS, BS_ITEMS, BS_PG_PORT, BS_PORT, RS_*; e.g.
# OPENBLAS_CORETYPE reaches the services), plus BS_PROF_CONNS (8), BS_PROF_S (15), BS_PROF_HZ
# (2000), BS_PROF_TOP (20: functions listed per service), BS_WARMUP (5). Run it under
# `flock /tmp/rs-serving.lock`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/bench/serving"
. "$HERE/lib.sh"
bs_vars
CONNS="${BS_PROF_CONNS:-8}"; SECS="${BS_PROF_S:-15}"; HZ="${BS_PROF_HZ:-2000}"
TOP="${BS_PROF_TOP:-20}"; WARMUP="${BS_WARMUP:-5}"
export BS_K="${BS_K:-10}" BS_USERS="$USERS"
TARGETS=("$@"); [ ${#TARGETS[@]} -gt 0 ] || TARGETS=(gateway feature candidate ranking)
mkdir -p "$WORK/log" "$WORK/profile"
command -v perf >/dev/null || { echo "profile.sh: perf missing (apt-get install linux-perf)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "profile.sh: wrk missing (scripts/deps.sh --bench)" >&2; exit 1; }

ME=profile.sh
bs_binaries
trap bs_stop EXIT
bs_cached_stack
export BS_AUTHORIZATION

echo "CPU samples per function (perf record -F $HZ), $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo '+changes'),"
echo "binaries $BUILD, model $VERSION, $USERS customers, $ITEMS items, $(nproc) cores ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)): wrk -t2 -c$CONNS -d${SECS}s, k=$BS_K, after ${WARMUP} s of warm-up."
bs_start
bs_wait_version
wrk -t2 -c16 -d"${WARMUP}s" -s "$HERE/recs.lua" "$URL" >"$WORK/log/profile-warmup.txt" 2>&1 || true
for svc in "${TARGETS[@]}"; do
  [ -n "${PID[$svc]:-}" ] || { say "$ME: unknown service $svc"; exit 1; }
  rm -f "$WORK/profile/$svc.data"
  bs_attach "$svc" "$WORK/log/perf-$svc.log" \
    perf record -F "$HZ" -o "$WORK/profile/$svc.data" -p "${PID[$svc]}"
done
sleep 1  # perf attaches to every thread before the load starts
out="$(wrk -t2 -c"$CONNS" -d"${SECS}s" --latency -s "$HERE/recs.lua" "$URL" 2>&1)" \
  || { say "$ME: wrk failed: $out"; exit 1; }
bs_detach
res="$(grep '^RESULT' <<<"$out" || true)"
[ -n "$res" ] || { say "$ME: no RESULT line from wrk: $out"; exit 1; }
grep -q ' non2xx=0 degraded=0 ' <<<"$res" \
  || { say "$ME: failed or degraded answers: $res"; exit 1; }
echo "$res"
for svc in "${TARGETS[@]}"; do
  f="$WORK/profile/$svc.data"
  [ -s "$f" ] || { say "$ME: no perf data for rs-$svc in $f"; exit 1; }
  rep="$(perf report -i "$f" --no-children --sort sym --stdio -g none 2>/dev/null)"
  n="$(sed -n 's/^# Samples: \([0-9.]*[KM]*\).*/\1/p' <<<"$rep" | head -n 1)"
  echo
  echo "rs-$svc: $n samples; the most, self:"
  awk -v top="$TOP" '/^ +[0-9.]+%/ && shown < top { sub(/^ +/, "    "); print; shown++ }' <<<"$rep"
  echo "  by library (functions a library does not name, e.g. OpenBLAS's kernels, count here):"
  perf report -i "$f" --no-children --sort dso --stdio -g none 2>/dev/null \
    | awk '/^ +[0-9.]+%/ && shown < 6 { sub(/^ +/, "    "); print; shown++ }'
done

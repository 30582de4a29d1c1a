#!/usr/bin/env bash
# bench/serving/syscalls.sh [SERVICE...]: system calls per recommendation request of each
# service, counted by strace: like callgrind's instructions, the count hardly moves with the
# machine's other load (what can: a recv that finds no data yet and waits in poll), so
# before/after pairs of a change can be taken on a busy machine.
#
# Uses run.sh's work folder (its shop and published model: run bench/serving/run.sh once
# first). Starts the stack of run.sh, asks for the recommendations of customers 1..BS_SC_USERS
# (300) once, one at a time over one keep-alive connection (the feature service's cache warms
# up: the counts are the warm path), attaches `strace -f -c` to every SERVICE (default: gateway
# feature candidate ranking) at once, asks for the same customers again, detaches and prints per
# service the system calls per request and the calls with the most of them (with the share that
# failed, e.g. EAGAIN). Background threads (timers, the impression writer, reloads) count too:
# their calls over the pass are part of what serving costs. Fails on any failed or degraded
# answer. The strace summaries stay in $WORK/syscalls.
#
# Environment: as run.sh (BUILD, WORK, BS_USERS, BS_ITEMS, BS_PG_PORT, BS_PORT, RS_*), plus
# BS_SC_USERS (300), BS_SC_TOP (12: calls listed per service). Run it under
# `flock /tmp/rs-serving.lock`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
. "$ROOT/bench/serving/lib.sh"
bs_vars
N="${BS_SC_USERS:-300}"; TOP="${BS_SC_TOP:-12}"; K="${BS_K:-10}"
TARGETS=("$@"); [ ${#TARGETS[@]} -gt 0 ] || TARGETS=(gateway feature candidate ranking)
mkdir -p "$WORK/log" "$WORK/syscalls"
command -v strace >/dev/null || { echo "syscalls.sh: strace missing (apt-get install strace)" >&2; exit 1; }

ME=syscalls.sh
bs_binaries
trap bs_stop EXIT
bs_cached_stack

echo "System calls per request (strace -f -c), $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo '+changes'),"
echo "binaries $BUILD, model $VERSION, $USERS customers, $ITEMS items: customers 1..$N once warm, then again measured, k=$K, one connection."
bs_start
bs_wait_version
bs_pass warm-up
for svc in "${TARGETS[@]}"; do
  [ -n "${PID[$svc]:-}" ] || { say "$ME: unknown service $svc"; exit 1; }
  rm -f "$WORK/syscalls/$svc.txt"
  bs_attach "$svc" "$WORK/log/strace-$svc.log" \
    strace -f -c -U calls,errors,name -q -o "$WORK/syscalls/$svc.txt" -p "${PID[$svc]}"
done
sleep 1  # strace attaches to every thread before the pass starts
bs_pass measured
bs_detach
for svc in "${TARGETS[@]}"; do
  f="$WORK/syscalls/$svc.txt"
  # the summary: "calls [errors] syscall" per call, then the same for "total"
  total="$(awk '$NF == "total" { print $1; exit }' "$f" 2>/dev/null || true)"
  [ -n "$total" ] || { say "$ME: no strace summary for rs-$svc in $f"; exit 1; }
  echo
  echo "rs-$svc: $(awk -v t="$total" -v n="$N" 'BEGIN { printf "%.1f", t / n }') system calls per request ($total over $N requests); the most, per request:"
  awk -v n="$N" '
    $1 !~ /^[0-9]+$/ || $NF == "total" { next }
    {
      errs = NF == 3 ? $2 : 0
      printf "    %8.2f  %s%s\n", $1 / n, $NF, (errs > 0 ? sprintf(" (%.0f%% failed)", 100 * errs / $1) : "")
    }' "$f" | sort -g -r | head -n "$TOP"
done

#!/usr/bin/env bash
# bench/serving/cold_passes.sh: where the cold first pass's extra CPU goes. On run.sh's cached
# shop and model ($WORK), PostgreSQL and the five services freshly started, then
#   rs-serving-fresh --warm-users BS_USERS --warm-conns C   twice, one after the other:
# pass 1 is run.sh's cold pass (every cache empty), pass 2 the same client, customers and order
# with every cache warm, so the difference between the two rows is first sight alone (not the
# client, the rate or the order, which differ between run.sh's cold and warm rows). Per pass: req/s,
# p50, degraded answers, CPU ms per answer of each service and of PostgreSQL (postmaster and its
# children; the PostgreSQL processes that used the most are listed above the row, by their
# process title: the feature service's connections are the ones with the history loads).
# Environment: BUILD (build), WORK (var/bench-serving), BS_USERS (10000), BS_ITEMS (20000),
# BS_PG_PORT (25470), BS_PORT (27500), BS_COLD_CONN (4). Run it under `flock /tmp/rs-serving.lock`
# (the same cluster and ports as run.sh).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
. "$ROOT/bench/serving/lib.sh"
bs_vars
C="${BS_COLD_CONN:-4}"
mkdir -p "$WORK/log"
ME=cold_passes.sh
bs_binaries
trap bs_stop EXIT
bs_cached_stack
"$ROOT/scripts/pg.sh" stop "$WORK/pg" >/dev/null
"$ROOT/scripts/pg.sh" start "$WORK/pg" "$PGPORT" >/dev/null
bs_start
bs_wait_version
sleep 5  # start-up work (candidate's snapshot, the model's load) done
HZ="$(getconf CLK_TCK)"
cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
# pid, CPU ticks and title of the postmaster and each child
pg_procs() {
  local pm p; pm="$(head -n 1 "$WORK/pg/data/postmaster.pid")"
  { echo "$pm"; pgrep -P "$pm" || true; } | while read -r p; do
    echo "$p $(cpu "$p") $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | cut -c1-50)"
  done
}
ms() { awk -v d="$1" -v hz="$HZ" -v n="$2" 'BEGIN { printf "%.3f", (n > 0 ? 1000 * d / hz / n : 0) }'; }
fail=0
for pass in 1 2; do
  declare -A t0=()
  for s in "${SERVICES[@]}"; do t0[$s]=$(cpu "${PID[$s]}"); done
  pg_procs >"$WORK/log/cold_passes.pg0"; la0="$(cut -d' ' -f1-3 /proc/loadavg)"
  out="$("$FRESH_BIN" --url "$URL" --k 10 --warm-users "$USERS" --warm-conns "$C" --key-file "$WORK/api-key" 2>&1)" || fail=1
  pg_procs >"$WORK/log/cold_passes.pg1"; la1="$(cut -d' ' -f1-3 /proc/loadavg)"
  res="$(grep '^RESULT' <<<"$out" || true)"
  [ -n "$res" ] || { say "$ME: pass $pass failed: $out"; exit 1; }
  kv() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $res"; }
  n="$(kv requests)"
  awk -v hz="$HZ" -v n="$n" 'NR == FNR { a[$1] = $2; next }
    { d = $2 - ($1 in a ? a[$1] : 0); if (d > 0) { p = $1; $1 = $2 = ""; printf "%.3f ms/answer  pid %s %s\n", 1000 * d / hz / n, p, $0 } }' \
    "$WORK/log/cold_passes.pg0" "$WORK/log/cold_passes.pg1" | sort -gr | head -n 5 | sed 's/^/    postgres /'
  row="pass $pass c$C: $(kv rps) req/s, p50 $(kv p50_ms) ms, degraded $(kv degraded); CPU ms per answer"
  for s in gateway feature candidate ranking ingest; do row="$row $s $(ms $(( $(cpu "${PID[$s]}") - ${t0[$s]} )) "$n")"; done
  pgd="$(awk 'NR == FNR { a[$1] = $2; next } { s += $2 - ($1 in a ? a[$1] : 0) } END { print s + 0 }' "$WORK/log/cold_passes.pg0" "$WORK/log/cold_passes.pg1")"
  echo "$row postgres $(ms "$pgd" "$n"); load $la0 -> $la1"
  [ "$(kv non2xx)" = 0 ] && [ "$(kv sock_errors)" = 0 ] && [ "$(kv timeouts)" = 0 ] || fail=1
done
[ $fail -eq 0 ] || { say "$ME: FAILED (non-2xx, socket errors or timeouts above)"; exit 1; }

#!/usr/bin/env bash
# bench/ingest/run.sh [--short]: sustained events/s from an NNG client to durable PostgreSQL rows
# (acknowledged only after COMMIT, default synchronous_commit), single events vs batches, with
# the p50/p99 acknowledgement latency per request. Prints a markdown table and checks that the
# table holds exactly the acknowledged events. Also prints the CPU time per event of rs-ingest and
# of PostgreSQL (every process of the private cluster), from /proc around each scenario.
#   BUILD=build (binaries), WORK=var/bench-ingest (cluster, logs), BI_PG_PORT, BI_INGEST_PORT
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
SHORT=0; [ "${1:-}" = "--short" ] && SHORT=1
mkdir -p "$WORK"; : >"$WORK/ingest.log"
bi_build
trap bi_cleanup EXIT
bi_pg_start
bi_db_fresh
bi_ingest_start

# name batch clients events(full) events(short)
SCENARIOS=(
  "single-1client 1 1 3000 300"
  "single-8clients 1 8 20000 2000"
  "batch100-4clients 100 4 300000 20000"
  "batch1000-4clients 1000 4 1000000 50000"
  "batch1000-8clients 1000 8 1000000 50000"
)
total=0
echo "| scenario | batch | clients | events | seconds | events/s | req p50 ms | req p99 ms | CPU µs/event ingest / PostgreSQL |"
echo "|---|---|---|---|---|---|---|---|---|"
for s in "${SCENARIOS[@]}"; do
  read -r name batch clients full short <<<"$s"
  n=$full; [ $SHORT -eq 1 ] && n=$short
  in0=$(bi_ticks "$INGEST_PID"); pg0=$(bi_pg_ticks)
  out="$("$LOAD_BIN" --url "$URL" --events "$n" --batch "$batch" --clients "$clients" --run "$name")"
  in1=$(bi_ticks "$INGEST_PID"); pg1=$(bi_pg_ticks)
  echo "$out" >>"$WORK/results.txt"
  kv() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $out"; }
  [ "$(kv unacked)" = 0 ] && [ "$(kv rejected)" = 0 ] || { echo "run.sh: $name: $out" >&2; exit 1; }
  total=$((total + n))
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s / %s |\n' "$name" "$batch" "$clients" "$n" \
    "$(kv seconds)" "$(kv events_per_s)" "$(kv req_p50_ms)" "$(kv req_p99_ms)" \
    "$(bi_us_per_event $((in1 - in0)) "$n")" "$(bi_us_per_event $((pg1 - pg0)) "$n")"
done
rows="$(bi_q "select count(*) from events")"
ids="$(bi_q "select count(*) from event_ids")"
dups="$(bi_q "select count(*) from (select event_id from events group by 1 having count(*) > 1) d")"
echo
echo "rows=$rows event_ids=$ids expected=$total duplicated_ids=$dups ($(nproc) cores, $(uptime | sed 's/.*load average/load average/'))"
[ "$rows" = "$total" ] && [ "$ids" = "$total" ] && [ "$dups" = 0 ] || { echo "run.sh: stored rows do not match acknowledged events" >&2; exit 1; }

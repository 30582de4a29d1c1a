#!/usr/bin/env bash
# bench/ingest/http.sh [--short]: events/s from HTTP (rs-gateway POST /v1/events, wrk) through
# rs-ingest to durable PostgreSQL rows, single events and batches, with p50/p99 of the HTTP
# response (202 only after ingest's COMMIT). Checks that the stored rows equal the acknowledged
# events. Also prints the CPU time per acknowledged event of rs-gateway, rs-ingest and PostgreSQL (every
# process of the private cluster), from /proc between the start and the end of each scenario.
# Needs wrk and rs-gateway.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
SHORT=0; [ "${1:-}" = "--short" ] && SHORT=1
DUR=15; [ $SHORT -eq 1 ] && DUR=3
GW_ADDR="127.0.0.1:${BI_GATEWAY_PORT:-28090}"
command -v wrk >/dev/null || { echo "http.sh: wrk is not installed" >&2; exit 1; }
mkdir -p "$WORK"; : >"$WORK/ingest.log"; : >"$WORK/gateway.log"
bi_build
GW_BIN="$BUILD/services/gateway/rs-gateway"
[ -x "$GW_BIN" ] || cmake --build "$BUILD" --target rs-gateway >/dev/null
GW_PID=""
on_exit() {
  if [ -n "$GW_PID" ]; then kill -TERM "$GW_PID" 2>/dev/null || true; wait "$GW_PID" 2>/dev/null || true; fi
  bi_cleanup
}
trap on_exit EXIT
bi_pg_start
bi_db_fresh
# Events need credentials: an API key of this database (rs-gateway apikey create).
"$GW_BIN" apikey create --dsn "$DSN" --name bench-ingest --key-file "$WORK/api-key" >>"$WORK/gateway.log" 2>&1
export BS_AUTHORIZATION="Bearer $(cat "$WORK/api-key")"
bi_ingest_start
# Only ingest matters for /v1/events; the other downstreams point at closed ports.
RS_GATEWAY_HTTP="$GW_ADDR" RS_INGEST_URL="$URL" RS_PG_DSN="$DSN" \
RS_FEATURE_URL=tcp://127.0.0.1:1 RS_CANDIDATE_URL=tcp://127.0.0.1:1 RS_RANKING_URL=tcp://127.0.0.1:1 \
  "$GW_BIN" >>"$WORK/gateway.log" 2>&1 &
GW_PID=$!
for _ in $(seq 1 100); do curl -fs "http://$GW_ADDR/healthz" >/dev/null 2>&1 && break; sleep 0.05; done

# name batch connections
SCENARIOS=("single-c8 1 8" "batch100-c4 100 4" "batch1000-c4 1000 4" "batch1000-c8 1000 8")
acked=0
echo "| HTTP scenario | events/request | connections | seconds | events/s | p50 ms | p99 ms | CPU µs/event gateway / ingest / PostgreSQL |"
echo "|---|---|---|---|---|---|---|---|"
for s in "${SCENARIOS[@]}"; do
  read -r name batch conns <<<"$s"
  gw0=$(bi_ticks "$GW_PID"); in0=$(bi_ticks "$INGEST_PID"); pg0=$(bi_pg_ticks)
  out="$(BATCH=$batch RUN="$name" wrk -t2 -c"$conns" -d"${DUR}s" --timeout 10s \
    -s "$(dirname "${BASH_SOURCE[0]}")/post_events.lua" "http://$GW_ADDR" | grep '^http_batch=')"
  gw1=$(bi_ticks "$GW_PID"); in1=$(bi_ticks "$INGEST_PID"); pg1=$(bi_pg_ticks)
  echo "$out" >>"$WORK/results.txt"
  kv() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $out"; }
  [ "$(kv non_2xx)" = 0 ] || { echo "http.sh: $name: $out" >&2; exit 1; }
  n=$(kv events_acked)
  acked=$((acked + n))
  printf '| %s | %s | %s | %s | %s | %s | %s | %s / %s / %s |\n' "$name" "$batch" "$conns" "$(kv seconds)" \
    "$(kv events_per_s)" "$(kv req_p50_ms)" "$(kv req_p99_ms)" "$(bi_us_per_event $((gw1 - gw0)) "$n")" \
    "$(bi_us_per_event $((in1 - in0)) "$n")" "$(bi_us_per_event $((pg1 - pg0)) "$n")"
done
rows="$(bi_q "select count(*) from events")"
echo
echo "rows=$rows acked=$acked ($(nproc) cores, $(uptime | sed 's/.*load average/load average/'))"
# wrk may have requests in flight at the end that were stored but not counted as acknowledged.
[ "$rows" -ge "$acked" ] || { echo "http.sh: fewer rows than acknowledged events" >&2; exit 1; }

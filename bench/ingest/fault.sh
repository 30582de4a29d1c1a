#!/usr/bin/env bash
# bench/ingest/fault.sh [--short]: exactly-once under faults. While a load driver streams batches
# (retrying any unanswered batch with the same event ids), rs-ingest is killed with SIGKILL and
# restarted, PostgreSQL is crashed (pg_ctl -m immediate) and restarted (ingest spools meanwhile),
# and ingest is killed again while it replays its spool. Then it proves by counting that every
# acknowledged event is stored exactly once and nothing else is stored.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
SHORT=0; [ "${1:-}" = "--short" ] && SHORT=1
# Paced load, so that every fault below lands while events are flowing (~10 s short, ~30 s full).
EVENTS=300000; RATE=10000; [ $SHORT -eq 1 ] && { EVENTS=50000; RATE=5000; }
mkdir -p "$WORK"; : >"$WORK/ingest.log"; rm -rf "$WORK/spool"
bi_build
LOAD_PID=""
on_exit() {
  if [ -n "$LOAD_PID" ]; then kill "$LOAD_PID" 2>/dev/null || true; fi
  bi_cleanup
}
trap on_exit EXIT
bi_pg_start
bi_db_fresh
bi_ingest_start
RUN="F$(date +%s)"

"$LOAD_BIN" --url "$URL" --events "$EVENTS" --batch 200 --clients 4 --run "$RUN" \
  --acked "$WORK/acked.txt" --max-seconds 300 --rate "$RATE" >"$WORK/fault-load.txt" &
LOAD_PID=$!
step() { echo "fault: $* (stored so far: $(bi_q "select count(*) from events" 2>/dev/null || echo '?'))"; }

sleep 1;   step "kill -9 rs-ingest";          bi_ingest_kill9
sleep 0.5; step "restart rs-ingest";          bi_ingest_start
sleep 1;   step "crash PostgreSQL";           bi_pg_crash
sleep 1.5; step "rs-ingest is spooling: $(ls "$WORK"/spool/spool-*.log 2>/dev/null | wc -l) segment(s)"
           step "kill -9 rs-ingest while spooling"; bi_ingest_kill9
           bi_ingest_start
sleep 0.5; step "restart PostgreSQL";         bi_pg_start
sleep 0.3; step "kill -9 rs-ingest during replay"; bi_ingest_kill9
sleep 0.3; step "restart rs-ingest";          bi_ingest_start

wait "$LOAD_PID"; LOAD_PID=""
cat "$WORK/fault-load.txt"
bi_spool_wait_empty 600
sleep 0.5

psql "$DSN" -X -q -v ON_ERROR_STOP=1 >/dev/null <<SQL
set client_min_messages = warning;
drop table if exists fault_acked;
create table fault_acked (event_id text collate "C");
\copy fault_acked from '$WORK/acked.txt'
SQL
acked="$(bi_q "select count(*) from fault_acked")"
acked_distinct="$(bi_q "select count(distinct event_id) from fault_acked")"
missing="$(bi_q "select count(*) from (select distinct event_id from fault_acked) a where not exists (select 1 from events e where e.event_id = a.event_id)")"
stored="$(bi_q "select count(*) from events where event_id like '$RUN-%'")"
dups="$(bi_q "select count(*) from (select event_id from events group by 1 having count(*) > 1) d")"
ids="$(bi_q "select count(*) from event_ids")"
rows="$(bi_q "select count(*) from events")"
spooled="$(grep -c 'event=ingest.pg_down' "$WORK/ingest.log" || true)"
echo "fault: sent=$EVENTS acked=$acked acked_distinct=$acked_distinct stored=$stored missing_acked=$missing duplicated_ids=$dups events=$rows event_ids=$ids pg_down_seen=$spooled"
[ "$acked_distinct" = "$EVENTS" ] && [ "$missing" = 0 ] && [ "$dups" = 0 ] && [ "$stored" = "$EVENTS" ] && [ "$rows" = "$ids" ] \
  || { echo "fault.sh: FAILED: acknowledged events lost or doubled" >&2; exit 1; }
echo "fault: OK: every acknowledged event stored exactly once"

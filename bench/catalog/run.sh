#!/usr/bin/env bash
# bench/catalog/run.sh [--short]: how fast catalog changes reach the answers, and what an
# impression costs, on a generated shop with the full stack on this machine.
#
# Starts a private PostgreSQL cluster with a shop from `rs-train generate` (BC_USERS users,
# BC_ITEMS items; kept between runs in $WORK), the five services on private ports (the gateway
# with an admin token, the writer the catalog routes need), waits for /readyz, then runs
# rs-catalog-bench (bench/catalog/catalog_bench.c), which prints one line per measurement:
#   PRICE / NEW / WITHDRAW: from a PUT/DELETE's answer until a live answer shows it (p50/p90/max
#   over BC_ROUNDS rounds); PUT: the write's round trip; IMPRESSIONS: BC_IMP_REQUESTS POSTs of
#   BC_IMP_ITEMS items over BC_IMP_CONNS connections, the gateway's CPU per impression and how
#   long until every row was stored.
# Fails on errors (a refused request, a change never seen within 5 s), never on timings.
#
# --short: 1,000 users, 3,000 items, 5 rounds, 500 impression requests.
# Environment: BUILD (build), RS_TRAIN, WORK (var/bench-catalog[-short]), BC_USERS (5000),
# BC_ITEMS (20000), BC_ROUNDS (20), BC_IMP_REQUESTS (4000), BC_IMP_CONNS (4), BC_IMP_ITEMS (10),
# BC_PG_PORT (25480), BC_PORT (27600: ingest +1, pub +2, feature +3, candidate +4, ranking +5,
# HTTP +80). RS_* variables set by the caller reach the services.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SHORT=0
for a in "$@"; do
  case "$a" in
    --short) SHORT=1 ;;
    *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
  esac
done
BUILD="${BUILD:-$ROOT/build}"
if [ $SHORT -eq 1 ]; then
  WORK="${WORK:-$ROOT/var/bench-catalog-short}"
  USERS="${BC_USERS:-1000}"; ITEMS="${BC_ITEMS:-3000}"; ROUNDS="${BC_ROUNDS:-5}"
  IMP_REQUESTS="${BC_IMP_REQUESTS:-500}"
else
  WORK="${WORK:-$ROOT/var/bench-catalog}"
  USERS="${BC_USERS:-5000}"; ITEMS="${BC_ITEMS:-20000}"; ROUNDS="${BC_ROUNDS:-20}"
  IMP_REQUESTS="${BC_IMP_REQUESTS:-4000}"
fi
IMP_CONNS="${BC_IMP_CONNS:-4}"; IMP_ITEMS="${BC_IMP_ITEMS:-10}"
PGPORT="${BC_PG_PORT:-25480}"; PORT="${BC_PORT:-27600}"
RS_TRAIN="${RS_TRAIN:-$BUILD/services/trainer/rs-train}"
DSN="host=127.0.0.1 port=$PGPORT user=postgres dbname=recsys"
HTTP="127.0.0.1:$((PORT + 80))"; URL="http://$HTTP"
SERVICES=(ingest feature candidate ranking gateway)
declare -A PID=()
mkdir -p "$WORK/log"
ME=bench/catalog/run.sh
say() { printf '%s\n' "$*" >&2; }

need=()
for svc in "${SERVICES[@]}"; do [ -x "$BUILD/services/$svc/rs-$svc" ] || need+=("rs-$svc"); done
[ -x "$RS_TRAIN" ] || need+=(rs-train)
BENCH="$BUILD/bench/catalog/rs-catalog-bench"
[ -x "$BENCH" ] || need+=(rs-catalog-bench)
if [ ${#need[@]} -gt 0 ]; then
  [ -f "$BUILD/CMakeCache.txt" ] || cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$BUILD" --target "${need[@]}" >"$WORK/log/build.log" 2>&1 \
    || { tail -n 20 "$WORK/log/build.log" >&2; exit 1; }
fi

stop() {
  local svc
  for svc in gateway ranking candidate feature ingest; do
    [ -n "${PID[$svc]:-}" ] && kill -TERM "${PID[$svc]}" 2>/dev/null || true
  done
  for svc in gateway ranking candidate feature ingest; do
    if [ -n "${PID[$svc]:-}" ]; then
      for _ in $(seq 1 100); do kill -0 "${PID[$svc]}" 2>/dev/null || break; sleep 0.05; done
      kill -KILL "${PID[$svc]}" 2>/dev/null || true
      wait "${PID[$svc]}" 2>/dev/null || true
    fi
  done
  "$ROOT/scripts/pg.sh" stop "$WORK/pg" >/dev/null 2>&1 || true
}
trap stop EXIT

# --- the shop -------------------------------------------------------------------------------
marker="users=$USERS items=$ITEMS"
"$ROOT/scripts/pg.sh" start "$WORK/pg" "$PGPORT" >/dev/null
if [ "$(cat "$WORK/pg/bench-data" 2>/dev/null)" != "$marker" ]; then
  say "== generating $marker (rs-train generate)"
  psql "$DSN" -X -q -v ON_ERROR_STOP=1 -c "set client_min_messages=warning; drop schema public cascade; create schema public" >/dev/null
  RS_INGEST_BIN="$BUILD/services/ingest/rs-ingest" "$ROOT/scripts/migrate.sh" "$DSN" >/dev/null 2>&1
  "$RS_TRAIN" generate --dsn "$DSN" --users "$USERS" --items "$ITEMS" >"$WORK/log/generate.log" 2>&1 \
    || { tail -n 20 "$WORK/log/generate.log" >&2; exit 1; }
  echo "$marker" >"$WORK/pg/bench-data"
else
  RS_INGEST_BIN="$BUILD/services/ingest/rs-ingest" "$ROOT/scripts/migrate.sh" "$DSN" >/dev/null 2>&1
fi
NEVENTS="$(psql "$DSN" -X -Atq -c 'select count(*) from events')"

# --- services -------------------------------------------------------------------------------
TOKEN="${RS_ADMIN_TOKEN:-bench-catalog-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')}"
export RS_ADMIN_TOKEN="$TOKEN" RS_PG_DSN="$DSN" RS_GATEWAY_HTTP="$HTTP" RS_LOG_LEVEL="${RS_LOG_LEVEL:-info}"
export RS_INGEST_URL="tcp://127.0.0.1:$((PORT + 1))" RS_INGEST_PUB_URL="tcp://127.0.0.1:$((PORT + 2))"
export RS_FEATURE_URL="tcp://127.0.0.1:$((PORT + 3))" RS_CANDIDATE_URL="tcp://127.0.0.1:$((PORT + 4))"
export RS_RANKING_URL="tcp://127.0.0.1:$((PORT + 5))" RS_INGEST_SPOOL_DIR="$WORK/spool"
export RS_INGEST_METRICS_ADDR=off RS_FEATURE_METRICS_ADDR=off RS_CANDIDATE_METRICS_ADDR=off RS_RANKING_METRICS_ADDR=off # no metrics listeners (they would take the default ports)
export RS_GATEWAY_ACCESS_LOG="${RS_GATEWAY_ACCESS_LOG:-0}"
for svc in "${SERVICES[@]}"; do
  "$BUILD/services/$svc/rs-$svc" >"$WORK/log/$svc.log" 2>&1 </dev/null &
  PID[$svc]=$!
done
ready=0
for _ in $(seq 1 600); do
  if curl -fsS "$URL/readyz" >/dev/null 2>&1; then ready=1; break; fi
  for svc in "${SERVICES[@]}"; do
    kill -0 "${PID[$svc]}" 2>/dev/null || { say "$ME: rs-$svc exited:"; tail -n 20 "$WORK/log/$svc.log" >&2; exit 1; }
  done
  sleep 0.1
done
[ $ready -eq 1 ] || { say "$ME: not ready after 60 s"; exit 1; }

echo "Catalog benchmark: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'),"
echo "$USERS users, $ITEMS items, $NEVENTS events; load average $(cut -d' ' -f1-3 /proc/loadavg)."
rc=0
"$BENCH" --url "$URL" --token "$TOKEN" --dsn "$DSN" --rounds "$ROUNDS" \
  --imp-requests "$IMP_REQUESTS" --imp-conns "$IMP_CONNS" --imp-items "$IMP_ITEMS" \
  --gw-pid "${PID[gateway]}" || rc=1
grep -h "candidate.catalog_applied" "$WORK/log/candidate.log" | tail -n 3 >&2 || true
for svc in "${SERVICES[@]}"; do
  kill -0 "${PID[$svc]}" 2>/dev/null || { say "$ME: rs-$svc died during the run"; rc=1; }
done
[ $rc -eq 0 ] || say "$ME: FAILED (logs in $WORK/log)"
exit $rc

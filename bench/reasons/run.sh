#!/usr/bin/env bash
# bench/reasons/run.sh: do the reasons tell the truth? Counts, on the demo shop of scripts/up.sh
# (1,000 customers, 3,000 items, 28 days, seed 42, the model `rs-train pipeline --quick`
# publishes), what the recommendations of customers 1..BR_USERS (k=BR_K) say against what the
# same answer shows (explain=1: the history, every item's sources and their because_item, the
# titles), and checks the non-personal lists (similar, bought-together, popular) and the
# ranking-down fallback. Prints one block of counts; exits 1 when any count that must be 0 is
# not (a reason naming an item no source of it gives, a wrong verb, "trending now" without the
# popular source, "you"/"your" on a non-personal list).
#
# Starts a private PostgreSQL, generates the shop and trains once (kept in $WORK between runs),
# starts the five services on private ports, measures, stops everything it started.
#
# Environment: BUILD (build: a Release or RelWithDebInfo build of the services and rs-train),
# WORK (var/bench-reasons), BR_USERS (40), BR_K (10), BR_PG_PORT (25539), BR_PORT (25540:
# ingest +1, pub +2, feature +3, candidate +4, ranking +5, HTTP +6).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD="${BUILD:-$ROOT/build}"
WORK="${WORK:-$ROOT/var/bench-reasons}"
NUSERS="${BR_USERS:-40}"; K="${BR_K:-10}"
PGPORT="${BR_PG_PORT:-25539}"; PORT="${BR_PORT:-25540}"
DSN="host=127.0.0.1 port=$PGPORT user=postgres dbname=recsys"
HTTP="127.0.0.1:$((PORT + 6))"; URL="http://$HTTP"
RS_TRAIN="$BUILD/services/trainer/rs-train"
SERVICES=(ingest feature candidate ranking gateway)
declare -A PID=()
ME=bench/reasons/run.sh
mkdir -p "$WORK/log" "$WORK/models"
say() { printf '%s\n' "$*" >&2; }
for svc in "${SERVICES[@]}"; do
  [ -x "$BUILD/services/$svc/rs-$svc" ] || { say "$ME: no $BUILD/services/$svc/rs-$svc (build first)"; exit 1; }
done
[ -x "$RS_TRAIN" ] || { say "$ME: no $RS_TRAIN"; exit 1; }

start_services() {
  local svc ready=0
  for svc in "${SERVICES[@]}"; do
    [ -n "${PID[$svc]:-}" ] && continue
    "$BUILD/services/$svc/rs-$svc" >>"$WORK/log/$svc.log" 2>&1 </dev/null &
    PID[$svc]=$!
  done
  for _ in $(seq 1 600); do
    if curl -fsS "$URL/readyz" >/dev/null 2>&1; then ready=1; break; fi
    for svc in "${SERVICES[@]}"; do
      kill -0 "${PID[$svc]}" 2>/dev/null || { say "$ME: rs-$svc exited:"; tail -n 20 "$WORK/log/$svc.log" >&2; exit 1; }
    done
    sleep 0.1
  done
  [ $ready -eq 1 ] || { say "$ME: not ready after 60 s"; exit 1; }
}
stop_one() {
  local svc="$1"
  [ -n "${PID[$svc]:-}" ] || return 0
  kill -TERM "${PID[$svc]}" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "${PID[$svc]}" 2>/dev/null || break; sleep 0.05; done
  kill -KILL "${PID[$svc]}" 2>/dev/null || true
  wait "${PID[$svc]}" 2>/dev/null || true
  unset "PID[$svc]"
}
stop_all() {
  local svc
  for svc in gateway ranking candidate feature ingest; do stop_one "$svc"; done
  "$ROOT/scripts/pg.sh" stop "$WORK/pg" >/dev/null 2>&1 || true
}
trap stop_all EXIT

# --- the demo shop and its model (as scripts/up.sh makes them), kept between runs ----------
"$ROOT/scripts/pg.sh" start "$WORK/pg" "$PGPORT" >/dev/null
RS_INGEST_BIN="$BUILD/services/ingest/rs-ingest" "$ROOT/scripts/migrate.sh" "$DSN" >/dev/null 2>&1
if [ "$(psql "$DSN" -X -Atqc 'select count(*) from events')" = 0 ]; then
  say "== demo shop (rs-train generate --users 1000 --items 3000 --days 28 --seed 42)"
  "$RS_TRAIN" generate --dsn "$DSN" --users 1000 --items 3000 --days 28 --seed 42 >"$WORK/log/generate.log" 2>&1 \
    || { tail -n 20 "$WORK/log/generate.log" >&2; exit 1; }
fi
export RS_MODEL_DIR="$WORK/models"
if [ -z "$(psql "$DSN" -X -Atqc 'select version from model_versions where active')" ]; then
  say "== training (rs-train pipeline --quick)"
  "$RS_TRAIN" pipeline --dsn "$DSN" --models-dir "$RS_MODEL_DIR" --quick >"$WORK/log/train.log" 2>&1 \
    || { tail -n 20 "$WORK/log/train.log" >&2; exit 1; }
fi
"$BUILD/services/gateway/rs-gateway" apikey create --dsn "$DSN" --name reasons \
  --key-file "$WORK/api-key" >"$WORK/log/apikey.log" 2>&1 || { cat "$WORK/log/apikey.log" >&2; exit 1; }

export RS_PG_DSN="$DSN" RS_GATEWAY_HTTP="$HTTP" RS_LOG_LEVEL=warn RS_INGEST_SPOOL_DIR="$WORK/spool"
export RS_INGEST_URL="tcp://127.0.0.1:$((PORT + 1))" RS_INGEST_PUB_URL="tcp://127.0.0.1:$((PORT + 2))"
export RS_FEATURE_URL="tcp://127.0.0.1:$((PORT + 3))" RS_CANDIDATE_URL="tcp://127.0.0.1:$((PORT + 4))"
export RS_RANKING_URL="tcp://127.0.0.1:$((PORT + 5))"
export RS_INGEST_METRICS_ADDR=off RS_FEATURE_METRICS_ADDR=off RS_CANDIDATE_METRICS_ADDR=off RS_RANKING_METRICS_ADDR=off # no metrics listeners (they would take the default ports)
# a request that opens a version or warms a cache may take longer than the default budget
export RS_GATEWAY_DEADLINE_MS="${RS_GATEWAY_DEADLINE_MS:-2000}"
start_services
# the ranking service loads the active version's ranker in the background: wait for it
for _ in $(seq 1 300); do
  curl -fsS "$URL/readyz" | grep -q "scorer=$(psql "$DSN" -X -Atqc 'select version from model_versions where active')" && break
  sleep 0.1
done

KEY="$(cat "$WORK/api-key")"
fetch() {  # fetch PATH FILE
  curl -fsS -H "Authorization: Bearer $KEY" "$URL$1" >"$2" || { say "$ME: GET $1 failed"; exit 1; }
}
OUT="$WORK/answers"; rm -rf "$OUT"; mkdir -p "$OUT/ranked" "$OUT/public" "$OUT/degraded"
for u in $(seq 1 "$NUSERS"); do fetch "/v1/users/$u/recommendations?k=$K&explain=1" "$OUT/ranked/$u.json"; done
for it in $(seq 1 "$NUSERS"); do
  fetch "/v1/items/$it/similar?k=$K" "$OUT/public/similar-$it.json"
  fetch "/v1/items/$it/bought-together?k=$K" "$OUT/public/bought-$it.json"
done
fetch "/v1/popular?k=50" "$OUT/public/popular.json"
# ranking down: candidate order, reasons from the sources (the gateway's fallback)
stop_one ranking
for u in $(seq 1 "$NUSERS"); do fetch "/v1/users/$u/recommendations?k=$K&explain=1" "$OUT/degraded/$u.json"; done

echo "Reasons on the demo shop: commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'), build $BUILD,"
echo "model $(psql "$DSN" -X -Atqc 'select version from model_versions where active'), customers 1..$NUSERS, k=$K, load $(cut -d' ' -f1-3 /proc/loadavg)"
python3 "$ROOT/bench/reasons/check.py" "$OUT"

#!/usr/bin/env bash
# bench/simulate/run.sh: a closed-loop A/B test on a private generated shop (rs-train simulate).
#
# Builds a private PostgreSQL cluster with a fresh `rs-train generate` shop whose history ends at
# the first simulated day (--end = UTC midnight SIM_DAYS days ago), publishes an ALS model and a
# two-stage model with `rs-train pipeline --quick --models als|two-stage` (each run publishes the
# best model of its list and activates it; the two-stage run comes last, so it is the active
# version), starts the five services on private ports, and runs
#   rs-train simulate --variant popular=popular --variant als=<ALS version>
#                     --variant two-stage=<two-stage version> --days SIM_DAYS ...
# which creates and starts the experiment, plays the simulated days through the gateway and
# prints each variant's KPIs with 95 % intervals and the lift over popularity, from the
# gateway's report. The report is also kept in $WORK/report.json, the output in $WORK/simulate.txt.
# SIM_RETRAIN=1: the model variants follow their kinds (--variant als=kind:als --variant
# two-stage=kind:two-stage) and simulate runs with --retrain --models-dir $WORK/models: after each
# day but the last it publishes a new ALS and two-stage version trained on the event store as it
# stands (not activated) and the next day is served by them; the output names the version of
# every day.
# Prints the commit and the load average before and after (the machine may be shared).
#
# Environment: BUILD (build), RS_TRAIN (rs-train binary), WORK (var/bench-simulate), SIM_USERS
# (1000), SIM_ITEMS (3000), SIM_SHOP_SEED (42), SIM_SEED (1), SIM_DAYS (7), SIM_K (10), SIM_RETRAIN (0),
# SIM_PG_PORT (25480), SIM_PORT (27600: ingest +1, pub +2, feature +3, candidate +4,
# ranking +5, HTTP +80). Any RS_* variable set by the caller reaches the services.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
[ $# -eq 0 ] || { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
BUILD="${BUILD:-$ROOT/build}"
WORK="${WORK:-$ROOT/var/bench-simulate}"
USERS="${SIM_USERS:-1000}"; ITEMS="${SIM_ITEMS:-3000}"; SHOP_SEED="${SIM_SHOP_SEED:-42}"
SEED="${SIM_SEED:-1}"; DAYS="${SIM_DAYS:-7}"; K="${SIM_K:-10}"; RETRAIN="${SIM_RETRAIN:-0}"
PGPORT="${SIM_PG_PORT:-25480}"; PORT="${SIM_PORT:-27600}"
RS_TRAIN="${RS_TRAIN:-$BUILD/services/trainer/rs-train}"
DSN="host=127.0.0.1 port=$PGPORT user=postgres dbname=recsys"
HTTP="127.0.0.1:$((PORT + 80))"; URL="http://$HTTP"
TOKEN="bench-simulate-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
SERVICES=(ingest feature candidate ranking gateway)
declare -A PID=()
ME=simulate/run.sh
mkdir -p "$WORK/log"
. "$ROOT/bench/serving/lib.sh"
trap bs_stop EXIT

need=()
for svc in "${SERVICES[@]}"; do [ -x "$BUILD/services/$svc/rs-$svc" ] || need+=("rs-$svc"); done
[ -x "$RS_TRAIN" ] || need+=(rs-train)
if [ ${#need[@]} -gt 0 ]; then
  [ -f "$BUILD/CMakeCache.txt" ] || cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$BUILD" --target "${need[@]}" >"$WORK/log/build.log" 2>&1 || { tail -n 20 "$WORK/log/build.log" >&2; exit 1; }
fi

say "== $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'), $(nproc) cores, load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
# --- a fresh shop whose history ends where the simulated days begin ------------------------
END=$(( ($(date -u +%s) / 86400 - DAYS) * 86400 ))
"$ROOT/scripts/pg.sh" start "$WORK/pg" "$PGPORT" >/dev/null
psql "$DSN" -X -q -v ON_ERROR_STOP=1 -c "set client_min_messages=warning; drop schema public cascade; create schema public" >/dev/null
"$ROOT/scripts/migrate.sh" "$DSN" >"$WORK/log/migrate.log" 2>&1 || { tail -n 20 "$WORK/log/migrate.log" >&2; exit 1; }
say "== rs-train generate --users $USERS --items $ITEMS --seed $SHOP_SEED --end $END ($(date -u -d "@$END" +%F))"
t0=$(date +%s)
"$RS_TRAIN" generate --dsn "$DSN" --users "$USERS" --items "$ITEMS" --seed "$SHOP_SEED" --end "$END" \
  >"$WORK/log/generate.log" 2>&1 || { tail -n 20 "$WORK/log/generate.log" >&2; exit 1; }
say "   $(tail -n 1 "$WORK/log/generate.log") ($(( $(date +%s) - t0 )) s)"

# --- the models: ALS, then two-stage (active) -------------------------------------------------
rm -rf "$WORK/models"; mkdir -p "$WORK/models"
publish() { # NAME MODELS: one pipeline run; prints the version it published
  local out
  t0=$(date +%s)
  "$RS_TRAIN" pipeline --dsn "$DSN" --models-dir "$WORK/models" --quick --models "$2" \
    --version "sim-$1" >"$WORK/log/pipeline-$1.log" 2>&1 || { tail -n 20 "$WORK/log/pipeline-$1.log" >&2; exit 1; }
  out="$(grep '^published ' "$WORK/log/pipeline-$1.log" | tail -n 1)"
  say "   $out ($(( $(date +%s) - t0 )) s)"
  [[ "$out" == "published sim-$1: $2,"* ]] || { say "$ME: the $2 run published another model: $out"; exit 1; }
}
say "== rs-train pipeline --quick --models als, then --models two-stage"
publish als als
publish two-stage two-stage

# --- the services ---------------------------------------------------------------------------
"$BUILD/services/gateway/rs-gateway" apikey create --dsn "$DSN" --name simulate \
  --key-file "$WORK/api-key" >"$WORK/log/apikey.log" 2>&1 || { cat "$WORK/log/apikey.log" >&2; exit 1; }
export RS_PG_DSN="$DSN" RS_GATEWAY_HTTP="$HTTP" RS_LOG_LEVEL="${RS_LOG_LEVEL:-info}"
export RS_INGEST_URL="tcp://127.0.0.1:$((PORT + 1))" RS_INGEST_PUB_URL="tcp://127.0.0.1:$((PORT + 2))"
export RS_FEATURE_URL="tcp://127.0.0.1:$((PORT + 3))" RS_CANDIDATE_URL="tcp://127.0.0.1:$((PORT + 4))"
export RS_RANKING_URL="tcp://127.0.0.1:$((PORT + 5))" RS_INGEST_SPOOL_DIR="$WORK/spool"
export RS_ADMIN_TOKEN="$TOKEN" RS_GATEWAY_ACCESS_LOG="${RS_GATEWAY_ACCESS_LOG:-0}"
export RS_MODEL_DIR="$WORK/models"  # the pipeline registers versions relative to its --models-dir
# The report's KPI query over ~1,000 customers x 7 days needs more than the default 5 s
# statement timeout on a busy 2-core machine (simulate prints how long it took).
export RS_GATEWAY_PG_TIMEOUT_MS="${RS_GATEWAY_PG_TIMEOUT_MS:-60000}"
rm -rf "$WORK/spool"
bs_start

# --- the simulation -------------------------------------------------------------------------
VARIANTS=(--variant popular=popular --variant als=sim-als --variant two-stage=sim-two-stage)
[ "$RETRAIN" = 1 ] && VARIANTS=(--variant popular=popular --variant als=kind:als
  --variant two-stage=kind:two-stage --retrain --models-dir "$WORK/models")
CMD=("$RS_TRAIN" simulate --url "$URL" --dsn "$DSN" --api-key-file "$WORK/api-key" "${VARIANTS[@]}"
     --shop-seed "$SHOP_SEED" --shop-users "$USERS" --shop-items "$ITEMS"
     --days "$DAYS" --k "$K" --seed "$SEED" --json "$WORK/report.json")
say "== rs-train simulate ${VARIANTS[*]//$WORK/\$WORK} --days $DAYS --k $K --seed $SEED"
t0=$(date +%s)
"${CMD[@]}" | tee "$WORK/simulate.txt"
say "== simulated in $(( $(date +%s) - t0 )) s; load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

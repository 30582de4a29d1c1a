#!/usr/bin/env bash
# bench/serving/publish_load.sh [--short]: zero failed requests while new model versions are
# published and activated under load.
#
# Same stack as run.sh (private PostgreSQL cluster, `rs-train generate` shop, the five services
# on private ports), plus: an ALS model fitted once on the shop's events (kept between runs),
# published as version v0 and active when the services start. Then, while
#   wrk -t2 -c<BS_CONNS> -d<BS_DURATION>s --latency -s bench/serving/publish_load.lua
# asks for recommendations of random users, a background job BS_SWITCHES times: publishes a new
# version (`rs-train publish` into a fresh folder + its model_versions row), activates it with
# the gateway's admin call (POST /v1/admin/models/{v}/activate) and polls until answers name it;
# at the end it rolls back to v0 the same way. Prints req/s, latency percentiles, non-2xx,
# degraded answers, socket errors, the answers per model_version and each switch (publish
# seconds, activate call ms, ms until the first answer named it), with the load average.
# Exit status 1 on any non-2xx answer, socket error or timeout, failed or unseen switch, or a
# service that died; timings and degraded answers never fail it.
#
# --short (CI): 1,000 users, 3,000 items, c16 for 8 s, 2 publishes + the rollback.
#
# Environment: BUILD (build), RS_TRAIN (rs-train binary), WORK (var/bench-publish[-short]),
# BS_USERS (10000), BS_ITEMS (20000), BS_CONNS (32), BS_DURATION (30), BS_SWITCHES (3; 0: the
# same load without any switch, for comparison), BS_K (10), BS_FACTORS (64), BS_ITERATIONS (4:
# ALS iterations; the model's quality does not matter here), BS_PG_PORT (25470), BS_PORT
# (27500: ingest +1, pub +2, feature +3, candidate +4, ranking +5, HTTP +80). Any RS_* variable
# set by the caller reaches the services (RS_GATEWAY_ACCESS_LOG defaults to 0 here). Run it
# under `flock /tmp/rs-serving.lock`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/bench/serving"
SHORT=0
for a in "$@"; do
  case "$a" in
    --short) SHORT=1 ;;
    *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
  esac
done
BUILD="${BUILD:-$ROOT/build}"
if [ $SHORT -eq 1 ]; then
  WORK="${WORK:-$ROOT/var/bench-publish-short}"
  USERS="${BS_USERS:-1000}"; ITEMS="${BS_ITEMS:-3000}"; CONNS="${BS_CONNS:-16}"
  DURATION="${BS_DURATION:-8}"; SWITCHES="${BS_SWITCHES:-2}"
else
  WORK="${WORK:-$ROOT/var/bench-publish}"
  USERS="${BS_USERS:-10000}"; ITEMS="${BS_ITEMS:-20000}"; CONNS="${BS_CONNS:-32}"
  DURATION="${BS_DURATION:-30}"; SWITCHES="${BS_SWITCHES:-3}"
fi
K="${BS_K:-10}"; FACTORS="${BS_FACTORS:-64}"; ITERATIONS="${BS_ITERATIONS:-4}"
PGPORT="${BS_PG_PORT:-25470}"; PORT="${BS_PORT:-27500}"
RS_TRAIN="${RS_TRAIN:-$BUILD/services/trainer/rs-train}"
DSN="host=127.0.0.1 port=$PGPORT user=postgres dbname=recsys"
HTTP="127.0.0.1:$((PORT + 80))"; URL="http://$HTTP"
TOKEN="bench-publish-load-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
SERVICES=(ingest feature candidate ranking gateway)
declare -A PID=()
SWITCH_PID=""
mkdir -p "$WORK/log"

now_ms() { date +%s%3N; }
ME=publish_load.sh
. "$HERE/lib.sh"
cleanup() {
  [ -n "$SWITCH_PID" ] && kill "$SWITCH_PID" 2>/dev/null || true
  bs_stop
}
bs_binaries
trap cleanup EXIT

# --- database and model ---------------------------------------------------------------------
bs_shop
BS_AUTH=key bs_apikey
[ "$BS_GENERATED" = 1 ] && rm -rf "$WORK/model"
marker="users=$USERS items=$ITEMS"
MODEL="$WORK/model"
model_marker="$marker als factors=$FACTORS iterations=$ITERATIONS"
if [ ! -f "$MODEL/manifest.json" ] || [ "$(cat "$WORK/model-params" 2>/dev/null)" != "$model_marker" ]; then
  say "== fitting ALS ($FACTORS factors, $ITERATIONS iterations) on the shop's events"
  rm -rf "$MODEL"
  psql "$DSN" -X -q -v ON_ERROR_STOP=1 -c "\\copy (select user_id as \"user\", item_id as item, (extract(epoch from ts) * 1000)::bigint as timestamp from events where type between 1 and 4 order by ts) to '$WORK/train.csv' csv header"
  t0=$(date +%s)
  "$RS_TRAIN" fit --train "$WORK/train.csv" --model als --factors "$FACTORS" --iterations "$ITERATIONS" \
    --out "$MODEL" >"$WORK/log/fit.log" 2>&1 || { tail -n 20 "$WORK/log/fit.log" >&2; exit 1; }
  say "   fitted in $(( $(date +%s) - t0 )) s"
  echo "$model_marker" >"$WORK/model-params"
fi
# Every run starts from an empty registry and fresh version folders (this private database's
# experiments name versions: they go with them).
rm -rf "$WORK/versions"; mkdir -p "$WORK/versions"
psql "$DSN" -X -q -v ON_ERROR_STOP=1 -c "truncate model_versions cascade" >/dev/null
RUN="$(date -u +%H%M%S)"

# publish V: a new immutable folder from the fitted model + its model_versions row (inactive).
publish() {
  "$RS_TRAIN" publish --model "$MODEL" --out "$WORK/versions/$1" >>"$WORK/log/publish.log" 2>&1 &&
    psql "$DSN" -X -q -v ON_ERROR_STOP=1 -c "insert into model_versions(version, path, params) values ('$1', '$WORK/versions/$1', '{\"bench\": \"publish_load\"}')" >/dev/null
}
# activate V: the admin call; prints the HTTP status.
activate() {
  curl -sS -o "$WORK/log/activate-$1.json" -w '%{http_code}' -X POST \
    -H "Authorization: Bearer $TOKEN" "$URL/v1/admin/models/$1/activate" || echo 000
}
# seen V: poll one user's recommendations until they name V (15 s at most); 0 if seen.
seen() {
  local end=$(( $(now_ms) + 15000 ))
  while [ "$(now_ms)" -lt "$end" ]; do
    curl -sS -H "Authorization: $BS_AUTHORIZATION" "$URL/v1/users/1/recommendations?k=1" 2>/dev/null | grep -Eq "\"model_version\" *: *\"$1\"" && return 0
    sleep 0.01
  done
  return 1
}

V0="pl-$RUN-0"
publish "$V0" || { say "publish_load.sh: publishing $V0 failed"; tail -n 5 "$WORK/log/publish.log" >&2; exit 1; }
psql "$DSN" -X -q -v ON_ERROR_STOP=1 -c "select rs_model_activate('$V0')" >/dev/null

# --- services -------------------------------------------------------------------------------
export RS_PG_DSN="$DSN" RS_GATEWAY_HTTP="$HTTP" RS_LOG_LEVEL="${RS_LOG_LEVEL:-info}"
export RS_INGEST_URL="tcp://127.0.0.1:$((PORT + 1))" RS_INGEST_PUB_URL="tcp://127.0.0.1:$((PORT + 2))"
export RS_FEATURE_URL="tcp://127.0.0.1:$((PORT + 3))" RS_CANDIDATE_URL="tcp://127.0.0.1:$((PORT + 4))"
export RS_RANKING_URL="tcp://127.0.0.1:$((PORT + 5))" RS_INGEST_SPOOL_DIR="$WORK/spool"
export RS_ADMIN_TOKEN="$TOKEN" RS_GATEWAY_ACCESS_LOG="${RS_GATEWAY_ACCESS_LOG:-0}"
bs_start
seen "$V0" || { say "publish_load.sh: the services never served $V0"; exit 1; }

export BS_USERS="$USERS" BS_K="$K"
fail=0
say "== warm-up: all $USERS users once"
"$FRESH_BIN" --url "$URL" --k "$K" --warm-users "$USERS" --warm-conns 8 --key-file "$WORK/api-key" >"$WORK/log/warmup.txt" 2>&1 \
  || { say "publish_load.sh: warm-up failed: $(cat "$WORK/log/warmup.txt")"; fail=1; }

# --- load with switches ---------------------------------------------------------------------
# The switch job: SWITCHES publishes + activations, then the rollback to v0, evenly spread.
GAP_MS=$(( DURATION * 1000 / (SWITCHES + 2) ))
switches() {
  local i v t0 t1 t2 code what pub
  [ "$SWITCHES" -gt 0 ] || return 0  # BS_SWITCHES=0: the same load without any switch (baseline)
  for i in $(seq 1 $((SWITCHES + 1))); do
    sleep "$(awk -v g="$GAP_MS" 'BEGIN { printf "%.3f", g / 1000 }')"
    if [ "$i" -le "$SWITCHES" ]; then
      v="pl-$RUN-$i"; t0=$(now_ms)
      if ! publish "$v"; then echo "switch $i $v FAILED publish"; continue; fi
      what="publish+activate"
    else
      v="$V0"; what="rollback"
    fi
    t1=$(now_ms); code="$(activate "$v")"; t2=$(now_ms)
    if [ "$code" != 200 ]; then echo "switch $i $v FAILED activate HTTP $code"; continue; fi
    if seen "$v"; then
      pub=""; [ "$what" = rollback ] || pub="publish_ms=$((t1 - t0)) "
      echo "switch $i $what $v ${pub}activate_ms=$((t2 - t1)) seen_after_ms=$(( $(now_ms) - t2 ))"
    else
      echo "switch $i $v FAILED never seen"
    fi
  done
}

la0="$(cut -d' ' -f1-3 /proc/loadavg)"
switches >"$WORK/log/switches.txt" 2>&1 &
SWITCH_PID=$!
out="$(wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency -s "$HERE/publish_load.lua" "$URL" 2>&1)" || true
wait "$SWITCH_PID" || true
SWITCH_PID=""
la1="$(cut -d' ' -f1-3 /proc/loadavg)"
echo "$out" >"$WORK/log/wrk.txt"
res="$(grep '^RESULT' <<<"$out" || true)"
vers="$(sed -n 's/^VERSIONS //p' <<<"$out")"
[ -n "$res" ] || { say "publish_load.sh: wrk failed: $out"; exit 1; }
kv() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $res"; }

echo "Publish under load: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'),"
plan="$SWITCHES publishes + 1 rollback"; [ "$SWITCHES" -gt 0 ] || plan="no switch (baseline)"
echo "$USERS users, $ITEMS items, $NEVENTS events, ALS $FACTORS factors, k=$K; $plan during wrk -t2 -c$CONNS -d${DURATION}s."
echo
echo "| req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | non-2xx | degraded | sock err | answers per model_version | load before -> after |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s -> %s |\n' \
  "$(kv rps)" "$(kv p50_ms)" "$(kv p90_ms)" "$(kv p99_ms)" "$(kv p999_ms)" "$(kv max_ms)" \
  "$(kv non2xx)" "$(kv degraded)" "$(( $(kv sock_errors) + $(kv timeouts) ))" "$vers" "$la0" "$la1"
echo
sed 's/^/    /' "$WORK/log/switches.txt"

[ "$(kv non2xx)" = 0 ] && [ "$(kv sock_errors)" = 0 ] && [ "$(kv timeouts)" = 0 ] || fail=1
grep -q FAILED "$WORK/log/switches.txt" && fail=1
nsw=$(( SWITCHES > 0 ? SWITCHES + 1 : 0 ))
[ "$(grep -c '^switch' "$WORK/log/switches.txt" || true)" -eq "$nsw" ] || fail=1
for i in $(seq 0 "$SWITCHES"); do
  grep -q "pl-$RUN-$i=" <<<"$vers" || { say "publish_load.sh: no answer named pl-$RUN-$i"; fail=1; }
done
for svc in "${SERVICES[@]}"; do
  kill -0 "${PID[$svc]}" 2>/dev/null || { say "publish_load.sh: rs-$svc died during the run"; fail=1; }
done
if [ $fail -ne 0 ]; then
  say "publish_load.sh: FAILED (errors above; logs in $WORK/log)"
  exit 1
fi

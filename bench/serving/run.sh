#!/usr/bin/env bash
# bench/serving/run.sh [--short] [--fresh-db] [--retrain]: recommendation serving speed of the
# system that ships (the two-stage model published by `rs-train pipeline`, as scripts/up.sh
# does), cold and warm, and the freshness of events.
#
# Starts a private PostgreSQL cluster, applies the migrations, generates a shop with
# `rs-train generate` (BS_USERS customers, BS_ITEMS items; kept between runs in $WORK unless
# --fresh-db or other sizes are asked for), trains and publishes a model version with
#   rs-train pipeline --dsn DSN --models-dir $WORK/models $BS_PIPELINE_ARGS
# (kept between runs with the shop; --retrain trains a new one) and refuses to measure unless
# the active version is a two-stage model with its ranker. Then it starts the five services on
# private ports serving that version and measures, for every connection count C:
#   cold: the services and PostgreSQL freshly (re)started, the services idle again (their
#         start-up work done), every customer 1..BS_USERS once, in turn, over C
#         keep-alive connections (rs-serving-fresh --warm-users: the feature service loads each
#         history from PostgreSQL on first sight, candidate and ranking see each user once);
#   warm: after the cold passes and BS_WARMUP s of load, BS_REPEAT runs of
#         wrk -t2 -c<C> -d<BS_DURATION>s --latency -s bench/serving/recs.lua (random customers).
# Between the two it checks the answers (check_answers.py, explain=1 for BS_CHECK customers):
# every answer is ranked by the learned ranker (explain's ranking.ranker == "xgboost") with
# the published version, every retrieval source that applies to the version (covisit,
# bought_together, category, popular; als when it has item factors, itemknn when it has
# neighbours, metadata when the catalog has items the version does not know) produced
# candidates, and every ranker source rs-candidate serves (the manifest's, without ease) reached
# the ranker. One markdown row per pass: req/s, p50/p90/p99/p99.9/max latency, non-2xx,
# degraded, socket errors, CPU ms per answered request of each service and of the private
# PostgreSQL (CPU time of the process / requests: the least noisy number on a shared machine),
# their sum over the five services, how busy the whole machine was and the load average.
# Impressions: the gateway records every list it serves (services/gateway/impressions.h: queued,
# COPYed in batches by a writer thread, one `impressions` row per list). BS_IMPRESSIONS=on (the
# default: what ships) measures with it, off with RS_GATEWAY_RECORD_IMPRESSIONS=0; both runs
# every warm pass twice, without ("warm") and with ("warm+imp"), one after the other on the
# same stack (only the gateway is restarted with the other setting before a pass, then warmed
# BS_WARMUP s), and the summary says what recording costs in throughput and in CPU per answer
# (the five services, PostgreSQL, and both; a recording pass's CPU is read once the gateway's
# queue is empty and `impressions` is vacuumed and analyzed, so the work its lists cause is its
# own and not the next pass's). Every pass that records checks afterwards that
# every answer's list was stored (rows written / answers; lists the full queue dropped count as
# missing). The run starts with an empty `impressions` table, so runs stay comparable.
# Then rs-serving-fresh posts BS_FRESH_N events for brand-new customers and reports how long
# until their recommendations change (p50/p90/p99). Everything started is stopped at exit.
#
# Exit status 1 on any non-2xx answer, socket error, timeout, failed check, freshness event
# that never showed or service that died; timings never fail it.
#
# --short (CI): 1,000 customers, 3,000 items, cold pass and 5 s warm at c16, 20 freshness
# events (~1 min with the pipeline's training on a fresh database).
#
# Environment: BUILD (build), RS_TRAIN (rs-train binary), BS_FRESH_BIN (rs-serving-fresh; the
# build's), WORK (var/bench-serving[-short]),
# BS_USERS (10000), BS_ITEMS (20000), BS_PIPELINE_ARGS ("--quick --models two-stage"),
# BS_CONNS ("4 8 16"), BS_COLD_CONNS (BS_CONNS; "" = no cold pass), BS_DURATION (15),
# BS_REPEAT (1), BS_WARMUP (5), BS_CHECK (100), BS_K (10), BS_FRESH_N (200), BS_IMPRESSIONS
# (on | off | both), BS_TRANSPORT
# (tcp | ipc: the four rs_rpc hops over Unix sockets), BS_AUTH (key: every request sends the
# benchmark's API key, made with `rs-gateway apikey create` into $WORK/api-key; token: the admin
# token RS_ADMIN_TOKEN instead, to compare what the key check costs), BS_PG_PORT (25470),
# BS_PORT (27500: ingest +1, pub +2, feature +3, candidate +4, ranking +5, HTTP +80). Any RS_*
# variable set by the caller reaches the services (e.g. RS_GATEWAY_THREADS=8,
# RS_CANDIDATE_WORKERS=2, RS_GATEWAY_ACCESS_LOG=0). Run it under `flock /tmp/rs-serving.lock`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/bench/serving"
SHORT=0; FRESH_DB=0; RETRAIN=0
for a in "$@"; do
  case "$a" in
    --short) SHORT=1 ;;
    --fresh-db) FRESH_DB=1 ;;
    --retrain) RETRAIN=1 ;;
    *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
  esac
done
BUILD="${BUILD:-$ROOT/build}"
if [ $SHORT -eq 1 ]; then
  WORK="${WORK:-$ROOT/var/bench-serving-short}"
  USERS="${BS_USERS:-1000}"; ITEMS="${BS_ITEMS:-3000}"; CONNS="${BS_CONNS:-16}"
  DURATION="${BS_DURATION:-5}"; WARMUP="${BS_WARMUP:-2}"; FRESH_N="${BS_FRESH_N:-20}"
  CHECK="${BS_CHECK:-40}"
else
  WORK="${WORK:-$ROOT/var/bench-serving}"
  USERS="${BS_USERS:-10000}"; ITEMS="${BS_ITEMS:-20000}"; CONNS="${BS_CONNS:-4 8 16}"
  DURATION="${BS_DURATION:-15}"; WARMUP="${BS_WARMUP:-5}"; FRESH_N="${BS_FRESH_N:-200}"
  CHECK="${BS_CHECK:-100}"
fi
COLD_CONNS="${BS_COLD_CONNS-$CONNS}"
PIPELINE_ARGS="${BS_PIPELINE_ARGS:---quick --models two-stage}"
REPEAT="${BS_REPEAT:-1}"; K="${BS_K:-10}"; TRANSPORT="${BS_TRANSPORT:-tcp}"
IMPRESSIONS="${BS_IMPRESSIONS:-on}"
case "$IMPRESSIONS" in
  off) IMP_PASSES="warm"; RECORD=0 ;;
  on) IMP_PASSES="warm+imp"; RECORD=1 ;;
  both) IMP_PASSES="warm warm+imp"; RECORD=0 ;;
  *) echo "run.sh: BS_IMPRESSIONS must be on, off or both" >&2; exit 2 ;;
esac
PGPORT="${BS_PG_PORT:-25470}"; PORT="${BS_PORT:-27500}"
RS_TRAIN="${RS_TRAIN:-$BUILD/services/trainer/rs-train}"
DSN="host=127.0.0.1 port=$PGPORT user=postgres dbname=recsys"
HTTP="127.0.0.1:$((PORT + 80))"; URL="http://$HTTP"
MODELS="$WORK/models"
SERVICES=(ingest feature candidate ranking gateway)
declare -A PID=()
mkdir -p "$WORK/log" "$WORK/run"

ME=run.sh
. "$HERE/lib.sh"
bs_binaries
trap bs_stop EXIT

# --- database -------------------------------------------------------------------------------
if [ $FRESH_DB -eq 1 ]; then bs_shop fresh; else bs_shop; fi
bs_apikey

# --- the model version: rs-train pipeline, kept with the shop -------------------------------
q() { psql "$DSN" -X -Atq -v ON_ERROR_STOP=1 -c "$1"; }
model_marker="users=$USERS items=$ITEMS pipeline=$PIPELINE_ARGS"
active="$(q "select version from model_versions where active")"
if [ "$BS_GENERATED" = 1 ] || [ $RETRAIN -eq 1 ] || [ -z "$active" ] ||
   [ "$(cat "$MODELS/bench-model" 2>/dev/null)" != "$model_marker" ] || [ ! -d "$MODELS/$active" ]; then
  say "== training and publishing: rs-train pipeline $PIPELINE_ARGS (log: $WORK/log/pipeline.log)"
  rm -rf "$MODELS"; mkdir -p "$MODELS"
  q "delete from model_versions" >/dev/null
  t0=$(date +%s)
  # shellcheck disable=SC2086  # PIPELINE_ARGS is a list of flags
  "$RS_TRAIN" pipeline --dsn "$DSN" --models-dir "$MODELS" $PIPELINE_ARGS >"$WORK/log/pipeline.log" 2>&1 \
    || { tail -n 20 "$WORK/log/pipeline.log" >&2; say "$ME: rs-train pipeline failed"; exit 1; }
  say "   $(tail -n 1 "$WORK/log/pipeline.log") ($(( $(date +%s) - t0 )) s)"
  echo "$model_marker" >"$MODELS/bench-model"
  active="$(q "select version from model_versions where active")"
fi
VERSION="$active"
[ -n "$VERSION" ] && [ -f "$MODELS/$VERSION/manifest.json" ] \
  || { say "$ME: no active model version with a folder in $MODELS"; exit 1; }
# what the version is and which sources apply to it (see the header)
read -r KIND RANKER_SOURCES HAS_FACTORS HAS_NB MODEL_ITEMS < <(python3 - "$MODELS/$VERSION" <<'EOF'
import json, os, sys
d = sys.argv[1]
m = json.load(open(os.path.join(d, "manifest.json")))
pub = m.get("published") or {}
rk = pub.get("ranker") or {}
srcs = ",".join(s for s in rk.get("sources") or [] if s != "ease") or "-"
print(m.get("model", "?"), srcs, int(bool(pub.get("item_factors"))), int(bool(pub.get("neighbours"))),
      (m.get("data") or {}).get("items", 0))
EOF
)
if [ "$KIND" != two-stage ] || [ ! -f "$MODELS/$VERSION/ranker.json" ] || [ "$RANKER_SOURCES" = - ]; then
  say "$ME: the active version $VERSION is a \"$KIND\" model without a served learned ranker, not" \
      "the two-stage model this benchmark measures (pipeline args: $PIPELINE_ARGS; --retrain)"
  exit 1
fi
SOURCES="covisit,bought_together,category,popular"
[ "$HAS_FACTORS" = 1 ] && SOURCES="$SOURCES,als"
[ "$HAS_NB" = 1 ] && SOURCES="$SOURCES,itemknn"
CATALOG_ITEMS="$(q "select count(*) from items where available")"
[ "$CATALOG_ITEMS" -gt "$MODEL_ITEMS" ] && SOURCES="$SOURCES,metadata"

# --- services -------------------------------------------------------------------------------
if [ "$TRANSPORT" = ipc ]; then
  ep() { echo "ipc://$WORK/run/$1.sock"; }
else
  ep() { echo "tcp://127.0.0.1:$((PORT + $2))"; }
fi
export RS_PG_DSN="$DSN" RS_GATEWAY_HTTP="$HTTP" RS_LOG_LEVEL="${RS_LOG_LEVEL:-info}"
export RS_INGEST_URL="$(ep ingest 1)" RS_INGEST_PUB_URL="$(ep pub 2)" RS_FEATURE_URL="$(ep feature 3)"
export RS_CANDIDATE_URL="$(ep candidate 4)" RS_RANKING_URL="$(ep ranking 5)"
export RS_INGEST_SPOOL_DIR="$WORK/spool" RS_MODEL_DIR="$MODELS"
export RS_GATEWAY_RECORD_IMPRESSIONS="$RECORD"
q "truncate impressions" >/dev/null

# wait_model: until an answer (for a customer id nobody has: no cache is warmed) names the
# version and was ranked by the learned ranker (the services load the version in the
# background after /readyz); 60 s at most.
wait_model() {
  local u=$((USERS + 1000000)) body
  for _ in $(seq 1 600); do
    body="$(curl -sS -H "Authorization: $BS_AUTHORIZATION" "$URL/v1/users/$u/recommendations?k=1&explain=1" 2>/dev/null || true)"
    if grep -q "\"model_version\":\"$VERSION\"" <<<"$body" && grep -q '"ranker":"xgboost"' <<<"$body" &&
       ! grep -q '"degraded":true' <<<"$body"; then
      return 0
    fi
    sleep 0.1
  done
  say "$ME: the services never served $VERSION with the learned ranker: $body"
  exit 1
}
cpu_ticks() {  # utime+stime of a pid in clock ticks
  awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0
}
# settle: until the services are idle (their start-up work, e.g. candidate's first snapshot
# and the model's load, is done: under 3 clock ticks of CPU in half a second), 30 s at most,
# so a cold pass measures cold caches, not start-up.
settle() {
  local svc t prev=-1 now
  for _ in $(seq 1 60); do
    now=0
    for svc in "${SERVICES[@]}"; do t=$(cpu_ticks "${PID[$svc]}"); now=$((now + t)); done
    [ "$prev" -ge 0 ] && [ $((now - prev)) -lt 3 ] && return 0
    prev=$now
    sleep 0.5
  done
}
bs_start
wait_model

# recording ON|OFF: restarts only the gateway with RS_GATEWAY_RECORD_IMPRESSIONS=ON (when it
# differs), waits for it, and warms it (its connections and cached popular list).
recording() {
  [ "$RS_GATEWAY_RECORD_IMPRESSIONS" = "$1" ] && return 0
  kill -TERM "${PID[gateway]}" 2>/dev/null || true
  wait "${PID[gateway]}" 2>/dev/null || true
  export RS_GATEWAY_RECORD_IMPRESSIONS="$1"
  "$BUILD/services/gateway/rs-gateway" >>"$WORK/log/gateway.log" 2>&1 </dev/null &
  PID[gateway]=$!
  for _ in $(seq 1 600); do curl -fsS "$URL/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
  wait_model
  wrk -t2 -c16 -d"${WARMUP}s" -s "$HERE/recs.lua" "$URL" >>"$WORK/log/warmup.txt" 2>&1 || true
}
# drained: until the gateway's impressions queue is empty (rs_gateway_impressions_queued 0 in
# its /metrics), 60 s at most; stored_lists: the rows of impressions then
drained() {
  local n=""
  for _ in $(seq 1 600); do
    n="$(curl -fsS "$URL/metrics" 2>/dev/null | sed -n 's/^rs_gateway_impressions_queued{[^}]*} \([0-9.e+]*\)$/\1/p')"
    [ "$n" = 0 ] && return 0
    sleep 0.1
  done
  say "$ME: the gateway's impressions queue never drained (${n:-no gauge} items left)"; fail=1
}
stored_lists() { drained; q "select count(*) from impressions"; }

# --- load -----------------------------------------------------------------------------------
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
pg_ticks() {  # the private cluster: postmaster and its children
  local pm; pm="$(head -n 1 "$WORK/pg/data/postmaster.pid" 2>/dev/null || echo 0)"
  { echo "$pm"; pgrep -P "$pm" 2>/dev/null || true; } | while read -r p; do cpu_ticks "$p"; done | awk '{ s += $1 } END { print s + 0 }'
}
busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat; }
export BS_USERS="$USERS" BS_K="$K"
HZ="$(getconf CLK_TCK)"
fail=0
declare -A COLD_RPS=() WARM_RPS=() WARM_P99=() WARM_CPU=() WARM_PG=() IMP_RPS=() IMP_P99=() IMP_CPU=() IMP_PG=()
STORED_MSG=""

# measured LABEL C CMD...: runs CMD (which prints a RESULT line), prints the row.
measured() {
  local label="$1" c="$2" svc d dsum=0 cpu="" out res la0 la1 pg0 pg1 b0 a0 b1 a1 rows0=0
  shift 2
  if [ "$RS_GATEWAY_RECORD_IMPRESSIONS" = 1 ]; then rows0="$(stored_lists)"; fi
  declare -A t0c=()
  for svc in "${SERVICES[@]}"; do t0c[$svc]=$(cpu_ticks "${PID[$svc]}"); done
  pg0=$(pg_ticks); read -r b0 a0 < <(busy_ticks)
  la0="$(loadavg)"
  out="$("$@" 2>&1)" || true
  # the pass's lists written, and the table vacuumed and analyzed (what autovacuum would do
  # for them later, in another pass), before its CPU is read: PostgreSQL's share included
  if [ "$RS_GATEWAY_RECORD_IMPRESSIONS" = 1 ]; then drained; q "vacuum (analyze) impressions" >/dev/null; fi
  echo "$out" >>"$WORK/log/$label-c$c.txt"
  la1="$(loadavg)"
  pg1=$(pg_ticks); read -r b1 a1 < <(busy_ticks)
  res="$(grep '^RESULT' <<<"$out" || true)"
  if [ -z "$res" ]; then say "$ME: $label c$c failed: $out"; fail=1; return; fi
  kv() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $res"; }
  local n; n="$(kv requests)"
  ms() { awk -v d="$1" -v hz="$HZ" -v n="$n" 'BEGIN { printf "%.3f", (n > 0 ? 1000 * d / hz / n : 0) }'; }
  for svc in gateway feature candidate ranking ingest; do
    d=$(( $(cpu_ticks "${PID[$svc]}") - ${t0c[$svc]} )); dsum=$((dsum + d))
    cpu="$cpu${cpu:+ / }$(ms "$d")"
  done
  cpu="$cpu / $(ms $((pg1 - pg0)))"
  local busy; busy="$(awk -v b="$((b1 - b0))" -v a="$((a1 - a0))" 'BEGIN { printf "%.0f", (a > 0 ? 100 * b / a : 0) }')"
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | **%s** | %s | %s -> %s |\n' \
    "$label" "$c" "$(kv rps)" "$(kv p50_ms)" "$(kv p90_ms)" "$(kv p99_ms)" "$(kv p999_ms)" \
    "$(kv max_ms)" "$(kv non2xx)" "$(kv degraded)" "$(( $(kv sock_errors) + $(kv timeouts) ))" \
    "$cpu" "$(ms "$dsum")" "$busy" "$la0" "$la1"
  if [ "$(kv non2xx)" != 0 ] || [ "$(kv sock_errors)" != 0 ] || [ "$(kv timeouts)" != 0 ]; then fail=1; fi
  if [ "$RS_GATEWAY_RECORD_IMPRESSIONS" = 1 ]; then  # every answer's list stored?
    local rows1; rows1="$(q "select count(*) from impressions")"
    STORED_MSG="$STORED_MSG${STORED_MSG:+; }$label c$c $((rows1 - rows0)) lists / $n answers"
    # wrk counts the answers it read; up to C more may have been served when it stopped
    if [ "$((rows1 - rows0))" -lt "$n" ] || [ "$((rows1 - rows0))" -gt "$((n + c))" ]; then
      say "$ME: $label c$c: $n answers but $((rows1 - rows0)) impression lists stored"; fail=1
    fi
  fi
  if [ "$label" = cold ]; then COLD_RPS[$c]="$(kv rps)"
  elif [ "$label" = warm+imp ]; then IMP_RPS[$c]="${IMP_RPS[$c]:-} $(kv rps)"; IMP_P99[$c]="${IMP_P99[$c]:-} $(kv p99_ms)"; IMP_CPU[$c]="${IMP_CPU[$c]:-} $(ms "$dsum")"; IMP_PG[$c]="${IMP_PG[$c]:-} $(ms $((pg1 - pg0)))"
  else WARM_RPS[$c]="${WARM_RPS[$c]:-} $(kv rps)"; WARM_P99[$c]="${WARM_P99[$c]:-} $(kv p99_ms)"; WARM_CPU[$c]="${WARM_CPU[$c]:-} $(ms "$dsum")"; WARM_PG[$c]="${WARM_PG[$c]:-} $(ms $((pg1 - pg0)))"; fi
}

echo "Serving benchmark: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1)),"
echo "commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo '+changes'), binaries $BUILD, $USERS customers, $ITEMS items, $NEVENTS events, k=$K, transport $TRANSPORT."
echo "Model: $VERSION ($KIND, ranker sources served: $RANKER_SOURCES; rs-train pipeline $PIPELINE_ARGS)."
echo "Settings: $(env | grep -E '^RS_(GATEWAY_(THREADS|ACCESS_LOG|DEADLINE_MS)|[A-Z]+_WORKERS|LOG_LEVEL)=' | sort | tr '\n' ' ')BS_AUTH=${BS_AUTH:-key}"
echo
echo "| pass | conns | req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | non-2xx | degraded | sock err | CPU ms/req gw / feat / cand / rank / ingest / pg | CPU ms/req 5 services | machine busy % | load before -> after |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for c in $COLD_CONNS; do
  # every cold pass starts from freshly started services and PostgreSQL (empty caches and
  # shared buffers; the OS page cache stays)
  bs_stop_services
  "$ROOT/scripts/pg.sh" stop "$WORK/pg" >/dev/null
  "$ROOT/scripts/pg.sh" start "$WORK/pg" "$PGPORT" >/dev/null
  bs_start append
  wait_model
  settle
  measured cold "$c" "$FRESH_BIN" --url "$URL" --k "$K" --warm-users "$USERS" --warm-conns "$c" --key-file "$WORK/api-key"
done
if [ -z "$COLD_CONNS" ]; then  # no cold pass: warm every customer once before the checks
  "$FRESH_BIN" --url "$URL" --k "$K" --warm-users "$USERS" --warm-conns 8 --key-file "$WORK/api-key" >"$WORK/log/warmup.txt" 2>&1 \
    || { say "$ME: warm-up failed: $(head -n 1 "$WORK/log/warmup.txt")"; fail=1; }
fi

chk="$(python3 "$HERE/check_answers.py" --url "$URL" --key-file "$WORK/api-key" --users "$USERS" \
  --sample "$CHECK" --k "$K" --version "$VERSION" --sources "$SOURCES" --ranker-sources "$RANKER_SOURCES" 2>"$WORK/log/check.txt")" \
  || { say "$ME: the answers are not what this benchmark measures:"; cat "$WORK/log/check.txt" >&2; fail=1; }

wrk -t2 -c16 -d"${WARMUP}s" -s "$HERE/recs.lua" "$URL" >>"$WORK/log/warmup.txt" 2>&1 || true
for c in $CONNS; do
  for _ in $(seq 1 "$REPEAT"); do
    for pass in $IMP_PASSES; do
      if [ "$IMPRESSIONS" = both ]; then
        if [ "$pass" = warm+imp ]; then recording 1; else recording 0; fi
      fi
      measured "$pass" "$c" wrk -t2 -c"$c" -d"${DURATION}s" --latency -s "$HERE/recs.lua" "$URL"
    done
  done
done
echo
echo "Checked: $chk"
summary=""
for c in $CONNS; do
  for pass in $IMP_PASSES; do  # warm (not recording impressions) and/or warm+imp (recording)
    if [ "$pass" = warm ]; then rps="${WARM_RPS[$c]:-}"; p99="${WARM_P99[$c]:-}"
    else rps="${IMP_RPS[$c]:-}"; p99="${IMP_P99[$c]:-}"; fi
    best="$(tr ' ' '\n' <<<"$rps" | sed '/^$/d' | sort -g | tail -n 1)"
    [ -n "$best" ] || continue
    summary="$summary${summary:+; }c$c $pass $best req/s (p99 $(xargs <<<"$p99" | tr ' ' '/') ms)"
    [ -n "${COLD_RPS[$c]:-}" ] && summary="$summary, cold $(awk -v a="${COLD_RPS[$c]}" -v b="$best" 'BEGIN { printf "%.0f req/s = %.2f x %s", a, a / b, "'"$pass"'" }')"
  done
done
[ -n "$summary" ] || { say "$ME: no warm pass was measured"; fail=1; }
echo "Summary: $summary."
[ -n "$STORED_MSG" ] && echo "Impressions stored (rows of \`impressions\` written during the pass / answers): $STORED_MSG."
if [ "$IMPRESSIONS" = both ]; then
  imp=""
  # the median (of an even count: the mean of the middle two)
  med() { tr ' ' '\n' <<<"$1" | sed '/^$/d' | sort -g | awk '{ a[NR] = $1 } END { if (!NR) print ""; else if (NR % 2) print a[(NR + 1) / 2]; else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
  pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.1f %%", (a > 0 ? 100 * (b - a) / a : 0) }'; }
  for c in $CONNS; do
    r0="$(med "${WARM_RPS[$c]:-}")"; r1="$(med "${IMP_RPS[$c]:-}")"
    c0="$(med "${WARM_CPU[$c]:-}")"; c1="$(med "${IMP_CPU[$c]:-}")"
    p0="$(med "${WARM_PG[$c]:-}")"; p1="$(med "${IMP_PG[$c]:-}")"
    [ -n "$r0" ] && [ -n "$r1" ] || continue
    t0="$(awk -v a="$c0" -v b="$p0" 'BEGIN { printf "%.3f", a + b }')"
    t1="$(awk -v a="$c1" -v b="$p1" 'BEGIN { printf "%.3f", a + b }')"
    imp="$imp${imp:+; }c$c $r0 -> $r1 answers/s ($(pct "$r0" "$r1")), CPU ms per answer: 5 services $c0 -> $c1 ($(pct "$c0" "$c1")), PostgreSQL $p0 -> $p1, both $t0 -> $t1 ($(pct "$t0" "$t1"))"
  done
  echo "Recording impressions (median of BS_REPEAT passes, off -> on): $imp."
fi

# --- freshness ------------------------------------------------------------------------------
echo
fr="$("$FRESH_BIN" --url "$URL" --n "$FRESH_N" --k "$K" --key-file "$WORK/api-key")" || fail=1
echo "Freshness (POST /v1/events returned -> recommendations changed), $FRESH_N new customers, one view each:"
echo "\`$fr\`"
for svc in "${SERVICES[@]}"; do
  kill -0 "${PID[$svc]}" 2>/dev/null || { say "$ME: rs-$svc died during the run"; fail=1; }
done
if [ $fail -ne 0 ]; then
  say "$ME: FAILED (errors above; logs in $WORK/log)"
  exit 1
fi

#!/usr/bin/env bash
# bench/serving/run.sh [--short] [--fresh-db]: recommendation serving speed of the full stack on
# this machine, and the freshness of events.
#
# Starts a private PostgreSQL cluster, applies the migrations, generates a shop with
# `rs-train generate` (BS_USERS users, BS_ITEMS items; kept between runs in $WORK unless
# --fresh-db or other sizes are asked for), starts the five services on private ports, waits
# for /readyz, warms up, then for every connection count in BS_CONNS runs BS_REPEAT times
#   wrk -t2 -c<C> -d<BS_DURATION>s --latency -s bench/serving/recs.lua
# (random users 1..BS_USERS, k=BS_K) and prints one markdown row per run: req/s, p50, p90, p99,
# p99.9, max, non-2xx, degraded answers, socket errors, each service's CPU use and the load
# average. Then rs-serving-fresh posts BS_FRESH_N events for brand-new users and reports how
# long until their recommendations change (p50/p90/p99). Everything started is stopped at exit.
#
# --short (CI): 1,000 users and 3,000 items, c16 for 5 s, 20 freshness events; fails only on
# errors (non-2xx, socket errors, events that never show), never on timings.
#
# Environment: BUILD (build), RS_TRAIN (rs-train binary), WORK (var/bench-serving[-short]),
# BS_USERS (10000), BS_ITEMS (20000), BS_CONNS ("16 32 64"), BS_DURATION (20), BS_REPEAT (1),
# BS_WARMUP (5), BS_K (10), BS_FRESH_N (200), BS_TRANSPORT (tcp | ipc: the four rs_rpc hops over
# Unix sockets), BS_AUTH (key: every request sends the benchmark's API key, made with
# `rs-gateway apikey create` into $WORK/api-key; token: the admin token RS_ADMIN_TOKEN instead,
# to compare what the key check costs), BS_PG_PORT (25470), BS_PORT (27500: ingest +1, pub +2, feature +3,
# candidate +4, ranking +5, HTTP +80). Any RS_* variable set by the caller reaches the services
# (e.g. RS_GATEWAY_THREADS=8, RS_CANDIDATE_WORKERS=2, RS_GATEWAY_ACCESS_LOG=0).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/bench/serving"
SHORT=0; FRESH_DB=0
for a in "$@"; do
  case "$a" in
    --short) SHORT=1 ;;
    --fresh-db) FRESH_DB=1 ;;
    *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
  esac
done
BUILD="${BUILD:-$ROOT/build}"
if [ $SHORT -eq 1 ]; then
  WORK="${WORK:-$ROOT/var/bench-serving-short}"
  USERS="${BS_USERS:-1000}"; ITEMS="${BS_ITEMS:-3000}"; CONNS="${BS_CONNS:-16}"
  DURATION="${BS_DURATION:-5}"; WARMUP="${BS_WARMUP:-2}"; FRESH_N="${BS_FRESH_N:-20}"
else
  WORK="${WORK:-$ROOT/var/bench-serving}"
  USERS="${BS_USERS:-10000}"; ITEMS="${BS_ITEMS:-20000}"; CONNS="${BS_CONNS:-16 32 64}"
  DURATION="${BS_DURATION:-20}"; WARMUP="${BS_WARMUP:-5}"; FRESH_N="${BS_FRESH_N:-200}"
fi
REPEAT="${BS_REPEAT:-1}"; K="${BS_K:-10}"; TRANSPORT="${BS_TRANSPORT:-tcp}"
PGPORT="${BS_PG_PORT:-25470}"; PORT="${BS_PORT:-27500}"
RS_TRAIN="${RS_TRAIN:-$BUILD/services/trainer/rs-train}"
DSN="host=127.0.0.1 port=$PGPORT user=postgres dbname=recsys"
HTTP="127.0.0.1:$((PORT + 80))"; URL="http://$HTTP"
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

# --- services -------------------------------------------------------------------------------
if [ "$TRANSPORT" = ipc ]; then
  ep() { echo "ipc://$WORK/run/$1.sock"; }
else
  ep() { echo "tcp://127.0.0.1:$((PORT + $2))"; }
fi
export RS_PG_DSN="$DSN" RS_GATEWAY_HTTP="$HTTP" RS_LOG_LEVEL="${RS_LOG_LEVEL:-info}"
export RS_INGEST_URL="$(ep ingest 1)" RS_INGEST_PUB_URL="$(ep pub 2)" RS_FEATURE_URL="$(ep feature 3)"
export RS_CANDIDATE_URL="$(ep candidate 4)" RS_RANKING_URL="$(ep ranking 5)"
export RS_INGEST_SPOOL_DIR="$WORK/spool"
bs_start

# --- load -----------------------------------------------------------------------------------
cpu_ticks() {  # utime+stime of a pid in clock ticks
  awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0
}
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
pg_ticks() {  # the private cluster: postmaster and its children
  local pm; pm="$(head -n 1 "$WORK/pg/data/postmaster.pid" 2>/dev/null || echo 0)"
  { echo "$pm"; pgrep -P "$pm" 2>/dev/null || true; } | while read -r p; do cpu_ticks "$p"; done | awk '{ s += $1 } END { print s + 0 }'
}
busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat; }
export BS_USERS="$USERS" BS_K="$K"
HZ="$(getconf CLK_TCK)"
fail=0

# Warm-up: every user once (the feature service loads a user's history from PostgreSQL on first
# sight; afterwards the event stream keeps it current), then BS_WARMUP seconds of random load.
say "== warm-up: all $USERS users once, then wrk -c16 -d${WARMUP}s"
"$FRESH_BIN" --url "$URL" --k "$K" --warm-users "$USERS" --warm-conns 8 --key-file "$WORK/api-key" >"$WORK/log/warmup.txt" 2>&1 \
  || { say "run.sh: warm-up failed: $(cat "$WORK/log/warmup.txt")"; fail=1; }
say "   $(cat "$WORK/log/warmup.txt")"
wrk -t2 -c16 -d"${WARMUP}s" -s "$HERE/recs.lua" "$URL" >>"$WORK/log/warmup.txt" 2>&1 || true

echo "Serving benchmark: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1)),"
echo "commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'), $USERS users, $ITEMS items, $NEVENTS events, k=$K, transport $TRANSPORT."
echo "Settings: $(env | grep -E '^RS_(GATEWAY_(THREADS|ACCESS_LOG|DEADLINE_MS)|[A-Z]+_WORKERS|LOG_LEVEL)=' | sort | tr '\n' ' ')BS_AUTH=${BS_AUTH:-key}"
echo
echo "| wrk | req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | non-2xx | degraded | sock err | CPU% gw/feat/cand/rank/ingest/pg | CPU ms/req | machine busy % | load before -> after |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for c in $CONNS; do
  for r in $(seq 1 "$REPEAT"); do
    declare -A t0c=()
    for svc in "${SERVICES[@]}"; do t0c[$svc]=$(cpu_ticks "${PID[$svc]}"); done
    pg0=$(pg_ticks); read -r b0 a0 < <(busy_ticks)
    la0="$(loadavg)"
    out="$(wrk -t2 -c"$c" -d"${DURATION}s" --latency -s "$HERE/recs.lua" "$URL" 2>&1)" || true
    echo "$out" >>"$WORK/log/wrk-c$c.txt"
    la1="$(loadavg)"
    pg1=$(pg_ticks); read -r b1 a1 < <(busy_ticks)
    res="$(grep '^RESULT' <<<"$out" || true)"
    if [ -z "$res" ]; then say "run.sh: wrk failed: $out"; fail=1; continue; fi
    kv() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $res"; }
    cpu=""; dsum=0
    for svc in gateway feature candidate ranking ingest; do
      d=$(( $(cpu_ticks "${PID[$svc]}") - ${t0c[$svc]} )); dsum=$((dsum + d))
      cpu="$cpu${cpu:+/}$(awk -v d="$d" -v hz="$HZ" -v s="$(kv seconds)" 'BEGIN { printf "%.0f", 100 * d / hz / s }')"
    done
    cpu="$cpu/$(awk -v d="$((pg1 - pg0))" -v hz="$HZ" -v s="$(kv seconds)" 'BEGIN { printf "%.0f", 100 * d / hz / s }')"
    msreq="$(awk -v d="$dsum" -v hz="$HZ" -v n="$(kv requests)" 'BEGIN { printf "%.2f", (n > 0 ? 1000 * d / hz / n : 0) }')"
    busy="$(awk -v b="$((b1 - b0))" -v a="$((a1 - a0))" 'BEGIN { printf "%.0f", (a > 0 ? 100 * b / a : 0) }')"
    printf '| -t2 -c%s -d%ss | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s -> %s |\n' \
      "$c" "$DURATION" "$(kv rps)" "$(kv p50_ms)" "$(kv p90_ms)" "$(kv p99_ms)" "$(kv p999_ms)" \
      "$(kv max_ms)" "$(kv non2xx)" "$(kv degraded)" "$(( $(kv sock_errors) + $(kv timeouts) ))" \
      "$cpu" "$msreq" "$busy" "$la0" "$la1"
    if [ "$(kv non2xx)" != 0 ] || [ "$(kv sock_errors)" != 0 ] || [ "$(kv timeouts)" != 0 ]; then fail=1; fi
  done
done

# --- freshness ------------------------------------------------------------------------------
echo
fr="$("$FRESH_BIN" --url "$URL" --n "$FRESH_N" --k "$K" --key-file "$WORK/api-key")" || fail=1
echo "Freshness (POST /v1/events returned -> recommendations changed), $FRESH_N new users, one view each:"
echo "\`$fr\`"
for svc in "${SERVICES[@]}"; do
  kill -0 "${PID[$svc]}" 2>/dev/null || { say "run.sh: rs-$svc died during the run"; fail=1; }
done
if [ $fail -ne 0 ]; then
  say "run.sh: FAILED (errors above; logs in $WORK/log)"
  exit 1
fi

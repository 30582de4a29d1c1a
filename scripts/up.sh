#!/usr/bin/env bash
# up.sh: the whole system on one machine, from a fresh Debian 12 checkout.
#   1. installs missing Debian packages      4. applies the schema migrations
#   2. builds (build/, warnings are errors)  5. loads a generated demo shop (first run only)
#   3. starts a throwaway PostgreSQL         6. trains and publishes models (when rs-train can)
#      cluster in var/pg (127.0.0.1:25432)   7. starts the five services in the background
# then waits until /readyz answers and prints the URL. scripts/down.sh stops everything.
# Environment: RS_DEMO_USERS (1000), RS_DEMO_ITEMS (3000), RS_DEMO_DAYS (28), RS_DEMO_SEED (42),
# RS_GATEWAY_HTTP (127.0.0.1:8080), RS_PG_PORT (25432).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VAR="$ROOT/var"; LOG="$VAR/log"; RUN="$VAR/run"
mkdir -p "$LOG" "$RUN"
BIN="$ROOT/build/services"
export RS_PG_PORT="${RS_PG_PORT:-25432}"
export RS_GATEWAY_HTTP="${RS_GATEWAY_HTTP:-127.0.0.1:8080}"
export RS_LOG_LEVEL="${RS_LOG_LEVEL:-info}"

step() { printf '==> %s\n' "$*"; }

step "packages"
scripts/deps.sh
step "build"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DRS_BUILD_TESTS=OFF >"$LOG/cmake.log"
cmake --build build -j "$(nproc)" >"$LOG/build.log" 2>&1 || { tail -n 40 "$LOG/build.log"; exit 1; }

step "postgresql"
export RS_PG_DSN="$(scripts/pg.sh start "$VAR/pg" "$RS_PG_PORT")"
scripts/migrate.sh "$RS_PG_DSN"

n_events="$(psql "$RS_PG_DSN" -qAtc 'select count(*) from events')"
if [ "$n_events" = 0 ]; then
  step "demo shop: ${RS_DEMO_USERS:-1000} customers, ${RS_DEMO_ITEMS:-3000} items, ${RS_DEMO_DAYS:-28} days"
  "$BIN/trainer/rs-train" generate --dsn "$RS_PG_DSN" --users "${RS_DEMO_USERS:-1000}" \
    --items "${RS_DEMO_ITEMS:-3000}" --days "${RS_DEMO_DAYS:-28}" --seed "${RS_DEMO_SEED:-42}"
else
  step "demo shop already loaded ($n_events events)"
fi

if "$BIN/trainer/rs-train" pipeline --help >/dev/null 2>&1; then
  step "train + publish models"
  "$BIN/trainer/rs-train" pipeline --dsn "$RS_PG_DSN" --models-dir "$VAR/models" >"$LOG/train.log" 2>&1 \
    || { echo "training failed (see $LOG/train.log); serving falls back to live popularity"; }
fi

step "services"
start() {  # start NAME: run rs-NAME in the background unless it already runs
  local name="$1" pidf="$RUN/$1.pid"
  if [ -f "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null; then return; fi
  nohup "$BIN/$name/rs-$name" >>"$LOG/$name.log" 2>&1 </dev/null &
  echo $! >"$pidf"
}
for svc in ingest feature candidate ranking gateway; do start "$svc"; done

URL="http://$RS_GATEWAY_HTTP"
for _ in $(seq 1 150); do
  if curl -fsS "$URL/readyz" >/dev/null 2>&1; then
    step "ready"
    echo "RecSysSoA is up: $URL   (try: curl '$URL/v1/users/1/recommendations?k=5')"
    echo "logs: $LOG   stop: scripts/down.sh"
    exit 0
  fi
  sleep 0.2
done
echo "services did not become ready within 30 s; last log lines:" >&2
for svc in ingest feature candidate ranking gateway; do tail -n 5 "$LOG/$svc.log" >&2 || true; done
curl -sS "$URL/readyz" >&2 || true
exit 1

#!/usr/bin/env bash
# tests/e2e/run.sh: the web UI end to end in Debian's Chromium against the real stack.
#   1. builds the UI (frontend/dist; RS_E2E_SKIP_BUILD=1 keeps the existing one)
#   2. creates its own database on RS_TEST_PG_DSN (the server scripts/test.sh starts; when unset,
#      starts a throwaway cluster with scripts/pg.sh on port RS_E2E_PG_PORT, default 25511+offset/1000)
#   3. migrates, generates a small shop (300 customers, 800 items, 14 days, seed 7), trains two
#      model versions (rs-train pipeline --quick), creates demo accounts, an admin and an API key
#   4. starts the five services from RS_TEST_BUILD (default build-test) on 18600+RS_TEST_PORT_OFFSET..+5,
#      the gateway serving frontend/dist
#   5. runs tests/e2e/e2e.mjs (flows, failure paths, axe, overflow at 375 px, console errors,
#      screenshots at 375 and 1440 px into tests/e2e/output/); RS_E2E_BENCH=1 then runs bench/ui
# and always stops what it started and drops its database. Exit 0 only when every check passed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
OFF="${RS_TEST_PORT_OFFSET:-0}"
BASE=$((18600 + OFF))
BUILD="${RS_TEST_BUILD:-build-test}"
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
# tests/e2e/output/ (a run with a port offset writes to output/port-N/, so runs can overlap)
OUT="$ROOT/tests/e2e/output"; [ "$OFF" = 0 ] || OUT="$OUT/port-$BASE"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/rs-e2e.XXXXXX")"
DB="rs_e2e_$BASE"
PIDS="$WORK/pids"; mkdir -p "$PIDS" "$OUT/logs"
rm -f "$OUT"/*.png "$OUT"/logs/*.log "$OUT/summary.txt"
OWN_PG=""

say() { printf '[e2e] %s\n' "$*"; }
die() { say "FAIL: $*"; exit 1; }

cleanup() {
  local rc=$?
  set +e
  for f in "$PIDS"/*.pid; do
    [ -e "$f" ] || continue
    pid="$(cat "$f")"
    kill -TERM "$pid" 2>/dev/null
  done
  for f in "$PIDS"/*.pid; do
    [ -e "$f" ] || continue
    pid="$(cat "$f")"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
  done
  if [ -n "${ADMIN_DSN:-}" ]; then
    psql "$ADMIN_DSN" -X -q -c "drop database if exists $DB with (force)" >/dev/null 2>&1
  fi
  [ -n "$OWN_PG" ] && "$ROOT/scripts/pg.sh" stop "$OWN_PG" >/dev/null 2>&1
  rm -rf "$WORK"
  [ "$rc" -eq 0 ] || say "exit $rc (logs: $OUT/logs)"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for bin in gateway ingest feature candidate ranking trainer; do
  exe="$BUILD/services/$bin/rs-$bin"; [ "$bin" = trainer ] && exe="$BUILD/services/trainer/rs-train"
  [ -x "$exe" ] || die "$exe missing: build first (cmake --build $BUILD)"
done
[ -x /usr/bin/chromium ] || die "/usr/bin/chromium missing (scripts/deps.sh --test installs it)"

if [ "${RS_E2E_SKIP_BUILD:-0}" != 1 ] || [ ! -f frontend/dist/index.html ]; then
  say "building the UI"
  scripts/ui-build.sh >"$OUT/logs/ui-build.log" 2>&1 || { tail -n 30 "$OUT/logs/ui-build.log"; die "UI build failed"; }
fi
[ -d frontend/node_modules/playwright-core ] || die "frontend/node_modules missing (cd frontend && npm ci)"

if [ -n "${RS_TEST_PG_DSN:-}" ]; then
  ADMIN_DSN="$RS_TEST_PG_DSN"
else
  OWN_PG="$ROOT/var/pg-e2e-$BASE"
  ADMIN_DSN="$(scripts/pg.sh start "$OWN_PG" "${RS_E2E_PG_PORT:-$((25511 + OFF / 1000))}")"
fi
psql "$ADMIN_DSN" -X -q -c "drop database if exists $DB with (force)" >/dev/null
psql "$ADMIN_DSN" -X -q -c "create database $DB" >/dev/null
DSN="$ADMIN_DSN dbname=$DB"   # a later keyword overrides the earlier dbname
say "database $DB"
RS_INGEST_BIN="$BUILD/services/ingest/rs-ingest" scripts/migrate.sh "$DSN" >"$OUT/logs/migrate.log" 2>&1 || { cat "$OUT/logs/migrate.log"; die "migrate failed"; }

TRAIN="$BUILD/services/trainer/rs-train"
GW="$BUILD/services/gateway/rs-gateway"
say "generating the shop"
"$TRAIN" generate --dsn "$DSN" --users 300 --items 800 --days 14 --seed 7 >"$OUT/logs/generate.log" 2>&1 \
  || { tail "$OUT/logs/generate.log"; die "generate failed"; }
say "training two model versions"
mkdir -p "$WORK/models"
for i in 1 2; do
  "$TRAIN" pipeline --dsn "$DSN" --models-dir "$WORK/models" --quick >>"$OUT/logs/train.log" 2>&1 \
    || { tail -n 20 "$OUT/logs/train.log"; die "pipeline $i failed"; }
  sleep 1.1   # version names carry the second
done

say "accounts"
(umask 077; od -An -N12 -tx1 /dev/urandom | tr -d ' \n' >"$WORK/demo-password"; od -An -N12 -tx1 /dev/urandom | tr -d ' \n' >"$WORK/admin-password"; od -An -N24 -tx1 /dev/urandom | tr -d ' \n' >"$WORK/admin-token")
ACC_LOG="$OUT/logs/accounts.log"
"$GW" account demo --dsn "$DSN" --password-file "$WORK/demo-password" >"$ACC_LOG" 2>&1 || { cat "$ACC_LOG"; die "rs-gateway account demo failed (is the accounts tool built?)"; }
"$GW" account set --dsn "$DSN" --login admin --role admin --display-name "Admin" --password-file "$WORK/admin-password" >>"$ACC_LOG" 2>&1 || { cat "$ACC_LOG"; die "rs-gateway account set (admin) failed"; }
NEWBIE_ID=$(psql "$DSN" -X -qAt -c "select coalesce(max(user_id),0)+1000 from users where user_id < 1000000000000")
"$GW" account set --dsn "$DSN" --login newbie --role customer --user-id "$NEWBIE_ID" --display-name "New Customer" --password-file "$WORK/demo-password" >>"$ACC_LOG" 2>&1 || { cat "$ACC_LOG"; die "rs-gateway account set (new customer) failed"; }
"$GW" apikey create --dsn "$DSN" --name e2e --key-file "$WORK/api-key" >>"$ACC_LOG" 2>&1 || { cat "$ACC_LOG"; die "rs-gateway apikey create failed"; }
# two active customers (many events) for the flows
mapfile -t CUSTOMERS < <(psql "$DSN" -X -qAt -F' ' -c "select u.user_id, u.login from users u join (select user_id, count(*) n from events group by 1) e using (user_id) where u.login is not null and u.role = 'customer' order by e.n desc, u.user_id limit 2")
[ "${#CUSTOMERS[@]}" -eq 2 ] || die "no demo customers with logins (users.login empty after account demo?)"

# the services' environment, shared with ctl.sh (the tests stop and start services through it)
{
  printf "RS_PG_DSN=%q\n" "$DSN"
  printf "RS_GATEWAY_HTTP=%q\n" "127.0.0.1:$BASE"
  printf "RS_INGEST_URL=%q\n" "tcp://127.0.0.1:$((BASE + 1))"
  printf "RS_INGEST_PUB_URL=%q\n" "tcp://127.0.0.1:$((BASE + 2))"
  printf "RS_FEATURE_URL=%q\n" "tcp://127.0.0.1:$((BASE + 3))"
  printf "RS_CANDIDATE_URL=%q\n" "tcp://127.0.0.1:$((BASE + 4))"
  printf "RS_RANKING_URL=%q\n" "tcp://127.0.0.1:$((BASE + 5))"
  # the backends' own /metrics listeners on this run's ports (never the defaults 7190...)
  printf "RS_INGEST_METRICS_ADDR=%q\n" "127.0.0.1:$((BASE + 10))"
  printf "RS_FEATURE_METRICS_ADDR=%q\n" "127.0.0.1:$((BASE + 11))"
  printf "RS_CANDIDATE_METRICS_ADDR=%q\n" "127.0.0.1:$((BASE + 12))"
  printf "RS_RANKING_METRICS_ADDR=%q\n" "127.0.0.1:$((BASE + 13))"
  printf "RS_INGEST_SPOOL_DIR=%q\n" "$WORK/spool"
  printf "RS_MODEL_DIR=%q\n" "$WORK/models"
  printf "RS_CANDIDATE_REFRESH_MS=200\n"
  printf "RS_GATEWAY_UI_DIR=%q\n" "$ROOT/frontend/dist"
  printf "RS_SESSION_KEY_FILE=%q\n" "$WORK/session-key"
  printf "RS_ADMIN_TOKEN=%q\n" "$(cat "$WORK/admin-token")"
  printf "RS_LOG_LEVEL=info\n"
  # A browser test, not a latency test: a request's deadline long enough that a loaded machine
  # (an ASan build, other work on the cores) is not served degraded where the flow expects a
  # full answer. The degraded flows stop a service, which fails fast whatever the deadline.
  printf "RS_GATEWAY_DEADLINE_MS=2000\n"
} >"$WORK/env"
cat >"$WORK/ctl.sh" <<CTL
#!/usr/bin/env bash
# ctl.sh stop NAME | start NAME [VAR=VALUE...]: one service of this e2e stack
set -euo pipefail
cmd="\$1"; name="\$2"; shift 2
pidf="$PIDS/\$name.pid"
case "\$cmd" in
  stop)
    [ -f "\$pidf" ] || exit 0
    pid="\$(cat "\$pidf")"; kill -TERM "\$pid" 2>/dev/null || true
    for _ in \$(seq 1 100); do kill -0 "\$pid" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "\$pid" 2>/dev/null || true; rm -f "\$pidf" ;;
  start)
    exe="$BUILD/services/\$name/rs-\$name"
    ( set -a; . "$WORK/env"; for kv in "\$@"; do export "\$kv"; done; set +a
      exec nohup "\$exe" >>"$OUT/logs/\$name.log" 2>&1 </dev/null ) &
    echo \$! >"\$pidf" ;;
  *) echo "usage: ctl.sh stop|start NAME" >&2; exit 2 ;;
esac
CTL
chmod +x "$WORK/ctl.sh"
mkdir -p "$WORK/spool"
say "starting the services on 127.0.0.1:$BASE..$((BASE + 5))"
for svc in ingest feature candidate ranking gateway; do "$WORK/ctl.sh" start "$svc"; done
URL="http://127.0.0.1:$BASE"
for i in $(seq 1 150); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/readyz")" = 200 ] && break
  [ "$i" = 150 ] && die "stack not ready after 30 s"
  sleep 0.2
done
say "stack ready at $URL"

export E2E_URL="$URL" E2E_DSN="$DSN" E2E_CTL="$WORK/ctl.sh" E2E_OUT="$OUT" E2E_ROOT="$ROOT"
export E2E_CUSTOMER_A="${CUSTOMERS[0]}" E2E_CUSTOMER_B="${CUSTOMERS[1]}" E2E_NEWBIE="$NEWBIE_ID newbie"
export E2E_DEMO_PASSWORD_FILE="$WORK/demo-password" E2E_ADMIN_PASSWORD_FILE="$WORK/admin-password" E2E_API_KEY_FILE="$WORK/api-key"
rc=0
node tests/e2e/e2e.mjs || rc=$?
# RS_E2E_BENCH=1: also measure the UI budgets (bench/ui) on this stack before it stops
if [ "${RS_E2E_BENCH:-0}" = 1 ]; then
  RS_UI_URL="$URL" RS_UI_LOGIN="${CUSTOMERS[0]#* }" RS_UI_PASSWORD_FILE="$WORK/demo-password" bench/ui/run.sh || rc=1
fi
exit "$rc"

#!/usr/bin/env bash
# up.sh: the whole system on one machine, from a fresh Debian 12 checkout.
#   1. installs missing Debian packages      4. applies the schema migrations
#   2. builds (build/, warnings are errors)  5. loads a generated demo shop (first run only)
#      and the web UI (frontend/dist)
#   3. starts a throwaway PostgreSQL         6. trains and publishes a model version into var/models
#      cluster in var/pg (127.0.0.1:25432)      (rs-train pipeline --quick; skipped when a version is
#                                               active, unless RS_RETRAIN=1)
#                                            7. makes the accounts (every demo customer, "admin")
#                                               and the development API key (idempotent)
#                                            8. starts the five services in the background, serving
#                                               the active version (RS_MODEL_DIR=var/models)
# then waits until /readyz answers and prints the URL, three demo logins and their password, and
# the admin login. scripts/down.sh stops everything.
# Credentials, made on the first run and kept in var/ (mode 0600; delete one to get a new one):
#   var/session-key     signs the session cookies (the gateway's RS_SESSION_KEY_FILE)
#   var/api-key         the API key of the marketplace's backend: any customer's recommendations
#                       and events (curl -H "Authorization: Bearer $(cat var/api-key)" ...)
#   var/demo-password   the password of every demo customer (logins cust-000001, ...)
#   var/admin-password  the password of the login "admin" (the web UI's admin console)
#   var/admin-token     RS_ADMIN_TOKEN: admin routes from scripts, without a login
# Environment: RS_DEMO_USERS (1000), RS_DEMO_ITEMS (3000), RS_DEMO_DAYS (28), RS_DEMO_SEED (42),
# RS_GATEWAY_HTTP (127.0.0.1:8080), RS_PG_PORT (25432), RS_RETRAIN (0; 1 = train a new version
# even if one is active), RS_TRAIN_ARGS (extra rs-train pipeline flags, e.g. "" for full tuning
# instead of --quick), RS_ADMIN_TOKEN (bearer token of the gateway's /v1/admin/ routes; default: a
# random one made on the first run and kept in var/admin-token, readable by root only).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VAR="$ROOT/var"; LOG="$VAR/log"; RUN="$VAR/run"
mkdir -p "$LOG" "$RUN"
BIN="$ROOT/build/services"
export RS_PG_PORT="${RS_PG_PORT:-25432}"
export RS_GATEWAY_HTTP="${RS_GATEWAY_HTTP:-127.0.0.1:8080}"
export RS_LOG_LEVEL="${RS_LOG_LEVEL:-info}"
# Published model versions: rs-train writes them here, feature/candidate/ranking read the active one.
export RS_MODEL_DIR="${RS_MODEL_DIR:-$VAR/models}"
# rs-candidate's snapshot file: a restarted candidate answers from it at once.
export RS_CANDIDATE_STATE_DIR="${RS_CANDIDATE_STATE_DIR:-$VAR/candidate}"
mkdir -p "$RS_CANDIDATE_STATE_DIR"

step() { printf '==> %s\n' "$*"; }

if [ -z "${RS_ADMIN_TOKEN:-}" ]; then
  if [ ! -s "$VAR/admin-token" ]; then
    (umask 077; od -An -N24 -tx1 /dev/urandom | tr -d ' \n' >"$VAR/admin-token")
  fi
  RS_ADMIN_TOKEN="$(cat "$VAR/admin-token")"
fi
export RS_ADMIN_TOKEN
secret() {  # secret FILE BYTES: BYTES random bytes as hex into FILE (0600) unless it holds one
  [ -s "$1" ] || (umask 077; od -An -N"$2" -tx1 /dev/urandom | tr -d ' \n' >"$1")
}
password() {  # password FILE: 16 random letters and digits into FILE (0600) unless it holds one
  [ -s "$1" ] || (umask 077; set +o pipefail; tr -dc 'A-Za-z0-9' </dev/urandom | head -c 16 >"$1")
}
secret "$VAR/session-key" 32
password "$VAR/demo-password"
password "$VAR/admin-password"
export RS_SESSION_KEY_FILE="$VAR/session-key"

step "packages"
scripts/deps.sh
step "build"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DRS_BUILD_TESTS=OFF >"$LOG/cmake.log"
cmake --build build -j "$(nproc)" >"$LOG/build.log" 2>&1 || { tail -n 40 "$LOG/build.log"; exit 1; }

step "web UI (log: $LOG/ui.log)"
scripts/ui-build.sh >"$LOG/ui.log" 2>&1 || { tail -n 30 "$LOG/ui.log"; exit 1; }
export RS_GATEWAY_UI_DIR="${RS_GATEWAY_UI_DIR:-$ROOT/frontend/dist}"

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

step "accounts: demo customers, admin, development API key"
GW="$BIN/gateway/rs-gateway"
"$GW" account demo --dsn "$RS_PG_DSN" --password-file "$VAR/demo-password"
"$GW" account set --dsn "$RS_PG_DSN" --login admin --role admin --display-name Admin \
  --password-file "$VAR/admin-password"
"$GW" apikey create --dsn "$RS_PG_DSN" --name development --key-file "$VAR/api-key"

active="$(psql "$RS_PG_DSN" -qAtc 'select path from model_versions where active')"
if [ -n "$active" ] && [ -d "$RS_MODEL_DIR/$active" ] && [ "${RS_RETRAIN:-0}" != 1 ]; then
  step "model version $active already active (RS_RETRAIN=1 trains a new one)"
elif "$BIN/trainer/rs-train" pipeline --help >/dev/null 2>&1; then
  step "train + publish models (log: $LOG/train.log)"
  # shellcheck disable=SC2086  # RS_TRAIN_ARGS is a list of flags
  if "$BIN/trainer/rs-train" pipeline --dsn "$RS_PG_DSN" --models-dir "$RS_MODEL_DIR" \
      ${RS_TRAIN_ARGS---quick} >"$LOG/train.log" 2>&1; then
    tail -n 1 "$LOG/train.log"
  else
    echo "training failed (see $LOG/train.log); serving falls back to live popularity"
  fi
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
    logins="$(psql "$RS_PG_DSN" -qAtc "select string_agg(login, '  ') from (select login from users u
      where role = 'customer' and login is not null
        and exists (select 1 from event_history e where e.user_id = u.user_id)
      order by user_id limit 3) c")"
    echo "RecSysSoA is up: $URL"
    echo "  shop:  log in as $logins   password: $(cat "$VAR/demo-password")"
    echo "  admin: log in as admin   password: in $VAR/admin-password"
    echo "  API (the marketplace's backend, key in $VAR/api-key):"
    echo "    curl -H \"Authorization: Bearer \$(cat $VAR/api-key)\" '$URL/v1/users/1/recommendations?k=5'"
    [ -s "$VAR/admin-token" ] && [ "$RS_ADMIN_TOKEN" = "$(cat "$VAR/admin-token")" ] &&
      echo "  admin token: curl -H \"Authorization: Bearer \$(cat $VAR/admin-token)\" $URL/v1/admin/models"
    echo "logs: $LOG   stop: scripts/down.sh"
    exit 0
  fi
  sleep 0.2
done
echo "services did not become ready within 30 s; last log lines:" >&2
for svc in ingest feature candidate ranking gateway; do tail -n 5 "$LOG/$svc.log" >&2 || true; done
curl -sS "$URL/readyz" >&2 || true
exit 1

# bench/serving/lib.sh: what run.sh and publish_load.sh share (sourced, not executed): the
# binaries, the private PostgreSQL with a generated shop, starting and stopping the services.
# The caller sets ROOT, BUILD, WORK, DSN, PGPORT, USERS, ITEMS, RS_TRAIN, URL, SERVICES (array),
# PID (associative array) and ME (its name, for messages), and exports the services' RS_* env;
# bs_vars sets all but ROOT and ME from the BS_* environment, as every script here reads it.

say() { printf '%s\n' "$*" >&2; }

# The services of every stack started here run without their metrics listeners, which would
# otherwise take the default ports (7190..7490) a scripts/up.sh stack uses.
export RS_INGEST_METRICS_ADDR=off RS_FEATURE_METRICS_ADDR=off RS_CANDIDATE_METRICS_ADDR=off \
  RS_RANKING_METRICS_ADDR=off

# bs_binaries: builds what is missing (the services, rs-train, rs-serving-fresh) and checks
# it is there; sets FRESH_BIN (BS_FRESH_BIN, else the build's rs-serving-fresh).
bs_binaries() {
  local need=() svc
  for svc in "${SERVICES[@]}"; do [ -x "$BUILD/services/$svc/rs-$svc" ] || need+=("rs-$svc"); done
  [ -x "$RS_TRAIN" ] || need+=(rs-train)
  FRESH_BIN="${BS_FRESH_BIN:-$BUILD/bench/serving/rs-serving-fresh}"
  [ -x "$FRESH_BIN" ] || need+=(rs-serving-fresh)
  if [ ${#need[@]} -gt 0 ]; then
    [ -f "$BUILD/CMakeCache.txt" ] || cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build "$BUILD" --target "${need[@]}" >"$WORK/log/build.log" 2>&1 || true
  fi
  for svc in "${SERVICES[@]}"; do
    [ -x "$BUILD/services/$svc/rs-$svc" ] || { say "$ME: no $BUILD/services/$svc/rs-$svc"; exit 1; }
  done
  [ -x "$RS_TRAIN" ] || { say "$ME: no $RS_TRAIN"; exit 1; }
  [ -x "$FRESH_BIN" ] || { say "$ME: no $FRESH_BIN"; exit 1; }
  command -v wrk >/dev/null || { say "$ME: wrk missing (scripts/deps.sh --bench installs it)"; exit 1; }
}

# bs_shop [fresh]: starts the private cluster and makes sure it holds the generated shop of
# USERS x ITEMS (kept between runs; regenerated when the sizes differ or "fresh" is given).
# Sets BS_GENERATED (1 when it generated) and NEVENTS.
bs_shop() {
  local marker="users=$USERS items=$ITEMS" t0
  BS_GENERATED=0
  "$ROOT/scripts/pg.sh" start "$WORK/pg" "$PGPORT" >/dev/null
  if [ "${1:-}" = fresh ] || [ "$(cat "$WORK/pg/bench-data" 2>/dev/null)" != "$marker" ]; then
    say "== generating $marker (rs-train generate)"
    psql "$DSN" -X -q -v ON_ERROR_STOP=1 -c "set client_min_messages=warning; drop schema public cascade; create schema public" >/dev/null
    RS_INGEST_BIN="$BUILD/services/ingest/rs-ingest" "$ROOT/scripts/migrate.sh" "$DSN" >/dev/null 2>&1
    t0=$(date +%s)
    "$RS_TRAIN" generate --dsn "$DSN" --users "$USERS" --items "$ITEMS" >"$WORK/log/generate.log" 2>&1 \
      || { tail -n 20 "$WORK/log/generate.log" >&2; exit 1; }
    say "   $(tail -n 1 "$WORK/log/generate.log") ($(( $(date +%s) - t0 )) s)"
    echo "$marker" >"$WORK/pg/bench-data"
    BS_GENERATED=1
  else
    RS_INGEST_BIN="$BUILD/services/ingest/rs-ingest" "$ROOT/scripts/migrate.sh" "$DSN" >/dev/null 2>&1
  fi
  NEVENTS="$(psql "$DSN" -X -Atq -c 'select count(*) from events')"
}

# bs_apikey: the benchmark's API key (rs-gateway apikey create; kept in $WORK/api-key, stored
# in the shop's database) and BS_AUTHORIZATION, the Authorization header value every load
# request sends: "Bearer <the key>", or with BS_AUTH=token "Bearer $RS_ADMIN_TOKEN" (to compare
# what the key check costs). Exported for wrk's Lua scripts.
bs_apikey() {
  "$BUILD/services/gateway/rs-gateway" apikey create --dsn "$DSN" --name bench \
    --key-file "$WORK/api-key" >"$WORK/log/apikey.log" 2>&1 \
    || { say "$ME: rs-gateway apikey create failed: $(cat "$WORK/log/apikey.log")"; exit 1; }
  if [ "${BS_AUTH:-key}" = token ]; then
    [ -n "${RS_ADMIN_TOKEN:-}" ] || { say "$ME: BS_AUTH=token needs RS_ADMIN_TOKEN"; exit 1; }
    BS_AUTHORIZATION="Bearer $RS_ADMIN_TOKEN"
  else
    BS_AUTHORIZATION="Bearer $(cat "$WORK/api-key")"
  fi
  export BS_AUTHORIZATION
}

# bs_start [append]: starts every service of SERVICES in the background (logs in $WORK/log,
# appended to with "append", else started afresh; BS_WRAP_<svc>, e.g. BS_WRAP_candidate="valgrind
# --tool=callgrind", is put in front of that service's command) and waits up to BS_READY_S
# (60) s for the gateway's /readyz; exits when a service dies or nothing gets ready.
bs_start() {
  local svc ready=0 wrap
  for svc in "${SERVICES[@]}"; do
    [ "${1:-}" = append ] || : >"$WORK/log/$svc.log"
    wrap="BS_WRAP_$svc"
    # shellcheck disable=SC2086  # the wrapper is a command line
    ${!wrap:-} "$BUILD/services/$svc/rs-$svc" >>"$WORK/log/$svc.log" 2>&1 </dev/null &
    PID[$svc]=$!
  done
  for _ in $(seq 1 $((${BS_READY_S:-60} * 10))); do
    if curl -fsS "$URL/readyz" >/dev/null 2>&1; then ready=1; break; fi
    for svc in "${SERVICES[@]}"; do
      kill -0 "${PID[$svc]}" 2>/dev/null || { say "$ME: rs-$svc exited:"; tail -n 20 "$WORK/log/$svc.log" >&2; exit 1; }
    done
    sleep 0.1
  done
  [ $ready -eq 1 ] || { say "$ME: not ready after ${BS_READY_S:-60} s"; curl -sS "$URL/readyz" >&2 || true; exit 1; }
}

# bs_stop_services: SIGTERM to every service (gateway first), SIGKILL after 5 s.
bs_stop_services() {
  local svc
  for svc in gateway ranking candidate feature ingest; do
    [ -n "${PID[$svc]:-}" ] && kill -TERM "${PID[$svc]}" 2>/dev/null || true
  done
  for svc in gateway ranking candidate feature ingest; do
    if [ -n "${PID[$svc]:-}" ]; then
      for _ in $(seq 1 100); do kill -0 "${PID[$svc]}" 2>/dev/null || break; sleep 0.05; done
      kill -KILL "${PID[$svc]}" 2>/dev/null || true
      wait "${PID[$svc]}" 2>/dev/null || true
      PID[$svc]=""
    fi
  done
}

# bs_attach NAME LOG CMD...: a tool attached to a service (strace -p, perf record -p) run in
# the background, its output into LOG, remembered under NAME until bs_detach.
bs_attach() {
  local name="$1" log="$2"
  shift 2
  "$@" >"$log" 2>&1 &
  ATTACHED[$name]=$!
}

# bs_detach: SIGINT to every attached tool (strace and perf write their data then), and the
# wait for each.
bs_detach() {
  local name
  for name in "${!ATTACHED[@]}"; do
    kill -INT "${ATTACHED[$name]}" 2>/dev/null || true
    wait "${ATTACHED[$name]}" 2>/dev/null || true
    unset "ATTACHED[$name]"
  done
}

# bs_stop: the attached tools (bs_detach), the services (bs_stop_services), then PostgreSQL.
bs_stop() {
  bs_detach
  bs_stop_services
  "$ROOT/scripts/pg.sh" stop "$WORK/pg" >/dev/null 2>&1 || true
}

# bs_vars: the settings every script here shares, from the environment (see run.sh's header):
# BUILD, WORK (default $ROOT/var/bench-serving), USERS, ITEMS, PGPORT, PORT, RS_TRAIN, DSN,
# HTTP, URL, SERVICES, an empty PID and an empty ATTACHED (bs_attach). Needs ROOT.
bs_vars() {
  BUILD="${BUILD:-$ROOT/build}"; WORK="${WORK:-$ROOT/var/bench-serving}"
  USERS="${BS_USERS:-10000}"; ITEMS="${BS_ITEMS:-20000}"
  PGPORT="${BS_PG_PORT:-25470}"; PORT="${BS_PORT:-27500}"
  RS_TRAIN="${RS_TRAIN:-$BUILD/services/trainer/rs-train}"
  DSN="host=127.0.0.1 port=$PGPORT user=postgres dbname=recsys"
  HTTP="127.0.0.1:$((PORT + 80))"; URL="http://$HTTP"
  SERVICES=(ingest feature candidate ranking gateway)
  declare -gA PID=() ATTACHED=()
}

# bs_wait_version: the version is loaded in the background after bs_start; waits (up to 300 s)
# until an answer for a customer nobody has (no cache is warmed) names $VERSION and the learned
# ranker.
bs_wait_version() {
  for _ in $(seq 1 1500); do
    curl -sS -H "Authorization: $BS_AUTHORIZATION" "$URL/v1/users/$((USERS + 1000000))/recommendations?k=1&explain=1" 2>/dev/null \
      | grep -q "\"model_version\":\"$VERSION\".*\"ranker\":\"xgboost\"" && return 0
    sleep 0.2
  done
}

# bs_cached_stack: the shop and model version that run.sh left in $WORK (refuses without them or
# when bs_shop had to regenerate the shop), VERSION = the active version, and the services'
# environment for bs_start (ports from PORT, DSN, HTTP; deadline 60 s: these scripts measure
# single requests, not deadlines). Needs ME, DSN, HTTP, PORT, WORK.
bs_cached_stack() {
  [ -f "$WORK/pg/bench-data" ] && [ -f "$WORK/models/bench-model" ] \
    || { say "$ME: no shop and model in $WORK: run bench/serving/run.sh first"; exit 1; }
  bs_shop
  bs_apikey
  [ "$BS_GENERATED" = 0 ] || { say "$ME: the shop was regenerated: run bench/serving/run.sh first"; exit 1; }
  VERSION="$(psql "$DSN" -X -Atq -c "select version from model_versions where active")"
  export RS_PG_DSN="$DSN" RS_GATEWAY_HTTP="$HTTP" RS_LOG_LEVEL="${RS_LOG_LEVEL:-info}"
  export RS_INGEST_URL="tcp://127.0.0.1:$((PORT + 1))" RS_INGEST_PUB_URL="tcp://127.0.0.1:$((PORT + 2))"
  export RS_FEATURE_URL="tcp://127.0.0.1:$((PORT + 3))" RS_CANDIDATE_URL="tcp://127.0.0.1:$((PORT + 4))"
  export RS_RANKING_URL="tcp://127.0.0.1:$((PORT + 5))" RS_INGEST_SPOOL_DIR="$WORK/spool"
  export RS_MODEL_DIR="$WORK/models" RS_GATEWAY_DEADLINE_MS="${RS_GATEWAY_DEADLINE_MS:-60000}"
}

# bs_pass LABEL: customers 1..N once, one at a time, over one connection (rs-serving-fresh);
# exits naming LABEL on an error or a degraded answer. Needs ME, FRESH_BIN, URL, K, N, WORK.
bs_pass() {
  local out
  out="$("$FRESH_BIN" --url "$URL" --k "$K" --warm-users "$N" --warm-conns 1 --key-file "$WORK/api-key" 2>&1)" \
    || { say "$ME: $1 pass failed: $out"; exit 1; }
  grep -q ' degraded=0 ' <<<"$out" || { say "$ME: degraded answers in the $1 pass: $out"; exit 1; }
}

# bench/ingest/lib.sh: shared helpers for run.sh and fault.sh (sourced, not executed).
# A private, durable PostgreSQL cluster (default settings: fsync on, synchronous_commit on) and
# one rs-ingest process, both under $WORK; everything started here is stopped by bi_cleanup.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD="${BUILD:-$ROOT/build}"
WORK="${WORK:-$ROOT/var/bench-ingest}"
PGPORT="${BI_PG_PORT:-25462}"
INGEST_PORT="${BI_INGEST_PORT:-27160}"
PGDIR="$WORK/pg"
DSN="host=127.0.0.1 port=$PGPORT user=postgres dbname=recsys"
URL="tcp://127.0.0.1:$INGEST_PORT"
PGBIN="${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}"
INGEST_PID=""

bi_build() {
  INGEST_BIN="$BUILD/services/ingest/rs-ingest"
  LOAD_BIN="$BUILD/bench/ingest/rs-ingest-load"
  if [ ! -x "$INGEST_BIN" ]; then
    [ -f "$BUILD/CMakeCache.txt" ] || cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build "$BUILD" --target rs-ingest >/dev/null
  fi
  if [ ! -x "$LOAD_BIN" ]; then
    # The CMake target exists once bench/ingest is added to the top-level CMakeLists.txt;
    # until then compile the driver directly against the build's libraries.
    if ! cmake --build "$BUILD" --target rs-ingest-load >/dev/null 2>&1; then
      LOAD_BIN="$WORK/rs-ingest-load"
      mkdir -p "$WORK"
      cc -O2 -std=c11 -D_GNU_SOURCE -I"$ROOT/common" -I"$BUILD/proto/gen" -I/usr/include/postgresql \
        "$ROOT/bench/ingest/load.c" "$BUILD/common/librs_common.a" "$BUILD/proto/librs_proto.a" \
        -lnng -lprotobuf-c -lpq -llmdb -lpthread -lm -o "$LOAD_BIN"
    fi
  fi
}

bi_pg_start() {
  "$ROOT/scripts/pg.sh" start "$PGDIR" "$PGPORT" >/dev/null
}

# A crash, not a shutdown: no checkpoint, clients see their connections die.
bi_pg_crash() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDIR/data" -m immediate -w stop >/dev/null 2>&1 || true
  else
    "$PGBIN/pg_ctl" -D "$PGDIR/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
}

bi_db_fresh() {
  psql "$DSN" -X -q -v ON_ERROR_STOP=1 -c "set client_min_messages=warning; drop schema public cascade; create schema public" >/dev/null
  RS_INGEST_BIN="$BUILD/services/ingest/rs-ingest" "$ROOT/scripts/migrate.sh" "$DSN" 2>/dev/null
  psql "$DSN" -X -q -v ON_ERROR_STOP=1 -c "insert into items (item_id, title) select g, 'item ' || g from generate_series(1, 3000) g" >/dev/null
}

bi_ingest_start() {
  RS_PG_DSN="$DSN" RS_INGEST_URL="$URL" RS_INGEST_PUB_URL="tcp://127.0.0.1:$((INGEST_PORT + 1))" \
  RS_INGEST_SPOOL_DIR="$WORK/spool" RS_INGEST_WORKERS="${BI_WORKERS:-4}" RS_LOG_LEVEL=info \
  RS_INGEST_METRICS_ADDR=off \
    "$INGEST_BIN" >>"$WORK/ingest.log" 2>&1 &
  INGEST_PID=$!
  for _ in $(seq 1 100); do
    grep -q "pid=$INGEST_PID event=svc.ready" "$WORK/ingest.log" 2>/dev/null && return 0
    sleep 0.05
  done
  echo "bench/ingest: rs-ingest did not start (see $WORK/ingest.log)" >&2
  exit 1
}

bi_ingest_stop() {
  if [ -n "$INGEST_PID" ]; then
    kill -TERM "$INGEST_PID" 2>/dev/null || true
    wait "$INGEST_PID" 2>/dev/null || true
    INGEST_PID=""
  fi
}

bi_ingest_kill9() {
  if [ -n "$INGEST_PID" ]; then
    kill -KILL "$INGEST_PID" 2>/dev/null || true
    wait "$INGEST_PID" 2>/dev/null || true
    INGEST_PID=""
  fi
}

bi_spool_wait_empty() {
  for _ in $(seq 1 "${1:-600}"); do
    ls "$WORK"/spool/spool-*.log >/dev/null 2>&1 || return 0
    sleep 0.1
  done
  echo "bench/ingest: spool not drained" >&2
  return 1
}

bi_cleanup() {
  bi_ingest_stop
  "$ROOT/scripts/pg.sh" stop "$PGDIR" >/dev/null 2>&1 || true
}

bi_q() { psql "$DSN" -X -Atq -v ON_ERROR_STOP=1 -c "$1"; }

# CPU time in clock ticks (utime + stime, every thread) of one process; 0 once it has exited.
bi_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
# The private cluster's CPU ticks: the postmaster, its live children (backends, WAL writer,
# checkpointer, ...) and the children it has reaped (cutime + cstime).
bi_pg_ticks() {
  local pm
  pm="$(head -n 1 "$PGDIR/data/postmaster.pid")"
  { awk '{ print $16 + $17 }' "/proc/$pm/stat"; for p in "$pm" $(pgrep -P "$pm" || true); do bi_ticks "$p"; done; } |
    awk '{ s += $1 } END { print s + 0 }'
}
# bi_us_per_event TICKS EVENTS: microseconds of CPU per event.
bi_us_per_event() {
  awk -v t="$1" -v n="$2" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", (n > 0 ? t * 1e6 / hz / n : 0) }'
}

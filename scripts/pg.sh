#!/usr/bin/env bash
# pg.sh: a throwaway PostgreSQL 15 cluster inside the project (default var/pg, port 25432).
#   scripts/pg.sh start [DIR] [PORT]   initdb if needed, start, create database "recsys", print the DSN
#   scripts/pg.sh stop  [DIR]          fast shutdown
#   scripts/pg.sh dsn   [DIR] [PORT]   print the DSN
# initdb refuses to run as root, so as root the server runs as the "postgres" user.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cmd="${1:-}"
DIR="$(realpath -m "${2:-${RS_PG_DIR:-$ROOT/var/pg}}")"   # absolute: the server and its socket need it
PORT="${3:-${RS_PG_PORT:-25432}}"
DB="${RS_PG_DB:-recsys}"
PGBIN="${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}"
[ -x "$PGBIN/initdb" ] || { echo "pg.sh: PostgreSQL server binaries not found (install postgresql)" >&2; exit 1; }

as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

dsn() { echo "host=127.0.0.1 port=$PORT user=postgres dbname=$DB"; }

case "$cmd" in
  start)
    mkdir -p "$DIR"
    if [ "$(id -u)" -eq 0 ]; then
      chown postgres:postgres "$DIR"
      # every parent must be traversable by the postgres user
      p="$DIR"; while [ "$p" != / ]; do p="$(dirname "$p")"; chmod o+x "$p" 2>/dev/null || true; done
    fi
    if [ ! -f "$DIR/data/PG_VERSION" ]; then
      as_pg "$PGBIN/initdb" -D "$DIR/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >"$DIR/initdb.log" 2>&1 \
        || { cat "$DIR/initdb.log" >&2; exit 1; }
    fi
    if as_pg "$PGBIN/pg_ctl" -D "$DIR/data" status >/dev/null 2>&1; then
      echo "pg.sh: already running in $DIR" >&2
    else
      mkdir -p "$DIR/sock"; [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$DIR/sock"
      as_pg "$PGBIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $PORT -k $DIR/sock -c max_connections=200 -c shared_buffers=256MB" start >/dev/null \
        || { tail -n 20 "$DIR/server.log" >&2; exit 1; }
    fi
    psql "host=127.0.0.1 port=$PORT user=postgres dbname=postgres" -qAtc "select 1 from pg_database where datname='$DB'" | grep -q 1 \
      || psql "host=127.0.0.1 port=$PORT user=postgres dbname=postgres" -qc "create database $DB" >/dev/null
    dsn
    ;;
  stop)
    if [ -f "$DIR/data/PG_VERSION" ]; then
      as_pg "$PGBIN/pg_ctl" -D "$DIR/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    ;;
  dsn) dsn ;;
  *) echo "usage: scripts/pg.sh start|stop|dsn [DIR] [PORT]" >&2; exit 2 ;;
esac

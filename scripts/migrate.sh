#!/usr/bin/env bash
# migrate.sh [DSN]: apply pending db/migrations/NNNN_*.sql in version order with
# `rs-ingest migrate` (common/rs_migrate.c: the one implementation, also run by the compose
# file's migration job and by the tests' private schemas). Each migration runs in its own
# transaction together with its schema_migrations row, under an advisory lock, so concurrent
# runs and re-runs are safe (already-applied versions are skipped).
# DSN defaults to $RS_PG_DSN, then the project default. The binary: $RS_INGEST_BIN, else the
# most recently built build*/services/ingest/rs-ingest of this checkout.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DSN="${1:-${RS_PG_DSN:-host=127.0.0.1 port=25432 user=postgres dbname=recsys}}"
DIR="${RS_MIGRATIONS_DIR:-$ROOT/db/migrations}"
BIN="${RS_INGEST_BIN:-}"
if [ -z "$BIN" ]; then
  BIN="$(ls -t "$ROOT"/build*/services/ingest/rs-ingest 2>/dev/null | head -n 1 || true)"
fi
if [ -z "$BIN" ] || [ ! -x "$BIN" ]; then
  echo "migrate.sh: no rs-ingest binary (build the project first, or set RS_INGEST_BIN)" >&2
  exit 1
fi
out="$(RS_PG_DSN="$DSN" RS_INGEST_MIGRATIONS_DIR="$DIR" RS_LOG_LEVEL=info "$BIN" migrate 2>&1)" || {
  echo "$out" >&2
  echo "migrate.sh: $BIN migrate failed" >&2
  exit 1
}
applied="$(printf '%s\n' "$out" | sed -n 's/.*migrate\.done.*applied=\([0-9]*\).*/\1/p' | tail -n 1)"
printf '%s\n' "$out" | sed -n 's/.*migrate\.applied.*version=\([^ ]*\).*/migrate: applied \1/p' >&2
echo "migrate: ${applied:-0} applied, schema up to date" >&2

#!/usr/bin/env bash
# migrate.sh [DSN]: apply pending db/migrations/NNNN_*.sql in version order.
# Each migration runs in its own transaction together with its schema_migrations row, under an
# advisory lock, so concurrent runs and re-runs are safe (already-applied versions are skipped).
# DSN defaults to $RS_PG_DSN, then the project default.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DSN="${1:-${RS_PG_DSN:-host=127.0.0.1 port=25432 user=postgres dbname=recsys}}"
DIR="${RS_MIGRATIONS_DIR:-$ROOT/db/migrations}"
PSQL=(psql "$DSN" -X -q -v ON_ERROR_STOP=1)

"${PSQL[@]}" -c "create table if not exists schema_migrations (
  version text primary key, applied_at timestamptz not null default now())" 2>&1 \
  | { grep -v 'already exists, skipping' || true; } >&2

applied=0
for f in "$DIR"/[0-9][0-9][0-9][0-9]_*.sql; do
  [ -e "$f" ] || continue
  v="$(basename "$f" .sql)"
  # Checked again under the lock inside the transaction: if a concurrent run applied this version
  # in between, this run fails cleanly (nothing applied twice) and a re-run is a no-op.
  if [ -n "$("${PSQL[@]}" -Atc "select 1 from schema_migrations where version = '$v'")" ]; then
    continue
  fi
  "${PSQL[@]}" --single-transaction \
    -c "select pg_advisory_xact_lock(7100001)" \
    -c "do \$\$ begin if exists (select 1 from schema_migrations where version = '$v') then
          raise exception 'migration $v was applied concurrently; re-run migrate.sh'; end if; end \$\$" \
    -f "$f" \
    -c "insert into schema_migrations(version) values ('$v')" >/dev/null
  echo "migrate: applied $v" >&2
  applied=$((applied + 1))
done
echo "migrate: $applied applied, schema up to date" >&2

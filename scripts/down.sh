#!/usr/bin/env bash
# down.sh: stop what scripts/up.sh started (services first, then PostgreSQL). Data in var/ stays;
# `scripts/down.sh --purge` also deletes it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUN="$ROOT/var/run"
for svc in gateway ranking candidate feature ingest; do
  pidf="$RUN/$svc.pid"
  [ -f "$pidf" ] || continue
  pid="$(cat "$pidf")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && { echo "$svc did not stop in 5 s; killing" >&2; kill -KILL "$pid"; }
  fi
  rm -f "$pidf"
done
"$ROOT/scripts/pg.sh" stop "$ROOT/var/pg"
if [ "${1:-}" = "--purge" ]; then rm -rf "$ROOT/var"; fi
echo "stopped"

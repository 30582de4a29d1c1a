#!/usr/bin/env bash
# bench/ui/run.sh: the web UI's budgets, measured against a running stack; prints numbers only.
#   RS_UI_URL            the gateway serving the UI (default http://127.0.0.1:8080)
#   RS_UI_LOGIN          a demo customer login (default: first line of var/demo-logins if present)
#   RS_UI_PASSWORD_FILE  its password (default var/demo-password)
#   RS_UI_N              repetitions per timing (default 10)
# Needs frontend/dist (npm run build) and frontend/node_modules (playwright-core), /usr/bin/chromium.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export RS_UI_URL="${RS_UI_URL:-http://127.0.0.1:8080}"
export RS_UI_PASSWORD_FILE="${RS_UI_PASSWORD_FILE:-$ROOT/var/demo-password}"
if [ -z "${RS_UI_LOGIN:-}" ] && [ -s "$ROOT/var/demo-logins" ]; then RS_UI_LOGIN="$(head -n 1 "$ROOT/var/demo-logins" | awk '{print $1}')"; fi
export RS_UI_LOGIN="${RS_UI_LOGIN:?set RS_UI_LOGIN to a demo customer login}"
export RS_UI_N="${RS_UI_N:-10}" RS_UI_ROOT="$ROOT"
[ -f "$ROOT/frontend/dist/index.html" ] || { echo "bench/ui: frontend/dist missing (cd frontend && npm run build)" >&2; exit 1; }
exec node "$ROOT/bench/ui/bench.mjs"

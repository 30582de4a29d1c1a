#!/usr/bin/env bash
# ui-build.sh: build the web UI into frontend/dist (what rs-gateway serves with RS_GATEWAY_UI_DIR).
#   scripts/ui-build.sh           npm ci (only when package-lock.json changed since the last
#                                 install), generate the API types from docs/openapi.yaml, build
#   scripts/ui-build.sh --check   also lint, type-check and run the unit tests (CI)
# Needs Node.js >= 20 and npm (scripts/deps.sh installs them when missing).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT/frontend"
major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
if [ "$major" -lt 20 ]; then
  echo "ui-build.sh: Node.js >= 20 is needed (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi
stamp=node_modules/.package-lock.sha256
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  npm ci --no-audit --no-fund
  echo "$want" >"$stamp"
fi
npm run gen
if [ "${1:-}" = "--check" ]; then
  npm run lint
  npm run typecheck
  npm test
fi
npm run build

#!/usr/bin/env bash
# CI smoke: the short form of the serving benchmark (~15 s once built): a small generated shop,
# the full stack, wrk -c16 for 5 s and 20 freshness events. Fails on errors (non-2xx, socket
# errors, events that never show in the recommendations), never on timings.
set -euo pipefail
exec "$(dirname "${BASH_SOURCE[0]}")/run.sh" --short

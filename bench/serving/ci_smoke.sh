#!/usr/bin/env bash
# CI smoke: the short form of the serving benchmark (~15 s once built): a small generated shop,
# the full stack, wrk -c16 for 5 s and 20 freshness events. Fails on errors (non-2xx, socket
# errors, events that never show in the recommendations), never on timings.
# Then the short form of publish_load.sh (~20 s): two model versions published and activated
# and one rollback during 8 s of load; fails on any non-2xx answer or a switch never seen.
set -euo pipefail
HERE="$(dirname "${BASH_SOURCE[0]}")"
"$HERE/run.sh" --short
exec "$HERE/publish_load.sh" --short

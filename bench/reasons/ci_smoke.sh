#!/usr/bin/env bash
# bench/reasons/ci_smoke.sh: CI's check that the reasons tell the truth on the demo shop with the
# model the pipeline ships (bench/reasons/run.sh: customers 1..40, k=10; the ranked lists, the
# ranking-down fallback and the lists for everyone). Fails when any reason names an item none of
# the item's sources gives, uses the wrong verb, says "trending now" off the popular list, stays
# generic although a specific reason is true, or a list for everyone speaks of the customer.
# Uses $BUILD (CI: build-test); the shop and model are kept in $WORK between runs.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export BUILD="${BUILD:-$ROOT/build-test}" WORK="${WORK:-$ROOT/var/bench-reasons-ci}"
exec "$ROOT/bench/reasons/run.sh"

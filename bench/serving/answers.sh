#!/usr/bin/env bash
# bench/serving/answers.sh OUT: the answers of the stack of run.sh (its work folder, shop and
# published two-stage model) to customers 1..BS_ANS_USERS (1000), one request each, k=BS_K
# (10) with explain=1 (every item's score, sources, ranks, features and contributions), one
# line per customer into OUT with the fields that name the request itself or its timing
# (rec_id, request_id, timings_ms, hops, ms, start_ms) removed, after one warm-up pass over the
# same customers (the feature service loads each history on first sight); for comparing two
# builds' answers byte for byte:
#
#   BUILD=/tmp/before bench/serving/answers.sh /tmp/a.txt
#   BUILD=build-rel   bench/serving/answers.sh /tmp/b.txt && cmp /tmp/a.txt /tmp/b.txt
#
# Fails on any non-200 or degraded answer, or one that does not name the ranker "xgboost".
# Environment: as run.sh (BUILD, WORK, BS_USERS, BS_ITEMS, BS_PG_PORT, BS_PORT, RS_*).
# Run it under `flock /tmp/rs-serving.lock`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
. "$ROOT/bench/serving/lib.sh"
bs_vars
N="${BS_ANS_USERS:-1000}"; K="${BS_K:-10}"
OUT="${1:?usage: answers.sh OUT}"
mkdir -p "$WORK/log"

ME=answers.sh
bs_binaries
trap bs_stop EXIT
bs_cached_stack

bs_start
bs_wait_version
out="$("$FRESH_BIN" --url "$URL" --k "$K" --warm-users "$N" --warm-conns 1 --key-file "$WORK/api-key" 2>&1)" \
  || { say "$ME: warm-up failed: $out"; exit 1; }
: >"$OUT"
for u in $(seq 1 "$N"); do
  body="$(curl -sS -f -H "Authorization: $BS_AUTHORIZATION" "$URL/v1/users/$u/recommendations?k=$K&explain=1")" \
    || { say "$ME: customer $u: request failed"; exit 1; }
  grep -q '"ranker":"xgboost"' <<<"$body" || { say "$ME: customer $u: not the learned ranker: ${body:0:300}"; exit 1; }
  grep -q '"degraded":true' <<<"$body" && { say "$ME: customer $u: degraded: ${body:0:300}"; exit 1; }
  python3 -c 'import json, sys
def drop(v):
    if isinstance(v, dict):
        return {k: drop(x) for k, x in v.items() if k not in ("rec_id", "request_id", "timings_ms", "hops", "ms", "start_ms")}
    if isinstance(v, list):
        return [drop(x) for x in v]
    return v
print(json.dumps(drop(json.loads(sys.stdin.read())), sort_keys=True))' <<<"$body" >>"$OUT"
done
echo "$ME: $N answers (k=$K, explain=1, model $VERSION, binaries $BUILD) in $OUT, sha256 $(sha256sum "$OUT" | cut -c1-16)"

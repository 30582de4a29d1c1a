#!/usr/bin/env bash
# ci_smoke.sh - the short CI form of run.sh: on ML-100K (temporal-user split) fit pop and
# two-stage with rs-train alone (split, fit, recommend, evaluate) and fail unless two-stage's
# NDCG@20 is above popularity's. Fails closed: a missing dataset, a step that fails or a
# metric that does not parse as a number is a failure, never a skip or an OK.
# The data: RS_DATA, by default REPO/../shared/data. CI runs in a fresh clone with a copy of
# shared/ beside it, so REPO/../shared/data/ml-100k is there (the dataset is never copied into
# the project: its licence forbids redistribution).
# environment: RS_DATA (REPO/../shared/data), RS_TRAIN (rs-train binary), RS_WORK (tmp dir)
set -euo pipefail
shopt -s inherit_errexit
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
DATA="${RS_DATA:-$ROOT/../shared/data}"
BIN="${RS_TRAIN:-}"
if [ -z "$BIN" ]; then
  # the most recently built of the usual build folders
  for c in $(ls -t "$ROOT"/build/services/trainer/rs-train "$ROOT"/build-trainer/services/trainer/rs-train 2>/dev/null); do
    if [ -x "$c" ]; then BIN="$c"; break; fi
  done
fi
[ -n "$BIN" ] || { echo "ci_smoke: FAIL: rs-train not found; build it or set RS_TRAIN" >&2; exit 1; }
[ -f "$DATA/ml-100k/u.data" ] ||
  { echo "ci_smoke: FAIL: $DATA/ml-100k/u.data not found (set RS_DATA to the folder of ml-100k/)" >&2; exit 1; }
W="${RS_WORK:-$(mktemp -d)}"
trap '[ -z "${RS_WORK:-}" ] && rm -rf "$W"' EXIT
"$BIN" split "$DATA/ml-100k/u.data" --out "$W/split" > /dev/null
tail -n +2 "$W/split/test.csv" | cut -d, -f1 | uniq > "$W/users.txt"
ndcg() {  # model -> NDCG@20
  "$BIN" fit --train "$W/split/train.csv" --model "$1" --out "$W/m_$1" --lambda 200 --k 400 \
    --alpha 0.5 --trees 100 --quiet 2> "$W/fit_$1.log" || { cat "$W/fit_$1.log" >&2; return 1; }
  "$BIN" recommend --model "$W/m_$1" --train "$W/split/train.csv" --users "$W/users.txt" --k 20 \
    --out "$W/recs_$1.csv" 2> "$W/recommend_$1.log" || { cat "$W/recommend_$1.log" >&2; return 1; }
  "$BIN" evaluate --test "$W/split/test.csv" --train "$W/split/train.csv" --recs "$W/recs_$1.csv" \
    --k 20 > "$W/eval_$1.md" || return 1
  awk -F'|' '$2 ~ /^ NDCG / {gsub(/ /, "", $3); print $3}' "$W/eval_$1.md"
}
number() { [[ $1 =~ ^[0-9]+(\.[0-9]+)?$ ]]; }
pop=$(ndcg pop) || { echo "ci_smoke: FAIL: pop: a step failed" >&2; exit 1; }
two=$(ndcg two-stage) || { echo "ci_smoke: FAIL: two-stage: a step failed" >&2; exit 1; }
echo "ci_smoke: ML-100K temporal-user NDCG@20: pop $pop, two-stage $two"
if ! number "$pop" || ! number "$two"; then
  echo "ci_smoke: FAIL: NDCG@20 is not a number in rs-train evaluate's table:" >&2
  cat "$W"/eval_*.md >&2
  exit 1
fi
# awk's exit status is the answer: 0 = above, 1 = not above (2 would be awk failing).
if ! awk -v two="$two" -v pop="$pop" 'BEGIN { exit !(two > pop) }'; then
  echo "ci_smoke: FAIL: two-stage is not above popularity" >&2
  exit 1
fi
echo "ci_smoke: OK"

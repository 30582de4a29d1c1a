#!/usr/bin/env bash
# check_equivalence.sh - rs-train against shared/bench on the same files:
#   1. `rs-train split` vs split.py: train.csv and test.csv byte-identical (temporal-user,
#      leave-one-out, global-time, --min-rating; csv, tsv, seq, basket inputs);
#   2. `rs-train evaluate` vs score.py: every metric and standard error equal to 1e-9 on the
#      recs files bench/accuracy/run.sh wrote (or on fresh pop/ease lists when it has not run).
# Fails (exit 1) on any difference or missing dataset. It checks that the splits and the metrics are
# computed like shared/bench's, not any model's accuracy (bench/accuracy/run.sh measures that). environment: RS_BENCH, RS_DATA, RS_TRAIN, PYTHON.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BENCH="${RS_BENCH:-$ROOT/../shared/bench}"
DATA="${RS_DATA:-$ROOT/../shared/data}"
BIN="${RS_TRAIN:-}"
if [ -z "$BIN" ]; then
  for c in $(ls -t "$ROOT"/build/services/trainer/rs-train "$ROOT"/build-trainer/services/trainer/rs-train 2>/dev/null); do
    if [ -x "$c" ]; then BIN="$c"; break; fi
  done
fi
[ -n "$BIN" ] || { echo "check: rs-train not found; set RS_TRAIN" >&2; exit 1; }
PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  for c in python3 /usr/bin/python3; do
    if "$c" -c 'import numpy' 2>/dev/null; then PY="$c"; break; fi
  done
fi
[ -n "$PY" ] || { echo "check: no python3 with numpy" >&2; exit 1; }
W="$(mktemp -d)"
trap 'rm -rf "$W"' EXIT
fail=0

split_case() {  # name input args...
  local name="$1" in="$DATA/$2"; shift 2
  [ -f "$in" ] || { echo "split $name: $in not found (set RS_DATA)" >&2; fail=1; return; }
  "$PY" "$BENCH/split.py" "$in" --out "$W/py_$name" "$@" > /dev/null 2>&1
  "$BIN" split "$in" --out "$W/c_$name" "$@" > /dev/null 2>&1
  for f in train.csv test.csv; do
    if cmp -s "$W/py_$name/$f" "$W/c_$name/$f"; then echo "split $name $f: identical"
    else echo "split $name $f: DIFFERENT"; fail=1; fi
  done
}
split_case ml100k ml-100k/u.data
split_case ml100k-loo ml-100k/u.data --protocol leave-one-out
split_case ml100k-gt ml-100k/u.data --protocol global-time
split_case ml100k-r4 ml-100k/u.data --min-rating 4
split_case beauty-loo amazon-beauty/Beauty.txt --format seq --protocol leave-one-out
split_case mls ml-latest-small/ratings.csv
split_case groceries groceries/groceries.csv --format basket

compare() {  # test train recs
  "$PY" "$BENCH/score.py" --test "$1" --train "$2" --recs "$3" --json "$W/py.json" --quiet > /dev/null 2>&1
  "$BIN" evaluate --test "$1" --train "$2" --recs "$3" --json "$W/c.json" --quiet > /dev/null
  "$PY" - "$W/py.json" "$W/c.json" "$3" <<'PYEOF'
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
worst = max(max(abs(a[s][k] - b[s][k]) for k in a[s]) for s in ("metrics", "stderr"))
print(f"evaluate {sys.argv[3]}: {len(a['metrics'])} metrics, max |difference| {worst:.2e}")
sys.exit(0 if worst < 1e-9 else 1)
PYEOF
}
recs=$(ls "$ROOT"/bench/work/accuracy/*/*/recs/recs_*.csv 2>/dev/null || true)
if [ -z "$recs" ] && [ -f "$W/py_ml100k/train.csv" ]; then
  tail -n +2 "$W/py_ml100k/test.csv" | cut -d, -f1 | uniq > "$W/users.txt"
  for m in pop ease; do
    "$BIN" fit --train "$W/py_ml100k/train.csv" --model $m --out "$W/m_$m" --quiet
    "$BIN" recommend --model "$W/m_$m" --train "$W/py_ml100k/train.csv" --users "$W/users.txt" \
      --out "$W/recs_$m.csv" 2> /dev/null
    compare "$W/py_ml100k/test.csv" "$W/py_ml100k/train.csv" "$W/recs_$m.csv" || fail=1
  done
fi
for r in $recs; do
  d="$(dirname "$(dirname "$r")")/split"
  compare "$d/test.csv" "$d/train.csv" "$r" || fail=1
done
[ "$fail" -eq 0 ] && echo "check: all equal" || { echo "check: DIFFERENCES" >&2; exit 1; }

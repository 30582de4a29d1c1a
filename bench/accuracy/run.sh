#!/usr/bin/env bash
# run.sh - every rs-train model on every shared dataset, scored by shared/bench, written up
# in docs/BENCHMARKS.md next to shared/bench's reference numbers.
#
#   bench/accuracy/run.sh [--only NAME[.PROTOCOL]] [--models LIST] [--no-report]
#
# environment:
#   RS_BENCH  shared/bench folder (split.py, score.py, results/)  [REPO/../shared/bench]
#   RS_DATA   dataset folder                                       [REPO/../shared/data]
#   RS_WORK   splits, models, recs, scores                         [REPO/bench/work/accuracy]
#   RS_TRAIN  the rs-train binary                                  [REPO/build/services/trainer/rs-train,
#                                                                   else build-trainer/...]
#   PYTHON    python3 with numpy (default: python3 if it imports numpy, else /usr/bin/python3)
# Datasets and per-dataset parameters: bench/accuracy/datasets.conf.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BENCH="${RS_BENCH:-$ROOT/../shared/bench}"
DATA="${RS_DATA:-$ROOT/../shared/data}"
WORK="${RS_WORK:-$ROOT/bench/work/accuracy}"
ONLY=""
MODELS="pop itemknn als ease two-stage"
REPORT=1
while [ $# -gt 0 ]; do
  case "$1" in
    --only) ONLY="$2"; shift 2 ;;
    --models) MODELS="${2//,/ }"; shift 2 ;;
    --no-report) REPORT=0; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
TRAIN_BIN="${RS_TRAIN:-}"
if [ -z "$TRAIN_BIN" ]; then
  # the most recently built of the usual build folders
  for c in $(ls -t "$ROOT"/build/services/trainer/rs-train "$ROOT"/build-trainer/services/trainer/rs-train 2>/dev/null); do
    if [ -x "$c" ]; then TRAIN_BIN="$c"; break; fi
  done
fi
[ -n "$TRAIN_BIN" ] && [ -x "$TRAIN_BIN" ] || { echo "run.sh: rs-train not found; build it or set RS_TRAIN" >&2; exit 1; }
PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  for c in python3 /usr/bin/python3; do
    if "$c" -c 'import numpy' 2>/dev/null; then PY="$c"; break; fi
  done
fi
[ -n "$PY" ] || { echo "run.sh: no python3 with numpy; set PYTHON" >&2; exit 1; }
[ -f "$BENCH/split.py" ] || { echo "run.sh: $BENCH/split.py not found; set RS_BENCH" >&2; exit 1; }

now() { date +%s.%N; }

grep -v '^#' "$HERE/datasets.conf" | while IFS='|' read -r name protocol input split_args params; do
  [ -n "$name" ] || continue
  if [ -n "$ONLY" ] && [ "$ONLY" != "$name" ] && [ "$ONLY" != "$name.$protocol" ]; then continue; fi
  # A missing dataset fails the run (its rows would silently drop out of the report); --only
  # runs a subset on purpose.
  [ -f "$DATA/$input" ] || { echo "run.sh: $DATA/$input not found (set RS_DATA, or --only)" >&2; exit 1; }
  run="$WORK/$name/$protocol"
  mkdir -p "$run/models" "$run/recs" "$run/scores"
  echo "=== $name ($protocol)"
  # shellcheck disable=SC2086
  "$PY" "$BENCH/split.py" "$DATA/$input" --out "$run/split" --protocol "$protocol" $split_args >/dev/null
  "$PY" - "$run/split/test.csv" > "$run/split/users.txt" <<'PYEOF'
import sys
seen = {}
with open(sys.argv[1]) as f:
    next(f)
    for line in f:
        seen.setdefault(line.split(",", 1)[0], None)
print("\n".join(seen))
PYEOF
  for model in $MODELS; do
    args=""
    IFS=';' read -ra parts <<< "$params"
    for p in "${parts[@]}"; do
      m="${p%%:*}"
      if [ "$model" = "$m" ] || [ "$model" = "two-stage" ]; then args="$args ${p#*:}"; fi
    done
    t0=$(now)
    # shellcheck disable=SC2086
    if ! "$TRAIN_BIN" fit --train "$run/split/train.csv" --model "$model" --out "$run/models/$model" $args --quiet \
         2> "$run/models/$model.log"; then
      echo "  $model: fit failed: $(tail -1 "$run/models/$model.log")"
      continue
    fi
    t1=$(now)
    if ! "$TRAIN_BIN" recommend --model "$run/models/$model" --train "$run/split/train.csv" \
         --users "$run/split/users.txt" --k 20 --out "$run/recs/recs_$model.csv" 2>> "$run/models/$model.log"; then
      echo "  $model: recommend failed: $(tail -1 "$run/models/$model.log")"
      continue
    fi
    t2=$(now)
    if ! "$PY" "$BENCH/score.py" --test "$run/split/test.csv" --train "$run/split/train.csv" \
         --recs "$run/recs/recs_$model.csv" --json "$run/scores/score_$model.json" --quiet > /dev/null; then
      echo "  $model: score.py failed"
      continue
    fi
    fit_s=$(awk "BEGIN{print $t1 - $t0}")
    rec_s=$(awk "BEGIN{print $t2 - $t1}")
    printf '{"model": "%s", "args": "%s", "fit_seconds": %.3f, "recommend_seconds": %.3f}\n' \
      "$model" "$(echo $args)" "$fit_s" "$rec_s" > "$run/scores/meta_$model.json"
    ndcg=$("$PY" -c "import json,sys; print('%.4f' % json.load(open(sys.argv[1]))['metrics']['NDCG@20'])" "$run/scores/score_$model.json")
    printf '  %-10s NDCG@20 %s  fit %6.2fs  recommend %5.2fs\n' "$model" "$ndcg" "$fit_s" "$rec_s"
  done
done
if [ "$REPORT" -eq 1 ]; then
  "$PY" "$HERE/report.py" --work "$WORK" --bench "$BENCH" --conf "$HERE/datasets.conf" \
    --train-bin "$TRAIN_BIN" --out "$ROOT/docs/BENCHMARKS.md"
  echo "wrote $ROOT/docs/BENCHMARKS.md"
fi

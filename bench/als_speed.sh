#!/usr/bin/env bash
# als_speed.sh - rs-train ALS fit time against benfred/implicit's published numbers.
#
#   bench/als_speed.sh [--quick]      (--quick: skip the 5M-interaction synthetic matrix)
#
# 1. MovieLens 100K binarized (all 100,000 ratings are positives): 64 factors, 15 iterations,
#    3 CG steps, on 1 and on 2 threads; best of 3 runs. implicit 0.7.3 (CPU): 0.46 s on one
#    core, 0.26 s on two (issue 4).
# 2. A generated 100,000 x 20,000 matrix with 5,000,000 non-zeros (Zipf 0.8 item popularity,
#    `rs-train synth`), same settings, 2 threads. implicit: about 23-28 s on two cores.
# Only the fit is timed (rs-train prints load and fit separately). Writes the table to
# bench/work/als_speed/als_speed.md (report.py copies it into docs/BENCHMARKS.md) and stdout.
# environment: RS_DATA (REPO/../shared/data), RS_TRAIN (rs-train binary), RS_WORK (REPO/bench/work)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
DATA="${RS_DATA:-$ROOT/../shared/data}"
WORK="${RS_WORK:-$ROOT/bench/work}/als_speed"
QUICK=0
[ "${1:-}" = "--quick" ] && QUICK=1
BIN="${RS_TRAIN:-}"
if [ -z "$BIN" ]; then
  # the most recently built of the usual build folders
  for c in $(ls -t "$ROOT"/build/services/trainer/rs-train "$ROOT"/build-trainer/services/trainer/rs-train 2>/dev/null); do
    if [ -x "$c" ]; then BIN="$c"; break; fi
  done
fi
[ -n "$BIN" ] || { echo "als_speed.sh: rs-train not found; set RS_TRAIN" >&2; exit 1; }
mkdir -p "$WORK"
ALS="--model als --factors 64 --iterations 15 --cg-steps 3 --reg 0.01 --alpha 1"

fit_seconds() {  # threads train.csv -> fit seconds printed by rs-train
  RS_TRAIN_THREADS="$1" "$BIN" fit --train "$2" $ALS --out "$WORK/model" 2>&1 |
    sed -n 's/.* fit \([0-9.]*\)s,.*/\1/p'
}
best_of() {  # n threads csv
  local best="" t
  for _ in $(seq "$1"); do
    t=$(fit_seconds "$2" "$3")
    if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then best=$t; fi
  done
  echo "$best"
}

out="$WORK/als_speed.md"
{
  echo "Command: \`bench/als_speed.sh\` (ALS: 64 factors, 15 iterations, 3 CG steps, float32;"
  echo "fit time only, best of 5 runs for ML-100K, 2 for the generated matrix; the VM is shared with other jobs). Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores."
  echo
  echo "| data | threads | rs-train fit s | benfred/implicit s | implicit / rs-train |"
  echo "|---|---:|---:|---:|---:|"
} > "$out"
if [ -f "$DATA/ml-100k/u.data" ]; then
  awk 'BEGIN{print "user,item,timestamp"} {print $1","$2","$4}' "$DATA/ml-100k/u.data" > "$WORK/ml100k.csv"
  for t in 1 2; do
    ref=$([ "$t" = 1 ] && echo 0.46 || echo 0.26)
    s=$(best_of 5 "$t" "$WORK/ml100k.csv")
    printf '| ML-100K binarized (943 x 1,682, 100,000 nnz) | %s | %.3f | %s | %.2fx |\n' "$t" "$s" "$ref" \
      "$(awk "BEGIN{print $ref / $s}")" >> "$out"
  done
else
  echo "als_speed.sh: $DATA/ml-100k/u.data not found; skipping ML-100K" >&2
fi
if [ "$QUICK" -eq 0 ]; then
  [ -f "$WORK/zipf.csv" ] || "$BIN" synth --out "$WORK/zipf.csv" --n-users 100000 --n-items 20000 \
    --nnz 5000000 --zipf 0.8 --seed 1
  s=$(best_of 2 2 "$WORK/zipf.csv")
  printf '| generated 100,000 x 20,000, 5,000,000 nnz, Zipf 0.8 | 2 | %.2f | 23-28 | %.1f-%.1fx |\n' "$s" \
    "$(awk "BEGIN{print 23 / $s}")" "$(awk "BEGIN{print 28 / $s}")" >> "$out"
fi
cat "$out"

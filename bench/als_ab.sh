#!/usr/bin/env bash
# als_ab.sh - the ALS fit time of two or more rs-train builds, side by side on a noisy machine.
#
#   bench/als_ab.sh [-n ROUNDS] [-t THREADS] [--zipf] LABEL=RS_TRAIN LABEL=RS_TRAIN ...
#
# Each round fits the model of bench/als_speed.sh (64 factors, 15 iterations, 3 CG steps,
# regularization 0.01, --alpha 1) once with every build in turn, so that the machine's slow
# phases fall on all of them alike; prints, per build, the fit seconds (the manifest's
# fit_seconds: load not included) at the minimum, the first quartile and the median of the
# rounds. Data: ML-100K binarized (default) or, with --zipf, the 5M generated matrix, both from
# bench/als_speed.sh's work folder (run it once first). Defaults: 10 rounds, 2 threads.
# environment: RS_WORK (REPO/bench/work)
set -euo pipefail
shopt -s inherit_errexit
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
WORK="${RS_WORK:-$ROOT/bench/work}/als_speed"
ROUNDS=10
THREADS=2
DATA=ml100k.csv
usage() { echo "usage: bench/als_ab.sh [-n ROUNDS] [-t THREADS] [--zipf] LABEL=RS_TRAIN LABEL=RS_TRAIN ..." >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    -n) [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || usage; ROUNDS=$2; shift 2 ;;
    -t) [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || usage; THREADS=$2; shift 2 ;;
    --zipf) DATA=zipf.csv; shift ;;
    -*) usage ;;
    *) break ;;
  esac
done
[ $# -ge 2 ] || usage
labels=()
bins=()
for a in "$@"; do
  [[ $a == *=* ]] || usage
  labels+=("${a%%=*}")
  bins+=("${a#*=}")
  [ -x "${a#*=}" ] || { echo "als_ab.sh: ${a#*=} is not an executable" >&2; exit 1; }
done
[ -f "$WORK/$DATA" ] ||
  { echo "als_ab.sh: $WORK/$DATA not found (run bench/als_speed.sh once)" >&2; exit 1; }
ALS="--model als --factors 64 --iterations 15 --cg-steps 3 --reg 0.01 --alpha 1"
out="$WORK/ab"
times="$WORK/ab.times"
: > "$times"
for _ in $(seq "$ROUNDS"); do
  for k in "${!bins[@]}"; do
    rm -rf "$out"
    log=$(RS_TRAIN_THREADS="$THREADS" "${bins[$k]}" fit --train "$WORK/$DATA" $ALS --out "$out" 2>&1) ||
      { echo "als_ab.sh: ${labels[$k]}: rs-train fit failed: $log" >&2; exit 1; }
    t=$(sed -n 's/.*"fit_seconds": *\([0-9.]*\).*/\1/p' "$out/manifest.json")
    [[ $t =~ ^[0-9]+(\.[0-9]+)?$ ]] ||
      { echo "als_ab.sh: ${labels[$k]}: no fit_seconds in $out/manifest.json" >&2; exit 1; }
    echo "$k $t" >> "$times"
  done
done
echo "ALS fit seconds, $DATA, $THREADS thread(s), $ROUNDS rounds, $(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '| build | min | q25 | median |\n|---|---:|---:|---:|\n'
for k in "${!bins[@]}"; do
  awk -v k="$k" '$1 == k { print $2 }' "$times" | sort -g | awk -v l="${labels[$k]}" '
    { v[NR] = $1 }
    END {
      if (NR == 0) exit 1
      printf "| %s | %.4f | %.4f | %.4f |\n", l, v[1], v[int((NR - 1) / 4) + 1],
        (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2)
    }'
done

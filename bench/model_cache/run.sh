#!/usr/bin/env bash
# run.sh: memory per open model version (model_mem) for the ML-100K two-stage model (fitted by
# bench/accuracy/ci_smoke.sh into RS_WORK and published by bench/ranker/ranker_agree) and for a
# 20,000-item x 64-factor ALS version written by rs-train's publish test fixture writer.
#   RS_WORK=/tmp/w bench/model_cache/run.sh [BUILD_DIR (build)]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
B="$ROOT/${1:-build}"
W="${RS_WORK:?set RS_WORK to the folder of bench/accuracy/ci_smoke.sh}"
cmake --build "$B" -j2 --target model_mem ranker_agree rs-train >/dev/null
[ -d "$W/v1" ] || "$B/bench/ranker/ranker_agree" "$W/m_two-stage" "$W/split/train.csv" "$W/v1" 20 >/dev/null
"$B/bench/model_cache/model_mem" "$W/v1" 4
# 20,000 x 64: a synthetic ALS fit of the same shape as the serving benchmark's catalog
if [ ! -d "$W/big-v" ]; then
  python3 - "$W/big.csv" <<'PY'
import random, sys
random.seed(7)
with open(sys.argv[1], "w") as f:
    f.write("user,item,timestamp\n")
    for u in range(20000):
        for s in range(6):
            f.write("%d,%d,%d\n" % (u, random.randrange(20000), 1700000000 + u * 10 + s))
PY
  "$B/services/trainer/rs-train" fit --train "$W/big.csv" --model als --factors 64 --iterations 2 --threads 2 \
    --out "$W/big-m" --quiet
  "$B/services/trainer/rs-train" publish --model "$W/big-m" --out "$W/big-v" >/dev/null
fi
"$B/bench/model_cache/model_mem" "$W/big-v" 4

#!/bin/bash
# rs-trainer-setup: the compose trainer job, scripts/up.sh's steps 5 and 6 in a container.
#   1. an empty event store gets the demo shop (rs-train generate), or the dataset at RS_DATASET
#      (rs-train import --format RS_DATASET_FORMAT [--catalog RS_DATASET_CATALOG])
#   2. unless a version is active and its folder is in RS_MODEL_DIR (RS_RETRAIN=1 trains anyway):
#      rs-train pipeline ${RS_TRAIN_ARGS---quick}, which publishes into RS_MODEL_DIR and activates
#      the best version; like up.sh, a failed training leaves serving on live popularity unless
#      RS_TRAIN_REQUIRED=1 (then the job fails and the services do not start).
# Environment: RS_PG_DSN, RS_MODEL_DIR, RS_DEMO_USERS (1000), RS_DEMO_ITEMS (3000),
# RS_DEMO_DAYS (28), RS_DEMO_SEED (42), RS_DATASET, RS_DATASET_FORMAT, RS_DATASET_CATALOG,
# RS_RETRAIN (0), RS_TRAIN_ARGS (--quick), RS_TRAIN_REQUIRED (0), RS_TRAIN_THREADS.
set -euo pipefail
: "${RS_PG_DSN:?RS_PG_DSN is required}" "${RS_MODEL_DIR:?RS_MODEL_DIR is required}"
step() { printf '==> %s\n' "$*"; }
PSQL=(psql "$RS_PG_DSN" -X -qAt)

n_events="$("${PSQL[@]}" -c 'select count(*) from events')"
if [ "$n_events" != 0 ]; then
  step "event store already loaded ($n_events events)"
elif [ -n "${RS_DATASET:-}" ]; then
  step "import $RS_DATASET (${RS_DATASET_FORMAT:?RS_DATASET_FORMAT is required with RS_DATASET})"
  rs-train import --format "$RS_DATASET_FORMAT" --input "$RS_DATASET" \
    ${RS_DATASET_CATALOG:+--catalog "$RS_DATASET_CATALOG"} --dsn "$RS_PG_DSN"
else
  step "demo shop: ${RS_DEMO_USERS:-1000} customers, ${RS_DEMO_ITEMS:-3000} items, ${RS_DEMO_DAYS:-28} days"
  rs-train generate --dsn "$RS_PG_DSN" --users "${RS_DEMO_USERS:-1000}" \
    --items "${RS_DEMO_ITEMS:-3000}" --days "${RS_DEMO_DAYS:-28}" --seed "${RS_DEMO_SEED:-42}"
fi

active="$("${PSQL[@]}" -c 'select path from model_versions where active')"
if [ -n "$active" ] && [ -d "$RS_MODEL_DIR/$active" ] && [ "${RS_RETRAIN:-0}" != 1 ]; then
  step "model version $active already active (RS_RETRAIN=1 trains a new one)"
  exit 0
fi
step "train + publish models into $RS_MODEL_DIR"
# shellcheck disable=SC2086  # RS_TRAIN_ARGS is a list of flags
if rs-train pipeline --dsn "$RS_PG_DSN" --models-dir "$RS_MODEL_DIR" ${RS_TRAIN_ARGS---quick}; then
  step "published: $("${PSQL[@]}" -c 'select path from model_versions where active')"
elif [ "${RS_TRAIN_REQUIRED:-0}" = 1 ]; then
  echo "training failed and RS_TRAIN_REQUIRED=1" >&2
  exit 1
else
  echo "training failed; serving falls back to live popularity (RS_TRAIN_REQUIRED=1 makes this fatal)" >&2
fi

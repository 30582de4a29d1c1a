#!/usr/bin/env bash
# pipeline_stages.sh - do `rs-train pipeline` and its five stages (`--stage snapshot|split|fit|
# evaluate|publish --run-dir RUN`, deploy/airflow's tasks) publish the same version, and does an
# older rs-train's one-shot run publish it too? On one generated shop (seed 7) in a private
# PostgreSQL cluster (scripts/pg.sh):
#
#   bench/pipeline_stages.sh NEW_RS_TRAIN [OLD_RS_TRAIN]
#
# Runs: OLD one-shot (when given), NEW one-shot, NEW staged (five processes), each publishing
# its own version into one models folder. Compared per version: data.mdb (md5: LMDB written
# byte for byte), mdb_dump -a, manifest.json without its clock fields (created, fit_seconds,
# published.at, published.from), the model_versions row (metrics without fit_seconds, params,
# data fingerprint) and the training_runs metrics (every model, without fit_seconds). Prints the
# seconds of each run and of each stage, and "identical: N versions"; exits 1 on a difference.
# Not a CI check (tests/services/trainer_pipeline checks NEW staged against NEW one-shot).
# environment: RS_WORK (REPO/bench/work), RS_PG_PORT (26199), SHOP ("--users 400 --items 1500
# --days 30"), ARGS (pipeline flags, "--quick")
set -euo pipefail
[ $# -ge 1 ] && [ $# -le 2 ] || { echo "usage: bench/pipeline_stages.sh NEW_RS_TRAIN [OLD_RS_TRAIN]" >&2; exit 2; }
ROOT=$(cd "$(dirname "$0")/.." && pwd)
NEW=$(realpath "$1"); OLD=${2:+$(realpath "$2")}
WORK=${RS_WORK:-$ROOT/bench/work}/pipeline_stages
PORT=${RS_PG_PORT:-26199}
SHOP=${SHOP:---users 400 --items 1500 --days 30}
read -r -a PARGS <<<"${ARGS:---quick}"
for t in jq mdb_dump psql; do command -v $t >/dev/null || { echo "pipeline_stages: needs $t" >&2; exit 2; }; done
rm -rf "$WORK"; mkdir -p "$WORK"
DSN=$("$ROOT/scripts/pg.sh" start "$WORK/pg" "$PORT")
trap '"$ROOT/scripts/pg.sh" stop "$WORK/pg" >/dev/null' EXIT
RS_PG_DSN="$DSN" "$ROOT/scripts/migrate.sh" >/dev/null 2>&1
read -r -a shop <<<"$SHOP"
"$NEW" generate --dsn "$DSN" "${shop[@]}" --seed 7 >/dev/null 2>&1
M=$WORK/models
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
echo "shop: $SHOP; $(psql "$DSN" -X -qAt -c 'select count(*) from events') events; flags: ${PARGS[*]}; load: $(cut -d' ' -f1-3 /proc/loadavg)"
versions=()
if [ -n "$OLD" ]; then
  t=$(now); "$OLD" pipeline --dsn "$DSN" --models-dir "$M" "${PARGS[@]}" --version old --quiet
  echo "old one-shot: $(secs "$t" "$(now)") s"; versions+=(old)
fi
t=$(now); "$NEW" pipeline --dsn "$DSN" --models-dir "$M" "${PARGS[@]}" --version one-shot --quiet
echo "new one-shot: $(secs "$t" "$(now)") s"; versions+=(one-shot)
t0=$(now)
for s in snapshot split fit evaluate publish; do
  t=$(now)
  "$NEW" pipeline --stage $s --run-dir "$WORK/run" --dsn "$DSN" --models-dir "$M" "${PARGS[@]}" --version staged --quiet
  printf '  stage %-9s %s s\n' "$s" "$(secs "$t" "$(now)")"
done
echo "new staged: $(secs "$t0" "$(now)") s (run folder: $(du -sh "$WORK/run" | cut -f1))"; versions+=(staged)
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"

norm() { # the comparable facts of version $1
  local V=$M/$1
  [ -s "$V/data.mdb" ] && [ -s "$V/manifest.json" ] || { echo "pipeline_stages: $1 published no version" >&2; exit 1; }
  md5sum <"$V/data.mdb"
  mdb_dump -a "$V" | md5sum
  jq -S 'del(.created, .fit_seconds, .published.at, .published.from)' "$V/manifest.json"
  psql "$DSN" -X -qAt -v v="$1" <<'SQL'
select (metrics - 'fit_seconds')::text, params::text, data_fingerprint from model_versions where version = :'v';
select (select jsonb_object_agg(k, case when jsonb_typeof(x) = 'object' then x - 'fit_seconds' else x end)
        from jsonb_each(metrics) e(k, x))::text from training_runs where model_version = :'v' and status = 'finished';
SQL
}
for v in "${versions[@]}"; do norm "$v" >"$WORK/$v.facts"; done
fail=0
for v in "${versions[@]}"; do
  [ "$(wc -l <"$WORK/$v.facts")" -gt 10 ] || { echo "pipeline_stages: no facts for $v" >&2; exit 1; }
  diff "$WORK/one-shot.facts" "$WORK/$v.facts" || { echo "pipeline_stages: $v differs from one-shot" >&2; fail=1; }
done
[ $fail = 0 ] && echo "identical: ${#versions[@]} versions (${versions[*]}): data.mdb $(head -c 12 "$WORK/one-shot.facts")..., manifest, registry"
exit $fail

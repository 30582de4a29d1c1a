#!/usr/bin/env bash
# trainer_identical.sh - do two rs-train binaries write the same files? For refactors that must
# not change behaviour: build the old commit and the new one, then
#
#   bench/trainer_identical.sh OLD/rs-train NEW/rs-train
#
# Both run the same commands (about 10 s each): generate (two shops), split (every protocol, the
# delimited formats, auto-detected and given columns, k-core, the error cases), fit two-stage (three
# source and holdout settings), als, itemknn and pop, recommend, publish (LMDB through mdb_dump -a,
# manifest.json) and publish's refusals. Compared: every file written, stdout+stderr and exit code
# of every command. Left out: the wall-clock parts (the manifests' created/fit_seconds, published.at,
# split.json's seconds; log timestamps, pids and durations); JSON is compared after jq -S.
# Prints "identical: N files" and exits 0, or prints the differences and exits 1. Not a CI check:
# it needs a binary built from the commit before the change.
# environment: RS_WORK (REPO/bench/work)
set -uo pipefail
[ $# -eq 2 ] || { echo "usage: bench/trainer_identical.sh OLD_RS_TRAIN NEW_RS_TRAIN" >&2; exit 2; }
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${RS_WORK:-$ROOT/bench/work}/trainer_identical
for b in "$1" "$2"; do [ -x "$b" ] || { echo "trainer_identical: $b is not an executable" >&2; exit 2; }; done
for t in jq mdb_dump; do command -v $t >/dev/null || { echo "trainer_identical: needs $t" >&2; exit 2; }; done

# scenario BIN DIR: every command, its output and exit code in DIR/log
scenario() {
  local B=$1 O=$2 p m
  rm -rf "$O"; mkdir -p "$O"
  log() { echo "== ${*:2}" >>"$O/log"; "$@" >>"$O/log" 2>&1; echo "rc=$?" >>"$O/log"; }
  log "$B" generate --out "$O/gen" --seed 7 --end 1700000000 --users 150 --items 300 --days 10
  log "$B" generate --out "$O/gen2" --seed 3 --end 1700003600 --users 60 --items 120 --days 5 --sessions 10
  local E=$O/gen/events.csv
  for p in temporal-user global-time random-user leave-one-out; do
    log "$B" split "$E" --out "$O/split-$p" --protocol $p --columns -,user,item,-,-,-,timestamp --seed 5
  done
  log "$B" split "$E" --out "$O/split-auto"
  log "$B" split "$E" --out "$O/split-kcore" --columns -,user,item,rating,-,-,timestamp --min-user 5 --min-item 5 --min-rating 0
  tail -n +2 "$E" | awk -F, '{print $2"\t"$3"\t"$4"\t"int($7/1000)}' >"$O/in.tsv"
  tail -n +2 "$E" | awk -F, '{print $2" "$3" "int($7/1000)}' >"$O/in.space"
  tail -n +2 "$E" | awk -F, '{print $2" "$3" "$4}' >"$O/in.space3r"
  tail -n +2 "$E" | awk -F, '{print $2"::"$3"::"$4"::"int($7/1000)}' >"$O/in.dat"
  printf 'userId,movieId,rating,timestamp\n1,2,4.0,2020-01-02T03:04:05Z\n1,3,3.5,2020-01-03\n2,2,5,1577934245\nbad\n2,3,1,1577934246\n3,2,2,1577934247\n' >"$O/iso.csv"
  printf 'user item rating\n1 2 3\n1 3 4\n2 2 5\n2 4 1\n3 2 2\n3 4 5\n' >"$O/hdr.txt"
  printf 'a,b\nb\n' >"$O/bad1.csv"
  printf 'u,i,rating\n1,2,x\n' >"$O/bad2.csv"
  printf '1 2 3 4 5 6\n1 2\n' >"$O/bad3.txt"
  printf '\n  \n' >"$O/empty.csv"
  log "$B" split "$O/in.tsv" --out "$O/split-tsv"
  log "$B" split "$O/in.space" --out "$O/split-space" --format space
  log "$B" split "$O/in.space3r" --out "$O/split-space3r" --format space --protocol random-user --seed 9
  log "$B" split "$O/in.dat" --out "$O/split-dat" --format dat --protocol leave-one-out
  log "$B" split "$O/in.tsv" --out "$O/split-ml" --format ml100k --min-rating 2 --keep-cold
  log "$B" split "$O/in.space" --out "$O/split-gt2" --format space --protocol global-time --test-frac 0.3 --min-user 3
  log "$B" split "$O/iso.csv" --out "$O/split-iso" --min-holdout 1 --test-frac 0.5
  log "$B" split "$O/hdr.txt" --out "$O/split-hdr" --min-holdout 1
  for p in bad1.csv bad2.csv empty.csv; do log "$B" split "$O/$p" --out "$O/split-$p"; done
  log "$B" split "$O/bad3.txt" --out "$O/split-bad3" --format space
  log "$B" split "$O/in.space" --out "$O/split-nomr" --format space --min-rating 2
  log "$B" split "$O/in.tsv" --out "$O/split-badproto" --protocol nope
  log "$B" split "$O/in.tsv" --out "$O/split-badfmt" --format nope
  log "$B" split "$O/in.tsv" --out "$O/split-badcol" --columns user,foo
  local T=$O/split-temporal-user/train.csv
  tail -n +2 "$O/split-temporal-user/test.csv" | cut -d, -f1 | uniq >"$O/users.txt"
  log "$B" fit --train "$T" --model two-stage --out "$O/m" --seed 1 --threads 1 --trees 20 --depth 4 --candidates 30 --factors 8 --iterations 3
  log "$B" recommend --model "$O/m" --train "$T" --users "$O/users.txt" --k 20 --out "$O/recs.csv" --threads 1
  log "$B" fit --train "$T" --model two-stage --out "$O/m2" --seed 1 --threads 1 --trees 10 --sources als,pop --holdout random-user --label-folds 2 --objective rank:ndcg --factors 8 --iterations 3
  log "$B" recommend --model "$O/m2" --train "$T" --users "$O/users.txt" --k 10 --out "$O/recs2.csv" --threads 1
  log "$B" fit --train "$O/split-leave-one-out/train.csv" --model two-stage --out "$O/m3" --seed 2 --threads 1 --trees 10 --sources itemknn,pop --holdout leave-one-out
  log "$B" fit --train "$T" --model als --out "$O/m-als" --seed 1 --threads 1 --factors 8 --iterations 3
  log "$B" fit --train "$T" --model itemknn --out "$O/m-knn" --k 150 --threads 1
  log "$B" fit --train "$T" --model pop --out "$O/m-pop" --threads 1
  printf '{"ndcg@20":0.1}\n' >"$O/metrics.json"
  for m in m m2 m3 m-als m-knn m-pop; do
    log "$B" publish --model "$O/$m" --out "$O/pub-$m" --json "$O/metrics.json"
    [ -f "$O/pub-$m/data.mdb" ] && mdb_dump -a "$O/pub-$m" >"$O/pub-$m.dump" 2>&1
  done
  log "$B" publish --model "$O/m" --out "$O/pub-m"
  log "$B" publish --model "$O/nope" --out "$O/pub-nope"
  log "$B" publish --model "$O/m" --out "$O/pub-badjson" --json "$O/nope.json"
  find "$O" \( -name data.mdb -o -name lock.mdb \) -delete
  find "$O" -name '*.json' | while read -r f; do
    jq -S 'walk(if type == "object" then del(.created, .at, .fit_seconds, .seconds) else . end)' \
      "$f" >"$f.n" && mv "$f.n" "$f"
  done
  sed -E -i 's/^ts=[^ ]+ //; s/pid=[0-9]+ //; s/(seconds|prep_s)=[0-9.]+//g; s/[0-9]+\.[0-9]+s\b/Xs/g' "$O/log"
}

# Both in the same folder name (paths are in the outputs), then moved aside.
rm -rf "$WORK"; mkdir -p "$WORK"
scenario "$1" "$WORK/run" && mv "$WORK/run" "$WORK/old"
scenario "$2" "$WORK/run" && mv "$WORK/run" "$WORK/new"
# fail closed: a scenario that wrote nothing would compare equal
for d in old new; do
  for f in gen/events.csv split-random-user/train.csv recs.csv recs2.csv pub-m.dump pub-m-knn.dump pub-m/manifest.json; do
    [ -s "$WORK/$d/$f" ] || { echo "trainer_identical: $d run wrote no $f (see $WORK/$d/log)" >&2; exit 1; }
  done
done
if diff -r "$WORK/old" "$WORK/new"; then
  echo "identical: $(find "$WORK/old" -type f | wc -l) files"
else
  echo "trainer_identical: the outputs differ (above; $WORK)" >&2
  exit 1
fi

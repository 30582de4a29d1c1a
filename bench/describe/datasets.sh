#!/usr/bin/env bash
# bench/describe/datasets.sh - the key figures of `rs-train describe` on the generated marketplace
# and on every shared public dataset (docs/DATA.md quotes this output).
#
#   bench/describe/datasets.sh            prints a markdown table per dataset group, and keeps every
#                                         report (JSON + HTML) in bench/work/describe/datasets/
#
# Inputs are read in place from RS_DATA (never copied into the repository). Two shared folders
# are not in an importer's native layout and are reshaped into temporary files first (in
# bench/work, outside git): retailrocket's three per-type files (visitorid itemid event, tabs)
# become one user,item,type CSV (the `train` format), and groceries' baskets (one comma-separated
# basket per line, no user) become basket,item rows read by the csv importer (--ids map).
# environment: RS_DATA (REPO/../shared/data), RS_TRAIN (rs-train binary), RS_WORK (REPO/bench/work)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
DATA="${RS_DATA:-$ROOT/../shared/data}"
[ -d "$DATA" ] || DATA=/work/shared/data
WORK="${RS_WORK:-$ROOT/bench/work}/describe/datasets"
BIN="${RS_TRAIN:-}"
if [ -z "$BIN" ]; then
  for c in $(ls -t "$ROOT"/build*/services/trainer/rs-train 2>/dev/null); do
    if [ -x "$c" ]; then BIN="$c"; break; fi
  done
fi
[ -n "$BIN" ] || { echo "describe/datasets.sh: rs-train not found; set RS_TRAIN" >&2; exit 1; }
mkdir -p "$WORK"
NOW=1780000000

# generated marketplace: the defaults of `rs-train generate` (what scripts/up.sh loads), seed 42
[ -s "$WORK/shop/events.csv" ] || "$BIN" generate --out "$WORK/shop" --seed 42 --end $NOW >/dev/null 2>&1
# retailrocket: the three per-type files as one user,item,type CSV
if [ ! -s "$WORK/retailrocket.csv" ]; then
  { echo "user,item,type"
    for t in view add_to_cart purchase; do
      f=$t; [ $t = add_to_cart ] && f=add_to_cart; [ $t = view ] && f=view
      tail -n +2 "$DATA/retailrocket/${f}_ecommerce.dat" | awk -F'\t' -v t=$t '{print $1","$2","t}'
    done; } > "$WORK/retailrocket.csv"
fi
# groceries: basket number, item name
[ -s "$WORK/groceries.csv" ] || awk -F, 'BEGIN{print "basket,item"} {for (i = 1; i <= NF; i++) print NR",\""$i"\""}' \
  "$DATA/groceries/groceries.csv" > "$WORK/groceries.csv"

describe() {  # name, describe args...
  local name="$1"; shift
  "$BIN" describe "$@" --now $NOW --json "$WORK/$name.json" --html "$WORK/$name.html" --quiet 2>/dev/null
}
describe shop --input "$WORK/shop/events.csv"
describe ml-100k --input "$DATA/ml-100k/u.data" --format movielens-100k --catalog "$DATA/ml-100k/u.item"
describe ml-latest-small --input "$DATA/ml-latest-small/ratings.csv" --format movielens --catalog "$DATA/ml-latest-small/movies.csv"
describe amazon-beauty --input "$DATA/amazon-beauty/Beauty.txt" --format sequence
describe retailrocket --input "$WORK/retailrocket.csv"
describe lastfm-2k --input "$DATA/lastfm-2k/user_artists.dat" --format csv --delimiter tab \
  --map user=userID,item=artistID,value=weight --type view
describe groceries --input "$WORK/groceries.csv" --format csv --map user=basket,item=item --ids map --type purchase

echo "Run $(date -u '+%Y-%m-%d %H:%M UTC'), git $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'), reference time --now $NOW."
python3 - "$WORK" <<'PY'
import json, sys
w = sys.argv[1]
names = ['shop', 'ml-100k', 'ml-latest-small', 'amazon-beauty', 'retailrocket', 'lastfm-2k', 'groceries']
R = {n: json.load(open(f'{w}/{n}.json')) for n in names}
def g(r, path):
    for k in path.split('.'):
        if r is None: return None
        r = r.get(k)
    return r
def f(v, kind):
    if v is None: return '–'
    if kind == 'int': return f'{v:,.0f}'
    if kind == 'pct': return f'{100 * v:.1f} %'
    if kind == 'pct3': return f'{100 * v:.3f} %'
    if kind == 'd1': return f'{v:.1f}'
    if kind == 'd3': return f'{v:.3f}'
    return str(v)
rows = [
  ('events', 'counts.events', 'int'), ('users', 'counts.users', 'int'), ('items', 'counts.items', 'int'),
  ('density (pairs / users x items)', 'counts.density', 'pct3'), ('pairs', 'counts.pairs', 'int'),
  ('time span (days)', 'time.span_days', 'd1'), ('events per day (mean)', 'time.events_per_day.mean', 'd1'),
  ('events per user: median', 'user_activity.median', 'int'), ('events per user: p90', 'user_activity.p90', 'int'),
  ('events per user: Gini', 'user_activity.gini', 'd3'),
  ('events per item: median', 'item_popularity.median', 'int'), ('events per item: Gini', 'item_popularity.gini', 'd3'),
  ('share of events on the top 1 % of items', 'item_popularity.top1pct_share', 'pct'),
  ('items holding 80 % of events', 'item_popularity.items_for_80pct', 'int'),
  ('funnel view -> cart (pairs)', 'funnel.overall.view_to_cart', 'pct'),
  ('funnel cart -> purchase', 'funnel.overall.cart_to_purchase', 'pct'),
  ('bought pairs bought again', 'repeat_purchase.repeat_pair_rate', 'pct'),
  ('buyers with 2+ purchases', 'repeat_purchase.repeat_buyer_rate', 'pct'),
  ('sessions (30 min gap): median events', 'sessions.events.median', 'int'),
  ('new users among last-7-day users', 'cold.cold_user_share', 'pct'),
  ('new items among last-7-day items', 'cold.cold_item_share', 'pct'),
  ('exact duplicates', 'quality.duplicates', 'int'), ('users > 60 events / 60 s', 'quality.bots.users', 'int'),
  ('events of those users', 'quality.bots.event_share', 'pct'),
]
print('| figure | ' + ' | '.join(names) + ' |')
print('|---|' + '---:|' * len(names))
for label, path, kind in rows:
    print(f'| {label} | ' + ' | '.join(f(g(R[n], path), kind) for n in names) + ' |')
bt = ['view', 'click', 'add_to_cart', 'purchase', 'rating', 'not_interested', 'interaction']
print()
print('| events by type | ' + ' | '.join(names) + ' |')
print('|---|' + '---:|' * len(names))
for t in bt:
    vals = [g(R[n], 'counts.by_type').get(t) for n in names]
    if any(vals): print(f'| {t} | ' + ' | '.join(f(v, "int") for v in vals) + ' |')
PY

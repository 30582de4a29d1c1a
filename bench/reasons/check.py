#!/usr/bin/env python3
"""bench/reasons/check.py ANSWERS: counts what the reasons in the answers bench/reasons/run.sh
saved say against what the same answers show (run.sh describes the files). Prints the counts;
exits 1 when a count that must be 0 is not."""
import glob
import json
import os
import re
import sys

# the verb a reason uses for the strongest event on the item it names
VERB_OF = {"purchase": "bought", "add_to_cart": "added", "rating": "rated", "view": "viewed",
           "click": "viewed"}
STRENGTH = ["purchase", "add_to_cart", "rating", "view", "click"]
BECAUSE = re.compile(r"^because you (bought|viewed|rated) (.+)$|^because you (added) (.+) to your cart$")
RELATED = re.compile(r"^related to an item you (bought|viewed|rated|added)(?: to your cart)?$")
PERSONAL = re.compile(r"\b(you|your|yours)\b", re.I)


def load(path):
    with open(path) as f:
        return json.load(f)


def strongest(types):
    for t in STRENGTH:
        if t in types:
            return t
    return None


def check_personal(files, c, prefix):
    """Recommendation answers with explain: history, sources and titles in the same answer."""
    for path in files:
        a = load(path)
        ex = a.get("explain", {})
        catalog = ex.get("catalog", {})
        title_ids = {}
        for sid, it in catalog.items():
            title_ids.setdefault(it.get("title", ""), set()).add(int(sid))
        hist = {}
        for e in ex.get("feature", {}).get("recent", []):
            hist.setdefault(e["item_id"], set()).add(e["type"])
        for it in a.get("items", []):
            c[prefix + "items"] += 1
            reason = it.get("reason", "")
            srcs = it.get("sources", [])
            names = {s["source"] for s in srcs}
            because = {s["because_item"] for s in srcs if s.get("because_item")}
            m = BECAUSE.match(reason)
            if m:
                verb = m.group(1) or m.group(3)
                title = m.group(2) or m.group(4)
                ids = title_ids.get(title, set())
                c[prefix + "because_you"] += 1
                in_hist = [i for i in ids if i in hist]
                from_src = [i for i in in_hist if i in because]
                if not in_hist:
                    c[prefix + "because_not_in_history"] += 1
                if not from_src:
                    c[prefix + "because_not_a_source_item"] += 1
                right = [i for i in (from_src or in_hist) if VERB_OF.get(strongest(hist[i])) == verb]
                if not right:
                    c[prefix + "because_wrong_verb"] += 1
                continue
            m = RELATED.match(reason)
            if m:
                verb = m.group(1)
                verb = "added" if verb == "added" else verb
                c[prefix + "because_you"] += 1
                ok = [i for i in because if i in hist and VERB_OF.get(strongest(hist[i])) == verb]
                if not [i for i in because if i in hist]:
                    c[prefix + "because_not_a_source_item"] += 1
                elif not ok:
                    c[prefix + "because_wrong_verb"] += 1
                continue
            if reason.startswith("often bought together with "):
                title = reason[len("often bought together with "):]
                ids = title_ids.get(title, set())
                c[prefix + "bought_together"] += 1
                if not [i for i in ids if i in hist and i in because]:
                    c[prefix + "bought_together_not_a_source_history_item"] += 1
                continue
            if reason == "trending now":
                c[prefix + "trending"] += 1
                if "popular" not in names:
                    c[prefix + "trending_not_from_popular"] += 1
                continue
            if reason.startswith("popular in "):
                c[prefix + "popular_in"] += 1
                leaf = (it.get("category") or "").rsplit("/", 1)[-1]
                if reason[len("popular in "):] != leaf or "category" not in names:
                    c[prefix + "popular_in_not_from_category"] += 1
                continue
            if reason == "recommended for you":
                c[prefix + "generic"] += 1
                # a true specific reason existed: a source with a history item, or popular
                if [b for b in because if b in hist] or "popular" in names or "category" in names:
                    c[prefix + "generic_with_specific_available"] += 1
                continue
            c[prefix + "other:" + reason] += 1


def check_public(files, c):
    for path in files:
        a = load(path)
        for it in a.get("items", []):
            c["public_items"] += 1
            if PERSONAL.search(it.get("reason", "")):
                c["public_claims_personal"] += 1
                c["public_personal:" + it["reason"]] += 1


def main():
    d = sys.argv[1]
    c = {}

    class Counter(dict):
        def __missing__(self, k):
            return 0

    c = Counter()
    check_personal(sorted(glob.glob(os.path.join(d, "ranked", "*.json"))), c, "")
    check_personal(sorted(glob.glob(os.path.join(d, "degraded", "*.json"))), c, "degraded_")
    check_public(sorted(glob.glob(os.path.join(d, "public", "*.json"))), c)
    must_be_zero = ["because_not_in_history", "because_not_a_source_item", "because_wrong_verb",
                    "bought_together_not_a_source_history_item", "trending_not_from_popular",
                    "popular_in_not_from_category", "generic_with_specific_available"]
    must_be_zero += ["degraded_" + k for k in must_be_zero]
    must_be_zero += ["public_claims_personal"]
    order = ["items", "because_you", "because_not_in_history", "because_not_a_source_item",
             "because_wrong_verb", "bought_together", "bought_together_not_a_source_history_item",
             "trending", "trending_not_from_popular", "popular_in",
             "popular_in_not_from_category", "generic", "generic_with_specific_available"]
    print("ranked (learned ranker unless the model has none):")
    for k in order:
        print(f"  {k:45s} {c[k]}")
    for k in sorted(x for x in c if x.startswith("other:")):
        print(f"  {k:45s} {c[k]}")
    print("ranking down (the gateway's fallback from the candidates' sources):")
    for k in order:
        print(f"  {k:45s} {c['degraded_' + k]}")
    for k in sorted(x for x in c if x.startswith("degraded_other:")):
        print(f"  {k:45s} {c[k]}")
    print("non-personal lists (similar, bought-together, popular):")
    print(f"  {'items':45s} {c['public_items']}")
    print(f"  {'claims personalization':45s} {c['public_claims_personal']}")
    for k in sorted(x for x in c if x.startswith("public_personal:")):
        print(f"    {k[len('public_personal:'):]:43s} {c[k]}")
    bad = [k for k in must_be_zero if c[k] != 0]
    if c["items"] == 0:
        bad.append("no items")
    print("RESULT " + ("ok" if not bad else "FAIL: " + ", ".join(bad)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

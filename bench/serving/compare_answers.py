#!/usr/bin/env python3
"""bench/serving/compare_answers.py A B: how far apart two answers.sh files are.

For a change meant to move only the last bits of some numbers (a different summation order in
a BLAS call, say), where `cmp` says only "differ". A and B must hold the same customers in the
same order (answers.sh on the same database state). Prints one line per measure:
  - customers whose shown list is the same (item ids in order), the same set, and the items the
    two lists share;
  - shown items whose score, reason or sources differ;
  - answers whose candidate list (explain.candidate.candidates, item ids in order) differs;
  - over the answers whose shown and candidate lists are the same: the largest relative
    difference of any number at the same place in both answers (explain included), where it
    was seen, and how many other values (strings, booleans) differ.
Exit status 0 when those answers have the same structure (keys, list lengths), 1 otherwise.
"""
import json
import sys


def walk(x, y, path, acc):
    """Largest relative difference between the numbers of x and y; False on a shape mismatch."""
    if isinstance(x, bool) or isinstance(y, bool) or x is None or y is None or isinstance(x, str):
        if x != y:
            acc["other"] += 1
        return True
    if isinstance(x, (int, float)) and isinstance(y, (int, float)):
        d = abs(x - y) / max(abs(x), abs(y), 1e-30)
        if d > acc["max"]:
            acc["max"], acc["where"] = d, path
        return True
    if isinstance(x, dict) and isinstance(y, dict):
        if x.keys() != y.keys():
            return False
        return all(walk(x[k], y[k], path + "." + k, acc) for k in x)
    if isinstance(x, list) and isinstance(y, list):
        if len(x) != len(y):
            return False
        return all(walk(a, b, path + "[]", acc) for a, b in zip(x, y))
    return False


def main():
    if len(sys.argv) != 3:
        print("usage: compare_answers.py A B (two answers.sh files)", file=sys.stderr)
        return 2
    with open(sys.argv[1]) as fa, open(sys.argv[2]) as fb:
        a = [json.loads(line) for line in fa]
        b = [json.loads(line) for line in fb]
    if len(a) != len(b) or any(x.get("user_id") != y.get("user_id") for x, y in zip(a, b)):
        print("compare_answers.py: the files do not hold the same customers in the same order",
              file=sys.stderr)
        return 1
    same_list = same_set = shared = shown = 0
    score = reason = sources = cand = 0
    acc = {"max": 0.0, "where": "", "other": 0}
    shape_ok = True
    walked = 0
    for x, y in zip(a, b):
        ia = [i["item_id"] for i in x["items"]]
        ib = [i["item_id"] for i in y["items"]]
        same_list += ia == ib
        same_set += set(ia) == set(ib)
        shared += len(set(ia) & set(ib))
        shown += len(ia)
        if ia == ib:
            for i, j in zip(x["items"], y["items"]):
                score += i.get("score") != j.get("score")
                reason += i.get("reason") != j.get("reason")
                sources += i.get("sources") != j.get("sources")
        ca = [c["item_id"] for c in x.get("explain", {}).get("candidate", {}).get("candidates", [])]
        cb = [c["item_id"] for c in y.get("explain", {}).get("candidate", {}).get("candidates", [])]
        cand += ca != cb
        if ia == ib and ca == cb:
            walked += 1
            shape_ok &= walk(x, y, "", acc)
    n = len(a)
    print(f"customers: {n}; same shown list {same_list}, same set {same_set}, "
          f"shown items shared {shared} of {shown}")
    print(f"shown items (in the same lists) whose score differs {score}, reason {reason}, "
          f"sources {sources}")
    print(f"answers whose candidate list differs: {cand}")
    if shape_ok:
        print(f"over the {walked} answers with the same shown and candidate lists: largest "
              f"relative difference of any number {acc['max']:.3g}"
              f"{' at ' + acc['where'] if acc['where'] else ''}; other values differing: "
              f"{acc['other']}")
    else:
        print("the answers differ in structure (keys or list lengths), not only in numbers")
    return 0 if shape_ok else 1


if __name__ == "__main__":
    sys.exit(main())

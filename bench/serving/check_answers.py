#!/usr/bin/env python3
"""bench/serving/check_answers.py: does the stack serve what run.sh means to measure?

  check_answers.py --url URL --key-file F --users N [--sample 100] [--k 10]
                   --version V --sources covisit,bought_together,...
                   --ranker-sources als,itemknn,pop

Asks for the explained recommendations (explain=1) of --sample customers spread evenly over
1..N and fails (exit 1, one line per problem) unless
  - every answer is 200, not degraded, names model_version V and was ranked by the learned
    ranker (explain.ranking.ranker == "xgboost");
  - every retrieval source of --sources produced candidates (explain.candidate.candidates[]
    .sources[].source) in at least one answer; a source that applies to few customers (the
    `metadata` source when the version lacks only a handful of catalog items) may miss the
    sample, so a source missing from it is looked for in up to --probe more customers (spread
    over the rest of 1..N) before it counts as a problem;
  - every learned-ranker source of --ranker-sources reached the ranker: its "<s>_ratio"
    feature (score / the user's best) is non-zero for some ranked item of some answer.
Prints one summary line: per source, in how many answers it produced candidates and how many
of the shown items carry it; per ranker source, in how many answers its feature was non-zero.
"""
import argparse
import json
import sys
import urllib.error
import urllib.request


def fetch(a, key, u):
    """The explained answer for customer u: (body, None) or (None, the error)."""
    req = urllib.request.Request(
        f"{a.url}/v1/users/{u}/recommendations?k={a.k}&explain=1",
        headers={"Authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.load(r), None
    except (urllib.error.URLError, OSError, ValueError) as e:
        return None, e


def candidate_sources(body):
    """The retrieval sources that produced candidates in an explained answer."""
    ex = body.get("explain") or {}
    seen = set()
    for c in (ex.get("candidate") or {}).get("candidates") or []:
        for s in c.get("sources") or []:
            seen.add(s.get("source"))
    return seen


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--key-file", required=True)
    ap.add_argument("--users", type=int, required=True)
    ap.add_argument("--sample", type=int, default=100)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--probe", type=int, default=2000)
    ap.add_argument("--version", required=True)
    ap.add_argument("--sources", required=True)
    ap.add_argument("--ranker-sources", required=True)
    a = ap.parse_args()
    with open(a.key_file) as f:
        key = f.read().strip()
    want = [s for s in a.sources.split(",") if s]
    want_rk = [s for s in a.ranker_sources.split(",") if s]
    n = max(1, min(a.sample, a.users))
    users = sorted({1 + (i * a.users) // n for i in range(n)})
    cand = {s: 0 for s in want}
    shown = {}
    rk = {s: 0 for s in want_rk}
    problems = []
    for u in users:
        body, err = fetch(a, key, u)
        if err is not None:
            problems.append(f"user {u}: {err}")
            continue
        ex = body.get("explain") or {}
        ranker = (ex.get("ranking") or {}).get("ranker")
        if body.get("degraded"):
            problems.append(f"user {u}: degraded: {body.get('degraded_reason')}")
        if body.get("model_version") != a.version:
            problems.append(f"user {u}: model_version {body.get('model_version')!r}, "
                            f"expected {a.version!r}")
        if ranker != "xgboost":
            problems.append(f"user {u}: ranked by {ranker!r}, not the learned ranker")
        seen = candidate_sources(body)
        for s in want:
            cand[s] += s in seen
        for it in body.get("items") or []:
            for s in it.get("sources") or []:
                shown[s.get("source")] = shown.get(s.get("source"), 0) + 1
        nonzero = set()
        for it in (ex.get("ranking") or {}).get("items") or []:
            for f in it.get("features") or []:
                name = f.get("name") or ""
                if name.endswith("_ratio") and f.get("value"):
                    nonzero.add(name[:-len("_ratio")])
        for s in want_rk:
            rk[s] += s in nonzero
    probed = []
    missing = {s for s in want if cand[s] == 0}
    if missing and a.probe > 0:
        sampled = set(users)
        rest = [u for u in range(1, a.users + 1) if u not in sampled]
        step = max(1, len(rest) // a.probe)
        for u in rest[::step][:a.probe]:
            body, err = fetch(a, key, u)
            if err is not None:
                problems.append(f"user {u}: {err}")
                break
            found = missing & candidate_sources(body)
            for s in found:
                probed.append(f"{s} in customer {u}")
            missing -= found
            if not missing:
                break
    for s in sorted(missing):
        problems.append(f"source {s}: no candidates in any of {len(users)} answers "
                        f"nor in {a.probe} more customers")
    for s in want_rk:
        if rk[s] == 0:
            problems.append(f"ranker source {s}: its feature was 0 in all {len(users)} answers")
    print(f"answers checked: {len(users)} customers (explain=1, k={a.k}), version {a.version}; "
          "answers with candidates from / shown items carrying each source: "
          + ", ".join(f"{s} {cand[s]}/{shown.get(s, 0)}" for s in want)
          + "; answers where the ranker saw each of its sources: "
          + ", ".join(f"{s} {rk[s]}" for s in want_rk)
          + (f"; missing from the sample, found by probing: {', '.join(probed)}" if probed else ""))
    for p in problems[:20]:
        print(f"check_answers.py: {p}", file=sys.stderr)
    if len(problems) > 20:
        print(f"check_answers.py: ... {len(problems) - 20} more", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

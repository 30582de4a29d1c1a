#!/usr/bin/env python3
"""bench/serving/passes.py LABEL=LOG[,LOG...] ...: one line per label and connection count over
the warm rows of bench/serving/run.sh outputs (several runs of one setting pooled): passes,
req/s min-max (median), p99 min-max (median), CPU ms per answer over the five services
min-max, machine busy % min-max. For A/B runs of a setting (e.g. RS_GATEWAY_THREADS), where
passes of one setting differ by up to 2x on this machine and a single pass says little.

  bench/serving/passes.py t4=a.log,b.log t16=c.log,d.log
"""
import statistics
import sys


def warm_rows(path):
    rows = []
    with open(path) as f:
        for line in f:
            c = [x.strip() for x in line.split("|")]
            if len(c) > 15 and c[1].startswith("warm"):
                rows.append((int(c[2]), float(c[3]), float(c[6]), float(c[13].strip("*")),
                             int(c[14])))
    return rows


def main(argv):
    if not argv or any("=" not in a for a in argv):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    for arg in argv:
        label, logs = arg.split("=", 1)
        try:
            rows = [r for log in logs.split(",") for r in warm_rows(log)]
        except (OSError, ValueError) as e:
            print(f"passes.py: {label}: {e}", file=sys.stderr)
            return 1
        if not rows:
            print(f"passes.py: no warm rows in {logs}", file=sys.stderr)
            return 1
        for conns in sorted({r[0] for r in rows}):
            sel = [r for r in rows if r[0] == conns]
            rq, p99, cpu, busy = ([r[i] for r in sel] for i in range(1, 5))
            print(f"{label} c{conns}: {len(sel)} passes, req/s {min(rq):.0f}-{max(rq):.0f} "
                  f"(median {statistics.median(rq):.0f}), p99 {min(p99):.1f}-{max(p99):.1f} ms "
                  f"(median {statistics.median(p99):.1f}), CPU {min(cpu):.3f}-{max(cpu):.3f} "
                  f"ms/answer, busy {min(busy)}-{max(busy)} %")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

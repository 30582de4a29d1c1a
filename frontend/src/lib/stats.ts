// Rates and quantiles from two scrapes of Prometheus counters and histograms.
import type { Histogram } from './prom';

/** Per-second increase of a counter between two scrapes; a reset (drop) counts from zero. */
export function rate(prev: number, cur: number, dtSeconds: number): number {
  if (!(dtSeconds > 0)) return 0;
  const inc = cur >= prev ? cur - prev : cur;
  return inc / dtSeconds;
}

export type Buckets = { le: number; count: number }[];

/** Merge cumulative bucket lists with the same bounds (e.g. every route of a service). */
export function mergeBuckets(lists: Buckets[]): Buckets {
  const by = new Map<number, number>();
  for (const l of lists) for (const b of l) by.set(b.le, (by.get(b.le) ?? 0) + b.count);
  return [...by.entries()].sort((a, b) => a[0] - b[0]).map(([le, count]) => ({ le, count }));
}

/** Bucket increase between two scrapes (cumulative counts stay cumulative); resets count from 0. */
export function deltaBuckets(prev: Buckets | undefined, cur: Buckets): Buckets {
  if (!prev) return cur.map((b) => ({ ...b }));
  const p = new Map(prev.map((b) => [b.le, b.count]));
  const reset = cur.some((b) => b.count < (p.get(b.le) ?? 0));
  return cur.map((b) => ({ le: b.le, count: reset ? b.count : b.count - (p.get(b.le) ?? 0) }));
}

/**
 * Prometheus' histogram_quantile: linear interpolation inside the bucket that holds rank q*total;
 * the first bucket starts at 0; a rank in the +Inf bucket answers the highest finite bound.
 * NaN when there are no observations.
 */
export function quantile(q: number, buckets: Buckets): number {
  if (buckets.length === 0) return NaN;
  const last = buckets[buckets.length - 1]!;
  const total = last.count;
  if (!(total > 0)) return NaN;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const b of buckets) {
    if (b.count >= rank) {
      if (b.le === Infinity) return prevLe;
      const inBucket = b.count - prevCount;
      if (inBucket <= 0) return b.le;
      return prevLe + ((b.le - prevLe) * (rank - prevCount)) / inBucket;
    }
    prevLe = b.le;
    prevCount = b.count;
  }
  return prevLe;
}

/** Non-cumulative counts per bucket, for drawing a histogram. */
export function perBucket(buckets: Buckets): { le: number; n: number }[] {
  let prev = 0;
  return buckets.map((b) => {
    const n = b.count - prev;
    prev = b.count;
    return { le: b.le, n };
  });
}

export function histBuckets(h: Histogram): Buckets {
  return h.buckets;
}

import { describe, expect, it } from 'vitest';
import { deltaBuckets, mergeBuckets, perBucket, quantile, rate } from '../lib/stats';

describe('rate', () => {
  it('is the increase per second', () => expect(rate(100, 130, 3)).toBe(10));
  it('counts from zero after a counter reset', () => expect(rate(100, 6, 2)).toBe(3));
  it('is 0 without elapsed time', () => expect(rate(1, 5, 0)).toBe(0));
});

describe('quantile (histogram_quantile)', () => {
  // 10 observations: 4 in (0,1], 4 in (1,5], 2 in (5,10]
  const b = [
    { le: 1, count: 4 },
    { le: 5, count: 8 },
    { le: 10, count: 10 },
    { le: Infinity, count: 10 },
  ];
  it('interpolates inside the first bucket from 0', () => expect(quantile(0.2, b)).toBeCloseTo(0.5, 9)); // rank 2 of 4 in (0,1]
  it('interpolates inside a middle bucket', () => expect(quantile(0.5, b)).toBeCloseTo(2, 9)); // rank 5: 1 + 4*(1/4)
  it('p99 falls in the (5,10] bucket', () => expect(quantile(0.99, b)).toBeCloseTo(9.75, 9)); // rank 9.9: 5 + 5*(1.9/2)
  it('a rank in +Inf answers the last finite bound', () => {
    expect(quantile(0.99, [{ le: 1, count: 1 }, { le: Infinity, count: 10 }])).toBe(1);
  });
  it('is NaN without observations', () => expect(quantile(0.5, [{ le: 1, count: 0 }, { le: Infinity, count: 0 }])).toBeNaN());
});

describe('bucket arithmetic', () => {
  it('merges series with the same bounds', () => {
    expect(mergeBuckets([[{ le: 1, count: 2 }, { le: Infinity, count: 3 }], [{ le: 1, count: 5 }, { le: Infinity, count: 5 }]])).toEqual([
      { le: 1, count: 7 },
      { le: Infinity, count: 8 },
    ]);
  });
  it('subtracts the previous scrape', () => {
    expect(deltaBuckets([{ le: 1, count: 2 }, { le: Infinity, count: 3 }], [{ le: 1, count: 5 }, { le: Infinity, count: 9 }])).toEqual([
      { le: 1, count: 3 },
      { le: Infinity, count: 6 },
    ]);
  });
  it('treats a reset as counting from zero', () => {
    expect(deltaBuckets([{ le: 1, count: 9 }], [{ le: 1, count: 2 }])).toEqual([{ le: 1, count: 2 }]);
  });
  it('turns cumulative counts into per-bucket counts', () => {
    expect(perBucket([{ le: 1, count: 4 }, { le: 5, count: 8 }, { le: Infinity, count: 10 }]).map((x) => x.n)).toEqual([4, 4, 2]);
  });
});

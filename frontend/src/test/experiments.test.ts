import { describe, expect, it } from 'vitest';
import { fmtEst, kpiChart, sharesError } from '../admin/experiments';
import type { ExperimentReport, KpiRow } from '../api/types';

const row = (day: string, ctr: number | null): KpiRow => ({
  day,
  exposed: 2,
  impressions: 5,
  clicks: 1,
  add_to_carts: 0,
  orders: 0,
  buyers: 0,
  gmv: 0,
  ctr: ctr === null ? null : { value: ctr, se: 0.1, lo: ctr - 0.196, hi: ctr + 0.196 },
  add_to_cart_rate: null,
  conversion: null,
  gmv_per_customer: null,
  arppu: null,
  aov: null,
  new_customers: 2,
  retention_d1: null,
  retention_d7: null,
  items_shown: 3,
  coverage: 0.3,
  novelty: 1,
  ltv: null,
});

describe('experiments page helpers', () => {
  it('an estimate with its interval, as a percentage or a number', () => {
    expect(fmtEst({ value: 0.2, se: 0.16, lo: -0.1136, hi: 0.5136 }, true)).toBe('20.0 % [-11.4 %, 51.4 %]');
    expect(fmtEst({ value: 25, se: 15, lo: -4.4, hi: 54.4 }, false)).toBe('25.00 [-4.40, 54.40]');
    expect(fmtEst(null, true)).toBe('–');
  });
  it('shares: 2-4, each in (0, 1], summing to 1', () => {
    expect(sharesError([0.5, 0.5])).toBeNull();
    expect(sharesError([0.4, 0.4, 0.2])).toBeNull();
    expect(sharesError([0.5, 0.4])).toBe('The shares must sum to 1 (they sum to 0.9).');
    expect(sharesError([1])).toBe('An experiment has 2 to 4 variants.');
    expect(sharesError([0, 1])).toBe('Every share must be above 0 and at most 1.');
  });
  it('per-day chart: the days of every variant in order, value and interval per variant, gaps as null', () => {
    const rep = {
      variants: [
        { name: 'a', strategy: 'model', model_version: 'v1', share: 0.5, totals: row('', 0.2), days: [row('2026-11-02', 0.3), row('2026-11-01', 0.2)] },
        { name: 'b', strategy: 'popular', model_version: null, share: 0.5, totals: row('', 0.1), days: [row('2026-11-01', null)] },
      ],
    } as unknown as ExperimentReport;
    const c = kpiChart(rep, 'ctr');
    expect(c.data.labels).toEqual(['2026-11-01', '2026-11-02']);
    expect(c.data.datasets.map((d) => d.label)).toEqual(['a', 'a 95 % low', 'a 95 % high', 'b', 'b 95 % low', 'b 95 % high']);
    expect(c.data.datasets[0]!.data).toEqual([0.2, 0.3]);
    expect(c.data.datasets[2]!.data[1]).toBeCloseTo(0.496, 12);
    expect(c.data.datasets[3]!.data).toEqual([null, null]);
  });
});

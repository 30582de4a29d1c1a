import { describe, expect, it } from 'vitest';
import { binLabel, funnelChart, histogramChart, longTailChart, seriesChart, seriesDay } from '../admin/datareport';
import type { DataReport } from '../api/types';

// The parts of a report the charts read (the rest is irrelevant to them).
const report = {
  time: { first: '2023-11-14T22:13:20Z', last: '2023-12-09T22:13:20Z', span_days: 25, days: 26, series_start: '2023-11-14T00:00:00Z', series_bucket_days: 2, series: [9, 0, 71], events_per_day: { n: 26 } },
  item_popularity: { n: 5, top1pct_items: 1, top1pct_share: 0.84, items_for_50pct: 1, items_for_80pct: 1, long_tail: [[0, 0], [0.2, 0.843], [1, 1]] },
  funnel: { overall: { events: 83, view: 8, add_to_cart: 2, purchase: 2, view_and_cart: 2, cart_and_purchase: 1, view_and_purchase: 1, view_to_cart: 0.25, cart_to_purchase: 0.5, view_to_purchase: 0.125 }, by_category: [] },
} as unknown as DataReport;

describe('data report charts', () => {
  it('labels log2 bins', () => {
    expect(binLabel({ from: 1, to: 1 })).toBe('1');
    expect(binLabel({ from: 3, to: 4 })).toBe('3–4');
  });
  it('dates the series entries by bucket', () => {
    expect(seriesDay('2023-11-14T00:00:00Z', 2, 0)).toBe('2023-11-14');
    expect(seriesDay('2023-11-14T00:00:00Z', 2, 2)).toBe('2023-11-18');
    const c = seriesChart(report);
    expect(c?.data.labels).toEqual(['2023-11-14', '2023-11-16', '2023-11-18']);
    expect(c?.data.datasets[0]?.data).toEqual([9, 0, 71]);
    expect(c?.data.datasets[0]?.label).toBe('events per 2 days');
    expect(seriesChart({ ...report, time: null })).toBeNull();
  });
  it('draws the long tail in percent against the diagonal', () => {
    const c = longTailChart(report);
    expect(c?.data.labels).toEqual(['0 %', '20 %', '100 %']);
    expect(c?.data.datasets[0]?.data).toEqual([0, 84.3, 100]);
    expect(c?.data.datasets[1]?.data).toEqual([0, 20, 100]);
  });
  it('draws the funnel steps and histograms', () => {
    expect(funnelChart(report).data.datasets[0]?.data).toEqual([8, 2, 2]);
    const h = histogramChart({ n: 4, histogram: [{ from: 1, to: 1, count: 0 }, { from: 2, to: 2, count: 3 }] }, 'users', 'events per user');
    expect(h?.data.labels).toEqual(['1', '2']);
    expect(h?.data.datasets[0]?.data).toEqual([0, 3]);
    expect(histogramChart({ n: 0 }, 'users', 'x')).toBeNull();
  });
});

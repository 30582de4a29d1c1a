import { describe, expect, it } from 'vitest';
import { dataSize, runMetricsChart, trainingSeconds, versionMetric } from '../admin/models';
import { match } from '../router';
import { niceTicks } from '../inspector/charts';
import type { ModelVersion } from '../api/types';

const base: ModelVersion = {
  version: 'v1',
  created_at: '2026-12-06T20:26:08.549Z',
  active: true,
  path: 'v1',
  metrics: { model: 'two-stage', 'NDCG@20': 0.2, fit_seconds: 2.5 },
  params: {},
};

describe('models page helpers', () => {
  it('metric from the version, else from its run', () => {
    expect(versionMetric(base, 'NDCG@20')).toBe(0.2);
    expect(versionMetric({ ...base, run: { run_id: 'r1', status: 'finished' as const, started_at: '2026-12-06T20:00:00Z', finished_at: null, durations: {}, data_fingerprint: null, params: {}, metrics: { 'two-stage': { 'Recall@20': 0.3 } } } }, 'Recall@20')).toBe(0.3);
    expect(versionMetric(base, 'Recall@20')).toBeNull();
  });
  it('training time: durations total, else sum of stages, else fit_seconds', () => {
    const run = { run_id: 'r1', status: 'finished' as const, started_at: '2026-12-06T20:00:00Z', finished_at: null, data_fingerprint: null, params: {}, metrics: {} };
    expect(trainingSeconds({ ...base, run: { ...run, durations: { total: 12 } } })).toBe(12);
    expect(trainingSeconds({ ...base, run: { ...run, durations: { split: 1, fit: 2.5, eval: 'x' } } })).toBe(3.5);
    expect(trainingSeconds(base)).toBe(2.5);
  });
  it('data size from the run\'s params.data, absent parts left out', () => {
    const run = { run_id: 'r1', status: 'finished' as const, started_at: '2026-12-06T20:00:00Z', finished_at: null, durations: {}, data_fingerprint: null, metrics: {} };
    expect(dataSize({ ...base, run: { ...run, params: { data: { users: 1000, items: 2988, events: 162478, negatives: 3 } } } })).toBe('1,000 users · 2,988 items · 162,478 events');
    expect(dataSize({ ...base, run: { ...run, params: { data: { items: 5 } } } })).toBe('5 items');
    expect(dataSize({ ...base, run: { ...run, params: {} } })).toBeNull();
    expect(dataSize(base)).toBeNull();
  });
  it('grouped bars: one dataset per model in the fixed order, null for missing metrics', () => {
    const c = runMetricsChart(
      { ...base, run: { run_id: 'r1', status: 'finished' as const, started_at: '2026-12-06T20:00:00Z', finished_at: null, durations: {}, data_fingerprint: null, params: {}, metrics: { als: { 'NDCG@20': 0.1 }, best: 'als', pop: { 'NDCG@20': 0.05, 'Recall@20': 0.07 } } } },
      ['NDCG@20', 'Recall@20'],
      { pop: '#111111' },
    )!;
    expect(c.data.labels).toEqual(['NDCG@20', 'Recall@20']);
    expect(c.data.datasets.map((d) => [d.label, d.data])).toEqual([
      ['pop', [0.05, 0.07]],
      ['als', [0.1, null]],
    ]);
    expect(c.data.datasets[0]!.backgroundColor).toBe('#111111');
    expect(runMetricsChart(base, ['NDCG@20'], {})).toBeNull();
  });
});

describe('router match', () => {
  it('extracts params', () => expect(match('/item/:id', '/item/42')).toEqual({ id: '42' }));
  it('rejects other shapes', () => {
    expect(match('/item/:id', '/item/42/x')).toBeNull();
    expect(match('/item/:id', '/cart')).toBeNull();
  });
});

describe('waterfall axis', () => {
  it('nice ticks cover the range', () => {
    expect(niceTicks(9)).toEqual([0, 5]);
    expect(niceTicks(20)).toEqual([0, 5, 10, 15, 20]);
  });
});

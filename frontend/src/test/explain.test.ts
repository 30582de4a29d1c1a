import { describe, expect, it } from 'vitest';
import { contributions, filteredTotal, finalRows, sourceColumns, titleOf } from '../lib/explain';
import { coldStartNote, isPersonal } from '../lib/coldstart';
import type { Recommendations } from '../api/types';

const item = (id: number, score: number, sources: string[]) => ({
  item_id: id,
  score,
  reason: `r${id}`,
  title: `T${id}`,
  category: 'Home',
  price: 1,
  sources: sources.map((s, i) => ({ source: s, score: 10 - i, rank: i + 1 })),
});

const rec: Recommendations = {
  user_id: 1,
  model_version: 'v1',
  experiment: null,
  variant: null,
  rec_id: 'r',
  request_id: 'q',
  degraded: false,
  timings_ms: { feature: 1, candidate: 2, ranking: 3, total: 7 },
  items: [item(30, 0.9, ['als']), item(10, 0.8, ['covisit', 'popular']), item(99, 0.1, ['popular'])],
  explain: {
    deadline_ms: 250,
    hops: [],
    feature: { called: true, ok: true, ms: 1, embedding_norm: 0, nearest: [] },
    candidate: {
      called: true,
      ok: true,
      ms: 2,
      source: 'candidate',
      requested_k: 100,
      candidates: [
        { item_id: 10, score: 5, sources: [{ source: 'covisit', score: 3, rank: 1 }, { source: 'popular', score: 90, rank: 2 }] },
        { item_id: 20, score: 4, sources: [{ source: 'popular', score: 95, rank: 1 }] },
        { item_id: 30, score: 3, sources: [{ source: 'als', score: 0.4, rank: 1 }] },
      ],
      source_stats: [{ source: 'popular', count: 200, top: 95, low: 1 }],
      filtered: [
        { reason: 'purchased', count: 2, items: [1, 2] },
        { reason: 'not_interested', count: 1, items: [3] },
      ],
    },
    ranking: { called: true, ok: true, ms: 3 },
    catalog: { '20': { title: 'Twenty', category: 'Home', price: 2 } },
  },
};

describe('explain views', () => {
  it('source columns: fixed order, counts from source_stats else counted, top by rank', () => {
    const cols = sourceColumns(rec.explain!);
    expect(cols.map((c) => [c.source, c.count])).toEqual([
      ['covisit', 1],
      ['als', 1],
      ['popular', 200],
    ]);
    expect(cols[2]!.top.map((t) => t.item_id)).toEqual([20, 10]);
  });
  it('final rows: movement against candidate order', () => {
    expect(finalRows(rec).map((r) => [r.item.item_id, r.candidatePosition, r.moved])).toEqual([
      [30, 3, 2],
      [10, 1, -1],
      [99, null, 0],
    ]);
  });
  it('contributions sorted by magnitude; values-only maps give null', () => {
    const c = contributions([
      { name: 'a', label: 'A', value: 1, contribution: 0.1 },
      { name: 'b', label: 'B', value: 1, contribution: -0.5 },
      { name: 'c', label: 'C', value: 1, contribution: 0.3 },
    ]);
    expect(c!.map((x) => x.name)).toEqual(['b', 'c', 'a']);
    expect(contributions({ pop_norm: 0.2 })).toBeNull();
  });
  it('filtered total and titles from catalog or items', () => {
    expect(filteredTotal(rec.explain!)).toBe(3);
    expect(titleOf(rec, 20)).toBe('Twenty');
    expect(titleOf(rec, 30)).toBe('T30');
    expect(titleOf(rec, 5)).toBe('item 5');
  });
});

describe('cold start', () => {
  it('a list with a history source is personal', () => expect(isPersonal(rec.items)).toBe(true));
  it('popular + category only is not, and says so', () => {
    expect(coldStartNote([item(1, 1, ['popular']), item(2, 1, ['category'])])).toBe('New here: popular in categories you looked at');
    expect(coldStartNote([item(1, 1, ['popular'])])).toBe('New here: popular items while we learn your taste');
    expect(coldStartNote(rec.items)).toBeNull();
  });
});

import { degradedLabel } from '../components/Row';
describe('degraded label', () => {
  it('names what the customer gets for each failed hop', () => {
    expect(degradedLabel('candidate unavailable; served the cached popular list')).toBe('degraded: showing popular items');
    expect(degradedLabel('feature timed out after 87 ms; served without history')).toBe('degraded: not personalized right now');
    expect(degradedLabel('ranking timed out after 248 ms; served in candidate order')).toBe('degraded: shown unranked');
    expect(degradedLabel(undefined)).toBe('degraded: showing popular items');
  });
});

import { describe, expect, it } from 'vitest';
import { overlapMatrix } from '../lib/overlap';

describe('overlapMatrix', () => {
  const o = overlapMatrix([
    { item_id: 10, sources: [{ source: 'popular' }, { source: 'covisit' }] },
    { item_id: 11, sources: [{ source: 'als' }] },
    { item_id: 12, sources: [{ source: 'zeta' }, { source: 'covisit' }, { source: 'als' }] },
  ]);
  it('orders columns by the fixed source order, unknown ones last', () => expect(o.sources).toEqual(['covisit', 'als', 'popular', 'zeta']));
  it('marks each final item against each source', () => {
    expect(o.rows.map((r) => r.cells)).toEqual([
      [true, false, true, false],
      [false, true, false, false],
      [true, true, false, true],
    ]);
    expect(o.rows.map((r) => r.n)).toEqual([2, 1, 3]);
  });
  it('counts per source and shared items', () => {
    expect(o.perSource).toEqual([2, 2, 1, 1]);
    expect(o.shared).toBe(2);
  });
  it('empty list, empty matrix', () => expect(overlapMatrix([])).toEqual({ sources: [], rows: [], perSource: [], shared: 0 }));
});

import { describe, expect, it } from 'vitest';
import { diffLists, summarize, whatIfParam } from '../lib/whatif';

describe('diffLists', () => {
  const rows = diffLists([1, 2, 3, 4], [3, 1, 5, 2]);
  it('marks rose, fell, new and gone with positions', () => {
    expect(rows).toEqual([
      { item_id: 3, move: 'up', before: 3, after: 1, delta: 2 },
      { item_id: 1, move: 'down', before: 1, after: 2, delta: -1 },
      { item_id: 5, move: 'new', after: 3, delta: 0 },
      { item_id: 2, move: 'down', before: 2, after: 4, delta: -2 },
      { item_id: 4, move: 'gone', before: 4, delta: 0 },
    ]);
  });
  it('summarizes', () => expect(summarize(rows)).toEqual({ new: 1, gone: 1, up: 1, down: 2, same: 0 }));
  it('identical lists are all unchanged', () => expect(summarize(diffLists([7, 8], [7, 8]))).toEqual({ new: 0, gone: 0, up: 0, down: 0, same: 2 }));
  it('ignores repeated ids', () => expect(diffLists([1, 1], [1]).map((r) => r.move)).toEqual(['same']));
});

describe('whatIfParam', () => {
  it('joins TYPE:ITEM pairs', () => expect(whatIfParam([{ type: 'view', item_id: 3 }, { type: 'purchase', item_id: 9 }])).toBe('view:3,purchase:9'));
});

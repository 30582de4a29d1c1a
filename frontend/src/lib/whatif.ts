// Before/after comparison of two recommendation lists (what-if, version comparison).

export type Move = 'new' | 'gone' | 'up' | 'down' | 'same';
export interface DiffRow {
  item_id: number;
  move: Move;
  before?: number; // 1-based position in the first list
  after?: number; // 1-based position in the second list
  delta: number; // positions gained (positive = rose); 0 for new/gone/same
}

/** Rows in the order of the second list, then the items that left (in their old order). */
export function diffLists(before: readonly number[], after: readonly number[]): DiffRow[] {
  const pos = new Map<number, number>();
  before.forEach((id, i) => {
    if (!pos.has(id)) pos.set(id, i + 1);
  });
  const seen = new Set<number>();
  const rows: DiffRow[] = [];
  after.forEach((id, i) => {
    if (seen.has(id)) return;
    seen.add(id);
    const a = i + 1;
    const b = pos.get(id);
    if (b === undefined) rows.push({ item_id: id, move: 'new', after: a, delta: 0 });
    else {
      const delta = b - a;
      rows.push({ item_id: id, move: delta > 0 ? 'up' : delta < 0 ? 'down' : 'same', before: b, after: a, delta });
    }
  });
  for (const [id, b] of pos) if (!seen.has(id)) rows.push({ item_id: id, move: 'gone', before: b, delta: 0 });
  return rows;
}

export function summarize(rows: readonly DiffRow[]): Record<Move, number> {
  const s: Record<Move, number> = { new: 0, gone: 0, up: 0, down: 0, same: 0 };
  for (const r of rows) s[r.move]++;
  return s;
}

/** `what_if=` value: TYPE:ITEM pairs, comma separated. */
export function whatIfParam(events: readonly { type: string; item_id: number }[]): string {
  return events.map((e) => `${e.type}:${e.item_id}`).join(',');
}

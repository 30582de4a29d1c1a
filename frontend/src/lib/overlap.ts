// Which sources each final item came from: a matrix (rows = final items, columns = sources).
import { SOURCE_ORDER } from './sources';

export interface Sourced {
  item_id: number;
  sources: readonly { source: string }[];
}

export interface Overlap {
  sources: string[]; // columns, in the fixed source order, then unknown ones by name
  rows: { item_id: number; cells: boolean[]; n: number }[];
  perSource: number[]; // how many final items each source gave
  shared: number; // final items given by more than one source
}

export function overlapMatrix(items: readonly Sourced[]): Overlap {
  const present = new Set<string>();
  for (const it of items) for (const s of it.sources) present.add(s.source);
  const known = SOURCE_ORDER.filter((s) => present.has(s));
  const other = [...present].filter((s) => !(SOURCE_ORDER as readonly string[]).includes(s)).sort();
  const sources = [...known, ...other];
  const rows = items.map((it) => {
    const has = new Set(it.sources.map((s) => s.source));
    const cells = sources.map((s) => has.has(s));
    return { item_id: it.item_id, cells, n: cells.filter(Boolean).length };
  });
  const perSource = sources.map((_, j) => rows.filter((r) => r.cells[j]).length);
  return { sources, rows, perSource, shared: rows.filter((r) => r.n > 1).length };
}

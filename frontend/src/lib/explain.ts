// The inspector's view of an explain answer: every number shown comes from the answer itself.
import type { Explain, FeatureContribution, RecItem, Recommendations } from '../api/types';
import { SOURCE_ORDER } from './sources';

export interface SourceColumn {
  source: string;
  count: number; // candidates this source gave (source_stats.count, else counted from candidates)
  top: { item_id: number; score: number; rank: number }[];
}

export function sourceColumns(ex: Explain, topN = 5): SourceColumn[] {
  const cands = ex.candidate.candidates ?? [];
  const by = new Map<string, { item_id: number; score: number; rank: number }[]>();
  for (const c of cands)
    for (const s of c.sources) {
      let l = by.get(s.source);
      if (!l) by.set(s.source, (l = []));
      l.push({ item_id: c.item_id, score: s.score, rank: s.rank });
    }
  const stats = new Map((ex.candidate.source_stats ?? []).map((s) => [s.source, s.count]));
  const names = new Set([...by.keys(), ...stats.keys()]);
  const ordered = [
    ...SOURCE_ORDER.filter((s) => names.has(s)),
    ...[...names].filter((s) => !(SOURCE_ORDER as readonly string[]).includes(s)).sort(),
  ];
  return ordered.map((source) => {
    const l = (by.get(source) ?? []).slice().sort((a, b) => a.rank - b.rank || b.score - a.score);
    return { source, count: stats.get(source) ?? l.length, top: l.slice(0, topN) };
  });
}

/** Feature contributions, biggest magnitude first; null when the ranker sent values only. */
export function contributions(features: FeatureContribution[] | Record<string, number> | undefined): FeatureContribution[] | null {
  if (!Array.isArray(features)) return null;
  return features.slice().sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution) || a.name.localeCompare(b.name));
}

export interface FinalRow {
  position: number;
  item: RecItem;
  candidatePosition: number | null; // 1-based position in the candidate stage, null if absent there
  moved: number; // positions gained vs the candidate stage (positive = rose)
}

export function finalRows(r: Recommendations): FinalRow[] {
  const cands = r.explain?.candidate.candidates ?? [];
  const pos = new Map<number, number>();
  cands.forEach((c, i) => {
    if (!pos.has(c.item_id)) pos.set(c.item_id, i + 1);
  });
  return r.items.map((item, i) => {
    const cp = pos.get(item.item_id) ?? null;
    return { position: i + 1, item, candidatePosition: cp, moved: cp === null ? 0 : cp - (i + 1) };
  });
}

export function filteredTotal(ex: Explain): number {
  return (ex.candidate.filtered ?? []).reduce((n, f) => n + f.count, 0);
}

export function titleOf(r: Recommendations, id: number): string {
  const c = r.explain?.catalog?.[String(id)];
  if (c) return c.title;
  const it = r.items.find((x) => x.item_id === id);
  return it ? it.title : `item ${id}`;
}

/** Latency lanes on one time axis: hops from explain.hops (else from per-stage ms, sequential). */
export function hopLanes(r: Recommendations): { name: string; start: number; ms: number; ok: boolean; error?: string }[] {
  const ex = r.explain;
  if (ex?.hops && ex.hops.length) return ex.hops.map((h) => ({ name: h.name, start: h.start_ms, ms: h.ms, ok: h.ok, ...(h.error ? { error: h.error } : {}) }));
  return [];
}

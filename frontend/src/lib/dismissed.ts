// "Not interested": the dismissed items are hidden from every list at once (client side), sent as
// a not_interested event, and passed as `exclude=` on the next For-you requests until the event
// is visible in the customer's history (or for EXCLUDE_TTL_MS at most). Undo shows the item
// again here; it cannot delete the stored event.
import type { KV } from './cart';

export const EXCLUDE_TTL_MS = 30 * 60 * 1000;
export const MAX_EXCLUDE = 100;

interface Entry {
  item_id: number;
  at: number; // unix ms of the dismissal
  confirmed: boolean; // the not_interested event was seen in the history
}

export class Dismissed {
  private entries: Entry[];
  private listeners = new Set<() => void>();

  constructor(
    private readonly store: KV | null,
    readonly key: string,
  ) {
    this.entries = [];
    try {
      const v: unknown = JSON.parse(store?.getItem(key) ?? '[]');
      if (Array.isArray(v))
        this.entries = (v as unknown[]).filter(
          (e): e is Entry => typeof e === 'object' && e !== null && Number.isInteger((e as Entry).item_id) && typeof (e as Entry).at === 'number',
        );
    } catch {
      this.entries = [];
    }
  }

  private save(): void {
    this.store?.setItem(this.key, JSON.stringify(this.entries.slice(-500)));
    for (const f of this.listeners) f();
  }

  subscribe(f: () => void): () => void {
    this.listeners.add(f);
    return () => this.listeners.delete(f);
  }

  has(item_id: number): boolean {
    return this.entries.some((e) => e.item_id === item_id);
  }

  dismiss(item_id: number, now = Date.now()): void {
    this.entries = this.entries.filter((e) => e.item_id !== item_id);
    this.entries.push({ item_id, at: now, confirmed: false });
    this.save();
  }

  undo(item_id: number): void {
    this.entries = this.entries.filter((e) => e.item_id !== item_id);
    this.save();
  }

  /** Ids to pass as exclude=: newest first, unconfirmed, younger than the TTL, at most MAX_EXCLUDE. */
  excludeIds(now = Date.now()): number[] {
    return this.entries
      .filter((e) => !e.confirmed && now - e.at < EXCLUDE_TTL_MS)
      .sort((a, b) => b.at - a.at)
      .slice(0, MAX_EXCLUDE)
      .map((e) => e.item_id);
  }

  /** Mark dismissals whose not_interested event the history now shows. */
  confirmFromHistory(events: readonly { item_id: number; type: string; ts_ms: number }[]): void {
    let changed = false;
    for (const e of this.entries) {
      if (e.confirmed) continue;
      if (events.some((h) => h.type === 'not_interested' && h.item_id === e.item_id && h.ts_ms >= e.at - 60000)) {
        e.confirmed = true;
        changed = true;
      }
    }
    if (changed) this.save();
  }

  /** Filters a list: dismissed items leave every list at once. */
  visible<T extends { item_id: number }>(list: readonly T[]): T[] {
    if (this.entries.length === 0) return [...list];
    const hidden = new Set(this.entries.map((e) => e.item_id));
    return list.filter((x) => !hidden.has(x.item_id));
  }
}

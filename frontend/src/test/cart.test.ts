import { describe, expect, it } from 'vitest';
import { Cart, MAX_QTY, orderEvents, type KV } from '../lib/cart';
import { Dismissed, EXCLUDE_TTL_MS } from '../lib/dismissed';

class MemKV implements KV {
  m = new Map<string, string>();
  getItem(k: string) {
    return this.m.get(k) ?? null;
  }
  setItem(k: string, v: string) {
    this.m.set(k, v);
  }
  removeItem(k: string) {
    this.m.delete(k);
  }
}
const line = (id: number, price: number | null, rec?: string, pos?: number) => ({
  item_id: id,
  title: `t${id}`,
  category: 'Home',
  price,
  from: { surface: 'for_you', ...(rec ? { rec_id: rec } : {}), ...(pos ? { position: pos } : {}) },
});

describe('Cart', () => {
  it('counts pieces and totals cent-exact', () => {
    const c = new Cart(new MemKV(), 'k');
    c.add(line(1, 0.1));
    c.add(line(2, 0.2), 2);
    c.add(line(1, 0.1));
    expect(c.count).toBe(4);
    expect(c.total).toBe(0.6); // 0.1*2 + 0.2*2, not 0.6000000000000001
  });
  it('keeps the first attribution when the same item is added again', () => {
    const c = new Cart(new MemKV(), 'k');
    c.add(line(1, 5, 'recA', 3));
    c.add(line(1, 5, 'recB', 1));
    expect(c.items[0]!.from).toEqual({ surface: 'for_you', rec_id: 'recA', position: 3 });
    expect(c.items[0]!.qty).toBe(2);
  });
  it('persists across instances and survives garbage in storage', () => {
    const kv = new MemKV();
    new Cart(kv, 'k').add(line(7, 9.99));
    expect(new Cart(kv, 'k').items.map((l) => l.item_id)).toEqual([7]);
    kv.setItem('bad', '{not json');
    expect(new Cart(kv, 'bad').items).toEqual([]);
    kv.setItem('bad2', JSON.stringify([{ item_id: -1, qty: 1 }, { item_id: 3, qty: 0 }, { item_id: 4, qty: 2 }]));
    expect(new Cart(kv, 'bad2').items.map((l) => l.item_id)).toEqual([4]);
  });
  it('caps and removes by quantity', () => {
    const c = new Cart(new MemKV(), 'k');
    c.add(line(1, 1), 500);
    expect(c.items[0]!.qty).toBe(MAX_QTY);
    c.setQty(1, 0);
    expect(c.count).toBe(0);
  });
  it('notifies subscribers', () => {
    const c = new Cart(null, 'k');
    let n = 0;
    c.subscribe(() => n++);
    c.add(line(1, 1));
    c.clear();
    expect(n).toBe(2);
  });
});

describe('orderEvents', () => {
  it('one purchase per line with unit price, quantity and attribution', () => {
    const ev = orderEvents(
      [
        { ...line(1, 12.5, 'r1', 2), qty: 3 },
        { ...line(2, null), qty: 1 },
      ],
      42,
      'ord',
    );
    expect(ev).toEqual([
      { event_id: 'ord-1', user_id: 42, item_id: 1, type: 'purchase', value: 3, price: 12.5, rec_id: 'r1', position: 2 },
      { event_id: 'ord-2', user_id: 42, item_id: 2, type: 'purchase', value: 1 },
    ]);
  });
});

describe('Dismissed', () => {
  it('hides dismissed items from any list and undo shows them again', () => {
    const d = new Dismissed(new MemKV(), 'd');
    d.dismiss(2, 1000);
    expect(d.visible([{ item_id: 1 }, { item_id: 2 }, { item_id: 3 }]).map((x) => x.item_id)).toEqual([1, 3]);
    d.undo(2);
    expect(d.visible([{ item_id: 2 }])).toHaveLength(1);
  });
  it('excludes newest first until the TTL or until the history shows the event', () => {
    const d = new Dismissed(new MemKV(), 'd');
    d.dismiss(5, 1000);
    d.dismiss(6, 2000);
    expect(d.excludeIds(3000)).toEqual([6, 5]);
    expect(d.excludeIds(1000 + EXCLUDE_TTL_MS + 1)).toEqual([6]);
    d.confirmFromHistory([{ item_id: 6, type: 'not_interested', ts_ms: 2100 }, { item_id: 5, type: 'view', ts_ms: 2100 }]);
    expect(d.excludeIds(3000)).toEqual([5]);
    expect(d.has(6)).toBe(true); // still hidden locally
  });
});

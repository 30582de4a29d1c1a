// The cart lives in the browser (localStorage): lines with quantity, price and where the item
// was found (list rec_id + position), so the purchase events carry the same attribution.

export interface Provenance {
  surface: string; // for_you, trending, similar, bought_together, because_viewed, category, search, direct
  rec_id?: string;
  position?: number; // 1-based
}

export interface CartLine {
  item_id: number;
  title: string;
  category: string;
  price: number | null;
  qty: number;
  from: Provenance;
}

export interface KV {
  getItem(k: string): string | null;
  setItem(k: string, v: string): void;
  removeItem(k: string): void;
}

export const MAX_QTY = 99;

export class Cart {
  private lines: CartLine[] = [];
  private listeners = new Set<() => void>();

  constructor(
    private readonly store: KV | null,
    readonly key: string,
  ) {
    this.lines = this.load();
  }

  private load(): CartLine[] {
    if (!this.store) return [];
    try {
      const raw = this.store.getItem(this.key);
      if (!raw) return [];
      const v: unknown = JSON.parse(raw);
      if (!Array.isArray(v)) return [];
      return v.filter(
        (l): l is CartLine =>
          typeof l === 'object' && l !== null &&
          Number.isInteger((l as CartLine).item_id) && (l as CartLine).item_id > 0 &&
          Number.isInteger((l as CartLine).qty) && (l as CartLine).qty > 0,
      );
    } catch {
      return [];
    }
  }

  private save(): void {
    this.store?.setItem(this.key, JSON.stringify(this.lines));
    for (const f of this.listeners) f();
  }

  subscribe(f: () => void): () => void {
    this.listeners.add(f);
    return () => this.listeners.delete(f);
  }

  get items(): readonly CartLine[] {
    return this.lines;
  }

  /** Number of pieces (sum of quantities): the header's cart count. */
  get count(): number {
    return this.lines.reduce((n, l) => n + l.qty, 0);
  }

  /** Sum of price x quantity over lines with a price (cents-exact). */
  get total(): number {
    return Math.round(this.lines.reduce((s, l) => s + (l.price ?? 0) * 100 * l.qty, 0)) / 100;
  }

  /** Adding an item already in the cart raises its quantity and keeps the first attribution. */
  add(line: Omit<CartLine, 'qty'>, qty = 1): void {
    const have = this.lines.find((l) => l.item_id === line.item_id);
    if (have) have.qty = Math.min(MAX_QTY, have.qty + qty);
    else this.lines.push({ ...line, qty: Math.min(MAX_QTY, Math.max(1, qty)) });
    this.save();
  }

  setQty(item_id: number, qty: number): void {
    if (qty <= 0) this.lines = this.lines.filter((l) => l.item_id !== item_id);
    else {
      const l = this.lines.find((x) => x.item_id === item_id);
      if (l) l.qty = Math.min(MAX_QTY, Math.floor(qty));
    }
    this.save();
  }

  remove(item_id: number): void {
    this.setQty(item_id, 0);
  }

  clear(): void {
    this.lines = [];
    this.save();
  }
}

export interface PurchaseEvent {
  event_id: string;
  user_id: number;
  item_id: number;
  type: 'purchase';
  price?: number;
  value: number;
  rec_id?: string;
  position?: number;
}

/** An order = one purchase event per line: unit price, quantity as value, the line's attribution. */
export function orderEvents(lines: readonly CartLine[], user_id: number, orderId: string): PurchaseEvent[] {
  return lines.map((l) => {
    const e: PurchaseEvent = { event_id: `${orderId}-${l.item_id}`, user_id, item_id: l.item_id, type: 'purchase', value: l.qty };
    if (l.price !== null) e.price = l.price;
    if (l.from.rec_id) e.rec_id = l.from.rec_id;
    if (l.from.position) e.position = l.from.position;
    return e;
  });
}

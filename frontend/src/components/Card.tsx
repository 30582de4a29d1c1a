// A product card: picture, title, price, one line of reason, and a small menu with "Not interested".
import { useEffect, useRef, useState } from 'preact/hooks';
import { Link } from '../router';
import { pictureUrl } from '../lib/picture';
import { money } from '../lib/format';
import type { Provenance } from '../lib/cart';
import type { RecItem } from '../api/types';

export interface CardItem {
  item_id: number;
  title: string;
  category: string;
  price: number | null;
  reason?: string;
}

/** A list answer's item as a card. */
export function toCard(it: RecItem): CardItem {
  return { item_id: it.item_id, title: it.title, category: it.category, price: it.price ?? null, reason: it.reason };
}

export function itemHref(id: number, from?: Provenance): string {
  const p = new URLSearchParams();
  if (from) {
    p.set('src', from.surface);
    if (from.rec_id) p.set('rec', from.rec_id);
    if (from.position) p.set('pos', String(from.position));
  }
  const q = p.toString();
  return `/item/${id}${q ? `?${q}` : ''}`;
}

export function Picture({ title, category, size }: { title: string; category: string; size?: number }) {
  return <img src={pictureUrl(title, category)} alt="" aria-hidden="true" width={size ?? 160} height={size ?? 160} />;
}

export function Card({
  item,
  from,
  showReason,
  onOpen,
  onNotInterested,
}: {
  item: CardItem;
  from: Provenance;
  showReason?: boolean;
  onOpen?: () => void;
  onNotInterested?: () => void;
}) {
  const [open, setOpen] = useState(false);
  const menuRef = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open) return;
    const close = (e: Event) => {
      if (e instanceof KeyboardEvent && e.key !== 'Escape') return;
      if (e instanceof MouseEvent && menuRef.current?.contains(e.target as Node)) return;
      setOpen(false);
    };
    document.addEventListener('mousedown', close);
    document.addEventListener('keydown', close);
    (menuRef.current?.querySelector('.menu button') as HTMLButtonElement | null)?.focus();
    return () => {
      document.removeEventListener('mousedown', close);
      document.removeEventListener('keydown', close);
    };
  }, [open]);
  return (
    <article class="card" data-item-id={item.item_id} data-position={from.position} data-testid="card">
      <Link class="card-link" href={itemHref(item.item_id, from)} onClick={onOpen} data-testid="card-link">
        <Picture title={item.title} category={item.category} />
        <div class="card-title">{item.title}</div>
      </Link>
      <div class="card-body">
        <span class="price num">{money(item.price)}</span>
        {showReason && item.reason && (
          <span class="reason" data-testid="reason">
            {item.reason}
          </span>
        )}
      </div>
      {onNotInterested && (
        <div class="card-menu" ref={menuRef}>
          <button
            type="button"
            aria-haspopup="menu"
            aria-expanded={open}
            aria-label={`More options for ${item.title}`}
            data-testid="card-menu"
            onClick={() => setOpen(!open)}
          >
            ⋯
          </button>
          {open && (
            <div class="menu" role="menu">
              <button
                type="button"
                role="menuitem"
                data-testid="not-interested"
                onClick={() => {
                  setOpen(false);
                  onNotInterested();
                }}
              >
                Not interested
              </button>
            </div>
          )}
        </div>
      )}
    </article>
  );
}

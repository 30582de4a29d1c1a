// Cart (kept in the browser) and checkout: an order is one purchase event per line, with its
// unit price, quantity and the list it came from, posted with the session cookie.
import { useState } from 'preact/hooks';
import { Link } from '../router';
import { cart, cartTick, session } from '../state/app';
import { useStore } from '../state/store';
import { money, randomId } from '../lib/format';
import { orderEvents } from '../lib/cart';
import { postEvents } from '../api/client';
import { Picture, itemHref } from '../components/Card';
import { ErrorBox, TableWrap } from '../components/States';

export function CartPage() {
  useStore(cartTick);
  const me = useStore(session);
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState<unknown>(null);
  const [done, setDone] = useState<{ n: number; total: number; order: string } | null>(null);
  const c = cart();
  const lines = c.items;
  const checkout = () => {
    if (!me) return;
    const order = randomId();
    const events = orderEvents(lines, me.user_id, order);
    const total = c.total;
    const n = c.count;
    setBusy(true);
    setErr(null);
    postEvents(events)
      .then((r) => {
        if (r.rejected.length > 0 && r.accepted + r.duplicates === 0) throw new Error(`the order was refused: ${r.rejected.map((x) => x.reason).join('; ')}`);
        c.clear();
        setDone({ n, total, order });
      })
      .catch((e: unknown) => setErr(e))
      .finally(() => setBusy(false));
  };
  return (
    <>
      <h1>Your cart</h1>
      {done && (
        <div class="banner info" role="status" data-testid="order-done">
          Thank you! Order {done.order.slice(0, 8)} placed: {done.n} item{done.n === 1 ? '' : 's'}, {money(done.total)}.{' '}
          <Link href="/">Back to the shop</Link>
        </div>
      )}
      {lines.length === 0 && !done && (
        <p class="empty">
          Your cart is empty. <Link href="/">Find something you like</Link>.
        </p>
      )}
      {lines.length > 0 && (
        <div class="panel">
          <TableWrap label="Cart lines">
            <table data-testid="cart-lines">
              <caption class="sr-only">Items in your cart</caption>
              <thead>
                <tr>
                  <th scope="col">Item</th>
                  <th scope="col" class="num">Price</th>
                  <th scope="col">Quantity</th>
                  <th scope="col" class="num">Subtotal</th>
                </tr>
              </thead>
              <tbody>
                {lines.map((l) => (
                  <tr key={l.item_id} data-item-id={l.item_id}>
                    <td>
                      <div style={{ display: 'flex', gap: '8px', alignItems: 'center' }}>
                        <Picture title={l.title} category={l.category} size={48} />
                        <Link href={itemHref(l.item_id)}>{l.title}</Link>
                      </div>
                    </td>
                    <td class="num">{money(l.price)}</td>
                    <td>
                      <div class="field" style={{ display: 'flex', gap: '4px', alignItems: 'center' }}>
                        <label class="sr-only" for={`qty-${l.item_id}`}>
                          Quantity of {l.title}
                        </label>
                        <input
                          id={`qty-${l.item_id}`}
                          type="number"
                          min={0}
                          max={99}
                          value={l.qty}
                          style={{ width: '64px' }}
                          onChange={(e) => c.setQty(l.item_id, Number(e.currentTarget.value))}
                        />
                        <button type="button" class="linkish small" onClick={() => c.remove(l.item_id)} aria-label={`Remove ${l.title}`}>
                          Remove
                        </button>
                      </div>
                    </td>
                    <td class="num">{money(l.price === null ? null : Math.round(l.price * 100 * l.qty) / 100)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
          <p class="item-price num" data-testid="cart-total">
            Total {money(c.total)}
          </p>
          {err !== null && <ErrorBox error={err} what="The order could not be placed" onRetry={checkout} />}
          {me ? (
            <button type="button" class="btn" onClick={checkout} disabled={busy} data-testid="checkout">
              {busy ? 'Placing the order…' : 'Buy now'}
            </button>
          ) : (
            <p>
              <Link href="/login?next=/cart">Log in</Link> to place your order.
            </p>
          )}
        </div>
      )}
    </>
  );
}

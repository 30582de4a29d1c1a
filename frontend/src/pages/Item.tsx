// Item page: large picture, price, add to cart; "Similar items" and "Bought together" below.
import { useEffect, useState } from 'preact/hooks';
import { Row, type RowData } from '../components/Row';
import { useAsync } from '../components/async';
import { ErrorBox, Loading } from '../components/States';
import { Picture } from '../components/Card';
import { Link, useLocation } from '../router';
import { boughtTogether, item as fetchItem, similar } from '../api/client';
import { track } from '../api/track';
import { cart, session } from '../state/app';
import { useStore } from '../state/store';
import { money } from '../lib/format';
import type { Provenance } from '../lib/cart';
import { toCard } from '../components/Card';

function provenance(q: URLSearchParams): Provenance {
  const pos = Number(q.get('pos'));
  const rec = q.get('rec');
  return {
    surface: q.get('src') ?? 'direct',
    ...(rec ? { rec_id: rec } : {}),
    ...(Number.isInteger(pos) && pos > 0 ? { position: pos } : {}),
  };
}

export function ItemPage({ id }: { id: number }) {
  const loc = useLocation();
  const me = useStore(session);
  const from = provenance(loc.query);
  const [state, retry] = useAsync((signal) => fetchItem(id, signal), [id]);
  const [added, setAdded] = useState(0);
  const [sim, retrySim] = useAsync<RowData>(async (signal) => {
    const r = await similar(id, 12, signal);
    return { items: r.items.map(toCard), model_version: r.model_version, rec_id: r.rec_id };
  }, [id]);
  const [bt, retryBt] = useAsync<RowData>(async (signal) => {
    const r = await boughtTogether(id, 12, signal);
    return { items: r.items.map(toCard), model_version: r.model_version, rec_id: r.rec_id };
  }, [id]);
  useEffect(() => {
    setAdded(0);
    if (me) track(me.user_id, id, 'view', from);
    // one view per item page opened (and per login)
  }, [id, me?.user_id]);
  if (!Number.isInteger(id) || id <= 0) return <p class="banner error">This is not an item address.</p>;
  const it = state.status === 'ready' ? state.data : null;
  return (
    <>
      {state.status === 'loading' && (
        <>
          <h1 class="sr-only">Item {id}</h1>
          <Loading label="Loading the item…" />
        </>
      )}
      {state.status === 'error' && (
        <>
          <h1>Item {id}</h1>
          <ErrorBox error={state.error} onRetry={retry} what="The item could not be loaded" />
        </>
      )}
      {it && (
        <div class="item-page" data-testid="item" data-item-id={it.item_id}>
          <Picture title={it.title} category={it.category} size={420} />
          <div>
            <p class="crumbs">
              {it.category.split('/').map((seg, i, a) => (
                <span key={i}>
                  {i > 0 && ' › '}
                  <Link href={`/browse?category=${encodeURIComponent(a.slice(0, i + 1).join('/'))}`}>{seg}</Link>
                </span>
              ))}
            </p>
            <h1 data-testid="item-title">{it.title}</h1>
            {it.brand && <p class="muted">by {it.brand}</p>}
            <p class="item-price num" data-testid="item-price">{money(it.price)}</p>
            {!it.available && <p class="banner warn">This item is no longer available.</p>}
            <button
              type="button"
              class="btn"
              data-testid="add-to-cart"
              disabled={!it.available}
              onClick={() => {
                cart().add({ item_id: it.item_id, title: it.title, category: it.category, price: it.price ?? null, from });
                track(me?.user_id, it.item_id, 'add_to_cart', from, it.price !== null && it.price !== undefined ? { price: it.price, value: 1 } : { value: 1 });
                setAdded((n) => n + 1);
              }}
            >
              Add to cart
            </button>
            <p role="status" class="small" data-testid="added">
              {added > 0 ? (
                <>
                  Added to your cart{added > 1 ? ` (${added}×)` : ''}. <Link href="/cart">Go to cart</Link>
                </>
              ) : (
                ''
              )}
            </p>
            {Object.keys(it.attributes ?? {}).length > 0 && (
              <dl class="attrs">
                {Object.entries(it.attributes).map(([k, v]) => (
                  <>
                    <dt key={`${k}-t`}>{k}</dt>
                    <dd key={`${k}-d`}>{typeof v === 'string' ? v : JSON.stringify(v)}</dd>
                  </>
                ))}
              </dl>
            )}
          </div>
        </div>
      )}
      <Row id="similar" title="Similar items" surface="similar" state={sim} onRetry={retrySim} emptyText="No similar items known yet." />
      <Row id="bought-together" title="Bought together" surface="bought_together" state={bt} onRetry={retryBt} emptyText="Nobody has bought this with anything else yet." />
    </>
  );
}

// What-if: one hypothetical event, the list recomputed with it (what_if=), before/after.
// Nothing is stored: the gateway folds the event into this one request only.
import { useEffect, useState } from 'preact/hooks';
import { items as searchItems, recommendations } from '../api/client';
import { describeError } from '../api/http';
import type { CatalogItem, Recommendations } from '../api/types';
import { whatIfParam } from '../lib/whatif';
import { BeforeAfter } from './BeforeAfter';

const TYPES = [
  { v: 'view', label: 'view' },
  { v: 'add_to_cart', label: 'cart' },
  { v: 'purchase', label: 'purchase' },
];

export function WhatIf({ userId, before, exclude }: { userId: number; before: Recommendations; exclude: number[] }) {
  const [type, setType] = useState('view');
  const [q, setQ] = useState('');
  const [found, setFound] = useState<CatalogItem[]>([]);
  const [pick, setPick] = useState<CatalogItem | null>(null);
  const [after, setAfter] = useState<Recommendations | null>(null);
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState<string | null>(null);
  useEffect(() => {
    if (q.trim().length < 2 || (pick && pick.title === q)) {
      setFound([]);
      return;
    }
    const ctl = new AbortController();
    const t = setTimeout(() => {
      searchItems({ q: q.trim(), per_page: 8 }, ctl.signal).then(
        (r) => setFound(r.items),
        () => setFound([]),
      );
    }, 150);
    return () => {
      clearTimeout(t);
      ctl.abort();
    };
  }, [q]);
  const run = () => {
    if (!pick) return;
    setBusy(true);
    setErr(null);
    recommendations(userId, { k: before.items.length || 12, exclude, what_if: whatIfParam([{ type, item_id: pick.item_id }]) })
      .then(setAfter, (e: unknown) => setErr(describeError(e)))
      .finally(() => setBusy(false));
  };
  return (
    <section class="panel stage-panel" aria-labelledby="h-whatif" data-testid="whatif">
      <h2 id="h-whatif">What if…?</h2>
      <p class="banner info small">Nothing is stored: the list is recomputed for this page only, as if the event had just happened.</p>
      <form
        class="whatif-form"
        onSubmit={(e) => {
          e.preventDefault();
          run();
        }}
      >
        <span>add an event:</span>
        <label class="field">
          <span class="sr-only">Event type</span>
          <select value={type} onChange={(e) => setType(e.currentTarget.value)} data-testid="whatif-type">
            {TYPES.map((t) => (
              <option key={t.v} value={t.v}>
                {t.label}
              </option>
            ))}
          </select>
        </label>
        <label class="field whatif-item">
          <span class="sr-only">Item (search by title)</span>
          <input
            type="search"
            placeholder="search an item"
            value={q}
            data-testid="whatif-q"
            aria-autocomplete="list"
            onInput={(e) => {
              setQ(e.currentTarget.value);
              setPick(null);
            }}
          />
        </label>
        <button type="submit" class="btn small" disabled={!pick || busy} data-testid="whatif-run">
          {busy ? 'Recomputing…' : 'Recompute'}
        </button>
      </form>
      {found.length > 0 && !pick && (
        <ul class="whatif-found" aria-label="Matching items">
          {found.map((it) => (
            <li key={it.item_id}>
              <button
                type="button"
                class="linkish"
                data-testid="whatif-pick"
                data-item-id={it.item_id}
                onClick={() => {
                  setPick(it);
                  setQ(it.title);
                  setFound([]);
                }}
              >
                {it.title} <span class="muted xs">({it.category})</span>
              </button>
            </li>
          ))}
        </ul>
      )}
      {err && (
        <p class="banner error" role="alert">
          {err}
        </p>
      )}
      {after && (
        <>
          <p class="small muted" data-testid="whatif-echo">
            Computed as if: {(after.what_if ?? []).map((w) => `${w.type} item ${w.item_id}`).join(', ') || 'the gateway did not echo the hypothetical event'}
          </p>
          <BeforeAfter before={before.items} after={after.items} labels={['before', 'after']} testid="whatif-diff" />
        </>
      )}
    </section>
  );
}

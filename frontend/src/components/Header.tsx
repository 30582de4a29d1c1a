import { useEffect, useState } from 'preact/hooks';
import { Link, navigate, useLocation } from '../router';
import { activeVersion, cart, cartTick, session, sessionNote, setSessionHint } from '../state/app';
import { useStore, store } from '../state/store';
import { categories as fetchCategories, logout } from '../api/client';
import { topCategory } from '../lib/picture';

const topCats = store<string[] | null>(null);
let catsLoading = false;
function loadCategories(): void {
  if (catsLoading || topCats.get()) return;
  catsLoading = true;
  fetchCategories()
    .then((r) => {
      const tops = [...new Set(r.categories.map((c) => topCategory(c.path)).filter(Boolean))].sort();
      topCats.set(tops);
    })
    .catch(() => topCats.set([]))
    .finally(() => {
      catsLoading = false;
    });
}

export const ADMIN_NAV = [
  { href: '/admin/models', label: 'Models' },
  { href: '/admin/health', label: 'Health' },
  { href: '/admin/experiments', label: 'Experiments' },
  { href: '/admin/data', label: 'Data' },
];

export function Header() {
  const me = useStore(session);
  const note = useStore(sessionNote);
  useStore(cartTick);
  const version = useStore(activeVersion);
  const cats = useStore(topCats);
  const loc = useLocation();
  const [q, setQ] = useState(loc.path === '/search' ? (loc.query.get('q') ?? '') : '');
  useEffect(loadCategories, []);
  const count = cart().count;
  return (
    <header class="top">
      <div class="top-in">
        <Link class="brand" href="/">
          Marketplace
        </Link>
        <form
          class="search"
          role="search"
          onSubmit={(e) => {
            e.preventDefault();
            if (q.trim()) navigate(`/search?q=${encodeURIComponent(q.trim())}`);
          }}
        >
          <label class="sr-only" for="q">
            Search products
          </label>
          <input id="q" type="search" placeholder="Search products" value={q} onInput={(e) => setQ(e.currentTarget.value)} />
          <button class="btn" type="submit">
            Search
          </button>
        </form>
        <div class="top-actions">
          <Link class="cart-link" href="/cart" data-testid="cart-link" aria-label={`Cart, ${count} item${count === 1 ? '' : 's'}`}>
            Cart <span class="cart-count" data-testid="cart-count">{count}</span>
          </Link>
          {me ? (
            <>
              <span class="small" data-testid="whoami">
                {me.display_name || me.login}
                {me.role === 'admin' ? ' (admin)' : ''}
              </span>
              <button
                type="button"
                class="btn secondary small"
                data-testid="logout"
                onClick={() => {
                  void logout()
                    .catch(() => undefined)
                    .then(() => {
                      setSessionHint(false);
                      session.set(null);
                      navigate('/login');
                    });
                }}
              >
                Log out
              </button>
            </>
          ) : me === null ? (
            <Link class="btn small" href="/login" data-testid="login-link">
              Log in
            </Link>
          ) : null}
        </div>
      </div>
      <nav class="nav2" aria-label="Sections">
        <details class="cats">
          <summary>Categories</summary>
          <ul>
            {cats === null && <li class="muted">loading…</li>}
            {cats?.length === 0 && <li class="muted">no categories available</li>}
            {cats?.map((c) => (
              <li key={c}>
                <Link
                  href={`/browse?category=${encodeURIComponent(c)}`}
                  onClick={(e) => {
                    const d = (e.currentTarget as HTMLElement).closest('details');
                    if (d) d.open = false;
                  }}
                >
                  {c}
                </Link>
              </li>
            ))}
          </ul>
        </details>
        <Link href="/" aria-current={loc.path === '/' ? 'page' : undefined}>
          Home
        </Link>
        {me && (
          <Link href={`/inspect/${me.user_id}`} aria-current={loc.path.startsWith('/inspect') ? 'page' : undefined}>
            How it works
          </Link>
        )}
        {me?.role === 'admin' &&
          ADMIN_NAV.map((n) => (
            <Link key={n.href} href={n.href} aria-current={loc.path === n.href ? 'page' : undefined}>
              {n.label}
            </Link>
          ))}
        <span class="version" data-testid="active-version" title="The model version serving recommendations">
          model {version ?? 'unknown'}
        </span>
      </nav>
      {note && (
        <div class="banner warn" role="status" style={{ margin: '0 16px 8px' }}>
          {note}
        </div>
      )}
    </header>
  );
}

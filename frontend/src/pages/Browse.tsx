// Browse a category (path prefix) or search titles; paginated from GET /v1/items.
import { Row, type RowData } from '../components/Row';
import { useAsync } from '../components/async';
import { Link, useLocation } from '../router';
import { categories, items } from '../api/client';
import type { CatalogItem } from '../api/types';
import type { CardItem } from '../components/Card';
import { randomId } from '../lib/format';

const PER_PAGE = 24;

function toCard(it: CatalogItem): CardItem {
  return { item_id: it.item_id, title: it.title, category: it.category, price: it.price ?? null };
}

export function Browse() {
  const loc = useLocation();
  const isSearch = loc.path === '/search';
  const q = loc.query.get('q') ?? '';
  const category = loc.query.get('category') ?? '';
  const page = Math.max(1, Number(loc.query.get('page') ?? '1') || 1);
  const [state, retry] = useAsync<RowData & { total: number }>(async (signal) => {
    const r = await items(isSearch ? { q, page, per_page: PER_PAGE } : { category, page, per_page: PER_PAGE }, signal);
    return { items: r.items.map(toCard), total: r.total, rec_id: `ui-${randomId()}` };
  }, [isSearch, q, category, page]);
  const [cats] = useAsync(async (signal) => (isSearch ? null : await categories(signal)), [isSearch]);
  const depth = category ? category.split('/').length : 0;
  const subs =
    cats.status === 'ready' && cats.data
      ? [
          ...new Set(
            cats.data.categories
              .filter((c) => c.path === category || c.path.startsWith(`${category}/`))
              .map((c) => c.path.split('/').slice(0, depth + 1).join('/'))
              .filter((p) => p !== category),
          ),
        ]
      : [];
  const total = state.status === 'ready' ? state.data.total : 0;
  const pages = Math.max(1, Math.ceil(total / PER_PAGE));
  const base = isSearch ? `/search?q=${encodeURIComponent(q)}` : `/browse?category=${encodeURIComponent(category)}`;
  const heading = isSearch ? `Search: “${q}”` : category ? category.split('/').join(' › ') : 'All products';
  return (
    <>
      <h1>{heading}</h1>
      {!isSearch && category && (
        <p class="crumbs">
          <Link href="/browse">All</Link>
          {category.split('/').map((seg, i, a) => (
            <span key={i}>
              {' › '}
              <Link href={`/browse?category=${encodeURIComponent(a.slice(0, i + 1).join('/'))}`}>{seg}</Link>
            </span>
          ))}
        </p>
      )}
      {subs.length > 0 && (
        <ul class="chips" aria-label="Subcategories">
          {subs.map((s) => (
            <li key={s}>
              <Link href={`/browse?category=${encodeURIComponent(s)}`}>{s.split('/').pop()}</Link>
            </li>
          ))}
        </ul>
      )}
      <Row
        id="results"
        title={state.status === 'ready' ? `${total} product${total === 1 ? '' : 's'}` : 'Products'}
        surface={isSearch ? 'search' : 'category'}
        state={state}
        onRetry={retry}
        grid
        offset={(page - 1) * PER_PAGE}
        skeletons={12}
        emptyText={isSearch ? `No product title matches “${q}”.` : 'No products in this category.'}
      />
      {state.status === 'ready' && pages > 1 && (
        <nav class="pager" aria-label="Pages">
          {page > 1 ? <Link class="btn secondary small" href={`${base}&page=${page - 1}`} data-testid="prev-page">Previous</Link> : null}
          <span class="small" data-testid="page-of">
            Page {page} of {pages}
          </span>
          {page < pages ? <Link class="btn secondary small" href={`${base}&page=${page + 1}`} data-testid="next-page">Next</Link> : null}
        </nav>
      )}
    </>
  );
}

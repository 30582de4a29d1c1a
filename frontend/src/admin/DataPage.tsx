// Data: the data report of the event store (GET /v1/admin/data/report, issue 15) as figures and
// charts: size and density, events over time, user activity and item popularity (quantiles, Gini,
// long tail), the view -> cart -> purchase funnel overall and per category, repeat purchases,
// sessions, cold start, prices per category and data quality. Every figure carries data-key /
// data-value so the end-to-end test can compare it with the API.
import { useMemo } from 'preact/hooks';
import { useAsync } from '../components/async';
import { ErrorBox, Loading } from '../components/States';
import { dataReport } from '../api/client';
import type { DataReport, Distribution } from '../api/types';
import { num, pct } from '../lib/format';
import { ChartBox } from './ChartBox';
import { funnelChart, histogramChart, longTailChart, seriesChart } from './datareport';

function Figure({ k, label, value, text }: { k: string; label: string; value: number | string | null | undefined; text?: string }) {
  const shown = text ?? (typeof value === 'number' ? value.toLocaleString('en-US', { maximumFractionDigits: 3 }) : (value ?? '–'));
  return (
    <div class="figure" data-key={k} data-value={value ?? ''}>
      <div class="figure-v">{shown}</div>
      <div class="figure-l">{label}</div>
    </div>
  );
}

function DistTable({ d, caption, testid }: { d: Distribution | null | undefined; caption: string; testid: string }) {
  if (!d || d.n === 0) return <p class="empty">No data.</p>;
  const cols: [string, number | null | undefined][] = [
    ['min', d.min], ['p25', d.p25], ['median', d.median], ['p75', d.p75], ['p90', d.p90], ['p99', d.p99], ['max', d.max], ['mean', d.mean], ['Gini', d.gini],
  ];
  return (
    <div class="table-wrap" tabIndex={0} role="region" aria-label={caption}>
      <table data-testid={testid}>
        <caption class="sr-only">{caption}</caption>
        <thead>
          <tr>{cols.map(([c]) => <th key={c} scope="col" class="num">{c}</th>)}</tr>
        </thead>
        <tbody>
          <tr>{cols.map(([c, v]) => <td key={c} class="num" data-key={c} data-value={v ?? ''}>{num(v, 3)}</td>)}</tr>
        </tbody>
      </table>
    </div>
  );
}

function Report({ r, computedAt, maxAge }: { r: DataReport; computedAt: string; maxAge: number }) {
  const series = useMemo(() => seriesChart(r), [r]);
  const users = useMemo(() => histogramChart(r.user_activity, 'users', 'events per user'), [r]);
  const items = useMemo(() => histogramChart(r.item_popularity as Distribution | null, 'items', 'events per item'), [r]);
  const tail = useMemo(() => longTailChart(r), [r]);
  const funnel = useMemo(() => funnelChart(r), [r]);
  const sessions = useMemo(() => histogramChart(r.sessions?.events, 'sessions', 'events per session'), [r]);
  const c = r.counts;
  const q = r.quality;
  return (
    <div data-testid="data-report">
      <p class="small muted">
        Computed from every event in the event store at {new Date(computedAt).toLocaleString()} (kept for {maxAge} s). The same figures as <code>rs-train describe --dsn</code>; sessions end after{' '}
        {num((r.definitions.session_gap_s ?? 1800) / 60, 0)} min without an event, “cold” means first seen in the last {num(r.definitions.cold_period_days, 0)} days.
      </p>
      <section class="panel" aria-labelledby="h-size">
        <h2 id="h-size">Size</h2>
        <div class="figures" data-testid="data-counts">
          <Figure k="events" label="events" value={c.events} />
          <Figure k="users" label="users" value={c.users} />
          <Figure k="items" label="items with events" value={c.items} />
          <Figure k="catalog_items" label="catalog items" value={c.catalog_items} />
          <Figure k="density" label="density (pairs / users × items)" value={c.density} text={c.density == null ? '–' : `${(c.density * 100).toFixed(3)} %`} />
          {Object.entries(c.by_type).map(([t, n]) => (
            <Figure key={t} k={`type:${t}`} label={`${t.replace(/_/g, ' ')} events`} value={n} />
          ))}
        </div>
      </section>
      <section class="panel" aria-labelledby="h-time">
        <h2 id="h-time">Events over time</h2>
        {r.time ? (
          <>
            <div class="figures">
              <Figure k="first" label="first event" value={r.time.first} />
              <Figure k="last" label="last event" value={r.time.last} />
              <Figure k="span_days" label="span (days)" value={r.time.span_days} text={num(r.time.span_days, 1)} />
              <Figure k="events_per_day" label="events per day (mean)" value={r.time.events_per_day.mean} text={num(r.time.events_per_day.mean, 1)} />
            </div>
            {series && <ChartBox config={series} label={`Bar chart: events per day from ${r.time.first} to ${r.time.last}`} height={220} testid="chart-series" />}
          </>
        ) : (
          <p class="empty">The events have no timestamps.</p>
        )}
      </section>
      <div class="grid2">
        <section class="panel" aria-labelledby="h-users">
          <h2 id="h-users">User activity (events per user)</h2>
          <DistTable d={r.user_activity} caption="Events per user: quantiles and Gini" testid="dist-users" />
          {users && <ChartBox config={users} label="Bar chart: number of users by events per user" height={200} testid="chart-users" />}
        </section>
        <section class="panel" aria-labelledby="h-items">
          <h2 id="h-items">Item popularity (events per item)</h2>
          <DistTable d={r.item_popularity} caption="Events per item: quantiles and Gini" testid="dist-items" />
          <div class="figures">
            <Figure k="top1pct_share" label={`of events on the top 1 % of items (${r.item_popularity?.top1pct_items ?? 0})`} value={r.item_popularity?.top1pct_share} text={pct(r.item_popularity?.top1pct_share)} />
            <Figure k="items_for_80pct" label="items hold 80 % of events" value={r.item_popularity?.items_for_80pct} />
          </div>
          {items && <ChartBox config={items} label="Bar chart: number of items by events per item" height={200} testid="chart-items" />}
          {tail && <ChartBox config={tail} label="Line chart: long tail, share of events held by the most popular share of items" height={200} testid="chart-tail" />}
        </section>
      </div>
      <section class="panel" aria-labelledby="h-funnel">
        <h2 id="h-funnel">Funnel: view → add to cart → purchase</h2>
        <div class="figures" data-testid="data-funnel">
          <Figure k="view_to_cart" label="view → add to cart" value={r.funnel.overall.view_to_cart} text={pct(r.funnel.overall.view_to_cart)} />
          <Figure k="cart_to_purchase" label="add to cart → purchase" value={r.funnel.overall.cart_to_purchase} text={pct(r.funnel.overall.cart_to_purchase)} />
          <Figure k="view_to_purchase" label="view → purchase" value={r.funnel.overall.view_to_purchase} text={pct(r.funnel.overall.view_to_purchase)} />
          <Figure k="repeat_pair_rate" label="bought items bought again" value={r.repeat_purchase.repeat_pair_rate} text={pct(r.repeat_purchase.repeat_pair_rate)} />
          <Figure k="repeat_buyer_rate" label="buyers with 2+ purchases" value={r.repeat_purchase.repeat_buyer_rate} text={pct(r.repeat_purchase.repeat_buyer_rate)} />
        </div>
        <ChartBox config={funnel} label={`Bar chart: (user, item) pairs with a view ${r.funnel.overall.view}, an add-to-cart ${r.funnel.overall.add_to_cart}, a purchase ${r.funnel.overall.purchase}`} height={150} testid="chart-funnel" />
        {r.funnel.by_category.length > 0 && (
          <div class="table-wrap" tabIndex={0} role="region" aria-label="Funnel per category">
            <table data-testid="funnel-categories">
              <caption class="sr-only">Conversion of (user, item) pairs per catalog category, most events first</caption>
              <thead>
                <tr>
                  <th scope="col">Category</th>
                  <th scope="col" class="num">Events</th>
                  <th scope="col" class="num">View pairs</th>
                  <th scope="col" class="num">View → cart</th>
                  <th scope="col" class="num">Cart → purchase</th>
                  <th scope="col" class="num">View → purchase</th>
                </tr>
              </thead>
              <tbody>
                {r.funnel.by_category.map((f) => (
                  <tr key={f.category} data-category={f.category}>
                    <th scope="row">{f.category}</th>
                    <td class="num">{f.events.toLocaleString('en-US')}</td>
                    <td class="num">{f.view.toLocaleString('en-US')}</td>
                    <td class="num">{pct(f.view_to_cart)}</td>
                    <td class="num">{pct(f.cart_to_purchase)}</td>
                    <td class="num">{pct(f.view_to_purchase)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <div class="grid2">
        <section class="panel" aria-labelledby="h-sessions">
          <h2 id="h-sessions">Sessions and cold start</h2>
          {r.sessions && r.cold ? (
            <>
              <div class="figures" data-testid="data-sessions">
                <Figure k="sessions" label="sessions" value={r.sessions.count} />
                <Figure k="session_median" label="median events per session" value={r.sessions.events.median} />
                <Figure k="cold_user_share" label={`new among active users (last ${num(r.cold.period_days, 0)} days)`} value={r.cold.cold_user_share} text={pct(r.cold.cold_user_share)} />
                <Figure k="cold_item_share" label="new among active items" value={r.cold.cold_item_share} text={pct(r.cold.cold_item_share)} />
              </div>
              {sessions && <ChartBox config={sessions} label="Bar chart: number of sessions by events per session" height={180} testid="chart-sessions" />}
            </>
          ) : (
            <p class="empty">The events have no timestamps.</p>
          )}
        </section>
        <section class="panel" aria-labelledby="h-quality">
          <h2 id="h-quality">Data quality</h2>
          <div class="figures" data-testid="data-quality">
            <Figure k="duplicates" label="exact duplicate events" value={q.duplicates} />
            <Figure k="unknown_item_events" label="events for unknown items" value={q.unknown_item_events} />
            <Figure k="future_events" label="events in the future" value={q.future_events} />
            <Figure k="before_epoch_events" label={`events before ${r.definitions.sane_epoch.slice(0, 10)}`} value={q.before_epoch_events} />
            <Figure k="bots" label={`bots (${q.bots.rule})`} value={q.bots.users} />
          </div>
        </section>
      </div>
      <section class="panel" aria-labelledby="h-prices">
        <h2 id="h-prices">Prices per category</h2>
        {r.prices ? (
          <div class="table-wrap" tabIndex={0} role="region" aria-label="Prices per category">
            <table data-testid="prices">
              <caption class="sr-only">Catalog prices per category: quantiles</caption>
              <thead>
                <tr>
                  <th scope="col">Category</th>
                  <th scope="col" class="num">Items</th>
                  <th scope="col" class="num">Min</th>
                  <th scope="col" class="num">p25</th>
                  <th scope="col" class="num">Median</th>
                  <th scope="col" class="num">p75</th>
                  <th scope="col" class="num">Max</th>
                </tr>
              </thead>
              <tbody>
                {r.prices.by_category.map((p) => (
                  <tr key={p.category} data-category={p.category}>
                    <th scope="row">{p.category}</th>
                    <td class="num">{p.n}</td>
                    <td class="num">{num(p.min, 2)}</td>
                    <td class="num">{num(p.p25, 2)}</td>
                    <td class="num">{num(p.median, 2)}</td>
                    <td class="num">{num(p.p75, 2)}</td>
                    <td class="num">{num(p.max, 2)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : (
          <p class="empty">No prices in the catalog.</p>
        )}
      </section>
    </div>
  );
}

export function DataPage() {
  const [state, retry] = useAsync((signal) => dataReport(signal), []);
  return (
    <>
      <h1>Data</h1>
      {state.status === 'loading' && <Loading label="Computing the data report…" />}
      {state.status === 'error' && <ErrorBox error={state.error} onRetry={retry} what="The data report could not be loaded" />}
      {state.status === 'ready' && <Report r={state.data.report} computedAt={state.data.computed_at} maxAge={state.data.max_age_s} />}
    </>
  );
}

// Health: per service a status dot (/readyz), request rate, error rate and p50/p99 latency over the
// last minutes (computed from consecutive /metrics scrapes), refreshed every few seconds; latency
// histograms per route and per hop.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { metricsText, readyz } from '../api/client';
import { describeError } from '../api/http';
import type { Readiness } from '../api/types';
import { parseProm, type Metrics } from '../lib/prom';
import { SERVICES, latencyByLabel, serviceTotals, servicePoints, type Point, type Service, type Totals } from '../lib/health';
import { deltaBuckets, perBucket, type Buckets } from '../lib/stats';
import { ms, num } from '../lib/format';
import { ChartBox } from './ChartBox';

export const POLL_MS = 3000;
const KEEP = 120; // points: 6 minutes at 3 s

interface Scrape {
  t: number;
  totals: Record<Service, Totals>;
  metrics: Metrics;
}

function statusOf(svc: Service, r: Readiness | null, up: boolean): { ok: boolean; text: string } {
  if (!up || !r) return { ok: false, text: 'no answer' };
  if (svc === 'gateway') return { ok: true, text: 'answering' };
  const d = r.downstreams[svc];
  return d ? { ok: d.ready, text: `${d.state}${d.detail ? `: ${d.detail}` : ''}` } : { ok: false, text: 'unknown' };
}

function clock(t: number): string {
  const d = new Date(t);
  return `${String(d.getMinutes()).padStart(2, '0')}:${String(d.getSeconds()).padStart(2, '0')}`;
}

function lineCfg(points: Point[], series: { key: keyof Point; label: string; colour: string }[], unit: string) {
  return {
    type: 'line' as const,
    data: {
      labels: points.map((p) => clock(p.t)),
      datasets: series.map((s) => ({
        label: s.label,
        data: points.map((p) => {
          const v = p[s.key];
          return Number.isFinite(v) ? v : null;
        }),
        borderColor: s.colour,
        backgroundColor: s.colour,
        pointRadius: 0,
        borderWidth: 2,
        spanGaps: true,
      })),
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      scales: { y: { beginAtZero: true, title: { display: true, text: unit } }, x: { ticks: { maxTicksLimit: 4 } } },
      plugins: { legend: { position: 'bottom' as const, labels: { boxWidth: 10 } } },
    },
  };
}

function histCfg(b: Buckets, colour: string) {
  const bars = perBucket(b);
  return {
    type: 'bar' as const,
    data: {
      labels: bars.map((x) => (x.le === Infinity ? '> last' : `≤${x.le}`)),
      datasets: [{ label: 'requests', data: bars.map((x) => x.n), backgroundColor: colour }],
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      scales: { y: { beginAtZero: true, ticks: { precision: 0 } }, x: { title: { display: true, text: 'ms' } } },
      plugins: { legend: { display: false } },
    },
  };
}

export function HealthPage() {
  const [ready, setReady] = useState<Readiness | null>(null);
  const [up, setUp] = useState(true);
  const [err, setErr] = useState<unknown>(null);
  const [points, setPoints] = useState<Record<Service, Point[]>>(() => Object.fromEntries(SERVICES.map((s) => [s, []])) as unknown as Record<Service, Point[]>);
  const [last, setLast] = useState<Scrape | null>(null);
  const first = useRef<Scrape | null>(null);
  const prev = useRef<Scrape | null>(null);
  const [tick, setTick] = useState(0);

  useEffect(() => {
    let dead = false;
    const ctl = new AbortController();
    const poll = async () => {
      const [r, m] = await Promise.allSettled([readyz(ctl.signal), metricsText(ctl.signal)]);
      if (dead) return;
      if (r.status === 'fulfilled') {
        setReady(r.value.body);
        setUp(true);
      } else {
        setUp(false);
        setReady(null);
      }
      if (m.status === 'fulfilled') {
        setErr(null);
        const metrics = parseProm(m.value);
        const s: Scrape = { t: Date.now(), totals: serviceTotals(metrics), metrics };
        first.current ??= s;
        const p = prev.current;
        if (p) {
          const pts = servicePoints(p.totals, s.totals, p.t, s.t);
          setPoints((old) => Object.fromEntries(SERVICES.map((svc) => [svc, [...old[svc], pts[svc]].slice(-KEEP)])) as unknown as Record<Service, Point[]>);
        }
        prev.current = s;
        setLast(s);
      } else setErr(m.reason);
    };
    void poll();
    const id = setInterval(() => void poll(), POLL_MS);
    return () => {
      dead = true;
      ctl.abort();
      clearInterval(id);
    };
  }, [tick]);

  const routes = useMemo(() => {
    if (!last) return [];
    const cur = latencyByLabel(last.metrics, 'rs_gateway_http_duration_ms', 'route');
    const base = first.current && first.current !== last ? latencyByLabel(first.current.metrics, 'rs_gateway_http_duration_ms', 'route') : null;
    return [...cur.entries()]
      .map(([route, b]) => {
        const d = base ? deltaBuckets(base.get(route), b) : b;
        const since = d[d.length - 1]?.count ? 'since this page opened' : 'since the gateway started';
        const use = d[d.length - 1]?.count ? d : b;
        return { route, b: use, n: use[use.length - 1]?.count ?? 0, since };
      })
      .filter((x) => x.n > 0);
  }, [last]);
  const hops = useMemo(() => (last ? [...latencyByLabel(last.metrics, 'rs_gateway_hop_duration_ms', 'hop').entries()].filter(([, b]) => (b[b.length - 1]?.count ?? 0) > 0) : []), [last]);

  return (
    <>
      <h1>Health</h1>
      <p class="small muted">
        Refreshed every {POLL_MS / 1000} s from /readyz and /metrics. Rates and latencies leave out probe traffic (readyz, metrics, health), this page's own included.
      </p>
      {err !== null && (
        <div class="errorbox" role="alert">
          <span>Metrics unavailable: {describeError(err)}</span>
          <button type="button" class="btn small" onClick={() => setTick(tick + 1)}>
            Retry
          </button>
        </div>
      )}
      <div class="health-grid" data-testid="health">
        {SERVICES.map((svc) => {
          const st = statusOf(svc, ready, up);
          const pts = points[svc];
          const p = pts[pts.length - 1];
          return (
            <section key={svc} class="panel" aria-labelledby={`h-${svc}`} data-service={svc} data-ready={st.ok ? '1' : '0'} data-rate={p?.rate ?? ''}>
              <h2 id={`h-${svc}`}>
                <span class="dot big" style={{ background: st.ok ? 'var(--ok)' : 'var(--danger)' }} role="img" aria-label={st.ok ? 'up' : 'down'} /> {svc}
              </h2>
              <p class="xs muted" style={{ overflowWrap: 'anywhere' }}>{st.text}</p>
              <dl class="attrs">
                <dt>requests</dt>
                <dd class="num" data-testid="rate">{p ? `${num(p.rate, 2)} /s` : 'measuring…'}</dd>
                <dt>errors</dt>
                <dd class="num" data-testid="error-rate">{p ? `${num(p.errorRate, 2)} /s` : '–'}</dd>
                <dt>p50 / p99</dt>
                <dd class="num">{p ? `${ms(p.p50)} / ${ms(p.p99)}` : '–'}</dd>
              </dl>
              {pts.length > 1 && (
                <>
                  <ChartBox
                    height={120}
                    label={`${svc}: requests and errors per second over the last minutes`}
                    config={lineCfg(pts, [{ key: 'rate', label: 'req/s', colour: '#0b57d0' }, { key: 'errorRate', label: 'errors/s', colour: '#b42318' }], '/s')}
                  />
                  <ChartBox
                    height={120}
                    label={`${svc}: p50 and p99 latency over the last minutes`}
                    config={lineCfg(pts, [{ key: 'p50', label: 'p50', colour: '#0a7d6e' }, { key: 'p99', label: 'p99', colour: '#9a6700' }], 'ms')}
                  />
                </>
              )}
            </section>
          );
        })}
      </div>
      <h2 style={{ margin: '24px 0 8px' }}>Latency per route</h2>
      <div class="health-grid" data-testid="route-hists">
        {routes.length === 0 && <p class="empty">No requests counted yet.</p>}
        {routes.map((r) => (
          <section key={r.route} class="panel" aria-label={`Route ${r.route}`}>
            <h3>
              {r.route} <span class="muted xs">{r.n} requests {r.since}</span>
            </h3>
            <ChartBox height={140} label={`Latency histogram of route ${r.route}`} config={histCfg(r.b, '#0b57d0')} />
          </section>
        ))}
      </div>
      <h2 style={{ margin: '24px 0 8px' }}>Latency per hop (gateway → service)</h2>
      <div class="health-grid">
        {hops.map(([hop, b]) => (
          <section key={hop} class="panel" aria-label={`Hop ${hop}`}>
            <h3>
              {hop} <span class="muted xs">{b[b.length - 1]?.count ?? 0} calls since the gateway started</span>
            </h3>
            <ChartBox height={140} label={`Latency histogram of hop ${hop}`} config={histCfg(b, '#0a7d6e')} />
          </section>
        ))}
      </div>
    </>
  );
}

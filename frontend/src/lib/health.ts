// Per-service request rate, error rate and latency quantiles from two /metrics scrapes.
import { histograms, select, type Metrics } from './prom';
import { deltaBuckets, mergeBuckets, quantile, rate, type Buckets } from './stats';

export const SERVICES = ['gateway', 'ingest', 'feature', 'candidate', 'ranking'] as const;
export type Service = (typeof SERVICES)[number];

/** The health page's own polling (and other probes) is left out of rates and latencies. */
export const PROBE_ROUTES = new Set(['healthz', 'readyz', 'metrics']);
export const PROBE_METHODS = new Set(['health', 'metrics']);
/** RPC statuses that are the service's failure (invalid/not_found are the caller's). */
export const RPC_ERRORS = new Set(['unavailable', 'deadline', 'internal', 'unsupported']);

export interface Totals {
  requests: number;
  errors: number;
  buckets: Buckets;
}

export function serviceTotals(m: Metrics): Record<Service, Totals> {
  const out = {} as Record<Service, Totals>;
  for (const svc of SERVICES) out[svc] = { requests: 0, errors: 0, buckets: [] };
  for (const s of select(m, 'rs_gateway_http_requests_total')) {
    if (PROBE_ROUTES.has(s.labels.route ?? '')) continue;
    out.gateway.requests += s.value;
    if (Number(s.labels.status) >= 500) out.gateway.errors += s.value;
  }
  out.gateway.buckets = mergeBuckets(
    histograms(m, 'rs_gateway_http_duration_ms')
      .filter((h) => !PROBE_ROUTES.has(h.labels.route ?? ''))
      .map((h) => h.buckets),
  );
  for (const s of select(m, 'rs_rpc_requests_total')) {
    const svc = s.labels.svc as Service | undefined;
    if (!svc || svc === 'gateway' || !(svc in out) || PROBE_METHODS.has(s.labels.method ?? '')) continue;
    out[svc].requests += s.value;
    if (RPC_ERRORS.has(s.labels.status ?? '')) out[svc].errors += s.value;
  }
  const rpc = histograms(m, 'rs_rpc_duration_ms').filter((h) => !PROBE_METHODS.has(h.labels.method ?? ''));
  for (const svc of SERVICES) {
    if (svc === 'gateway') continue;
    out[svc].buckets = mergeBuckets(rpc.filter((h) => h.labels.svc === svc).map((h) => h.buckets));
  }
  return out;
}

export interface Point {
  t: number; // unix ms of the later scrape
  rate: number; // requests/s
  errorRate: number; // errors/s
  p50: number; // ms, NaN without requests in the interval
  p99: number;
}

/** One point per service from the scrapes at t0 and t1 (unix ms). */
export function servicePoints(
  prev: Record<Service, Totals>,
  cur: Record<Service, Totals>,
  t0: number,
  t1: number,
): Record<Service, Point> {
  const dt = (t1 - t0) / 1000;
  const out = {} as Record<Service, Point>;
  for (const svc of SERVICES) {
    const a = prev[svc];
    const b = cur[svc];
    const d = deltaBuckets(a.buckets, b.buckets);
    out[svc] = {
      t: t1,
      rate: rate(a.requests, b.requests, dt),
      errorRate: rate(a.errors, b.errors, dt),
      p50: quantile(0.5, d),
      p99: quantile(0.99, d),
    };
  }
  return out;
}

/** Per route (gateway) or hop latency histograms, keyed by that label. */
export function latencyByLabel(m: Metrics, family: string, label: string): Map<string, Buckets> {
  const out = new Map<string, Buckets>();
  for (const h of histograms(m, family)) {
    const k = h.labels[label];
    if (k === undefined) continue;
    out.set(k, mergeBuckets([out.get(k) ?? [], h.buckets]));
  }
  return out;
}

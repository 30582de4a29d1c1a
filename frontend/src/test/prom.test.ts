import { describe, expect, it } from 'vitest';
import { histograms, parseProm, select } from '../lib/prom';

const TEXT = `# HELP rs_gateway_http_requests_total HTTP requests answered, by route and status
# TYPE rs_gateway_http_requests_total counter
rs_gateway_http_requests_total{svc="gateway",route="recommendations",status="200"} 3
rs_gateway_http_requests_total{svc="gateway",route="recommendations",status="503"} 1
# HELP rs_gateway_http_duration_ms HTTP request time in milliseconds, by route
# TYPE rs_gateway_http_duration_ms histogram
rs_gateway_http_duration_ms_bucket{svc="gateway",route="popular",le="1"} 1
rs_gateway_http_duration_ms_bucket{svc="gateway",route="popular",le="+Inf"} 4
rs_gateway_http_duration_ms_bucket{svc="gateway",route="popular",le="10"} 3
rs_gateway_http_duration_ms_sum{svc="gateway",route="popular"} 31.5
rs_gateway_http_duration_ms_count{svc="gateway",route="popular"} 4
rs_gateway_popular_age_ms{svc="gateway"} 0.0050000000046566129
weird{path="a\\"b\\\\c\\nd",empty=""} NaN 1700000000000
plain_metric -Inf
`;

describe('parseProm', () => {
  const m = parseProm(TEXT);
  it('reads HELP and TYPE of each family', () => {
    expect(m.get('rs_gateway_http_requests_total')?.type).toBe('counter');
    expect(m.get('rs_gateway_http_duration_ms')?.type).toBe('histogram');
    expect(m.get('rs_gateway_http_requests_total')?.help).toBe('HTTP requests answered, by route and status');
  });
  it('folds _bucket/_sum/_count into the histogram family', () => {
    expect(m.get('rs_gateway_http_duration_ms')?.samples).toHaveLength(5);
    expect(m.has('rs_gateway_http_duration_ms_bucket')).toBe(false);
  });
  it('parses labels with escapes, NaN, -Inf and ignores timestamps', () => {
    const w = m.get('weird')!.samples[0]!;
    expect(w.labels).toEqual({ path: 'a"b\\c\nd', empty: '' });
    expect(Number.isNaN(w.value)).toBe(true);
    expect(m.get('plain_metric')!.samples[0]!.value).toBe(-Infinity);
    expect(m.get('rs_gateway_popular_age_ms')!.samples[0]!.value).toBeCloseTo(0.005, 9);
  });
  it('selects samples by labels', () => {
    const s = select(m, 'rs_gateway_http_requests_total', { status: '503' });
    expect(s.map((x) => x.value)).toEqual([1]);
  });
  it('groups histogram series with buckets sorted by bound', () => {
    const [h] = histograms(m, 'rs_gateway_http_duration_ms');
    expect(h!.labels).toEqual({ svc: 'gateway', route: 'popular' });
    expect(h!.buckets).toEqual([
      { le: 1, count: 1 },
      { le: 10, count: 3 },
      { le: Infinity, count: 4 },
    ]);
    expect(h!.sum).toBe(31.5);
    expect(h!.count).toBe(4);
  });
  it('rejects a sample without a value', () => {
    expect(() => parseProm('lonely_metric\n')).toThrow();
    expect(() => parseProm('m{a="x"} notanumber\n')).toThrow();
  });
});

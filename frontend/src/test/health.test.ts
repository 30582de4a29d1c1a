import { describe, expect, it } from 'vitest';
import { parseProm } from '../lib/prom';
import { latencyByLabel, serviceTotals, servicePoints } from '../lib/health';

function scrape(n: { rec: number; recErr: number; readyz: number; cand: number; candErr: number; fast: number; slow: number }) {
  return parseProm(`# TYPE rs_gateway_http_requests_total counter
rs_gateway_http_requests_total{svc="gateway",route="recommendations",status="200"} ${n.rec}
rs_gateway_http_requests_total{svc="gateway",route="recommendations",status="503"} ${n.recErr}
rs_gateway_http_requests_total{svc="gateway",route="recommendations",status="404"} 7
rs_gateway_http_requests_total{svc="gateway",route="readyz",status="200"} ${n.readyz}
# TYPE rs_gateway_http_duration_ms histogram
rs_gateway_http_duration_ms_bucket{svc="gateway",route="recommendations",le="5"} ${n.fast}
rs_gateway_http_duration_ms_bucket{svc="gateway",route="recommendations",le="50"} ${n.fast + n.slow}
rs_gateway_http_duration_ms_bucket{svc="gateway",route="recommendations",le="+Inf"} ${n.fast + n.slow}
rs_gateway_http_duration_ms_bucket{svc="gateway",route="readyz",le="5"} 0
rs_gateway_http_duration_ms_bucket{svc="gateway",route="readyz",le="50"} ${n.readyz}
rs_gateway_http_duration_ms_bucket{svc="gateway",route="readyz",le="+Inf"} ${n.readyz}
# TYPE rs_rpc_requests_total counter
rs_rpc_requests_total{svc="candidate",method="candidates",status="ok"} ${n.cand}
rs_rpc_requests_total{svc="candidate",method="candidates",status="deadline"} ${n.candErr}
rs_rpc_requests_total{svc="candidate",method="candidates",status="invalid"} 2
rs_rpc_requests_total{svc="candidate",method="health",status="ok"} 999
# TYPE rs_rpc_duration_ms histogram
rs_rpc_duration_ms_bucket{svc="candidate",method="candidates",le="1"} ${n.cand}
rs_rpc_duration_ms_bucket{svc="candidate",method="candidates",le="+Inf"} ${n.cand + n.candErr + 2}
`);
}

describe('serviceTotals', () => {
  const t = serviceTotals(scrape({ rec: 10, recErr: 2, readyz: 50, cand: 20, candErr: 1, fast: 8, slow: 4 }));
  it('counts gateway requests without probe routes; 5xx are errors', () => {
    expect(t.gateway.requests).toBe(19); // 10 + 2 + 7, readyz left out
    expect(t.gateway.errors).toBe(2);
  });
  it('counts rpc requests per service without health calls; deadline is an error, invalid is not', () => {
    expect(t.candidate.requests).toBe(23);
    expect(t.candidate.errors).toBe(1);
    expect(t.ranking.requests).toBe(0);
  });
  it('merges latency buckets without probe routes', () => {
    expect(t.gateway.buckets).toEqual([
      { le: 5, count: 8 },
      { le: 50, count: 12 },
      { le: Infinity, count: 12 },
    ]);
  });
});

describe('servicePoints', () => {
  const a = serviceTotals(scrape({ rec: 10, recErr: 2, readyz: 50, cand: 20, candErr: 1, fast: 8, slow: 4 }));
  const b = serviceTotals(scrape({ rec: 40, recErr: 2, readyz: 90, cand: 50, candErr: 4, fast: 38, slow: 4 }));
  const p = servicePoints(a, b, 0, 3000);
  it('rates per second over the interval', () => {
    expect(p.gateway.rate).toBe(10); // 30 more in 3 s
    expect(p.gateway.errorRate).toBe(0);
    expect(p.candidate.rate).toBe(11); // 33 more in 3 s
    expect(p.candidate.errorRate).toBe(1);
  });
  it('latency quantiles of the interval only', () => {
    // the 30 new requests were all <= 5 ms: p50 = 0 + 5 * 15/30
    expect(p.gateway.p50).toBeCloseTo(2.5, 9);
    expect(p.ranking.p50).toBeNaN();
  });
});

describe('latencyByLabel', () => {
  it('keys the histograms by route', () => {
    const m = latencyByLabel(scrape({ rec: 1, recErr: 0, readyz: 3, cand: 0, candErr: 0, fast: 1, slow: 0 }), 'rs_gateway_http_duration_ms', 'route');
    expect([...m.keys()].sort()).toEqual(['readyz', 'recommendations']);
    expect(m.get('readyz')!.at(-1)!.count).toBe(3);
  });
});

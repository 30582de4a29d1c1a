// Chart configurations and figures of the data report (GET /v1/admin/data/report): pure functions,
// unit-tested in test/datareport.test.ts.
import type { DataReport, Distribution } from '../api/types';

const BLUE = '#0b57d0';
const GREEN = '#0a7d6e';

type Bar = { type: 'bar'; data: { labels: string[]; datasets: { label: string; data: (number | null)[]; backgroundColor: string }[] }; options: object };
type Line = { type: 'line'; data: { labels: string[]; datasets: { label: string; data: (number | null)[]; borderColor: string; backgroundColor: string; pointRadius: number; borderWidth: number }[] }; options: object };

const barOptions = (x: string, y: string) => ({
  responsive: true,
  maintainAspectRatio: false,
  scales: { y: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: y } }, x: { title: { display: true, text: x }, ticks: { maxTicksLimit: 12 } } },
  plugins: { legend: { display: false } },
});

/** "1", "2", "3–4", "5–8": the label of a log2 histogram bin. */
export function binLabel(b: { from: number; to: number }): string {
  return b.from === b.to ? String(b.from) : `${b.from}–${b.to}`;
}

export function histogramChart(d: Distribution | null | undefined, what: string, unit: string): Bar | null {
  const h = d?.histogram;
  if (!h || h.length === 0) return null;
  return {
    type: 'bar',
    data: { labels: h.map(binLabel), datasets: [{ label: what, data: h.map((b) => b.count), backgroundColor: BLUE }] },
    options: barOptions(`${unit} (log2 bins)`, what),
  };
}

/** The UTC day (YYYY-MM-DD) of entry k of the events-over-time series. */
export function seriesDay(start: string, bucketDays: number, k: number): string {
  const t = Date.parse(start) + k * bucketDays * 86400000;
  return new Date(t).toISOString().slice(0, 10);
}

export function seriesChart(r: DataReport): Bar | null {
  const t = r.time;
  if (!t) return null;
  const what = t.series_bucket_days > 1 ? `events per ${t.series_bucket_days} days` : 'events per day';
  return {
    type: 'bar',
    data: { labels: t.series.map((_, k) => seriesDay(t.series_start, t.series_bucket_days, k)), datasets: [{ label: what, data: t.series, backgroundColor: BLUE }] },
    options: barOptions('UTC day', what),
  };
}

export function longTailChart(r: DataReport): Line | null {
  const lt = r.item_popularity?.long_tail;
  if (!lt || lt.length === 0) return null;
  return {
    type: 'line',
    data: {
      labels: lt.map((p) => `${Math.round((p[0] ?? 0) * 100)} %`),
      datasets: [
        { label: 'share of events', data: lt.map((p) => (p[1] ?? 0) * 100), borderColor: BLUE, backgroundColor: BLUE, pointRadius: 0, borderWidth: 2 },
        { label: 'no long tail', data: lt.map((p) => (p[0] ?? 0) * 100), borderColor: '#8a93a0', backgroundColor: '#8a93a0', pointRadius: 0, borderWidth: 1 },
      ],
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      scales: { y: { beginAtZero: true, max: 100, title: { display: true, text: '% of events' } }, x: { title: { display: true, text: 'most popular share of items' }, ticks: { maxTicksLimit: 11 } } },
      plugins: { legend: { position: 'bottom', labels: { boxWidth: 10 } } },
    },
  };
}

export function funnelChart(r: DataReport): Bar {
  const o = r.funnel.overall;
  return {
    type: 'bar',
    data: { labels: ['view', 'add to cart', 'purchase'], datasets: [{ label: '(user, item) pairs', data: [o.view, o.add_to_cart, o.purchase], backgroundColor: GREEN }] },
    options: { ...barOptions('step', '(user, item) pairs'), indexAxis: 'y' },
  };
}

// Pure helpers of the experiments page (tested): KPI labels, an estimate with its interval, the
// shares check of the create form, and the per-day chart of one KPI with its 95 % intervals.
import type { ChartConfiguration } from 'chart.js';
import type { Estimate, ExperimentReport, KpiRow } from '../api/types';

type Est = NonNullable<Estimate>;

export const KPIS = [
  { key: 'ctr', label: 'CTR', pct: true },
  { key: 'add_to_cart_rate', label: 'Add-to-cart rate', pct: true },
  { key: 'conversion', label: 'Conversion', pct: true },
  { key: 'gmv_per_customer', label: 'GMV per customer', pct: false },
  { key: 'arppu', label: 'ARPPU', pct: false },
  { key: 'aov', label: 'Average order value', pct: false },
  { key: 'retention_d1', label: 'Day-1 retention', pct: true },
  { key: 'retention_d7', label: 'Day-7 retention', pct: true },
] as const;
export type KpiKey = (typeof KPIS)[number]['key'];

export const VARIANT_COLOURS = ['#1f6feb', '#bc4c00', '#1a7f37', '#8250df'];

function fmt(v: number, asPct: boolean): string {
  return asPct ? `${(v * 100).toFixed(1)} %` : v.toFixed(2);
}

/** "20.0 % [12.1 %, 27.9 %]"; "–" when undefined. */
export function fmtEst(e: Estimate | null | undefined, asPct: boolean): string {
  if (!e) return '–';
  return `${fmt(e.value, asPct)} [${fmt(e.lo, asPct)}, ${fmt(e.hi, asPct)}]`;
}

/** What is wrong with the variants' shares (each in (0, 1], summing to 1 within 1e-6), or null. */
export function sharesError(shares: readonly number[]): string | null {
  if (shares.length < 2 || shares.length > 4) return 'An experiment has 2 to 4 variants.';
  if (shares.some((s) => !Number.isFinite(s) || s <= 0 || s > 1)) return 'Every share must be above 0 and at most 1.';
  const sum = shares.reduce((a, b) => a + b, 0);
  if (Math.abs(sum - 1) > 1e-6) return `The shares must sum to 1 (they sum to ${Number(sum.toFixed(6))}).`;
  return null;
}

type Cfg = ChartConfiguration<'line', (number | null)[], string>;

/** One KPI per day and variant: the value as a solid line, its 95 % interval as dashed lines. */
export function kpiChart(rep: ExperimentReport, key: KpiKey): Cfg {
  const days = [...new Set(rep.variants.flatMap((v) => v.days.map((d) => d.day ?? '')))].filter(Boolean).sort();
  const datasets: Cfg['data']['datasets'] = [];
  rep.variants.forEach((v, i) => {
    const colour = VARIANT_COLOURS[i % VARIANT_COLOURS.length]!;
    const at = (f: (e: Est) => number) =>
      days.map((d) => {
        const row: KpiRow | undefined = v.days.find((r) => r.day === d);
        const e = row?.[key];
        return e ? f(e) : null;
      });
    datasets.push({ label: v.name, data: at((e) => e.value), borderColor: colour, backgroundColor: colour, borderWidth: 2 });
    datasets.push({ label: `${v.name} 95 % low`, data: at((e) => e.lo), borderColor: colour, borderDash: [4, 4], borderWidth: 1, pointRadius: 0 });
    datasets.push({ label: `${v.name} 95 % high`, data: at((e) => e.hi), borderColor: colour, borderDash: [4, 4], borderWidth: 1, pointRadius: 0 });
  });
  return {
    type: 'line',
    data: { labels: days, datasets },
    options: { responsive: true, maintainAspectRatio: false, plugins: { legend: { position: 'bottom' } } },
  };
}

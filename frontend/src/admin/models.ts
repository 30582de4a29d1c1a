// Pure helpers of the models page (tested): metrics of a version, training time, run chart data.
import type { ChartConfiguration } from 'chart.js';
import type { ModelVersion } from '../api/types';

export const RUN_MODELS = ['pop', 'itemknn', 'als', 'ease', 'two-stage'];

/** metrics[model][key] of a training run, when it is a number. */
export function runMetric(rm: Record<string, unknown> | null | undefined, model: string, key: string): number | null {
  const m = rm?.[model];
  if (typeof m !== 'object' || m === null) return null;
  const v = (m as Record<string, unknown>)[key];
  return typeof v === 'number' ? v : null;
}

/** A metric of the version: its own metrics, else the run's entry for the version's model. */
export function versionMetric(m: ModelVersion, key: string): number | null {
  const own = (m.metrics as Record<string, unknown>)[key];
  if (typeof own === 'number') return own;
  const model = typeof m.metrics.model === 'string' ? m.metrics.model : 'two-stage';
  return runMetric(m.run?.metrics, model, key);
}

/** Training time in seconds: run.durations' total (or the sum of its numeric stages), else fit_seconds. */
export function trainingSeconds(m: ModelVersion): number | null {
  const d: Record<string, unknown> | undefined = m.run?.durations;
  if (d && typeof d === 'object') {
    const total = d.total ?? d.total_s ?? d.total_seconds;
    if (typeof total === 'number') return total;
    const nums = Object.values(d).filter((v): v is number => typeof v === 'number');
    if (nums.length) return nums.reduce((a, b) => a + b, 0);
  }
  const fit = (m.metrics as Record<string, unknown>).fit_seconds;
  return typeof fit === 'number' ? fit : null;
}

/** The size of the data a version was trained on, from its run's params.data ("1,000 users ·
 * 2,988 items · 162,478 events"); null when the run does not say. */
export function dataSize(m: ModelVersion): string | null {
  const data = m.run?.params.data;
  if (typeof data !== 'object' || data === null) return null;
  const d = data as Record<string, unknown>;
  const parts = (['users', 'items', 'events'] as const)
    .filter((k) => typeof d[k] === 'number')
    .map((k) => `${(d[k] as number).toLocaleString('en-US')} ${k}`);
  return parts.length ? parts.join(' · ') : null;
}

type Cfg = ChartConfiguration<'bar', (number | null)[], string>;

/** Grouped bars: one group per metric, one bar per model of the run; null without run metrics. */
export function runMetricsChart(m: ModelVersion, metrics: string[], colours: Record<string, string>): Cfg | null {
  const rm = m.run?.metrics;
  if (!rm || typeof rm !== 'object') return null;
  // entries that are models (objects of metrics); e.g. "best" names one and is not drawn
  const isModel = (n: string) => typeof rm[n] === 'object' && rm[n] !== null;
  const names = [...RUN_MODELS.filter((n) => n in rm && isModel(n)), ...Object.keys(rm).filter((n) => !RUN_MODELS.includes(n) && isModel(n)).sort()];
  if (names.length === 0) return null;
  return {
    type: 'bar',
    data: {
      labels: metrics,
      datasets: names.map((n) => ({
        label: n,
        data: metrics.map((k) => runMetric(rm, n, k)),
        backgroundColor: colours[n] ?? '#6e7781',
      })),
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      scales: { y: { beginAtZero: true } },
      plugins: { legend: { position: 'bottom' } },
    },
  };
}

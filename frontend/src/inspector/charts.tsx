// Hand-drawn SVG charts of the inspector: contribution bars (SHAP waterfall style) and the
// latency waterfall (Jaeger style). Both are small enough not to need a chart library.
import type { FeatureContribution } from '../api/types';
import { ms, num } from '../lib/format';

export function ContributionBars({ rows, base, score }: { rows: FeatureContribution[]; base?: number; score: number }) {
  const max = Math.max(1e-9, ...rows.map((r) => Math.abs(r.contribution)));
  const rowH = 24;
  const labelW = 0; // labels sit above each bar on narrow screens: drawn as HTML
  return (
    <div class="contrib" data-testid="contributions">
      <p class="small">
        {base !== undefined && (
          <>
            base <span class="num" data-testid="base-score">{num(base, 4)}</span> + contributions ={' '}
          </>
        )}
        score <strong class="num">{num(score, 4)}</strong>
      </p>
      <ul class="bars" aria-label="Feature contributions, biggest first">
        {rows.map((r) => {
          const w = (Math.abs(r.contribution) / max) * 50;
          const pos = r.contribution >= 0;
          return (
            <li key={r.name} data-feature={r.name} data-contribution={r.contribution}>
              <span class="bar-label" title={r.name}>
                {r.label || r.name} <span class="muted num">= {num(r.value, 3)}</span>
              </span>
              <svg viewBox={`0 0 100 ${rowH}`} preserveAspectRatio="none" class="bar-svg" aria-hidden="true" style={{ marginLeft: labelW }}>
                <line x1="50" x2="50" y1="0" y2={rowH} stroke="#8c959f" stroke-width="0.5" />
                <rect x={pos ? 50 : 50 - w} y="5" width={Math.max(w, 0.3)} height={rowH - 10} fill={pos ? '#c2185b' : '#1565c0'} />
              </svg>
              <span class={`bar-val num ${pos ? 'pos' : 'neg'}`}>
                {pos ? '+' : '−'}
                {num(Math.abs(r.contribution), 4)}
              </span>
            </li>
          );
        })}
      </ul>
      <p class="xs muted">Bars to the right raise the score, to the left lower it; centred on zero, biggest first.</p>
    </div>
  );
}

export interface Lane {
  name: string;
  start: number;
  ms: number;
  ok: boolean;
  error?: string;
}

export function Waterfall({ lanes, total }: { lanes: Lane[]; total: number }) {
  const end = Math.max(total, ...lanes.map((l) => l.start + l.ms), 0.001);
  const ticks = niceTicks(end);
  const rows: Lane[] = [{ name: 'gateway (total)', start: 0, ms: total, ok: true }, ...lanes];
  return (
    <div class="waterfall" data-testid="waterfall">
      <ul class="lanes">
        {rows.map((l, i) => {
          const x = (l.start / end) * 100;
          const w = Math.max((l.ms / end) * 100, 0.4);
          return (
            <li key={`${l.name}-${i}`} data-hop={l.name} data-start={l.start} data-ms={l.ms}>
              <span class="lane-label">
                {l.name}
                {!l.ok && <span class="pill bad"> failed{l.error ? `: ${l.error}` : ''}</span>}
              </span>
              <span class="lane-track">
                <span class="lane-bar" style={{ left: `${x}%`, width: `${w}%`, background: i === 0 ? '#8c959f' : l.ok ? 'var(--accent)' : 'var(--danger)' }} />
              </span>
              <span class="lane-ms num">
                {ms(l.ms)}
                <span class="muted xs"> @{num(l.start, 2)}</span>
              </span>
            </li>
          );
        })}
      </ul>
      <div class="axis" aria-hidden="true">
        {ticks.map((t) => (
          <span key={t} style={{ left: `${(t / end) * 100}%` }}>
            {num(t, 2)} ms
          </span>
        ))}
      </div>
    </div>
  );
}

export function niceTicks(end: number): number[] {
  const raw = end / 4;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let t = 0; t <= end + 1e-9; t += step) out.push(Number(t.toFixed(6)));
  return out;
}

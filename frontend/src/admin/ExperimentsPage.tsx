// Experiments: every A/B experiment with start / stop, a form to create one across published model
// versions and the popular list, and the selected experiment's report: the SRM warning, KPIs per
// variant with 95 % intervals, the primary metric's test, and one KPI per day with its intervals.
import { useMemo, useState } from 'preact/hooks';
import { useAsync } from '../components/async';
import { ErrorBox, Loading } from '../components/States';
import { createExperiment, experimentReport, experiments, models, startExperiment, stopExperiment } from '../api/client';
import { describeError } from '../api/http';
import type { Estimate, Experiment, ExperimentCreate, ExperimentReport, KpiRow } from '../api/types';
import { num } from '../lib/format';
import { ChartBox } from './ChartBox';
import { KPIS, type KpiKey, fmtEst, kpiChart, sharesError } from './experiments';

type VariantForm = { name: string; source: string; share: string }; // source: "popular" or a version
const POPULAR = '(popular list)';
const METRICS = ['gmv_per_customer', 'ctr', 'conversion', 'add_to_cart_rate'] as const;

function CreateForm({ onCreated }: { onCreated: (e: Experiment) => void }) {
  const [versions] = useAsync((signal) => models(signal), []);
  const [name, setName] = useState('');
  const [hypothesis, setHypothesis] = useState('');
  const [metric, setMetric] = useState<(typeof METRICS)[number]>('gmv_per_customer');
  const [vars, setVars] = useState<VariantForm[]>([
    { name: 'control', source: POPULAR, share: '0.5' },
    { name: 'treatment', source: '', share: '0.5' },
  ]);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const list = versions.status === 'ready' ? versions.data.models.map((m) => m.version) : [];
  const sourceOf = (v: VariantForm) => v.source || (list[0] ?? POPULAR);
  const set = (i: number, patch: Partial<VariantForm>) => setVars(vars.map((v, j) => (j === i ? { ...v, ...patch } : v)));
  const submit = (ev: Event) => {
    ev.preventDefault();
    const bad = sharesError(vars.map((v) => Number(v.share)));
    if (bad) return setError(bad);
    if (!name.trim()) return setError('Give the experiment a name.');
    const body: ExperimentCreate = {
      name: name.trim(),
      hypothesis,
      primary_metric: metric,
      variants: vars.map((v) =>
        sourceOf(v) === POPULAR
          ? { name: v.name, strategy: 'popular' as const, share: Number(v.share) }
          : { name: v.name, model_version: sourceOf(v), share: Number(v.share) },
      ),
    };
    setBusy(true);
    setError(null);
    createExperiment(body)
      .then((e) => {
        setName('');
        setHypothesis('');
        onCreated(e);
      })
      .catch((e: unknown) => setError(describeError(e)))
      .finally(() => setBusy(false));
  };
  return (
    <form class="panel exp-form" onSubmit={submit} data-testid="exp-form" aria-labelledby="h-new">
      <h2 id="h-new">New experiment</h2>
      {error && (
        <p class="banner error" role="alert" data-testid="exp-form-error">
          {error}
        </p>
      )}
      <label>
        Name
        <input name="name" value={name} maxLength={100} required onInput={(e) => setName(e.currentTarget.value)} />
      </label>
      <label>
        Hypothesis
        <input name="hypothesis" value={hypothesis} maxLength={2000} onInput={(e) => setHypothesis(e.currentTarget.value)} />
      </label>
      <label>
        Primary metric
        <select name="primary_metric" value={metric} onChange={(e) => setMetric(e.currentTarget.value as (typeof METRICS)[number])}>
          {METRICS.map((m) => (
            <option key={m} value={m}>
              {KPIS.find((k) => k.key === m)?.label ?? m}
            </option>
          ))}
        </select>
      </label>
      <fieldset>
        <legend>Variants (the first is the control)</legend>
        {vars.map((v, i) => (
          <div class="exp-variant" key={i}>
            <label>
              Name
              <input value={v.name} pattern="[a-z0-9_\-]{1,32}" required onInput={(e) => set(i, { name: e.currentTarget.value })} data-testid={`variant-name-${i}`} />
            </label>
            <label>
              Serves
              <select value={sourceOf(v)} onChange={(e) => set(i, { source: e.currentTarget.value })} data-testid={`variant-source-${i}`}>
                <option value={POPULAR}>{POPULAR}</option>
                {list.map((ver) => (
                  <option key={ver} value={ver}>
                    {ver}
                  </option>
                ))}
              </select>
            </label>
            <label>
              Share
              <input type="number" step="0.01" min="0.01" max="1" value={v.share} onInput={(e) => set(i, { share: e.currentTarget.value })} data-testid={`variant-share-${i}`} />
            </label>
            {vars.length > 2 && (
              <button type="button" class="btn secondary small" onClick={() => setVars(vars.filter((_, j) => j !== i))} aria-label={`Remove variant ${v.name}`}>
                Remove
              </button>
            )}
          </div>
        ))}
        {vars.length < 4 && (
          <button type="button" class="btn secondary small" onClick={() => setVars([...vars, { name: `v${vars.length + 1}`, source: '', share: '0' }])}>
            Add a variant
          </button>
        )}
      </fieldset>
      <button type="submit" class="btn" disabled={busy} data-testid="exp-create">
        {busy ? 'Creating…' : 'Create (as a draft)'}
      </button>
    </form>
  );
}

function est(e: unknown): Estimate | null {
  return (e as Estimate | null | undefined) ?? null;
}

function Report({ id }: { id: number }) {
  const [state, retry] = useAsync((signal) => experimentReport(id, signal), [id]);
  const [kpi, setKpi] = useState<KpiKey>('ctr');
  const rep: ExperimentReport | null = state.status === 'ready' ? state.data : null;
  const chart = useMemo(() => (rep ? kpiChart(rep, kpi) : null), [rep, kpi]);
  if (state.status === 'loading') return <Loading label="Computing the report…" />;
  if (state.status === 'error') return <ErrorBox error={state.error} onRetry={retry} what="The report could not be computed" />;
  if (!rep) return null;
  const srm = rep.srm;
  const totals = (r: KpiRow, k: KpiKey, pctFmt: boolean) => fmtEst(est(r[k]), pctFmt);
  return (
    <section class="panel" aria-labelledby="h-report" data-testid="report" data-experiment={rep.experiment.id} style={{ marginTop: '16px' }}>
      <h2 id="h-report">
        Report: {rep.experiment.name} <span class="pill ok">{rep.experiment.status}</span>
      </h2>
      {srm.flagged ? (
        <p class="banner error" role="alert" data-testid="srm-warning">
          Sample ratio mismatch: the exposed customers do not match the shares (chi² {num(srm.chi2, 2)}, p = {srm.p_value.toExponential(2)}). The assignment or the
          impressions are broken; do not trust these numbers.
        </p>
      ) : (
        <p class="small muted" data-testid="srm-ok">
          Sample ratio check passed (chi² {num(srm.chi2, 2)}, p = {num(srm.p_value, 3)}).
        </p>
      )}
      <p class="small muted">
        Attribution: {rep.attribution.rules} (window {rep.attribution.window_hours} h). 95 % intervals in brackets.
      </p>
      <div class="table-wrap" tabIndex={0} role="region" aria-label="KPIs per variant">
        <table data-testid="kpi-table">
          <caption class="sr-only">KPIs per variant over the whole experiment</caption>
          <thead>
            <tr>
              <th scope="col">Variant</th>
              <th scope="col" class="num">Exposed</th>
              <th scope="col" class="num">Impressions</th>
              <th scope="col" class="num">Orders</th>
              <th scope="col" class="num">GMV</th>
              {KPIS.map((k) => (
                <th scope="col" key={k.key}>
                  {k.label}
                </th>
              ))}
              <th scope="col" class="num">Coverage</th>
              <th scope="col" class="num">Novelty</th>
            </tr>
          </thead>
          <tbody>
            {rep.variants.map((v) => (
              <tr key={v.name} data-variant={v.name}>
                <th scope="row">
                  {v.name} <span class="small muted">{v.model_version ?? (v.model_kind ? `newest ${v.model_kind}` : 'popular')} · {Math.round(v.share * 100)} %</span>
                </th>
                <td class="num" data-kpi="exposed">{v.totals.exposed}</td>
                <td class="num" data-kpi="impressions">{v.totals.impressions}</td>
                <td class="num" data-kpi="orders">{v.totals.orders}</td>
                <td class="num" data-kpi="gmv">{v.totals.gmv.toFixed(2)}</td>
                {KPIS.map((k) => (
                  <td key={k.key} class="small kpi-ci" data-kpi={k.key}>
                    {totals(v.totals, k.key, k.pct)}
                  </td>
                ))}
                <td class="num">{v.totals.coverage === null ? '–' : `${(v.totals.coverage * 100).toFixed(1)} %`}</td>
                <td class="num">{num(v.totals.novelty, 2)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <h3>Primary metric: {KPIS.find((k) => k.key === rep.primary.metric)?.label ?? rep.primary.metric}</h3>
      {rep.primary.comparisons.length === 0 ? (
        <p class="small muted">No comparison yet: a variant has no data.</p>
      ) : (
        <ul data-testid="comparisons">
          {rep.primary.comparisons.map((c) => (
            <li key={c.variant} data-variant={c.variant} data-significant={c.significant ? '1' : '0'}>
              {c.variant} vs {rep.primary.control}: {num(c.diff, 4)} [{num(c.diff_lo, 4)}, {num(c.diff_hi, 4)}]
              {c.lift !== null && ` (lift ${(c.lift * 100).toFixed(1)} %)`}, {c.test.replace(/_/g, ' ')} p = {num(c.p_value, 4)}{' '}
              <span class={`pill ${c.significant ? 'ok' : 'bad'}`}>{c.significant ? 'significant' : 'not significant'}</span>
            </li>
          ))}
        </ul>
      )}
      <h3>Per day</h3>
      <label class="field">
        KPI{' '}
        <select value={kpi} onChange={(e) => setKpi(e.currentTarget.value as KpiKey)} data-testid="kpi-select">
          {KPIS.map((k) => (
            <option key={k.key} value={k.key}>
              {k.label}
            </option>
          ))}
        </select>
      </label>
      {chart && chart.data.labels?.length ? (
        <ChartBox config={chart} label={`Line chart of ${kpi} per day and variant with 95 % intervals`} height={260} testid="kpi-chart" />
      ) : (
        <p class="small muted">No day with data yet.</p>
      )}
    </section>
  );
}

export function ExperimentsPage() {
  const [state, retry] = useAsync((signal) => experiments(signal), []);
  const [selected, setSelected] = useState<number | null>(null);
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null);
  const data = state.status === 'ready' ? state.data : null;
  const shown = selected ?? data?.running ?? data?.experiments[0]?.id ?? null;
  const act = (e: Experiment, start: boolean) => {
    setMsg(null);
    (start ? startExperiment(e.id) : stopExperiment(e.id))
      .then((r) => {
        setMsg({ ok: true, text: `Experiment ${r.name} is ${r.status}.` });
        setSelected(r.id);
        retry();
      })
      .catch((err: unknown) => setMsg({ ok: false, text: describeError(err) }));
  };
  return (
    <>
      <h1>Experiments</h1>
      {msg && (
        <p class={`banner ${msg.ok ? 'info' : 'error'}`} role={msg.ok ? 'status' : 'alert'} data-testid="exp-msg">
          {msg.text}
        </p>
      )}
      {state.status === 'loading' && <Loading label="Loading experiments…" />}
      {state.status === 'error' && <ErrorBox error={state.error} onRetry={retry} what="The experiments could not be loaded" />}
      {data && data.experiments.length === 0 && <p class="empty">No experiment yet: create one below.</p>}
      {data && data.experiments.length > 0 && (
        <div class="panel table-wrap" tabIndex={0} role="region" aria-label="Experiments">
          <table data-testid="experiments">
            <caption class="sr-only">Experiments, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Experiment</th>
                <th scope="col">Status</th>
                <th scope="col">Primary metric</th>
                <th scope="col">Variants</th>
                <th scope="col">Action</th>
              </tr>
            </thead>
            <tbody>
              {data.experiments.map((e) => (
                <tr key={e.id} data-id={e.id} data-status={e.status}>
                  <th scope="row">
                    <button type="button" class="linkish" onClick={() => setSelected(e.id)} aria-pressed={shown === e.id} data-testid="exp-open">
                      #{e.id} {e.name}
                    </button>
                  </th>
                  <td>
                    <span class={`pill ${e.status === 'running' ? 'ok' : e.status === 'stopped' ? 'bad' : 'new'}`}>{e.status}</span>
                  </td>
                  <td>{KPIS.find((k) => k.key === e.primary_metric)?.label ?? e.primary_metric}</td>
                  <td class="small">{e.variants.map((v) => `${v.name}: ${v.model_version ?? (v.model_kind ? `newest ${v.model_kind}` : 'popular')} ${Math.round(v.share * 100)} %`).join(' · ')}</td>
                  <td>
                    {e.status === 'draft' && (
                      <button type="button" class="btn secondary small" onClick={() => act(e, true)} disabled={data.running !== null} data-testid="exp-start">
                        Start
                      </button>
                    )}
                    {e.status === 'running' && (
                      <button type="button" class="btn danger small" onClick={() => act(e, false)} data-testid="exp-stop">
                        Stop
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {shown !== null && <Report key={shown} id={shown} />}
      <CreateForm
        onCreated={(e) => {
          setMsg({ ok: true, text: `Experiment ${e.name} created as a draft.` });
          setSelected(e.id);
          retry();
        }}
      />
    </>
  );
}

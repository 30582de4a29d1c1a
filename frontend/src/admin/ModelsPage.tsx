// Models: every published version with its offline metrics and training run; a grouped bar chart
// of one run's models side by side; activate / roll back behind a confirmation naming the version.
import { useMemo, useRef, useState } from 'preact/hooks';
import { useAsync } from '../components/async';
import { ErrorBox, Loading } from '../components/States';
import { activate, models } from '../api/client';
import { describeError } from '../api/http';
import type { ModelVersion } from '../api/types';
import { activeVersion } from '../state/app';
import { num, pct } from '../lib/format';
import { MODEL_COLOURS } from '../lib/sources';
import { ChartBox } from './ChartBox';
import { dataSize, runMetricsChart, trainingSeconds, versionMetric } from './models';

const CHART_METRICS = ['NDCG@20', 'Recall@20', 'HitRate@20', 'Coverage@20'];

export function ModelsPage() {
  const [state, retry] = useAsync((signal) => models(signal), []);
  const [chartVersion, setChartVersion] = useState<string | null>(null);
  const [confirm, setConfirm] = useState<ModelVersion | null>(null);
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const dlg = useRef<HTMLDialogElement>(null);
  const data = state.status === 'ready' ? state.data : null;
  if (data?.active) activeVersion.set(data.active);
  const shown = data ? (data.models.find((m) => m.version === chartVersion) ?? data.models.find((m) => m.active) ?? data.models[0]) : undefined;
  const chart = useMemo(() => (shown ? runMetricsChart(shown, CHART_METRICS, MODEL_COLOURS) : null), [shown]);

  const ask = (m: ModelVersion) => {
    setConfirm(m);
    setMsg(null);
    queueMicrotask(() => dlg.current?.showModal());
  };
  const doActivate = () => {
    if (!confirm) return;
    setBusy(true);
    activate(confirm.version)
      .then((r) => {
        activeVersion.set(r.active);
        setMsg({ ok: true, text: `Version ${r.active} is now active (was ${r.previous ?? 'none'}).` });
        retry();
      })
      .catch((e: unknown) => setMsg({ ok: false, text: describeError(e) }))
      .finally(() => {
        setBusy(false);
        dlg.current?.close();
        setConfirm(null);
      });
  };
  return (
    <>
      <h1>Models</h1>
      {msg && (
        <p class={`banner ${msg.ok ? 'info' : 'error'}`} role={msg.ok ? 'status' : 'alert'} data-testid="activate-msg">
          {msg.text}
        </p>
      )}
      {state.status === 'loading' && <Loading label="Loading model versions…" />}
      {state.status === 'error' && <ErrorBox error={state.error} onRetry={retry} what="The model versions could not be loaded" />}
      {data && data.models.length === 0 && <p class="empty">No model version has been published yet. Run rs-train pipeline.</p>}
      {data && data.models.length > 0 && (
        <div class="panel table-wrap" tabIndex={0} role="region" aria-label="Model versions">
          <table data-testid="models">
            <caption class="sr-only">Published model versions, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Version</th>
                <th scope="col">Created</th>
                <th scope="col">Data</th>
                <th scope="col" class="num">NDCG@20</th>
                <th scope="col" class="num">Recall@20</th>
                <th scope="col" class="num">Coverage@20</th>
                <th scope="col" class="num">Training</th>
                <th scope="col">Run</th>
                <th scope="col">Action</th>
              </tr>
            </thead>
            <tbody>
              {data.models.map((m) => {
                const t = trainingSeconds(m);
                return (
                  <tr key={m.version} data-version={m.version} data-active={m.active ? '1' : '0'}>
                    <th scope="row">
                      {m.version} {m.active && <span class="pill ok">active</span>}
                    </th>
                    <td class="small">{new Date(m.created_at).toLocaleString()}</td>
                    <td class="small">{dataSize(m) ?? <span class="muted">not recorded</span>}</td>
                    <td class="num">{num(versionMetric(m, 'NDCG@20'), 4)}</td>
                    <td class="num">{num(versionMetric(m, 'Recall@20'), 4)}</td>
                    <td class="num">{pct(versionMetric(m, 'Coverage@20'))}</td>
                    <td class="num">{t === null ? '–' : `${num(t, 1)} s`}</td>
                    <td class="small">
                      {m.run ? `#${m.run.run_id} ${m.run.status}` : <span class="muted">no run recorded</span>}{' '}
                      <button type="button" class="linkish" onClick={() => setChartVersion(m.version)} aria-label={`Chart the models of ${m.version}`}>
                        chart
                      </button>
                    </td>
                    <td>
                      {!m.active && (
                        <button type="button" class="btn secondary small" onClick={() => ask(m)} data-testid="activate" data-version={m.version}>
                          {data.models.findIndex((x) => x.version === m.version) > data.models.findIndex((x) => x.active) ? 'Roll back' : 'Activate'}
                        </button>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {shown && (
        <section class="panel" style={{ marginTop: '16px' }} aria-labelledby="h-run">
          <h2 id="h-run">Models of the run behind {shown.version}</h2>
          {chart ? (
            <>
              <p class="small muted">Offline metrics of every model trained in that run, side by side (higher is better).</p>
              <ChartBox config={chart} label={`Grouped bar chart: ${CHART_METRICS.join(', ')} for models ${chart.data.datasets.map((d) => d.label).join(', ')}`} height={280} testid="run-chart" />
            </>
          ) : (
            <p class="banner warn small" data-testid="missing">
              Not in this answer: the training run's per-model metrics (models[].run.metrics).
            </p>
          )}
        </section>
      )}
      <dialog ref={dlg} aria-labelledby="dlg-h" onClose={() => setConfirm(null)} data-testid="confirm">
        {confirm && (
          <>
            <h2 id="dlg-h">Activate version {confirm.version}?</h2>
            <p>
              Every recommendation will be served by <strong>{confirm.version}</strong> within a second, instead of{' '}
              <strong>{data?.active ?? 'none'}</strong>. You can switch back the same way.
            </p>
            <div style={{ display: 'flex', gap: '8px', justifyContent: 'flex-end' }}>
              <button type="button" class="btn secondary" onClick={() => dlg.current?.close()}>
                Cancel
              </button>
              <button type="button" class="btn danger" onClick={doActivate} disabled={busy} data-testid="confirm-activate">
                {busy ? 'Activating…' : `Activate ${confirm.version}`}
              </button>
            </div>
          </>
        )}
      </dialog>
    </>
  );
}

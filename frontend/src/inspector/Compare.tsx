// Admins: the same customer's list from another model version beside the active one (version=).
import { useState } from 'preact/hooks';
import { useAsync } from '../components/async';
import { models, recommendations } from '../api/client';
import { describeError } from '../api/http';
import type { Recommendations } from '../api/types';
import { BeforeAfter } from './BeforeAfter';
import { num } from '../lib/format';

function List({ r, title }: { r: Recommendations; title: string }) {
  return (
    <div class="panel">
      <h3>{title}</h3>
      <ol class="small">
        {r.items.map((i) => (
          <li key={i.item_id}>
            {i.title} <span class="muted num">{num(i.score, 3)}</span>
          </li>
        ))}
      </ol>
    </div>
  );
}

export function CompareVersions({ userId, active }: { userId: number; active: Recommendations }) {
  const [vs] = useAsync((signal) => models(signal), []);
  const [version, setVersion] = useState('');
  const [other, setOther] = useState<Recommendations | null>(null);
  const [err, setErr] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const load = (v: string) => {
    setVersion(v);
    setOther(null);
    setErr(null);
    if (!v) return;
    setBusy(true);
    recommendations(userId, { k: active.items.length || 12, version: v })
      .then(setOther, (e: unknown) => setErr(describeError(e)))
      .finally(() => setBusy(false));
  };
  const versions = vs.status === 'ready' ? vs.data.models : [];
  return (
    <section class="panel stage-panel" aria-labelledby="h-compare" data-testid="compare">
      <h2 id="h-compare">Compare model versions</h2>
      <label class="field">
        <span class="small">Other version </span>
        <select value={version} onChange={(e) => load(e.currentTarget.value)} data-testid="compare-version">
          <option value="">choose a version…</option>
          {versions.map((m) => (
            <option key={m.version} value={m.version}>
              {m.version}
              {m.active ? ' (active)' : ''}
            </option>
          ))}
        </select>
      </label>
      {vs.status === 'error' && <p class="banner error">{describeError(vs.error)}</p>}
      {busy && <p role="status">Loading…</p>}
      {err && <p class="banner error" role="alert">{err}</p>}
      {other && (
        <>
          <div class="grid2">
            <List r={active} title={`Active: ${active.model_version}`} />
            <List r={other} title={`Version ${other.model_version}`} />
          </div>
          <BeforeAfter before={active.items} after={other.items} labels={['active', version]} testid="compare-diff" />
        </>
      )}
    </section>
  );
}

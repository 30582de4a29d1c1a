// "How was this picked?": the pipeline of one recommendation answer (explain=1), stage by stage,
// with the list itself beside it. Every number comes from the answer.
import { useState } from 'preact/hooks';
import { useAsync } from '../components/async';
import { ErrorBox, SkeletonCards, TableWrap } from '../components/States';
import { Picture, itemHref } from '../components/Card';
import { Link } from '../router';
import { dismissed, session } from '../state/app';
import { useStore } from '../state/store';
import { recommendations } from '../api/client';
import { ApiError } from '../api/http';
import type { Recommendations } from '../api/types';
import { contributions, filteredTotal, finalRows, hopLanes, sourceColumns, titleOf } from '../lib/explain';
import { overlapMatrix } from '../lib/overlap';
import { sourceColour, sourceName } from '../lib/sources';
import { ago, ms, num } from '../lib/format';
import { ContributionBars, Waterfall } from './charts';
import { WhatIf } from './WhatIf';
import { TypeIcon } from './icons';
import { CompareVersions } from './Compare';
import './inspector.css';

const K = 12;
const TYPE_NAME: Record<string, string> = { view: 'viewed', click: 'clicked', add_to_cart: 'added to cart', purchase: 'bought', rating: 'rated', not_interested: 'not interested' };

function Stat({ id, label, count, time }: { id: string; label: string; count: number | null; time: number | null }) {
  return (
    <li class="stage" data-testid={`stage-${id}`} data-count={count ?? ''} data-ms={time ?? ''}>
      <a href={`#st-${id}`}>
        <span class="stage-name">{label}</span>
        <span class="stage-count num">{count ?? '–'}</span>
        <span class="stage-ms num muted xs">{time === null ? 'n/a' : ms(time)}</span>
      </a>
    </li>
  );
}

function Missing({ what }: { what: string }) {
  return (
    <p class="banner warn small" data-testid="missing">
      Not in this answer: {what} (the gateway does not send it yet).
    </p>
  );
}

export function InspectorPage({ userId }: { userId: number }) {
  const me = useStore(session);
  const own = me?.user_id === userId;
  const [state, retry] = useAsync<Recommendations>(
    (signal) => recommendations(userId, { k: K, explain: true, exclude: own ? dismissed().excludeIds() : [] }, signal),
    [userId, me?.user_id],
  );
  const [selected, setSelected] = useState<number | null>(null);

  if (me === undefined) return <SkeletonCards n={6} />;
  if (me === null)
    return (
      <p class="banner warn" role="alert">
        <Link href={`/login?next=/inspect/${userId}`}>Log in</Link> to see how recommendations were picked.
      </p>
    );
  if (state.status === 'error') {
    const e = state.error;
    if (e instanceof ApiError && e.status === 403)
      return (
        <div class="banner error" role="alert" data-testid="forbidden">
          <h1>Not allowed</h1>
          <p>You can only see how your own recommendations were picked. Customer {userId}'s history is private (403 {e.code}).</p>
          <Link href={`/inspect/${me.user_id}`}>See your own</Link>
        </div>
      );
    return <ErrorBox error={e} onRetry={retry} what="The explanation could not be loaded" />;
  }
  const r = state.status === 'ready' ? state.data : null;
  const ex = r?.explain;
  const rows = r ? finalRows(r) : [];
  const sel = selected ?? rows[0]?.item.item_id ?? null;
  const ranked = ex?.ranking.items ?? [];
  const selRank = ranked.find((x) => x.item_id === sel);
  const contrib = selRank ? contributions(selRank.features) : null;
  const cols = ex ? sourceColumns(ex) : [];
  const overlap = r ? overlapMatrix(r.items) : null;
  const lanes = r ? hopLanes(r) : [];

  return (
    <div class="inspector" data-testid="inspector" data-rec-id={r?.rec_id}>
      <h1>
        How was this picked? <span class="muted small">customer {userId}</span>
      </h1>
      <div class="insp-layout">
        <aside class="insp-list panel" aria-label="The list being explained">
          <h2>For you{own ? '' : ` (customer ${userId})`}</h2>
          {!r && <SkeletonCards n={4} />}
          {r && r.degraded && (
            <p class="degraded" title={r.degraded_reason}>
              degraded: {r.degraded_reason}
            </p>
          )}
          {r && (
            <ol class="mini-list" data-testid="insp-list">
              {rows.map((row) => (
                <li
                  key={row.item.item_id}
                  class={row.item.item_id === sel ? 'sel' : ''}
                  onMouseEnter={() => setSelected(row.item.item_id)}
                  data-item-id={row.item.item_id}
                >
                  <button type="button" class="mini" onFocus={() => setSelected(row.item.item_id)} onClick={() => setSelected(row.item.item_id)} aria-pressed={row.item.item_id === sel}>
                    <Picture title={row.item.title} category={row.item.category} size={40} />
                    <span>
                      <span class="mini-title">
                        {row.position}. {row.item.title}
                      </span>
                      <span class="reason">{row.item.reason}</span>
                    </span>
                  </button>
                </li>
              ))}
            </ol>
          )}
          {r && (
            <p class="xs muted">
              rec_id {r.rec_id} · model {r.model_version} · recomputed when this page opened
            </p>
          )}
        </aside>

        <div class="insp-stages">
          {!r && <p aria-busy="true" role="status">Explaining…</p>}
          {r && ex && (
            <>
              <ol class="pipeline" aria-label="Pipeline stages, left to right">
                <Stat id="history" label="1 History" count={ex.feature.total_events ?? ex.feature.recent?.length ?? 0} time={ex.feature.ms} />
                <Stat id="candidates" label="2 Candidates" count={ex.candidate.candidates?.length ?? 0} time={ex.candidate.ms} />
                <Stat id="filters" label="3 Filters" count={ex.candidate.filtered ? filteredTotal(ex) : null} time={null} />
                <Stat id="ranker" label="4 Ranker" count={ranked.length} time={ex.ranking.ms} />
                <Stat id="final" label="5 Final list" count={r.items.length} time={ex.hops?.find((h) => h.name === 'render')?.ms ?? null} />
                <Stat id="latency" label="6 Latency" count={lanes.length || null} time={r.timings_ms.total} />
              </ol>

              <section id="st-history" class="panel stage-panel" aria-labelledby="h-history">
                <h2 id="h-history">1 · History</h2>
                <p class="small muted">
                  {ex.feature.known_user ? 'known customer' : 'unknown customer (no history)'} · {ex.feature.total_events ?? 0} events · embedding {ex.feature.embedding_dim ?? 0} dims
                  {ex.feature.embedding_norm !== undefined && (
                    <>
                      {' '}· norm <span class="num" data-testid="embedding-norm" data-value={ex.feature.embedding_norm}>{num(ex.feature.embedding_norm, 4)}</span>
                    </>
                  )}
                </p>
                <div class="grid2">
                  <div>
                    <h3>Recent events, newest first</h3>
                    {(ex.feature.recent ?? []).length === 0 && <p class="empty">No events yet.</p>}
                    <ol class="timeline" data-testid="history">
                      {(ex.feature.recent ?? []).slice(0, 20).map((h, i) => (
                        <li key={i} data-item-id={h.item_id} data-type={h.type}>
                          <TypeIcon type={h.type} label={TYPE_NAME[h.type] ?? h.type} />
                          <span>
                            <span class="small">{TYPE_NAME[h.type] ?? h.type}</span> <Link href={itemHref(h.item_id)}>{titleOf(r, h.item_id)}</Link>
                            <span class="xs muted"> · {ago(h.ts_ms)}</span>
                          </span>
                        </li>
                      ))}
                    </ol>
                  </div>
                  <div>
                    <h3>Nearest items to the embedding</h3>
                    {!ex.feature.nearest ? (
                      <Missing what="nearest items (explain.feature.nearest)" />
                    ) : (
                      <ol data-testid="nearest">
                        {ex.feature.nearest.map((n) => (
                          <li key={n.item_id} data-item-id={n.item_id}>
                            {titleOf(r, n.item_id)} <span class="muted num small">{num(n.score, 4)}</span>
                          </li>
                        ))}
                      </ol>
                    )}
                  </div>
                </div>
              </section>

              <section id="st-candidates" class="panel stage-panel" aria-labelledby="h-cand">
                <h2 id="h-cand">2 · Candidates</h2>
                <p class="small muted">
                  {ex.candidate.candidates?.length ?? 0} candidates from {cols.length} sources ({ex.candidate.source === 'popular_cache' ? 'popular cache' : 'candidate service'}), asked for {ex.candidate.requested_k ?? '–'}
                </p>
                {!ex.candidate.source_stats && <Missing what="per-source totals (explain.candidate.source_stats); counts below are of the candidates sent on" />}
                <div class="src-cols" data-testid="sources">
                  {cols.map((c) => (
                    <div class="src-col" key={c.source} data-source={c.source} data-count={c.count} style={{ borderTopColor: sourceColour(c.source) }}>
                      <h3>
                        <span class="dot" style={{ background: sourceColour(c.source) }} /> {sourceName(c.source)}
                      </h3>
                      <p class="small num">{c.count} items</p>
                      <ol class="xs">
                        {c.top.map((t) => (
                          <li key={t.item_id} data-item-id={t.item_id} data-rank={t.rank} data-score={t.score}>
                            {titleOf(r, t.item_id)} <span class="muted num">#{t.rank} · {num(t.score, 3)}</span>
                          </li>
                        ))}
                      </ol>
                    </div>
                  ))}
                </div>
                {overlap && (
                  <>
                    <h3>Which sources gave the final items</h3>
                    <TableWrap label="Final items by source">
                      <table class="overlap" data-testid="overlap">
                        <caption class="sr-only">Final items by source</caption>
                        <thead>
                          <tr>
                            <th scope="col">#</th>
                            <th scope="col">Item</th>
                            {overlap.sources.map((s) => (
                              <th scope="col" key={s} class="rot">
                                <span class="dot" style={{ background: sourceColour(s) }} /> {sourceName(s)}
                              </th>
                            ))}
                          </tr>
                        </thead>
                        <tbody>
                          {overlap.rows.map((row, i) => (
                            <tr key={row.item_id} data-item-id={row.item_id}>
                              <td class="num">{i + 1}</td>
                              <td>{titleOf(r, row.item_id)}</td>
                              {row.cells.map((c, j) => (
                                <td key={j} class="cell" data-on={c ? '1' : '0'}>
                                  {c ? <span class="dot big" style={{ background: sourceColour(overlap.sources[j]!) }} role="img" aria-label="yes" /> : <span class="sr-only">no</span>}
                                </td>
                              ))}
                            </tr>
                          ))}
                        </tbody>
                        <tfoot>
                          <tr>
                            <th scope="row" colSpan={2}>
                              final items per source ({overlap.shared} shared)
                            </th>
                            {overlap.perSource.map((n, j) => (
                              <td key={j} class="num">
                                {n}
                              </td>
                            ))}
                          </tr>
                        </tfoot>
                      </table>
                    </TableWrap>
                  </>
                )}
              </section>

              <section id="st-filters" class="panel stage-panel" aria-labelledby="h-filt">
                <h2 id="h-filt">3 · Filters</h2>
                {!ex.candidate.filtered ? (
                  <Missing what="filtered items (explain.candidate.filtered)" />
                ) : ex.candidate.filtered.length === 0 ? (
                  <p class="empty">Nothing was removed.</p>
                ) : (
                  <table data-testid="filters">
                    <caption class="sr-only">Removed candidates by reason</caption>
                    <thead>
                      <tr>
                        <th scope="col">Reason</th>
                        <th scope="col" class="num">Removed</th>
                        <th scope="col">Items</th>
                      </tr>
                    </thead>
                    <tbody>
                      {ex.candidate.filtered.map((f) => (
                        <tr key={f.reason} data-reason={f.reason} data-count={f.count}>
                          <td>{f.reason.replace('_', ' ')}</td>
                          <td class="num">{f.count}</td>
                          <td class="small">{f.items.map((id) => titleOf(r, id)).join(', ')}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                )}
              </section>

              <section id="st-ranker" class="panel stage-panel" aria-labelledby="h-rank">
                <h2 id="h-rank">4 · Ranker</h2>
                <p class="small muted">
                  {ex.ranking.ranker ?? 'ranker'} scored {ranked.length} candidates
                  {ex.ranking.contributions ? ` · contributions ${ex.ranking.contributions}` : ''}. Point at or focus an item in the list to see why it scored as it did.
                </p>
                {sel !== null && (
                  <h3 data-testid="ranker-item" data-item-id={sel}>
                    {titleOf(r, sel)}
                  </h3>
                )}
                {!selRank && <p class="empty">The ranker did not score this item (served without ranking).</p>}
                {selRank && contrib && <ContributionBars rows={contrib} base={ex.ranking.base_score} score={selRank.score} />}
                {selRank && !contrib && (
                  <>
                    <Missing what="per-feature contributions (explain.ranking.items[].features[].contribution); the feature values are:" />
                    <dl class="attrs">
                      {Object.entries(selRank.features as unknown as Record<string, number>).map(([k, v]) => (
                        <>
                          <dt key={`${k}t`}>{k}</dt>
                          <dd key={`${k}d`} class="num">{num(v, 4)}</dd>
                        </>
                      ))}
                    </dl>
                  </>
                )}
              </section>

              <section id="st-final" class="panel stage-panel" aria-labelledby="h-final">
                <h2 id="h-final">5 · Final list</h2>
                <TableWrap label="Final list">
                  <table data-testid="final">
                    <caption class="sr-only">The final list with scores and reasons</caption>
                    <thead>
                      <tr>
                        <th scope="col" class="num">#</th>
                        <th scope="col">Item</th>
                        <th scope="col" class="num">Score</th>
                        <th scope="col">Reason</th>
                        <th scope="col">vs candidates</th>
                      </tr>
                    </thead>
                    <tbody>
                      {rows.map((row) => (
                        <tr key={row.item.item_id} data-item-id={row.item.item_id} data-score={row.item.score} data-moved={row.moved}>
                          <td class="num">{row.position}</td>
                          <td>{row.item.title}</td>
                          <td class="num">{num(row.item.score, 4)}</td>
                          <td class="small">{row.item.reason}</td>
                          <td class="small">
                            {row.candidatePosition === null ? (
                              <span class="pill new">not a candidate</span>
                            ) : row.moved > 0 ? (
                              <span class="up">▲ {row.moved} (was {row.candidatePosition})</span>
                            ) : row.moved < 0 ? (
                              <span class="down">▼ {-row.moved} (was {row.candidatePosition})</span>
                            ) : (
                              <span class="muted">= same</span>
                            )}
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </TableWrap>
              </section>

              <section id="st-latency" class="panel stage-panel" aria-labelledby="h-lat">
                <h2 id="h-lat">6 · Latency</h2>
                <p class="small muted">
                  total <span class="num" data-testid="total-ms">{ms(r.timings_ms.total)}</span> of a {ex.deadline_ms ?? '–'} ms deadline
                </p>
                {lanes.length === 0 ? <Missing what="hop timeline (explain.hops)" /> : <Waterfall lanes={lanes} total={r.timings_ms.total} />}
              </section>

              <WhatIf userId={userId} before={r} exclude={own ? dismissed().excludeIds() : []} />
              {me.role === 'admin' && <CompareVersions userId={userId} active={r} />}
            </>
          )}
          {r && !ex && <Missing what="the explanation (explain)" />}
        </div>
      </div>
    </div>
  );
}

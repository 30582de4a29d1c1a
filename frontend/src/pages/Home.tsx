// Home: "For you" (personal, with reasons), "Trending", "Because you viewed X".
import { useEffect, useState } from 'preact/hooks';
import { Row, type RowData } from '../components/Row';
import { useAsync } from '../components/async';
import { Link } from '../router';
import { activeVersion, dismissed, session } from '../state/app';
import { useStore } from '../state/store';
import type { Me } from '../api/types';
import { history, popular, recommendations, similar } from '../api/client';
import { coldStartNote } from '../lib/coldstart';
import { Inspector } from './chunks';
import { takeEarly } from '../state/foryou';
import { toCard } from '../components/Card';

/** Once the first list is drawn, the inspector's chunk is fetched while the browser is idle. */
function prefetchInspectorWhenIdle(): void {
  const w = window as Window & { requestIdleCallback?: (f: () => void) => number };
  if (w.requestIdleCallback) w.requestIdleCallback(() => Inspector.prefetch());
  else setTimeout(() => Inspector.prefetch(), 500);
}


function ForYou({ me, onSettled }: { me: Me; onSettled: () => void }) {
  const [state, retry] = useAsync<RowData>(async (signal) => {
    const r = await (takeEarly(me.user_id) ?? recommendations(me.user_id, { k: 12, exclude: dismissed().excludeIds() }, signal));
    if (!r.degraded) activeVersion.set(r.model_version);
    prefetchInspectorWhenIdle();
    return {
      items: r.items.map(toCard),
      rec_id: r.rec_id,
      model_version: r.model_version,
      degraded: r.degraded,
      degraded_reason: r.degraded_reason,
      note: coldStartNote(r.items),
    };
  }, [me.user_id]);
  useEffect(() => {
    if (state.status !== 'loading') onSettled();
  }, [state.status]);
  return (
    <Row
      id="for-you"
      title="For you"
      surface="for_you"
      state={state}
      onRetry={retry}
      recordedByGateway
      showReasons
      skeletons={12}
      emptyText="No picks for you right now. Browse a category and come back."
      actions={
        <Link
          href={`/inspect/${me.user_id}`}
          class="small"
          data-testid="how-picked"
          onMouseEnter={Inspector.prefetch}
          onFocus={Inspector.prefetch}
          onTouchStart={Inspector.prefetch}
        >
          How was this picked?
        </Link>
      }
    />
  );
}

function Trending() {
  const [state, retry] = useAsync<RowData>(async (signal) => {
    const r = await popular(12, undefined, signal);
    return { items: r.items.map(toCard), model_version: r.model_version, rec_id: r.rec_id };
  }, []);
  return <Row id="trending" title="Trending" surface="trending" state={state} onRetry={retry} />;
}

function BecauseViewed({ me }: { me: Me }) {
  const [state, retry] = useAsync<RowData & { title: string } | null>(async (signal) => {
    const h = await history(me.user_id, 50, signal);
    dismissed().confirmFromHistory(h.events);
    const v = h.events.find((e) => e.type === 'view');
    if (!v) return null;
    const r = await similar(v.item_id, 12, signal);
    return { items: r.items.map(toCard), model_version: r.model_version, rec_id: r.rec_id, title: v.title || `item ${v.item_id}` };
  }, [me.user_id]);
  if (state.status === 'ready' && state.data === null) return null;
  const title = state.status === 'ready' && state.data ? `Because you viewed ${state.data.title}` : 'Because you viewed…';
  const rowState = state.status === 'ready' ? { status: 'ready' as const, data: state.data! } : state;
  return <Row id="because-viewed" title={title} surface="because_viewed" state={rowState} onRetry={retry} />;
}

/** The other rows start once "For you" has its answer (or after 300 ms): on a busy server the
 * first list a customer sees should not wait behind the others. */
function useGate(open: boolean): boolean {
  const [go, setGo] = useState(open);
  useEffect(() => {
    if (open) return setGo(true);
    const t = setTimeout(() => setGo(true), 300);
    return () => clearTimeout(t);
  }, [open]);
  return go || open;
}

export function Home() {
  const me = useStore(session);
  const [settled, setSettled] = useState(false);
  const go = useGate(me === null || settled);
  return (
    <>
      <h1 class="sr-only">Home</h1>
      {me === undefined && <Row id="for-you" title="For you" surface="for_you" state={{ status: 'loading' }} skeletons={12} />}
      {me === null && (
        <div class="banner info" data-testid="welcome">
          <Link href="/login">Log in</Link> to see picks made for you, with the reason for each.
        </div>
      )}
      {me && <ForYou me={me} onSettled={() => setSettled(true)} />}
      {go ? <Trending /> : <Row id="trending" title="Trending" surface="trending" state={{ status: 'loading' }} />}
      {me && go && <BecauseViewed me={me} />}
    </>
  );
}

// A row of product cards with every state: loading (skeletons), error (message + retry), empty,
// degraded. Draws the list, then sends its impression, unless the gateway recorded the list itself
// as it served it (recommendations: `recordedByGateway`; posting it too would count it twice and
// the gateway refuses it with 409); clicks and "Not interested" carry the list's rec_id and the
// 1-based position as drawn.
import type { ComponentChildren } from 'preact';
import { useEffect } from 'preact/hooks';
import { Card, type CardItem } from './Card';
import { ErrorBox, SkeletonCards } from './States';
import type { AsyncState } from './async';
import { dismissed, dismissedTick, session } from '../state/app';
import { useStore } from '../state/store';
import { impression, track } from '../api/track';
import { showToast } from './Toast';

export interface RowData {
  items: CardItem[];
  /** the answer's rec_id (every list answer has one; catalog pages use a page id), so the
   * impressions and the events from the list share one id */
  rec_id?: string;
  model_version?: string;
  /** recommendations: the running experiment and this customer's variant (null outside one) */
  experiment?: number | null;
  variant?: string | null;
  degraded?: boolean;
  degraded_reason?: string;
  note?: string | null;
}

/** What a degraded answer is, in words; the gateway's degraded_reason names the hop that failed. */
export function degradedLabel(reason: string | undefined): string {
  const r = (reason ?? '').toLowerCase();
  if (r.startsWith('feature')) return 'degraded: not personalized right now';
  if (r.startsWith('ranking')) return 'degraded: shown unranked';
  return 'degraded: showing popular items';
}

export function notInterested(item: CardItem, from: { surface: string; rec_id?: string; position?: number }): void {
  const user = session.get();
  dismissed().dismiss(item.item_id);
  track(user?.user_id, item.item_id, 'not_interested', from);
  showToast(`"${item.title}" removed from your lists.`, {
    label: 'Undo',
    run: () => {
      dismissed().undo(item.item_id);
      showToast(
        `"${item.title}" is shown again here. Your "not interested" signal was already sent and cannot be taken back, so it may stay out of your recommendations.`,
        undefined,
        10000,
      );
    },
  });
}

export function Row({
  id,
  title,
  surface,
  state,
  onRetry,
  showReasons,
  actions,
  emptyText = 'Nothing to show here yet.',
  skeletons = 6,
  grid = false,
  offset = 0,
  recordedByGateway = false,
}: {
  id: string;
  title: ComponentChildren;
  surface: string;
  state: AsyncState<RowData>;
  onRetry?: () => void;
  showReasons?: boolean;
  actions?: ComponentChildren;
  emptyText?: string;
  skeletons?: number;
  grid?: boolean;
  offset?: number;
  /** the gateway stored this list's impression when it served it (GET recommendations) */
  recordedByGateway?: boolean;
}) {
  useStore(dismissedTick);
  const user = useStore(session);
  const data = state.status === 'ready' ? state.data : undefined;
  const visible = data ? dismissed().visible(data.items) : [];
  const ids = visible.map((v) => v.item_id).join(',');
  useEffect(() => {
    if (!data || visible.length === 0 || recordedByGateway) return;
    impression(user?.user_id, surface, visible.map((v) => v.item_id), { rec_id: data.rec_id, model_version: data.model_version, variant: data.variant }, offset);
    // one impression per drawn list
  }, [data, ids, user?.user_id]);
  return (
    <section class="row" aria-labelledby={`${id}-h`} data-testid={`row-${id}`} data-state={state.status} data-rec-id={data?.rec_id}>
      <div class="row-head">
        <h2 id={`${id}-h`}>{title}</h2>
        {data?.degraded && (
          <span class="degraded" title={data.degraded_reason ?? ''} data-testid="degraded">
            {degradedLabel(data.degraded_reason)}
            <span class="sr-only"> ({data.degraded_reason})</span>
          </span>
        )}
        {data?.note && !data.degraded && (
          <span class="row-note" data-testid="cold-start">
            {data.note}
          </span>
        )}
        {actions}
      </div>
      {data?.degraded && data.degraded_reason && (
        <p class="xs muted" data-testid="degraded-reason">
          {data.degraded_reason}
        </p>
      )}
      {state.status === 'loading' && <SkeletonCards n={skeletons} label={`Loading ${surface.replace('_', ' ')}`} />}
      {state.status === 'error' && <ErrorBox error={state.error} onRetry={onRetry} />}
      {data && visible.length === 0 && <p class="empty">{emptyText}</p>}
      {data && visible.length > 0 && (
        <ul class={grid ? 'cards grid' : 'cards'} data-testid="cards">
          {visible.map((it, i) => {
            const from = { surface, position: offset + i + 1, ...(data.rec_id ? { rec_id: data.rec_id } : {}) };
            return (
              <li key={it.item_id}>
                <Card
                  item={it}
                  from={from}
                  showReason={showReasons}
                  onOpen={() => track(user?.user_id, it.item_id, 'click', from)}
                  onNotInterested={user ? () => notInterested(it, from) : undefined}
                />
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}

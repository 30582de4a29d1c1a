// Events and impressions the shop sends: each carries the list it came from (rec_id + 1-based
// position; lists without rec_id still name their surface on the impression). Failures never
// break the page; they are counted for the status line.
import { postEvents, postImpressions } from './client';
import type { EventIn } from './types';
import type { Provenance } from '../lib/cart';
import { randomId } from '../lib/format';

export type EventType = 'view' | 'click' | 'add_to_cart' | 'purchase' | 'not_interested';

export const trackStats = { sent: 0, failed: 0, impressions: 0 };

export function buildEvent(user_id: number, item_id: number, type: EventType, from?: Provenance, extra: Partial<EventIn> = {}): EventIn {
  const e: EventIn = { event_id: randomId(), user_id, item_id, type, ts: Date.now(), ...extra };
  if (from?.rec_id) e.rec_id = from.rec_id;
  if (from?.position) e.position = from.position;
  return e;
}

export async function sendEvents(events: EventIn[]): Promise<boolean> {
  if (events.length === 0) return true;
  try {
    const r = await postEvents(events);
    trackStats.sent += r.accepted + r.duplicates;
    trackStats.failed += r.rejected.length;
    return r.rejected.length === 0;
  } catch {
    trackStats.failed += events.length;
    return false;
  }
}

export function track(user_id: number | undefined, item_id: number, type: EventType, from?: Provenance, extra?: Partial<EventIn>): void {
  if (!user_id) return; // anonymous visitors send nothing (the events route needs a session)
  void sendEvents([buildEvent(user_id, item_id, type, from, extra)]);
}

const sentImpressions = new Set<string>();

/** One impression per drawn list (a list is identified by its rec_id or surface + item ids), for
 * the lists the gateway does not record itself: recommendation lists are stored by the gateway as
 * it serves them, and POST /v1/impressions refuses them (409), so callers leave them out (Row's
 * recordedByGateway). */
export function impression(
  user_id: number | undefined,
  surface: string,
  itemIds: readonly number[],
  rec?: { rec_id?: string; model_version?: string; variant?: string | null },
  offset = 0,
): void {
  if (!user_id || itemIds.length === 0 || !rec?.rec_id) return; // the route needs a rec_id
  const key = `${rec?.rec_id ?? surface}:${itemIds.join(',')}`;
  if (sentImpressions.has(key)) return;
  sentImpressions.add(key);
  trackStats.impressions++;
  const body = {
    user_id,
    surface,
    items: itemIds.slice(0, 100).map((item_id, i) => ({ item_id, position: offset + i + 1 })),
    rec_id: rec.rec_id,
    ...(rec?.model_version ? { model_version: rec.model_version } : {}),
    ...(rec?.variant ? { variant: rec.variant } : {}),
  };
  postImpressions(body).catch(() => {
    trackStats.failed++;
  });
}

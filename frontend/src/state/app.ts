// The UI's global state: who is logged in, the cart, dismissed items, the serving model version.
import { store } from './store';
import type { Me } from '../api/types';
import { Cart, type KV } from '../lib/cart';
import { Dismissed } from '../lib/dismissed';
import { me as fetchMe, readyz } from '../api/client';
import { ApiError } from '../api/http';

function storage(): KV | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage;
  } catch {
    return null;
  }
}

/** undefined = not known yet (GET /v1/me in flight), null = anonymous. */
export const session = store<Me | null | undefined>(undefined);
export const sessionNote = store<string>('');
export const activeVersion = store<string | null>(null);

let cartObj: Cart | null = null;
let dismissedObj: Dismissed | null = null;
export const cartTick = store(0);
export const dismissedTick = store(0);

export function cart(): Cart {
  const u = session.get();
  const key = `rs.cart.${u ? u.user_id : 'anon'}`;
  if (!cartObj || (cartObj as unknown as { key: string }).key !== key) {
    cartObj = new Cart(storage(), key);
    cartObj.subscribe(() => cartTick.update((n) => n + 1));
  }
  return cartObj;
}

export function dismissed(): Dismissed {
  const u = session.get();
  const key = `rs.dismissed.${u ? u.user_id : 'anon'}`;
  if (!dismissedObj || dismissedObj.key !== key) {
    dismissedObj = new Dismissed(storage(), key);
    dismissedObj.subscribe(() => dismissedTick.update((n) => n + 1));
  }
  return dismissedObj;
}

export async function refreshSession(): Promise<void> {
  try {
    session.set(await fetchMe());
  } catch (e) {
    // 401: anonymous. Anything else (server down): anonymous too, with a note the header shows.
    session.set(null);
    if (e instanceof ApiError && e.status === 401) {
      if (e.message === 'session expired') sessionNote.set('Your session has expired: please log in again.');
    } else sessionNote.set('Could not check your login: the server did not answer.');
  }
  cartTick.update((n) => n + 1);
}

export async function refreshVersion(): Promise<void> {
  try {
    const r = await readyz();
    const v = r.body.downstreams?.ranking?.model_version ?? r.body.downstreams?.candidate?.model_version;
    if (v) activeVersion.set(v);
  } catch {
    /* the header shows "version unknown" */
  }
}

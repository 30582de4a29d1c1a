// The UI's global state: who is logged in, the cart, dismissed items, the serving model version.
import { store } from './store';
import type { Me } from '../api/types';
import { Cart, type KV } from '../lib/cart';
import { Dismissed } from '../lib/dismissed';
import { me as fetchMe, popular } from '../api/client';
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

// The session cookie is HttpOnly, so the page cannot see it. A hint in localStorage says whether
// this browser logged in: without it GET /v1/me is not asked (its 401 for anonymous visitors
// would be a console error on every page).
const HINT = 'rs.session-hint';
export function setSessionHint(on: boolean): void {
  try {
    if (on) localStorage.setItem(HINT, '1');
    else localStorage.removeItem(HINT);
  } catch {
    /* storage disabled: /v1/me is always asked */
  }
}
function sessionHint(): boolean {
  try {
    return localStorage.getItem(HINT) !== '0' && localStorage.getItem(HINT) !== null;
  } catch {
    return true;
  }
}

session.subscribe((m) => {
  if (m) setSessionHint(true);
});

export async function refreshSession(): Promise<void> {
  if (!sessionHint()) {
    session.set(null);
    return;
  }
  try {
    session.set(await fetchMe());
  } catch (e) {
    // 401: anonymous. Anything else (server down): anonymous too, with a note the header shows.
    session.set(null);
    if (e instanceof ApiError && e.status === 401) {
      setSessionHint(false);
      sessionNote.set('Your session has expired: please log in again.');
    }
    else sessionNote.set('Could not check your login: the server did not answer.');
  }
  cartTick.update((n) => n + 1);
}

/** The serving model version for the header, from the cached popular list (a cheap public answer
 * that names the candidate service's active version; /readyz is for probes and answers 503 while
 * any service is busy, which the browser would log as an error). */
export async function refreshVersion(): Promise<void> {
  try {
    const r = await popular(1);
    if (r.model_version) activeVersion.set(r.model_version);
  } catch {
    /* the header shows "version unknown" */
  }
}

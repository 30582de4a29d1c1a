// The first "For you" request: the login page starts it as soon as the login answer arrives,
// before the home page is drawn, and the home page takes it if it is fresh and for the same user.
import type { Recommendations } from '../api/types';
import { recommendations } from '../api/client';
import { dismissed } from './app';

// The login page starts the first "For you" request as soon as the login answer arrives, before
// the home page is drawn; ForYou takes it if it is fresh and for the same customer.
let early: { user: number; at: number; p: Promise<Recommendations> } | null = null;
export function prefetchForYou(user: number): void {
  const p = recommendations(user, { k: 12, exclude: dismissed().excludeIds() });
  p.catch(() => undefined);
  early = { user, at: Date.now(), p };
}
export function takeEarly(user: number): Promise<Recommendations> | null {
  const e = early;
  early = null;
  return e && e.user === user && Date.now() - e.at < 3000 ? e.p : null;
}

// A list is personal when at least one item came from a source that uses the customer's history.
import { PERSONAL_SOURCES } from './sources';

export function isPersonal(items: readonly { sources?: readonly { source: string }[] }[]): boolean {
  return items.some((it) => (it.sources ?? []).some((s) => PERSONAL_SOURCES.has(s.source)));
}

/** The line shown above a non-personal For-you list. */
export function coldStartNote(items: readonly { sources?: readonly { source: string }[] }[]): string | null {
  if (items.length === 0 || isPersonal(items)) return null;
  const byCategory = items.some((it) => (it.sources ?? []).some((s) => s.source === 'category'));
  return byCategory ? 'New here: popular in categories you looked at' : 'New here: popular items while we learn your taste';
}

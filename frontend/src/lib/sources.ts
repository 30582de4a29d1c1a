// Candidate sources: one name, one colour everywhere (inspector, admin charts).

export const SOURCE_ORDER = [
  'covisit',
  'bought_together',
  'als',
  'itemknn',
  'category',
  'popular',
  'metadata',
] as const;

const COLOURS: Record<string, string> = {
  covisit: '#1f6feb',
  bought_together: '#8250df',
  als: '#bf3989',
  itemknn: '#0a7d6e',
  category: '#9a6700',
  popular: '#57606a',
  metadata: '#cf222e',
  ease: '#6e40c9',
  trending: '#116329',
};

const NAMES: Record<string, string> = {
  covisit: 'Co-visitation',
  bought_together: 'Bought together',
  als: 'ALS (embedding)',
  itemknn: 'Item kNN',
  category: 'Category',
  popular: 'Popular',
  metadata: 'Metadata',
  ease: 'EASE',
  trending: 'Trending',
};

export function sourceColour(s: string): string {
  return COLOURS[s] ?? '#444c56';
}
export function sourceName(s: string): string {
  return NAMES[s] ?? s;
}

/** Sources that use the customer's own history: a list built only from the others is not personal. */
export const PERSONAL_SOURCES = new Set(['covisit', 'bought_together', 'als', 'itemknn', 'metadata']);

/** Model colours of the training run chart (same hues as their sources where one exists). */
export const MODEL_COLOURS: Record<string, string> = {
  pop: COLOURS.popular!,
  itemknn: COLOURS.itemknn!,
  als: COLOURS.als!,
  ease: COLOURS.ease!,
  'two-stage': '#1f6feb',
};

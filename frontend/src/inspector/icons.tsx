// One small icon per event type (SVG: no emoji font is needed).
const PATHS: Record<string, string> = {
  view: 'M1 8s2.5-5 7-5 7 5 7 5-2.5 5-7 5-7-5-7-5zm7 3a3 3 0 1 0 0-6 3 3 0 0 0 0 6z',
  click: 'M4 1l8 7-3.5.5 2 4.5-1.8.8-2-4.5L4 12z',
  add_to_cart: 'M1 2h2l2 8h8l2-6H4.5M6 14a1 1 0 1 0 0-.01M12 14a1 1 0 1 0 0-.01',
  purchase: 'M3 5h10l-1 9H4zM6 5V3.5a2 2 0 0 1 4 0V5',
  rating: 'M8 1l2.1 4.4 4.9.6-3.6 3.4.9 4.8L8 11.8 3.7 14.2l.9-4.8L1 6l4.9-.6z',
  not_interested: 'M8 1a7 7 0 1 0 0 14A7 7 0 0 0 8 1zM3.5 3.5l9 9',
};
const COLOURS: Record<string, string> = {
  view: '#565f6b',
  click: '#0b57d0',
  add_to_cart: '#9a6700',
  purchase: '#1a7f37',
  rating: '#8250df',
  not_interested: '#b42318',
};
const FILLED = new Set(['click', 'rating']);

export function TypeIcon({ type, label }: { type: string; label: string }) {
  const d = PATHS[type] ?? 'M8 4a4 4 0 1 0 0 8 4 4 0 0 0 0-8z';
  const c = COLOURS[type] ?? '#565f6b';
  return (
    <svg class="ev-icon" viewBox="0 0 16 16" width="16" height="16" role="img" aria-label={label}>
      <path d={d} fill={FILLED.has(type) ? c : 'none'} stroke={c} stroke-width="1.5" stroke-linejoin="round" stroke-linecap="round" />
    </svg>
  );
}

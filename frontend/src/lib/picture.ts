// Generated item pictures: one shape and one colour per top-level category, the item's initials.
// Drawn in the browser as an SVG data URL; nothing is fetched.

export type Shape = 'circle' | 'square' | 'triangle' | 'diamond' | 'hexagon' | 'star' | 'pentagon' | 'ring' | 'drop' | 'cross' | 'leaf' | 'blob';

export interface CategoryLook {
  shape: Shape;
  colour: string; // fill, dark enough for white initials (contrast >= 4.5:1)
  tint: string; // background
}

export const CATEGORY_LOOKS: Record<string, CategoryLook> = {
  Beauty: { shape: 'drop', colour: '#a4236e', tint: '#fbe7f3' },
  Books: { shape: 'square', colour: '#7a4a14', tint: '#f6ecdf' },
  Electronics: { shape: 'hexagon', colour: '#1552b3', tint: '#e3edfc' },
  Fashion: { shape: 'diamond', colour: '#8a2bb8', tint: '#f3e6fa' },
  Garden: { shape: 'leaf', colour: '#23662c', tint: '#e4f3e6' },
  Grocery: { shape: 'circle', colour: '#a33d00', tint: '#fdeadc' },
  Home: { shape: 'pentagon', colour: '#0d6468', tint: '#def3f3' },
  Office: { shape: 'ring', colour: '#3d4a5c', tint: '#e8ecf1' },
  Pet: { shape: 'blob', colour: '#8f5a00', tint: '#fbf0d9' },
  Sports: { shape: 'triangle', colour: '#b3261e', tint: '#fce4e2' },
  Toys: { shape: 'star', colour: '#5b3cc4', tint: '#ebe6fb' },
};
const FALLBACK: CategoryLook = { shape: 'cross', colour: '#475467', tint: '#eef0f3' };

export function topCategory(category: string): string {
  return category.split('/')[0]?.trim() ?? '';
}

export function lookFor(category: string): CategoryLook {
  return CATEGORY_LOOKS[topCategory(category)] ?? FALLBACK;
}

/** Up to two initials from the title's first words that start with a letter or digit. */
export function initials(title: string): string {
  const words = title.split(/\s+/).filter((w) => /^[\p{L}\p{N}]/u.test(w));
  const pick = words.length > 2 ? [words[0]!, words[1]!] : words;
  const s = pick.map((w) => [...w][0]!.toUpperCase()).join('');
  return s === '' ? '?' : s;
}

function poly(n: number, r: number, rot = -Math.PI / 2, cx = 50, cy = 50): string {
  const pts: string[] = [];
  for (let i = 0; i < n; i++) {
    const a = rot + (i * 2 * Math.PI) / n;
    pts.push(`${(cx + r * Math.cos(a)).toFixed(1)},${(cy + r * Math.sin(a)).toFixed(1)}`);
  }
  return pts.join(' ');
}

function star(r1: number, r2: number): string {
  const pts: string[] = [];
  for (let i = 0; i < 10; i++) {
    const r = i % 2 === 0 ? r1 : r2;
    const a = -Math.PI / 2 + (i * Math.PI) / 5;
    pts.push(`${(50 + r * Math.cos(a)).toFixed(1)},${(50 + r * Math.sin(a)).toFixed(1)}`);
  }
  return pts.join(' ');
}

export function shapeSvg(shape: Shape, fill: string): string {
  switch (shape) {
    case 'circle':
      return `<circle cx="50" cy="50" r="34" fill="${fill}"/>`;
    case 'square':
      return `<rect x="18" y="18" width="64" height="64" rx="6" fill="${fill}"/>`;
    case 'triangle':
      return `<polygon points="${poly(3, 40, -Math.PI / 2, 50, 56)}" fill="${fill}"/>`;
    case 'diamond':
      return `<polygon points="${poly(4, 38)}" fill="${fill}"/>`;
    case 'hexagon':
      return `<polygon points="${poly(6, 36, 0)}" fill="${fill}"/>`;
    case 'pentagon':
      return `<polygon points="${poly(5, 37)}" fill="${fill}"/>`;
    case 'star':
      return `<polygon points="${star(40, 20)}" fill="${fill}"/>`;
    case 'ring':
      return `<circle cx="50" cy="50" r="30" fill="none" stroke="${fill}" stroke-width="10"/><circle cx="50" cy="50" r="22" fill="${fill}"/>`;
    case 'drop':
      return `<path d="M50 12 C66 36 78 48 78 62 A28 28 0 0 1 22 62 C22 48 34 36 50 12Z" fill="${fill}"/>`;
    case 'leaf':
      return `<path d="M20 80 C20 40 45 18 82 18 C82 56 60 80 20 80Z" fill="${fill}"/>`;
    case 'blob':
      return `<path d="M50 16 C70 16 84 30 82 50 C80 72 66 84 48 84 C28 84 16 70 18 50 C20 30 32 16 50 16Z" fill="${fill}"/>`;
    case 'cross':
      return `<path d="M38 16h24v22h22v24H62v22H38V62H16V38h22z" fill="${fill}"/>`;
  }
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** The picture as SVG text (100x100 view box). */
export function pictureSvg(title: string, category: string): string {
  const look = lookFor(category);
  const text = esc(initials(title));
  // ring: initials sit on the inner disc; every shape leaves a solid area under the text
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100">` +
    `<rect width="100" height="100" fill="${look.tint}"/>` +
    shapeSvg(look.shape, look.colour) +
    `<text x="50" y="${look.shape === 'triangle' ? 66 : 58}" text-anchor="middle" font-family="system-ui,sans-serif" ` +
    `font-size="${text.length > 1 ? 20 : 24}" font-weight="700" fill="#ffffff">${text}</text></svg>`
  );
}

const cache = new Map<string, string>();
export function pictureUrl(title: string, category: string): string {
  const key = `${topCategory(category)}\u0000${title}`;
  let u = cache.get(key);
  if (u === undefined) {
    u = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(pictureSvg(title, category))}`;
    if (cache.size > 2000) cache.clear();
    cache.set(key, u);
  }
  return u;
}

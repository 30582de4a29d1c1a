import { describe, expect, it } from 'vitest';
import { CATEGORY_LOOKS, initials, lookFor, pictureSvg, pictureUrl } from '../lib/picture';

function luminance(hex: string): number {
  const c = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255).map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
  return 0.2126 * c[0]! + 0.7152 * c[1]! + 0.0722 * c[2]!;
}

describe('pictures', () => {
  const demo = ['Beauty', 'Books', 'Electronics', 'Fashion', 'Garden', 'Grocery', 'Home', 'Office', 'Pet', 'Sports', 'Toys'];
  it('every demo top-level category has its own shape and colour', () => {
    const looks = demo.map((c) => lookFor(`${c}/x/y`));
    expect(new Set(looks.map((l) => l.shape)).size).toBe(demo.length);
    expect(new Set(looks.map((l) => l.colour)).size).toBe(demo.length);
    expect(demo.every((c) => c in CATEGORY_LOOKS)).toBe(true);
  });
  it('white initials are readable on every colour (WCAG contrast >= 4.5)', () => {
    for (const l of Object.values(CATEGORY_LOOKS)) expect((1.05 / (luminance(l.colour) + 0.05))).toBeGreaterThanOrEqual(4.5);
  });
  it('initials from the first two words', () => {
    expect(initials('Ultra Auralis Charger 300')).toBe('UA');
    expect(initials('soap')).toBe('S');
    expect(initials('  -- ')).toBe('?');
    expect(initials('élan vital')).toBe('ÉV');
  });
  it('unknown categories fall back to one neutral look', () => expect(lookFor('Cars/Parts').shape).toBe('cross'));
  it('SVG carries the shape colour and escaped initials', () => {
    const s = pictureSvg('<b> & co', 'Toys/Blocks');
    expect(s).toContain(CATEGORY_LOOKS.Toys!.colour);
    expect(s).toContain('>C</text>'); // only letters and digits reach the SVG
    expect(s.startsWith('<svg') && s.endsWith('</svg>')).toBe(true);
    expect(pictureUrl('A b', 'Toys')).toMatch(/^data:image\/svg\+xml/);
  });
});

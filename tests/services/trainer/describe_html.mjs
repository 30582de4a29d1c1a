// rs-train describe --html opens in headless Chromium (playwright-core from frontend/) without
// console errors, uncaught errors or any network request, and shows the report's numbers.
// Usage: node describe_html.mjs <rs-train>. Fails closed: exit 0 only when every check ran and
// passed (a missing browser, module or binary is a failure).
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const train = process.argv[2];
if (!train) throw new Error('usage: describe_html.mjs <rs-train>');
const require = createRequire(join(ROOT, 'frontend/package.json'));
const { chromium } = require('playwright-core');

const work = mkdtempSync(join(tmpdir(), 'rs-describe-html-'));
let browser = null;
let failed = 0;
const check = (ok, what) => {
  console.log(`${ok ? 'PASS' : 'FAIL'} ${what}`);
  if (!ok) failed++;
};
try {
  // A small generated shop (catalog with categories and prices, every event type) plus a
  // category name that needs escaping.
  execFileSync(train, ['generate', '--out', work, '--users', '60', '--items', '200', '--days', '14',
    '--seed', '3', '--end', '1767225600'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const items = readFileSync(join(work, 'items.csv'), 'utf8').split('\n');
  items[1] = items[1].replace(/^(\d+,[^,]*,[^,]*,)[^,]*/, '$1"<b>Tags & \'quotes\'</b>"');
  writeFileSync(join(work, 'items.csv'), items.join('\n'));
  const html = join(work, 'report.html');
  const json = join(work, 'report.json');
  execFileSync(train, ['describe', '--input', join(work, 'events.csv'), '--now', '1767225600',
    '--html', html, '--json', json, '--quiet'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const report = JSON.parse(readFileSync(json, 'utf8'));

  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const errors = [];
  const requests = [];
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(`uncaught ${e.message}`));
  page.on('request', (r) => { if (!r.url().startsWith('file://')) requests.push(r.url()); });
  await page.goto(`file://${html}`, { waitUntil: 'load' });
  check(errors.length === 0, `no console errors (${errors.join(' | ')})`);
  check(requests.length === 0, `no network requests (${requests.join(' ')})`);
  check((await page.locator('script').count()) === 0, 'no scripts');
  const svgs = await page.locator('svg').count();
  check(svgs === 7, `7 charts (events over time, users, items, long tail, funnel, sessions, prices): found ${svgs}`);
  const boxes = await page.evaluate(() => [...document.querySelectorAll('svg')].map((s) => s.getBoundingClientRect().height));
  check(boxes.every((h) => h > 50), `every chart is drawn (heights ${boxes.map(Math.round).join(',')})`);
  const tile = async (label) => (await page.locator('.tile', { has: page.locator('.l', { hasText: new RegExp(`^${label}$`) }) }).locator('.v').innerText()).replace(/,/g, '');
  check(Number(await tile('events')) === report.counts.events, `events tile = ${report.counts.events}`);
  check(Number(await tile('users')) === report.counts.users, `users tile = ${report.counts.users}`);
  check(Number(await tile('purchase events')) === report.counts.by_type.purchase, 'purchase tile');
  const bars = await page.locator('#time svg rect.bar').count();
  check(bars === report.time.series.length, `one bar per day (${bars} = ${report.time.series.length})`);
  const funnelText = await page.locator('#funnel p').innerText();
  const v2c = `${(100 * report.funnel.overall.view_to_cart).toFixed(1)}%`;
  check(funnelText.includes(v2c), `funnel text shows view→cart ${v2c}`);
  const cats = await page.locator('#funnel table tr').count();
  check(cats === report.funnel.by_category.length + 1, `one funnel row per category (${cats - 1})`);
  const escaped = await page.locator('#funnel table').innerText();
  check(escaped.includes("<b>Tags & 'quotes'</b>") && (await page.locator('#funnel table b').count()) === 0,
    'category names are escaped text, not markup');
  const priceRows = await page.locator('#prices svg rect.box').count();
  check(priceRows === report.prices.by_category.length, `one price box per category (${priceRows})`);
} catch (e) {
  console.log(`FAIL ${e.stack || e}`);
  failed++;
} finally {
  if (browser) await browser.close();
  rmSync(work, { recursive: true, force: true });
}
console.log(failed === 0 ? 'describe html: all checks passed' : `describe html: ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);

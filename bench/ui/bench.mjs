// UI budgets: initial JS (gzip, from dist and as loaded by the browser), login submit -> first
// For-you list drawn, inspector opened -> drawn. Times are taken inside the page
// (performance.now() at the submit/click, a MutationObserver for the drawn list).
import { createRequire } from 'node:module';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const ROOT = process.env.RS_UI_ROOT;
const URL = process.env.RS_UI_URL;
const LOGIN = process.env.RS_UI_LOGIN;
const PW = readFileSync(process.env.RS_UI_PASSWORD_FILE, 'utf8').trim();
const N = Number(process.env.RS_UI_N ?? 10);
const require = createRequire(join(ROOT, 'frontend/package.json'));
const { chromium } = require('playwright-core');

const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (a) => `median ${median(a).toFixed(1)} ms, min ${Math.min(...a).toFixed(1)}, max ${Math.max(...a).toFixed(1)} (n=${a.length})`;

// 1. initial JS from dist
const dist = join(ROOT, 'frontend/dist');
const html = readFileSync(join(dist, 'index.html'), 'utf8');
const initial = [...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.js)"/g)].map((m) => m[1]);
const distGz = initial.reduce((n, a) => n + gzipSync(readFileSync(join(dist, a)), { level: 9 }).length, 0);
console.log(`initial JS in dist: ${initial.length} file(s), ${distGz} bytes gzipped (budget 153600)`);

const profile = mkdtempSync(join(tmpdir(), 'rs-bench-ui-'));
const ctx = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width: 1440, height: 900 },
});
try {
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  // 2. what the browser loads for the first page (fresh profile, nothing cached)
  const scripts = [];
  page.on('response', (r) => {
    if (r.request().resourceType() === 'script') scripts.push(r);
  });
  await page.goto(`${URL}/login`, { waitUntil: 'networkidle' });
  let loadedGz = 0;
  let wire = 0;
  const encs = new Set();
  for (const r of scripts) {
    const body = await r.body();
    loadedGz += gzipSync(body, { level: 9 }).length;
    const h = await r.allHeaders();
    encs.add(h['content-encoding'] ?? 'identity');
    wire += Number(h['content-length'] ?? body.length);
  }
  console.log(`first page (/login) loads ${scripts.length} script(s): ${loadedGz} bytes gzipped, ${wire} bytes on the wire (${[...encs].join(', ')})`);

  const observe = (selector) =>
    page.evaluate((sel) => {
      window.__drawn = new Promise((resolve) => {
        const done = () => {
          if (document.querySelector(sel)) {
            resolve(performance.now());
            return true;
          }
          return false;
        };
        if (done()) return;
        const mo = new MutationObserver(() => {
          if (done()) mo.disconnect();
        });
        mo.observe(document.body, { subtree: true, childList: true, attributes: true });
      });
    }, selector);

  // 3. login submit -> first For-you list drawn
  const login = [];
  const post = [];
  const after = [];
  for (let i = 0; i < N; i++) {
    await ctx.clearCookies();
    await page.goto(`${URL}/login`, { waitUntil: 'networkidle' });
    await page.evaluate(() => localStorage.clear());
    await page.fill('input[name=login]', LOGIN);
    await page.fill('input[name=password]', PW);
    await observe('[data-testid=row-for-you][data-state=ready] [data-testid=card]');
    await page.evaluate(() => {
      document.querySelector('[data-testid=login-form]').addEventListener('submit', () => (window.__t0 = performance.now()), { capture: true, once: true });
    });
    await page.click('[data-testid=login-submit]');
    const [ms, postMs, afterMs] = await page.evaluate(async () => {
      const drawn = await window.__drawn;
      const e = performance.getEntriesByType('resource').filter((r) => r.name.endsWith('/v1/auth/login')).pop();
      return [drawn - window.__t0, e ? e.responseEnd - e.startTime : NaN, e ? drawn - e.responseEnd : NaN];
    });
    login.push(ms);
    post.push(postMs);
    after.push(afterMs);
  }
  console.log(`login submit -> first For-you list drawn: ${fmt(login)} (budget 500 ms)`);
  console.log(`  of which POST /v1/auth/login (password check in the gateway): ${fmt(post)}`);
  console.log(`  login answer -> For-you list drawn (recommendations + render): ${fmt(after)}`);

  // 4. inspector opened -> drawn (first open includes loading its chunk)
  const insp = [];
  for (let i = 0; i < N; i++) {
    await page.goto(URL, { waitUntil: 'networkidle' });
    await page.waitForSelector('[data-testid=how-picked]');
    await observe('[data-testid=stage-latency]');
    await page.evaluate(() => {
      document.querySelector('[data-testid=how-picked]').addEventListener('click', () => (window.__t0 = performance.now()), { capture: true, once: true });
    });
    await page.click('[data-testid=how-picked]');
    insp.push(await page.evaluate(async () => (await window.__drawn) - window.__t0));
  }
  console.log(`inspector opened -> drawn: first ${insp[0].toFixed(1)} ms (chunk from the server after a full page load), ${fmt(insp)} (budget 300 ms)`);
} finally {
  await ctx.close();
  rmSync(profile, { recursive: true, force: true });
}

// Browser test of the dashboard (tests/e2e/dashboard.sh starts the server
// and loads the patients): playwright-core driving the system's Chromium,
// headless. Usage: node dashboard.mjs URL N_PATIENTS OUT_DIR
// Opens /, expects N patients listed, opens one from the keyboard, expects
// the glucose chart with its forecast legend, runs a what-if and expects the
// ranked outcomes; screenshots dashboard-list.png and dashboard-patient.png
// go to OUT_DIR. Exit 0 when every check passes, 1 otherwise.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const [url, nWanted, outDir] = process.argv.slice(2);
if (!url || !nWanted || !outDir) {
  console.error('usage: node dashboard.mjs URL N_PATIENTS OUT_DIR');
  process.exit(2);
}
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(path.join(root, 'package.json'));
let chromium;
try {
  ({ chromium } = require('playwright-core'));
} catch (e) {
  console.error(`FAIL: playwright-core not found under ${root}/node_modules: run \`npm ci\` at the repository root (scripts/install-deps)`);
  process.exit(1);
}
const exe = process.env.CHROMIUM || '/usr/bin/chromium';
if (!existsSync(exe)) {
  console.error(`FAIL: no Chromium at ${exe} (apt-get install chromium, or set CHROMIUM)`);
  process.exit(1);
}

let failed = 0;
function check(name, ok, detail) {
  if (ok) console.log(`ok: ${name}`);
  else { failed++; console.log(`FAIL: ${name}${detail ? ': ' + detail : ''}`); }
}

const browser = await chromium.launch({ executablePath: exe, headless: true, args: ['--no-sandbox'] });
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });

  const resp = await page.goto(url + '/', { waitUntil: 'load' });
  check('GET / is the page', resp && resp.status() === 200 &&
        /text\/html/.test(resp.headers()['content-type'] || ''));
  const rows = page.locator('tr.row');
  await rows.nth(Number(nWanted) - 1).waitFor({ timeout: 10000 }).catch(() => {});
  const n = await rows.count();
  check(`${nWanted} patients listed`, n === Number(nWanted), `saw ${n}`);
  const first = await rows.first().innerText().catch(() => '');
  check('a row shows glucose in mg/dL and the time in range',
        /mg\/dL/.test(first) && /%/.test(first), first.replace(/\s+/g, ' '));
  await page.screenshot({ path: path.join(outDir, 'dashboard-list.png'), fullPage: true });

  // Open the first patient from the keyboard: focus the row, press Enter.
  await rows.first().focus();
  await page.keyboard.press('Enter');
  await page.waitForURL(/#\/patient\//, { timeout: 5000 }).catch(() => {});
  check('Enter on a row opens the patient', /#\/patient\//.test(page.url()), page.url());
  const canvas = page.locator('#glucose-chart canvas');
  await canvas.first().waitFor({ timeout: 10000 }).catch(() => {});
  check('glucose chart drawn', await canvas.count() > 0);
  const legend = await page.locator('#glucose-chart .u-legend').innerText().catch(() => '');
  check('chart legend names readings and the forecast bands',
        /CGM reading/.test(legend) && /Forecast mean/.test(legend) && /80 % band/.test(legend) &&
        /95 % band/.test(legend), legend.replace(/\s+/g, ' '));
  const drawn = await page.evaluate(() => {
    const c = document.querySelector('#glucose-chart canvas');
    if (!c) return 0;
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let coloured = 0; // pixels of the forecast band's orange tint
    for (let i = 0; i < d.length; i += 4)
      if (d[i + 3] > 0 && d[i] > d[i + 2] + 20 && d[i] > 200) coloured++;
    return coloured;
  });
  check('forecast band painted', drawn > 200, `${drawn} band pixels`);

  // Estimated parameters: a table when the twin gives them, a line otherwise.
  const hasParams = await page.evaluate(async (p) => {
    const t = await (await fetch('/api/twins/' + encodeURIComponent(p))).json();
    return Array.isArray(t.parameters) && t.parameters.length;
  }, decodeURIComponent(page.url().split('#/patient/')[1] || ''));
  const paramRows = await page.locator('table.params tbody tr').count();
  const paramText = await page.locator('#h-params').locator('xpath=..').innerText();
  check('estimated parameters shown as the server gives them',
        hasParams ? paramRows === hasParams : /does not report/.test(paramText),
        `server ${hasParams}, rows ${paramRows}`);

  // Live: a new reading posted now reaches the page over server-sent events.
  const pid = decodeURIComponent(page.url().split('#/patient/')[1] || '');
  await page.waitForFunction(() => /Live/.test(document.getElementById('status').textContent),
                             null, { timeout: 5000 }).catch(() => {});
  // The demo's clock runs ahead of the wall clock, so a reading stamped now
  // would be old news to its twins: that check is for a live clock only.
  if (!process.env.MEDTWIN_DEMO) {
    const posted = await page.evaluate(async (p) => {
      const r = await fetch('/api/twins/' + encodeURIComponent(p) + '/data', {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ cgm: [{ time: new Date().toISOString(), mg_dl: 61 }] }) });
      return r.status;
    }, pid);
    const live = await page.waitForFunction(
      () => /\b61\b/.test(document.querySelector('.summary .stat .value').textContent),
      null, { timeout: 5000 }).then(() => true, () => false);
    check('a reading posted now appears live (SSE)', posted === 200 && live, `POST ${posted}`);
  }

  await page.click('#wi-run');
  const outcomes = page.locator('article.outcome');
  await outcomes.first().waitFor({ timeout: 15000 }).catch(() => {});
  const ranks = await outcomes.evaluateAll((els) => els.map((e) => Number(e.dataset.rank)));
  check('what-if: four outcomes ranked 1..4',
        ranks.length === 4 && ranks.every((r, i) => r === i + 1), JSON.stringify(ranks));
  const card = await outcomes.first().innerText().catch(() => '');
  check('what-if outcome shows TIR and P(<70)', /Time in range/.test(card) && /P\(< 70/.test(card), card);
  check('what-if charts drawn', await page.locator('article.outcome canvas').count() >= 4);
  await page.screenshot({ path: path.join(outDir, 'dashboard-patient.png'), fullPage: true });

  // Tablet width: the page still lays out without a horizontal scrollbar.
  await page.setViewportSize({ width: 768, height: 1024 });
  await page.waitForTimeout(300);
  const wide = await page.evaluate(() => {
    const over = [...document.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 0.5)
      .slice(0, 3).map((e) => e.tagName + '.' + e.className + ' ' + e.getBoundingClientRect().right);
    return { w: document.documentElement.scrollWidth, over };
  });
  await page.screenshot({ path: path.join(outDir, 'dashboard-tablet.png'), fullPage: true });
  check('fits a tablet (768 px)', wide.w <= 768, `scrollWidth ${wide.w}: ${wide.over.join(', ')}`);
  check('no script errors', errors.length === 0, errors.join(' | '));
} finally {
  await browser.close();
}
console.log(failed ? `${failed} browser checks failed` : 'all browser checks passed');
process.exit(failed ? 1 : 0);

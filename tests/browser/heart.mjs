// Browser test of the dashboard's heart page (tests/e2e/dashboard.sh starts
// the server and loads a patient whose twin is circulation_beatavg, with
// four hours of vitals whose MAP falls below 65 mmHg): playwright-core
// driving the system's Chromium, headless. Usage: node heart.mjs URL
// PATIENT OUT_DIR, with the user to sign in as in MEDTWIN_USER and
// MEDTWIN_PASSWORD and the last MAP posted in MEDTWIN_LAST_MAP.
// The list shows the patient's latest MAP in mmHg; the patient's page shows
// the MAP chart (not the glucose chart) with its legend (readings, forecast
// median, 80 % and 95 % bands), the dashed 65 mmHg line painted across the
// plot, the forecast in mmHg and the hypotension alert in the timeline; a
// MAP reading posted now appears live.
// Screenshots dashboard-heart-list.png and dashboard-heart.png go to
// OUT_DIR. Exit 0 when every check
// passes, 1 otherwise.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const [url, patient, outDir] = process.argv.slice(2);
const user = process.env.MEDTWIN_USER, password = process.env.MEDTWIN_PASSWORD;
const lastMap = Number(process.env.MEDTWIN_LAST_MAP);
if (!url || !patient || !outDir || !user || !password || !isFinite(lastMap)) {
  console.error('usage: MEDTWIN_USER=.. MEDTWIN_PASSWORD=.. MEDTWIN_LAST_MAP=.. node heart.mjs URL PATIENT OUT_DIR');
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
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(url + '/');
  await page.locator('#signin').waitFor({ timeout: 10000 });
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#who').waitFor({ timeout: 10000 }).catch(() => {});

  // The list: the heart patient's row shows its latest MAP.
  const row = page.locator(`tr.row[data-patient="${patient}"]`);
  await row.waitFor({ timeout: 10000 }).catch(() => {});
  const cell = await row.locator('td.map-latest').innerText().catch(() => '');
  check('list: the heart patient\'s latest MAP in mmHg', new RegExp(`MAP\\s*${Math.round(lastMap)}\\s*mmHg`).test(cell), cell);
  const rowText = await row.innerText().catch(() => '');
  check('list: no glucose units on the heart row', !/mg\/dL/.test(rowText), rowText.replace(/\s+/g, ' '));

  await page.screenshot({ path: path.join(outDir, 'dashboard-heart-list.png'), fullPage: true });

  // The patient's page.
  await row.click().catch(() => {});
  await page.waitForURL(/#\/patient\//, { timeout: 5000 }).catch(() => {});
  const canvas = page.locator('#map-chart canvas');
  await canvas.first().waitFor({ timeout: 10000 }).catch(() => {});
  check('MAP chart drawn', await canvas.count() > 0);
  check('no glucose chart', await page.locator('#glucose-chart').count() === 0);
  const legend = await page.locator('#map-chart .u-legend').innerText().catch(() => '');
  check('legend: MAP readings, forecast median, 80 % and 95 % bands',
        /MAP reading \(mmHg\)/.test(legend) && /Forecast median/.test(legend) && /80 % band/.test(legend) &&
        /95 % band/.test(legend), legend.replace(/\s+/g, ' '));
  // The 65 mmHg line: where the chart says it drew it, a dashed run of the
  // line's red, rgb(220, 38, 38) (nothing else on the chart has it: the
  // alert marker is rgb(197, 48, 48), the bands orange), across most of
  // the plot's width.
  await page.waitForFunction(() => document.getElementById('map-chart') &&
    document.getElementById('map-chart').hasAttribute('data-line65-y'), null, { timeout: 5000 }).catch(() => {});
  const line = await page.evaluate(() => {
    const el = document.getElementById('map-chart');
    const c = el && el.querySelector('canvas');
    const y = el ? Number(el.getAttribute('data-line65-y')) : NaN;
    if (!c || !isFinite(y)) return { y, red: 0, width: 0 };
    let red = 0;
    const d = c.getContext('2d').getImageData(0, Math.max(0, y - 1), c.width, 3).data;
    const seen = new Set();
    for (let i = 0; i < d.length; i += 4)
      if (d[i + 3] > 200 && Math.abs(d[i] - 220) <= 12 && d[i + 1] <= 50 && d[i + 2] <= 50) seen.add((i / 4) % c.width);
    red = seen.size;
    return { y, red, width: c.width, height: c.height };
  });
  check('a dashed red line at 65 mmHg across the plot', line.red > 0.3 * line.width && line.y > 0 && line.y < line.height,
        JSON.stringify(line));
  const key = await page.locator('.k-line65').innerText().catch(() => '');
  check('the key names the 65 mmHg line', /65 mmHg/.test(key), key);
  const summary = await page.locator('.summary').innerText().catch(() => '');
  check('latest MAP and forecasts in mmHg', new RegExp(`${Math.round(lastMap)}\\s*mmHg`).test(summary) &&
        /Forecast 60 min\s*MAP \d+ mmHg/i.test(summary) && !/mg\/dL/.test(summary), summary.replace(/\s+/g, ' '));
  const alerts = await page.locator('ol.timeline').innerText().catch(() => '');
  check('the hypotension alert in the timeline', /hypotension/.test(alerts), alerts.replace(/\s+/g, ' '));
  // Live: a MAP reading posted now (FHIR, LOINC 8478-0) reaches the page
  // over server-sent events.
  await page.waitForFunction(() => /Live/.test(document.getElementById('status').textContent),
                             null, { timeout: 5000 }).catch(() => {});
  const posted = await page.evaluate(async (p) => {
    const csrf = (await (await fetch('/api/me')).json()).csrf;
    const r = await fetch('/fhir/Observation', {
      method: 'POST', headers: { 'Content-Type': 'application/fhir+json', 'X-CSRF-Token': csrf },
      body: JSON.stringify({ resourceType: 'Observation', status: 'final', subject: { reference: 'Patient/' + p },
        code: { coding: [{ system: 'http://loinc.org', code: '8478-0' }] },
        effectiveDateTime: new Date().toISOString(),
        valueQuantity: { value: 53, unit: 'mm[Hg]', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' } }) });
    return r.status;
  }, patient);
  const live = await page.waitForFunction(
    () => /\b53\b/.test(document.querySelector('.summary .stat .value').textContent),
    null, { timeout: 5000 }).then(() => true, () => false);
  check('a MAP reading posted now appears live (SSE)', posted === 201 && live, `POST ${posted}`);
  check('no what-if (glucose only) on the heart page', await page.locator('#wi-run').count() === 0);
  check('no script errors', errors.length === 0, errors.join('; '));
  await page.screenshot({ path: path.join(outDir, 'dashboard-heart.png'), fullPage: true });
} finally {
  await browser.close();
}
console.log(failed ? `${failed} failed` : 'all passed');
process.exit(failed ? 1 : 0);

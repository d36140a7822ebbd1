// Browser test of the dashboard (tests/e2e/dashboard.sh starts the server
// and loads the patients): playwright-core driving the system's Chromium,
// headless. Usage: node dashboard.mjs URL N_PATIENTS OUT_DIR, with the user
// to sign in as in MEDTWIN_USER and MEDTWIN_PASSWORD.
// Opens /, expects the sign-in form, a wrong password refused with nothing
// shown, then signs in: the session cookie HttpOnly and SameSite=Strict,
// who is signed in in the header; expects N patients listed (and not the
// patient MEDTWIN_HIDDEN, named MEDTWIN_HIDDEN_NAME, outside the user's care
// team), opens one from the keyboard, expects the glucose chart with its
// forecast legend, runs a what-if and expects the ranked outcomes (every
// request but a GET carrying X-CSRF-Token); signs out, and a reload stays
// signed out; a session ended by the server (its cookie gone) returns to the
// form with a message; too many failed sign-ins show the server's message.
// Screenshots dashboard-list.png and dashboard-patient.png go to OUT_DIR.
// MEDTWIN_IDLE=S instead: sign in to a server run with --session-idle S and
// expect the form back, with its message, after S seconds without input.
// Exit 0 when every check passes, 1 otherwise.
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

const user = process.env.MEDTWIN_USER, password = process.env.MEDTWIN_PASSWORD;
if (!user || !password) {
  console.error('FAIL: set MEDTWIN_USER and MEDTWIN_PASSWORD to the user to sign in as');
  process.exit(2);
}
const hidden = process.env.MEDTWIN_HIDDEN || '';
const hiddenName = process.env.MEDTWIN_HIDDEN_NAME || '';
const idleRun = Number(process.env.MEDTWIN_IDLE || 0);

// Sign in through the form; resolves once the header names the user (or the
// form answers with a message).
async function signIn(page, name, pw) {
  await page.locator('#signin').waitFor({ timeout: 10000 });
  await page.getByLabel('User name').fill(name);
  await page.getByLabel('Password').fill(pw);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await Promise.race([
    page.locator('#who').waitFor({ timeout: 10000 }),
    page.waitForFunction(() => {
      const m = document.getElementById('si-msg');
      return m && m.classList.contains('error') && m.textContent;
    }, null, { timeout: 10000 })
  ]).catch(() => {});
}
const formShown = (page) => page.locator('#signin').waitFor({ timeout: 10000 }).then(() => true, () => false);
const message = (page) => page.locator('#si-msg').innerText().catch(() => '');

const browser = await chromium.launch({ executablePath: exe, headless: true, args: ['--no-sandbox'] });
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  // Refusals are part of the test (401 before signing in, 403 without the
  // CSRF token, 404 outside the care team, 429 after failed sign-ins): the
  // console's "Failed to load resource" for those is expected; any other
  // script error is not.
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource.*status of (401|403|404|429)/.test(m.text()))
      errors.push(m.text());
  });
  const writes = []; // every request but GET/HEAD the page makes: [method url, its X-CSRF-Token]
  page.on('request', (r) => {
    if (!/^(GET|HEAD)$/.test(r.method()) && r.url().startsWith(url) && !r.headers()['x-probe'])
      writes.push({ what: r.method() + ' ' + r.url().slice(url.length), token: r.headers()['x-csrf-token'] });
  });

  const resp = await page.goto(url + '/', { waitUntil: 'load' });
  check('GET / is the page', resp && resp.status() === 200 &&
        /text\/html/.test(resp.headers()['content-type'] || ''));
  check('not signed in: the sign-in form, with labelled fields', await formShown(page) &&
        await page.getByLabel('User name').count() === 1 && await page.getByLabel('Password').count() === 1 &&
        await page.locator('#si-pass').getAttribute('type') === 'password');
  check('no external resources', await page.evaluate((origin) =>
    [...document.querySelectorAll('script[src], link[href], img[src]')]
      .every((e) => (e.src || e.href).startsWith(origin) || (e.href || '').startsWith('data:')), url));

  if (idleRun) {
    // A server run with --session-idle S: no input for S seconds ends it.
    await signIn(page, user, password);
    const rows = page.locator('tr.row');
    await rows.nth(Number(nWanted) - 1).waitFor({ timeout: 10000 }).catch(() => {});
    check(`signed in: ${nWanted} patients listed`, await rows.count() === Number(nWanted));
    await page.waitForTimeout(1000 * idleRun + 2500);
    check('no input for the idle time: back to the form, "Signed out after inactivity"',
          await page.locator('#signin').isVisible() && /Signed out after inactivity/.test(await message(page)) &&
          await rows.count() === 0, await message(page));
    const me = await page.evaluate(async () => (await fetch('/api/me')).status);
    check('the server ended the session too', me === 401, `GET /api/me ${me}`);
    await page.reload({ waitUntil: 'load' });
    check('a reload stays signed out', await formShown(page) && await page.locator('#who').count() === 0);
    check('no script errors', errors.length === 0, errors.join(' | '));
    throw 'done';
  }

  // A wrong password: a message in the page, no data.
  await signIn(page, user, password + '-wrong');
  const wrong = await message(page);
  check('a wrong password is refused in the page', /wrong/i.test(wrong) &&
        await page.locator('#signin').isVisible(), wrong);
  check('refused: no patients and nobody signed in',
        await page.locator('tr.row').count() === 0 && await page.locator('#who').count() === 0);

  await signIn(page, user, password);
  const who = await page.locator('#who').innerText().catch(() => '');
  check('signed in: the header names the user and the role', who.includes(user) &&
        /clinician/.test(who), who);
  check('a Sign out button', await page.getByRole('button', { name: 'Sign out' }).count() === 1);
  const jsCookie = await page.evaluate(() => document.cookie);
  check('the session cookie is HttpOnly (not in document.cookie)', !/mt_session/.test(jsCookie), jsCookie);
  const cookie = (await context.cookies(url)).find((c) => c.name === 'mt_session');
  check('the session cookie is HttpOnly, SameSite=Strict, Path=/', cookie && cookie.httpOnly &&
        cookie.sameSite === 'Strict' && cookie.path === '/', JSON.stringify(cookie));
  check('the CSRF token is not kept in storage', await page.evaluate(() =>
    localStorage.length === 0 && sessionStorage.length === 0));

  const rows = page.locator('tr.row');
  await rows.nth(Number(nWanted) - 1).waitFor({ timeout: 10000 }).catch(() => {});
  const n = await rows.count();
  check(`${nWanted} patients listed`, n === Number(nWanted), `saw ${n}`);
  const first = await rows.first().innerText().catch(() => '');
  check('a row shows glucose in mg/dL and the time in range',
        /mg\/dL/.test(first) && /%/.test(first), first.replace(/\s+/g, ' '));
  if (hidden) {
    const listed = await page.locator(`tr.row[data-patient="${hidden}"]`).count();
    const text = await page.locator('main').innerText();
    const direct = await page.evaluate(async (p) => [
      (await fetch('/api/twins/' + encodeURIComponent(p))).status,
      (await fetch('/fhir/Patient/' + encodeURIComponent(p))).status], hidden);
    check('a patient outside the care team is neither listed nor readable',
          listed === 0 && (!hiddenName || !text.includes(hiddenName)) &&
          direct[0] === 404 && direct[1] === 404, `listed ${listed}, twin/Patient ${direct}`);
  }
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
      const send = (headers) => fetch('/api/twins/' + encodeURIComponent(p) + '/data', {
        method: 'POST', headers: Object.assign({ 'Content-Type': 'application/json' }, headers),
        body: JSON.stringify({ cgm: [{ time: new Date().toISOString(), mg_dl: 61 }] }) });
      const bare = (await send({ 'X-Probe': 'no-csrf' })).status; // the session cookie alone is not enough
      const csrf = (await (await fetch('/api/me')).json()).csrf;
      return [bare, (await send({ 'X-CSRF-Token': csrf })).status];
    }, pid);
    check('a write with the cookie but no X-CSRF-Token is refused (403)', posted[0] === 403, `POST ${posted[0]}`);
    const live = await page.waitForFunction(
      () => /\b61\b/.test(document.querySelector('.summary .stat .value').textContent),
      null, { timeout: 5000 }).then(() => true, () => false);
    check('a reading posted now appears live (SSE)', posted[1] === 200 && live, `POST ${posted[1]}`);
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
  await page.setViewportSize({ width: 1280, height: 900 });

  // Sign out: back to the form; a reload stays signed out.
  await page.getByRole('button', { name: 'Sign out' }).click();
  check('Sign out returns to the form', await formShown(page) && await page.locator('#who').count() === 0 &&
        await page.locator('#glucose-chart').count() === 0);
  await page.reload({ waitUntil: 'load' });
  check('a reload after signing out stays signed out', await formShown(page) &&
        await page.locator('#who').count() === 0 &&
        !(await context.cookies(url)).some((c) => c.name === 'mt_session'));
  const unsigned = writes.filter((w) => !/^POST \/api\/login$/.test(w.what) && !w.token);
  check('every request but a GET (the what-if, sign out) carried X-CSRF-Token',
        writes.some((w) => /whatif$/.test(w.what)) && writes.some((w) => /logout$/.test(w.what)) &&
        unsigned.length === 0, JSON.stringify(unsigned.length ? unsigned : writes));

  // The session ends on the server's side (as after 15 min unused; here its
  // cookie goes): the next request answers 401 and the page returns to the
  // form with a message.
  await signIn(page, user, password);
  const back = page.getByRole('link', { name: '← All patients' });
  await page.locator('#glucose-chart canvas').first().waitFor({ timeout: 10000 }).catch(() => {});
  check('signing in again returns to the page open before', /#\/patient\//.test(page.url()) &&
        await page.locator('#glucose-chart canvas').count() > 0, page.url());
  await context.clearCookies();
  // Any request now answers 401 (the live page may make one first).
  await back.click({ timeout: 5000 }).catch(() => {});
  check('a 401 later returns to the form: "Signed out after inactivity"', await formShown(page) &&
        /Signed out after inactivity/.test(await message(page)) && await page.locator('#who').count() === 0,
        await message(page));

  // Too many failed sign-ins for one account: the server's 429 message.
  if (!process.env.MEDTWIN_DEMO) {
    for (let i = 0; i < 6; i++) await signIn(page, 'no-such-user', 'not-the-password');
    const throttled = await message(page);
    check('too many failed sign-ins: the server\'s message', /too many failed attempts/i.test(throttled),
          throttled);
  }
  check('no script errors', errors.length === 0, errors.join(' | '));
} catch (e) {
  if (e !== 'done') throw e;
} finally {
  await browser.close();
}
console.log(failed ? `${failed} browser checks failed` : 'all browser checks passed');
process.exit(failed ? 1 : 0);

// End-to-end tests of the dashboard: a real `ctflow up` on a temporary data dir, driven by
// Debian's chromium through playwright-core (no browser download). Each test saves a full-page
// screenshot as build/e2e/<test>.png. Usage: node e2e/run.mjs [test-name-substring...]
// Env: CTFLOW_BIN (default build/ctflow), E2E_OUT (default build/e2e), CHROMIUM (default
// /usr/bin/chromium), E2E_MNIST=0 skips the MNIST lineage test.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { AxeBuilder } from '@axe-core/playwright';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const bin = process.env.CTFLOW_BIN ?? path.join(repo, 'build/ctflow');
const outDir = process.env.E2E_OUT ?? path.join(repo, 'build/e2e');
const only = process.argv.slice(2);
fs.mkdirSync(outDir, { recursive: true });

const log = (...a) => console.log(`[e2e ${new Date().toISOString().slice(11, 23)}]`, ...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// --- the server -------------------------------------------------------------------------------
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ctflow-e2e-'));
// mkdtemp makes it 0700: as root, `ctflow up` would then keep its cluster under
// /var/lib/ctflow/clusters; opened up, the cluster lives in the data dir and goes with it.
fs.chmodSync(dataDir, 0o755);
const port = 20000 + Math.floor(Math.random() * 20000);
const base = `http://127.0.0.1:${port}`;
const server = spawn(bin, ['up', '--data-dir', dataDir, '--port', String(port), '--monitor-interval-ms', '500'], {
  stdio: ['ignore', 'pipe', 'pipe'],
});
let serverOut = '';
server.stdout.on('data', (d) => (serverOut += d));
server.stderr.on('data', (d) => (serverOut += d));

async function waitForLoginLink() {
  for (let i = 0; i < 600; i++) {
    const m = /dashboard at (http:\/\/\S+#token=\S+)/.exec(serverOut);
    if (m) return m[1];
    if (server.exitCode !== null) throw new Error('ctflow up exited:\n' + serverOut);
    await sleep(100);
  }
  throw new Error('ctflow up printed no login link:\n' + serverOut);
}

let adminToken = '';
async function api(method, p, body, token = adminToken) {
  const res = await fetch(base + p, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}
const fixture = (name) => fs.readFileSync(path.join(here, 'fixtures', name), 'utf8');
async function submitSpec(file, params = {}) {
  return (await api('POST', '/api/v1/runs', { spec: fixture(file), params })).id;
}
async function waitRun(id, timeoutMs) {
  const t0 = Date.now();
  for (;;) {
    const r = await api('GET', `/api/v1/runs/${id}?tasks=false`);
    if (['succeeded', 'failed', 'cancelled'].includes(r.state)) return r;
    if (Date.now() - t0 > timeoutMs) throw new Error(`run ${id} still ${r.state} after ${timeoutMs} ms`);
    await sleep(500);
  }
}

// --- the tests --------------------------------------------------------------------------------
const state = {};
const tests = [];
const test = (name, fn) => tests.push({ name, fn });

async function expectNoSeriousA11y(page, what) {
  const res = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  const bad = res.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  if (bad.length)
    throw new Error(`${what}: axe found ${bad.length} serious/critical violations:\n` +
      bad.map((v) => `  ${v.id} (${v.impact}): ${v.help}\n    ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join('\n    ')}`).join('\n'));
  return res.violations.length;
}

test('login-link', async ({ page }) => {
  await page.goto(state.loginLink);
  await page.getByRole('heading', { name: 'Runs' }).waitFor();
  if (page.url().includes('token')) throw new Error('the token stayed in the address bar: ' + page.url());
  const stored = await page.evaluate(() => sessionStorage.getItem('ctflow.token'));
  if (stored !== adminToken) throw new Error('the token is not in sessionStorage');
  await page.getByTestId('role').filter({ hasText: 'admin' }).waitFor();
});

test('submit-from-params-form', async ({ page }) => {
  await api('POST', '/api/v1/pipelines', { spec: fixture('e2e-live.yaml') });
  await page.goto(base + '/pipelines/e2e-live');
  await page.getByLabel('lines').fill('25');
  await page.getByLabel('pause').fill('0.3');
  await page.getByRole('button', { name: 'Submit run' }).click();
  const link = page.getByRole('status').getByRole('link', { name: /run #\d+/ });
  await link.waitFor();
  state.formRun = (await link.textContent()).replace(/\D/g, '');
  const r = await api('GET', `/api/v1/runs/${state.formRun}?tasks=false`);
  if (r.params.lines !== 25 || r.params.pause !== '0.3') throw new Error('params not passed: ' + JSON.stringify(r.params));
  await link.click();
  await page.getByTestId('dag').locator('[data-task="evaluate"]').waitFor();
});

test('tasks-turn-succeeded-live', async ({ page }) => {
  await page.goto(base + `/runs/${state.formRun}`);
  const evaluate = page.locator('[data-task="evaluate"]');
  await evaluate.waitFor();
  const before = await evaluate.getAttribute('data-state');
  if (before === 'succeeded') throw new Error('the run ended before the page could watch it');
  let navigations = 0;
  page.on('framenavigated', () => navigations++);
  await page.locator('[data-task="evaluate"][data-state="succeeded"]').waitFor({ timeout: 60_000 });
  await page.locator('[data-task="train"][data-state="succeeded"]').waitFor();
  await page.getByRole('heading', { name: /Run #\d+ .*succeeded/ }).waitFor({ timeout: 10_000 });
  if (navigations) throw new Error('the page reloaded');
  log(`  evaluate went ${before} -> succeeded without a reload`);
});

test('pipeline-grid', async ({ page }) => {
  await waitRun(state.formRun, 60_000);
  await page.goto(base + '/pipelines');
  await page.getByLabel('recent runs of e2e-live').getByRole('link').first().waitFor();
  await page.goto(base + '/pipelines/e2e-live');
  const cell = page.getByTestId('pipeline-grid').locator('a[data-state="succeeded"]').first();
  await cell.waitFor();
  await page.screenshot({ path: path.join(outDir, 'pipeline-grid-page.png'), fullPage: true });
  await cell.click();
  await page.getByRole('heading', { name: /Task prepare/ }).waitFor();
});

test('running-task-log-follows', async ({ page }) => {
  state.logRun = await submitSpec('e2e-live.yaml', { lines: 40, pause: '0.25' });
  await page.goto(base + `/runs/${state.logRun}?task=train`);
  const logEl = page.getByTestId('task-log');
  await logEl.waitFor({ timeout: 30_000 });
  await page.waitForFunction(() => /epoch 2\b/.test(document.querySelector('[data-testid="task-log"]')?.textContent ?? ''), null, { timeout: 30_000 });
  const first = (await logEl.textContent()).split('\n').filter(Boolean).length;
  await page.waitForFunction((n) => (document.querySelector('[data-testid="task-log"]')?.textContent ?? '').split('\n').filter(Boolean).length >= n + 4, first, { timeout: 30_000 });
  const later = (await logEl.textContent()).split('\n').filter(Boolean).length;
  const running = await page.locator('[data-task="train"]').getAttribute('data-state');
  log(`  log lines ${first} -> ${later} while train is ${running}`);
  if (running !== 'running') throw new Error('train should still be running, is ' + running);
});

test('metric-chart', async ({ page }) => {
  await waitRun(state.logRun, 60_000);
  await page.goto(base + `/runs/${state.logRun}`);
  await page.getByRole('tab', { name: 'Metrics' }).click();
  const chart = page.locator('.chart[data-points]').first();
  await chart.waitFor();
  const points = Number(await chart.getAttribute('data-points'));
  if (!(points >= 20)) throw new Error(`expected >= 20 points, saw ${points}`);
  await chart.locator('canvas').waitFor();
  log(`  loss chart with ${points} points`);
});

test('fanout-group-node', async ({ page }) => {
  const id = await submitSpec('e2e-fan.yaml');
  await waitRun(id, 60_000);
  await page.goto(base + `/runs/${id}`);
  const group = page.locator('[data-group]');
  await group.waitFor();
  const text = await group.textContent();
  if (!/40 tasks/.test(text) || !/40 succeeded/.test(text)) throw new Error('group node: ' + text);
  await page.screenshot({ path: path.join(outDir, 'fanout-group-node-collapsed.png'), fullPage: true });
  await group.click();
  await page.locator('[data-task="shard-39"]').waitFor();
});

test('study-parallel-coordinates', async ({ page }) => {
  const id = await submitSpec('e2e-study.yaml');
  await waitRun(id, 90_000);
  const { studies } = await api('GET', `/api/v1/studies?run=${id}`);
  await page.goto(base + `/studies/${studies[0].id}`);
  const pc = page.getByTestId('parallel-coordinates');
  await pc.waitFor();
  const lines = await pc.locator('polyline').count();
  if (lines < 8) throw new Error(`expected 8 trial lines, saw ${lines}`);
  await page.getByRole('button', { name: /score/ }).click();
  log(`  ${lines} trials drawn`);
});

test('model-lineage', async ({ page }) => {
  if (!state.mnistRun) throw new Error('SKIP: build/ctflow-task is missing (make builds it) or E2E_MNIST=0');
  const run = await waitRun(state.mnistRun, 15 * 60_000);
  if (run.state !== 'succeeded') throw new Error(`mnist-ct run ${state.mnistRun} ${run.state}: ${run.error}`);
  await page.goto(base + '/models');
  await page.getByRole('link', { name: 'mnist' }).click();
  const runNode = page.locator('[data-lineage="run"]');
  await runNode.waitFor();
  await page.locator('[data-lineage="deployment"]').first().waitFor();
  await page.screenshot({ path: path.join(outDir, 'model-lineage-graph.png'), fullPage: true });
  await runNode.click();
  await page.waitForURL(new RegExp(`/runs/${state.mnistRun}`));
  await page.getByRole('heading', { name: new RegExp(`Run #${state.mnistRun}`) }).waitFor();
  await page.locator('[data-task="register"]').waitFor();
  await page.getByRole('heading', { name: /Task register/ }).waitFor();
  await page.getByText('Attempts').waitFor();
});

test('model-monitor', async ({ page }) => {
  // v1 and v2 of "digits", v2 deployed; a monitor on it; predictions of both versions over the
  // last four hours with labels: v1 right 95% of the time, v2 only half.
  for (let v = 1; v <= 2; v++) {
    const r = await waitRun(await submitSpec('e2e-register.yaml'), 60_000);
    if (r.state !== 'succeeded') throw new Error(`register run ${r.id} ${r.state}`);
  }
  await api('POST', '/api/v1/pipelines', { spec: fixture('e2e-watch.yaml') });
  const now = Date.now();
  const records = [];
  const labels = [];
  for (let i = 0; i < 120; i++) {
    const version = i < 60 ? 1 : 2;
    const id = `e2e-mon-${i}`;
    const time = new Date(now - 4 * 3600_000 + i * 2 * 60_000).toISOString();
    const mean = 0.12 + 0.02 * ((i * 7) % 5) / 5;
    records.push({ request_id: id, time, model: 'digits', version, prediction: i % 10, latency_ms: 2 + (i % 3),
      summary: { mean, ink: mean, hist: [0.7, 0.05, 0.05, 0.05, 0.05, 0.04, 0.03, 0.03] } });
    const right = version === 1 ? i % 20 !== 7 : i % 2 === 0;
    labels.push({ request_id: id, label: right ? i % 10 : (i + 1) % 10 });
  }
  await api('POST', '/api/v1/predictions', { records });
  await api('POST', '/api/v1/predictions/labels', { labels });
  const t0 = Date.now();
  for (;;) {
    const m = await api('GET', '/api/v1/models/digits/monitor');
    if (m.monitors.some((x) => x.checks.some((c) => c.outcome === 'triggered'))) break;
    if (Date.now() - t0 > 30_000) throw new Error('the monitor did not trigger: ' + JSON.stringify(m).slice(0, 500));
    await sleep(250);
  }
  await page.goto(base + '/models/digits');
  await page.getByRole('heading', { name: 'Live accuracy and drift' }).waitFor();
  const chart = page.getByRole('img', { name: /Live accuracy by version/ });
  await chart.waitFor();
  const label = await chart.getAttribute('aria-label');
  if (!/2 series/.test(label)) throw new Error('expected a line per version: ' + label);
  const row = page.getByRole('table', { name: 'monitor checks' }).getByRole('row').filter({ hasText: 'triggered' });
  await row.first().waitFor();
  await row.first().getByRole('link', { name: /#\d+/ }).waitFor();
  await page.getByText(/v2: 60 predictions, 60 labelled, accuracy 0\.500/).waitFor();
  await page.screenshot({ path: path.join(outDir, 'model-monitor-panel.png'), fullPage: true });
});

test('viewer-sees-no-cancel', async ({ page, context }) => {
  const id = await submitSpec('e2e-live.yaml', { lines: 400, pause: '0.5' });
  const viewer = await api('POST', '/api/v1/tokens', { role: 'viewer', name: 'e2e viewer' });
  const admin = await context.newPage();
  await admin.goto(state.loginLink.replace(/\/#/, `/runs/${id}#`));
  await admin.getByRole('button', { name: 'Cancel run' }).waitFor();
  await admin.close();
  await page.goto(`${base}/runs/${id}#token=${viewer.token}`);
  await page.getByTestId('role').filter({ hasText: 'viewer' }).waitFor();
  await page.locator('[data-task="train"][data-state="running"]').waitFor({ timeout: 30_000 });
  if (await page.getByRole('button', { name: /cancel/i }).count()) throw new Error('a viewer sees a cancel button');
  if (await page.getByRole('button', { name: /retry|rerun/i }).count()) throw new Error('a viewer sees a write button');
  await page.goto(`${base}/pipelines/e2e-live`);
  await page.getByText('Viewers cannot submit runs.').waitFor();
  await page.goto(`${base}/runs/${id}`);
  await page.locator('[data-task="train"]').waitFor();
  await api('POST', `/api/v1/runs/${id}/cancel`);
});

test('accessibility', async ({ page }) => {
  const pages = [
    ['runs', '/runs', 'Runs'],
    ['run', `/runs/${state.formRun}?task=train`, /Run #/],
    ['pipelines', '/pipelines', 'Pipelines'],
    ['study', `/studies/1`, /Study #1/],
    ['pipeline', '/pipelines/e2e-live', /Pipeline e2e-live/],
    ['studies', '/studies', 'Studies'],
    ['models', '/models', 'Models'],
    ['metrics', `/compare?a=${state.logRun}`, 'Metrics'],
  ];
  for (const [name, p, heading] of pages) {
    await page.goto(base + p);
    await page.getByRole('heading', { name: heading }).first().waitFor();
    // Checked once nothing on the page is still loading (the Loading placeholder is gone).
    await page.waitForFunction(() => !/Loading [^\n]*…/.test(document.body.innerText));
    const minor = await expectNoSeriousA11y(page, name);
    log(`  ${name}: no serious/critical violations (${minor} minor)`);
  }
  const tabbable = await page.evaluate(() => document.querySelectorAll('a[href], button, input, select, [tabindex="0"]').length);
  await page.keyboard.press('Tab');
  const focused = await page.evaluate(() => document.activeElement?.textContent ?? '');
  if (!/Skip to content/.test(focused)) throw new Error('the first Tab should reach "Skip to content", reached: ' + focused);
  log(`  ${tabbable} focusable controls on the last page`);
});

// --- the driver -------------------------------------------------------------------------------
let failed = 0;
let browser;
try {
  state.loginLink = await waitForLoginLink();
  adminToken = decodeURIComponent(state.loginLink.split('#token=')[1]);
  log(`ctflow up on ${base}, data in ${dataDir}`);
  const wantMnist = process.env.E2E_MNIST !== '0' && (only.length === 0 || only.some((o) => 'model-lineage'.includes(o)));
  if (wantMnist && fs.existsSync(path.join(path.dirname(bin), 'ctflow-task'))) {
    // Started first: it runs while the other tests do.
    const spec = fs.readFileSync(path.join(repo, 'examples/mnist-ct.yaml'), 'utf8');
    state.mnistRun = (await api('POST', '/api/v1/runs', { spec })).id;
    log(`mnist-ct run ${state.mnistRun} submitted`);
  }
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ctflow-e2e-chromium-'));
  browser = await chromium.launchPersistentContext(userDir, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1400, height: 900 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  for (const t of tests) {
    if (only.length && !only.some((o) => t.name.includes(o))) continue;
    const page = await browser.newPage();
    const consoleErrors = [];
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
    page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
    page.setDefaultTimeout(20_000);
    // sessionStorage is per tab: each test but the first logs in through the link's fragment.
    if (t.name !== 'login-link' && t.name !== 'viewer-sees-no-cancel') {
      await page.goto(state.loginLink);
      await page.getByRole('heading', { name: 'Runs' }).waitFor();
    }
    const t0 = Date.now();
    try {
      await t.fn({ page, context: browser });
      log(`PASS ${t.name} (${Date.now() - t0} ms)`);
    } catch (e) {
      const skip = String(e.message).startsWith('SKIP');
      if (!skip) failed++;
      log(`${skip ? 'SKIP' : 'FAIL'} ${t.name}: ${e.message}`);
      if (consoleErrors.length) log('  browser errors:\n  ' + consoleErrors.join('\n  '));
    }
    await page.screenshot({ path: path.join(outDir, `${t.name}.png`), fullPage: true }).catch(() => undefined);
    await page.close();
  }
} catch (e) {
  failed++;
  log('FAIL setup: ' + e.message);
} finally {
  await browser?.close().catch(() => undefined);
  server.kill('SIGINT');
  for (let i = 0; i < 100 && server.exitCode === null; i++) await sleep(100);
  if (server.exitCode === null) server.kill('SIGKILL');
  fs.rmSync(dataDir, { recursive: true, force: true });
}
log(failed ? `${failed} failed` : 'all passed');
process.exit(failed ? 1 : 0);

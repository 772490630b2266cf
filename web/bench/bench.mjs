// Measurements of `make bench-web` (tests/bench/web/run.sh prepares the server). Times are from
// the navigation's start (performance.now() in the page) to the first moment the element shows.
// Usage: node bench/bench.mjs BASE TOKEN BIG_RUN GRID_PIPELINE
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const [base, token, bigRun, gridPipeline] = process.argv.slice(2);
const REPEAT = Number(process.env.REPEAT ?? 3);
const here = path.dirname(fileURLToPath(import.meta.url));
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

// The initial route's JavaScript: the entry script and its modulepreloads, gzipped.
const dist = path.join(here, '..', 'dist');
const html = fs.readFileSync(path.join(dist, 'index.html'), 'utf8');
const scripts = [...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.js)"/g)].map((m) => m[1]);
const jsGzip = scripts.reduce((n, f) => n + zlib.gzipSync(fs.readFileSync(path.join(dist, f)), { level: 9 }).length, 0);

const ctx = await chromium.launchPersistentContext(fs.mkdtempSync(path.join(os.tmpdir(), 'ctflow-bench-chromium-')), {
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  viewport: { width: 1400, height: 900 },
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const page = await ctx.newPage();
page.setDefaultTimeout(30_000);
await page.goto(`${base}/#token=${token}`);
await page.getByRole('heading', { name: 'Runs' }).waitFor();

async function timeTo(url, selector) {
  await page.goto(url);
  await page.waitForSelector(selector, { state: 'visible' });
  return page.evaluate(() => performance.now());
}

const out = { runs: [], graph: [], click: [], grid: [] };
for (let i = 0; i < REPEAT; i++) {
  out.runs.push(await timeTo(`${base}/runs`, '[data-run]'));
  out.graph.push(await timeTo(`${base}/runs/${bigRun}`, '[data-task="root"]'));
  await page.waitForSelector('[data-group]');
  // A click on a node: the time until the graph shows it selected.
  out.click.push(
    await page.evaluate(
      () =>
        new Promise((resolve) => {
          const t0 = performance.now();
          document.querySelector('[data-task="merge"]').click();
          const check = () => {
            const el = document.querySelector('[data-task="merge"]');
            if (el && el.classList.contains('selected')) resolve(performance.now() - t0);
            else requestAnimationFrame(check);
          };
          requestAnimationFrame(check);
        }),
    ),
  );
  out.grid.push(await timeTo(`${base}/pipelines/${gridPipeline}`, '[data-testid="pipeline-grid"] a[data-state]'));
}
await ctx.close();

const rows = [
  ['Runs page (100,000 runs): first rows', median(out.runs), 1000],
  ['run of 5,000 tasks: graph shown', median(out.graph), 2000],
  ['run of 5,000 tasks: a click answers', median(out.click), 100],
  ['grid of 1,000 tasks x 25 runs', median(out.grid), 2000],
  ['initial route JavaScript (kB gzip)', jsGzip / 1000, 400],
];
let failed = 0;
for (const [what, v, budget] of rows) {
  const ok = v <= budget;
  if (!ok) failed++;
  console.log(`${ok ? 'ok  ' : 'MISS'} ${what}: ${v.toFixed(0)} (budget ${budget})`);
}
console.log('all samples (ms):', JSON.stringify(Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.map((x) => Math.round(x))]))));
process.exit(failed ? 1 : 0);

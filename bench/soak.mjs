#!/usr/bin/env node
// The soak: a long session on the built page (dist/) through its own controls, with the page's JS
// heap, the model worker's JS heap and its wasm memory measured after a warm-up and at the end.
// See --help.
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../scripts/chromium.mjs';
import { startStaticServer } from '../scripts/static-server.mjs';

const HELP = `Usage: node bench/soak.mjs [options]   (or bench/soak, which also sets up and builds)

Serves dist/ (or --dist) on 127.0.0.1 and drives the page in headless Chromium
(/usr/bin/chromium) under Playwright through its own controls: mouse strokes on the drawing pad
(the page's requests, counted by the worker's answers), the noise controls (kind, strength, "New
noise" in turn), the upload input (models/conv.onnx and a broken file, alternating: random bytes
or conv.onnx cut in half), and worker restarts (an uncaught error in the worker, or every fourth
time the worker closing itself so that the page's watchdog replaces it). After a warm-up that
does each of these, it measures, each after a garbage collection: the page's JS heap (DevTools
Runtime.getHeapUsage), the worker's JS heap (the same on the worker's target) and its wasm memory
(the worker's answer to a 'stats' request). The inferences, noise changes and uploads run
interleaved in one worker, whose memory is measured after them; then the restarts, each new
worker answering a few inferences; then the page's heap once more. Prints the counts, the
figures and their growth against the goals (wasm memory ≤ 1 MB, page JS heap ≤ 5 MB). Exits 1 on
a page error or a request the page does not answer in time; past --minutes, it stops early,
reports what it did and exits 1.

Options:
  --inferences N   inferences answered in all, the restarts' included (default 20000)
  --noise N        noise changes (default 200)
  --uploads N      model uploads, good and broken alternating (default 100)
  --restarts N     worker restarts (default 20)
  --minutes M      the run's bound, warm-up included (default 10)
  --dist DIR       the built page to soak (default dist/), e.g. a copy with a change to judge
  --json FILE      also write the report as JSON
  -h, --help       this text`;

const { values: opts } = parseArgs({
  options: {
    inferences: { type: 'string', default: '20000' },
    noise: { type: 'string', default: '200' },
    uploads: { type: 'string', default: '100' },
    restarts: { type: 'string', default: '20' },
    minutes: { type: 'string', default: '10' },
    dist: { type: 'string' },
    json: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (opts.help) {
  console.log(HELP);
  process.exit(0);
}
// Imported once the options are read, so that --help works before `npm ci` has run.
const { chromium } = await import('playwright-core');
const { growth, openSoakPage } = await import('./soak-driver.mjs');

const repo = fileURLToPath(new URL('../', import.meta.url));
const dist = opts.dist ?? `${repo}dist`;
const goodModel = `${dist}/models/conv.onnx`;
if (!existsSync(`${dist}/index.html`) || !existsSync(goodModel)) {
  console.error(`${dist} (with models/conv.onnx) is missing: run \`trunk build --release\` (bench/soak does)`);
  process.exit(1);
}
const counts = {
  inferences: Number(opts.inferences),
  noiseChanges: Number(opts.noise),
  uploads: Number(opts.uploads),
  restarts: Number(opts.restarts),
};

const loadBefore = loadavg();
const { server, url } = await startStaticServer({ root: dist, compress: true });
const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
const version = browser.version();
let report;
try {
  const session = await openSoakPage(browser, url, { goodModel });
  let shown = 0;
  report = await session.soak(counts, {
    minutes: Number(opts.minutes),
    progress: (done) => {
      if (done.inferences < shown + 2000) return;
      shown = done.inferences;
      console.error(`  ${JSON.stringify(done)}`);
    },
  });
} finally {
  await browser.close();
  server.close();
}

const mb = (bytes) => (bytes === null ? 'n/a' : `${(bytes / 1e6).toFixed(3)} MB`);
const signed = (bytes) => (bytes === null ? 'n/a' : `${bytes >= 0 ? '+' : ''}${(bytes / 1e6).toFixed(3)} MB`);
const grown = growth(report);
const goals = { wasm: 1e6, pageHeap: 5e6 };
const verdict = (key) => (goals[key] === undefined || grown[key] === null ? ''
  : ` (goal ≤ ${mb(goals[key])}: ${grown[key] <= goals[key] ? 'met' : 'MISSED'})`);
console.log(`Chromium ${version} headless, ${cpus().length} cores, load ${loadBefore.map((l) => l.toFixed(2)).join(' ')} before, `
  + `${loadavg().map((l) => l.toFixed(2)).join(' ')} after, ${new Date().toISOString()}`);
console.log(`Warm-up ${(report.warmUpMs / 1000).toFixed(1)} s: ${JSON.stringify(report.warmUp)}`);
console.log(`Soak ${(report.soakMs / 1000).toFixed(1)} s: ${report.counts.inferences} inferences answered, `
  + `${report.counts.noiseChanges} noise changes, ${report.counts.uploads} uploads, ${report.counts.restarts} restarts`);
console.log(`Worker replies since the page opened: ${JSON.stringify(report.replies)}`);
console.log('| | after warm-up | long-lived worker, end | after the restarts |');
console.log('|---|---|---|---|');
for (const [key, label] of [['wasm', 'worker wasm memory'], ['workerHeap', 'worker JS heap'], ['pageHeap', 'page JS heap']]) {
  console.log(`| ${label} | ${mb(report.start[key])} | ${mb(report.longLived[key])} | ${mb(report.end[key])} |`);
}
console.log(`Growth: wasm memory ${signed(grown.wasm)}${verdict('wasm')}, worker JS heap ${signed(grown.workerHeap)} `
  + `(both over the long-lived worker), page JS heap ${signed(grown.pageHeap)}${verdict('pageHeap')} (over the whole soak)`);
if (opts.json) {
  writeFileSync(`${opts.json}.partial`, JSON.stringify({ version, counts, ...report, growth: grown }, null, 1));
  renameSync(`${opts.json}.partial`, opts.json);
}
if (report.late) {
  console.error(`Out of time: the soak stopped after --minutes ${opts.minutes}, short of ${JSON.stringify(counts)}`);
  process.exitCode = 1;
}
if (report.errors.length) {
  console.error(`Page errors: ${report.errors.join(' | ')}`);
  process.exit(1);
}

#!/usr/bin/env node
// Browser bench: our wasm path (tract) against onnxruntime-web on the same ONNX files, in
// headless Chromium (and with --firefox in Firefox too), plus the cold start of the real demo page
// and the payload. See --help.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../scripts/chromium.mjs';
import { startStaticServer } from '../scripts/static-server.mjs';
import { launchBareChromium } from './bare-chromium.mjs';
import { BAR_MS, coldStartSvg } from './cold-chart.mjs';
import { FIREFOX_PATH, launchFirefox } from './firefox.mjs';
import { NETWORK_PROFILES, floorOf } from './phone.mjs';
import { payloadSizes } from './sizes.mjs';

/** Each model's latency bar (issue #17): ours at most this share of the faster ORT set-up. */
const LATENCY_BARS = { dense: 0.8, conv: 0.85 };

const HELP = `Usage: node bench/browser.mjs [options]   (or bench/browser, which also sets up and builds)

Serves the repo on 127.0.0.1 and, in headless Chromium (/usr/bin/chromium) under Playwright,
measures for www/models/dense.onnx and conv.onnx, in our wasm build (dist/) and in
onnxruntime-web (wasm backend, 1 thread, from node_modules), both in the bench page's main thread:
  - batch-1 latency: median of --runs timed runs after --warmup untimed ones;
  - model load time: bytes in memory → ready-to-run model/session, median of --loads;
  - runtime start + first dense load (wasm compile and instantiate included);
and the demo page's cold start (dist/index.html in a fresh browser context each time, from
navigation to the first reconstruction shown), median of --cold, in a second Chromium driven over
a bare DevTools pipe (bench/bare-chromium.mjs), which instruments nothing a visitor's browser
lacks; dist/ is served gzip-compressed, as scripts/serve and static hosts serve it. And the
payload: the gzip -9 total of every file in dist/, as the payload test counts it.
ORT runs twice: with default options, and with session.disable_quant_qdq=1, which folds the int8
weights' DequantizeLinear at load instead of on every run. Prints a table with the ratios
ours/ORT and the bars (dense ≤ 0.8× and conv ≤ 0.85× the faster ORT set-up, cold start ≤ 250 ms,
payload ≤ the goal in bench/payload-budget.json). bench/README.md says how to read the figures.
Exits 1 if any request leaves 127.0.0.1.

Options:
  --runs N        timed batch-1 runs per engine and model (default 2000)
  --warmup N      untimed runs before them (default 200)
  --rounds N      split the timed runs into N blocks, alternating engines, so a change of machine
                  load hits both alike (default 4)
  --loads N       timed loads per engine and model (default 20)
  --cold N        demo cold starts of each build (default 5)
  --no-compress   serve dist/ uncompressed for the cold starts
  --against DIR   also cold-start another build of the demo (a copy of an earlier dist/, say),
                  interleaved with dist/'s one by one in alternating order, so that the machine's
                  drifts in speed hit both alike; prints both medians, the median of the paired
                  differences and both payloads (bench/README.md: how much noise to expect)
  --no-isolation  serve the bench page without COOP/COEP; Chromium then rounds performance.now()
                  to 100 µs instead of 5 µs, too coarse for a 0.2 ms run
  --json FILE     also write every figure and raw sample to FILE
  --svg FILE      also draw every cold start, per build, against the 250 ms bar
  --firefox       also in headless Firefox ESR (${FIREFOX_PATH}, puppeteer-core over WebDriver
                  BiDi): both engines on the same bench page, and --cold cold starts of dist/ (each
                  in a fresh browser context), in a second table
  --profile JS    instead of the bench, profile our runs of --model with Chromium's sampling profiler,
                  using the wasm-bindgen build JS (a path in the repo) that keeps function names:
                    wasm-bindgen --target web --keep-debug --out-name bottleneck-web \\
                      --out-dir target/bench-profile \\
                      target/wasm32-unknown-unknown/wasm-release/bottleneck_web.wasm
                  then --profile target/bench-profile/bottleneck-web.js
  --model M       the model --profile runs: conv (default) or dense
  --network P     instead of the bench, --cold cold starts of dist/ as a phone on a slow network
                  sees them: Chromium's network emulation (P: slow-4g, 9 Mbit/s and 150 ms a round
                  trip, or fast-3g, 1.6 Mbit/s and 400 ms), a 4× CPU slowdown and a 390×844
                  viewport; prints the first reconstruction, the bytes it waited for (on the wire,
                  headers included: the requests complete by then) and their floor: their transfer
                  at the profile's bandwidth plus one round trip per step of the longest request
                  chain
  -h, --help      this text`;

const { values: opts } = parseArgs({
  options: {
    runs: { type: 'string', default: '2000' },
    warmup: { type: 'string', default: '200' },
    rounds: { type: 'string', default: '4' },
    loads: { type: 'string', default: '20' },
    cold: { type: 'string', default: '5' },
    'no-compress': { type: 'boolean', default: false },
    against: { type: 'string' },
    'no-isolation': { type: 'boolean', default: false },
    json: { type: 'string' },
    svg: { type: 'string' },
    firefox: { type: 'boolean', default: false },
    profile: { type: 'string' },
    model: { type: 'string', default: 'conv' },
    network: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (opts.help) {
  console.log(HELP);
  process.exit(0);
}
// Imported once the options are read, so that --help works before `npm ci` has run.
const { chromium } = await import('playwright-core');
const [runs, warmup, rounds, loads, coldRuns] = ['runs', 'warmup', 'rounds', 'loads', 'cold'].map((k) => Number(opts[k]));

const repo = fileURLToPath(new URL('../', import.meta.url));
for (const file of ['dist/index.html', 'www/models/dense.onnx', 'www/models/conv.onnx', 'node_modules/onnxruntime-web/package.json']) {
  if (!existsSync(`${repo}${file}`)) {
    console.error(`${file} is missing: run \`trunk build --release\` and \`npm ci\` (bench/browser does both)`);
    process.exit(1);
  }
}
if (opts.against && !existsSync(`${opts.against}/index.html`)) {
  console.error(`--against ${opts.against}: no index.html there; give a folder built like dist/`);
  process.exit(1);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const quantile = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];
const mean = (xs) => xs.reduce((s, v) => s + v, 0) / xs.length;

const loadBefore = loadavg();
// The demo is served from dist/ exactly as a static host would; the bench page from the repo root
// (it imports ../../dist and ../../node_modules), cross-origin isolated for a fine timer.
const demo = await startStaticServer({ root: `${repo}dist`, compress: !opts['no-compress'] });
const benchServer = await startStaticServer({ root: repo });
if (!opts['no-isolation']) {
  benchServer.server.prependListener('request', (_request, response) => {
    response.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    response.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
  });
}

const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
const foreign = [];
const errors = [];
const watch = (context) => {
  context.on('request', (request) => {
    if (new URL(request.url()).hostname !== '127.0.0.1') foreign.push(request.url());
  });
  context.on('page', (page) => page.on('pageerror', (error) => errors.push(error.message)));
};

if (opts.profile) {
  await profileRuns(opts.profile, opts.model);
  process.exit(0);
}
if (opts.network) {
  await phoneColdStarts(opts.network);
  process.exit(0);
}

// 1. Cold starts of the demo, each in a fresh browser context (empty HTTP and code cache, like a
// first visit), on the bare DevTools pipe: the figure a visitor's browser sees, which the bar
// judges.
const withParts = (report) => {
  const number = (text, pattern) => Number(text.match(pattern)?.[1] ?? NaN);
  // The page's readouts at that moment split the total: the worker's load of what the first
  // reconstruction needs (wasm init, model fetch, tract load) and the first run itself; the rest
  // is the page, the worker's start and messages.
  return {
    shownMs: report.shownMs,
    domContentLoadedMs: report.domContentLoadedMs,
    workerLoadMs: number(report.status, /loaded in ([\d.]+) ms/),
    firstRunMs: number(report.timing, /dense ([\d.]+) ms/) + (number(report.timing, /conv ([\d.]+) ms/) || 0),
    status: report.status,
    timing: report.timing,
  };
};

const bare = await launchBareChromium({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
async function coldStart(url) {
  const report = await bare.coldStart(url);
  foreign.push(...report.hosts.filter((host) => host !== '127.0.0.1'));
  return withParts(report);
}

const other = opts.against
  ? await startStaticServer({ root: opts.against, compress: !opts['no-compress'] })
  : null;
// Each build once per round, the order reversed every other round, so that the machine's drifts
// in speed hit both alike.
const builds = { dist: demo.url, ...(other ? { against: other.url } : {}) };
const cold = Object.fromEntries(Object.keys(builds).map((b) => [b, []]));
for (let i = 0; i < coldRuns; i += 1) {
  const order = i % 2 ? Object.keys(builds).reverse() : Object.keys(builds);
  for (const b of order) cold[b].push(await coldStart(builds[b]));
}
other?.server.close();
await bare.close();

// The payload, counted as tests/e2e/payload.test.mjs counts it.
const budget = JSON.parse(readFileSync(`${repo}bench/payload-budget.json`, 'utf8'));
const payload = { dist: payloadSizes(`${repo}dist`, { brotli: false }).total.gzip };
if (opts.against) payload.against = payloadSizes(opts.against, { brotli: false }).total.gzip;

// 2. Both engines in one bench page.
const context = await browser.newContext();
watch(context);
const page = await context.newPage();
page.on('console', (message) => { if (message.type() === 'error') errors.push(message.text()); });
await page.goto(`${benchServer.url}bench/page/index.html`);
await page.waitForFunction(() => window.bench, null, { timeout: 30_000 });
const models = ['dense', 'conv'];
// ortFolded: ORT with its QDQ passes off, so that it folds the weights' DequantizeLinear at load
// (see page/bench.mjs); by default it dequantizes int8 weights on every run.
const engines = ['ours', 'ort', 'ortFolded'];
const { info, ...result } = await measureEngines((name, ...args) => page.evaluate(([n, a]) => window.bench[n](...a), [name, args]));
const chromiumVersion = browser.version();
await browser.close();

// 2b. The same in Firefox: the bench page, then the demo's cold starts.
let firefox = null;
if (opts.firefox) {
  const fox = await launchFirefox();
  try {
    const measured = await measureEngines(await fox.openBench(`${benchServer.url}bench/page/index.html`));
    const starts = [];
    for (let i = 0; i < coldRuns; i += 1) starts.push(withParts(await fox.coldStart(demo.url)));
    firefox = { version: fox.version, ...measured, cold: starts };
    // data: URLs (the page's icon) are no request at all.
    foreign.push(...fox.requests.filter((url) => !url.startsWith('data:') && new URL(url).hostname !== '127.0.0.1'));
    errors.push(...fox.errors);
  } finally {
    await fox.close();
  }
}
demo.server.close();
benchServer.server.close();
const loadAfter = loadavg();

// 3. The tables.
const fmt = (ms) => (ms < 10 ? ms.toFixed(3) : ms.toFixed(1));
const ratio = (a, b) => `${(a / b).toFixed(2)}×`;
const coldMedian = (b = 'dist') => median(cold[b].map((c) => c.shownMs));
const uncompressed = opts['no-compress'] ? ', uncompressed' : '';
const rows = engineRows(result);
rows.push([`demo cold start${uncompressed}, median of ${coldRuns} (ms)`, fmt(coldMedian()), '–', '', '–', '',
  `≤ ${BAR_MS} ms ${coldMedian() <= BAR_MS ? 'met' : 'MISSED'}`]);
const megabytes = (bytes) => `${(bytes / 1e6).toFixed(3)} MB`;
rows.push(['payload, dist/ gzip -9', megabytes(payload.dist), '–', '', '–', '',
  `≤ ${megabytes(budget.goalBytes)} ${payload.dist <= budget.goalBytes ? 'met' : 'MISSED'}`]);
console.log(`Chromium ${chromiumVersion} headless, onnxruntime-web ${info.ortVersion} (wasm, 1 thread), ${cpus().length} cores, `
  + `load ${loadBefore.map((l) => l.toFixed(2)).join(' ')} before, ${loadAfter.map((l) => l.toFixed(2)).join(' ')} after, ${new Date().toISOString()}`);
console.log(`Bench page ${info.crossOriginIsolated ? 'cross-origin isolated' : 'not isolated'}, timer step ${(info.timerResolutionMs * 1000).toFixed(0)} µs; `
  + `${rounds * Math.ceil(runs / rounds)} timed runs after ${warmup} warm-up, main thread; models: `
  + Object.entries(info.sizes).map(([k, v]) => `${k}.onnx ${v} B`).join(', '));
console.log('ORT = default session options; "DQ folded" = extra session.disable_quant_qdq=1.');
printTable(rows);
console.log(`Max |ours − ORT| on the same input: dense ${result.difference.dense.toExponential(1)}, conv ${result.difference.conv.toExponential(1)}`);
const starts = cold.dist;
console.log(`Cold starts (ms): ${starts.map((c) => c.shownMs.toFixed(0)).join(', ')}; medians of their parts: `
  + `DOMContentLoaded ${median(starts.map((c) => c.domContentLoadedMs)).toFixed(0)}, `
  + `worker's load ${median(starts.map((c) => c.workerLoadMs)).toFixed(0)} (wasm init, fetch, tract load), `
  + `first run ${median(starts.map((c) => c.firstRunMs)).toFixed(1)}; last page said "${starts.at(-1).status}" "${starts.at(-1).timing}"`);
if (other) {
  const differences = starts.map((c, i) => c.shownMs - cold.against[i].shownMs);
  console.log(`  ${opts.against}, interleaved: ${cold.against.map((c) => c.shownMs.toFixed(0)).join(', ')}; `
    + `median ${coldMedian('against').toFixed(1)} against dist/'s ${coldMedian().toFixed(1)}; `
    + `median of the ${coldRuns} paired differences (dist/ − other) ${median(differences).toFixed(1)} ms`);
  console.log(`  payload, gzip -9: ${payload.dist} B in dist/, ${payload.against} B in ${opts.against} `
    + `(${payload.dist - payload.against >= 0 ? '+' : ''}${payload.dist - payload.against} B)`);
}
printSpreads(result);
if (firefox) {
  const foxCold = median(firefox.cold.map((c) => c.shownMs));
  console.log(`\n${firefox.version} headless (puppeteer-core over WebDriver BiDi), same bench page `
    + `(${firefox.info.crossOriginIsolated ? 'cross-origin isolated' : 'not isolated'}, timer step `
    + `${(firefox.info.timerResolutionMs * 1000).toFixed(0)} µs), same runs; cold starts of dist/ in fresh browser contexts`);
  printTable([...engineRows(firefox),
    [`demo cold start${uncompressed}, median of ${coldRuns} (ms)`, fmt(foxCold), '–', '', '–', '', '']]);
  console.log(`Max |ours − ORT| on the same input: dense ${firefox.difference.dense.toExponential(1)}, conv ${firefox.difference.conv.toExponential(1)}`);
  console.log(`Cold starts (ms): ${firefox.cold.map((c) => c.shownMs.toFixed(0)).join(', ')}; last page said `
    + `"${firefox.cold.at(-1).status}" "${firefox.cold.at(-1).timing}"`);
  printSpreads(firefox);
}

// Through a temporary file, so an interrupted run never leaves half a file.
const writeWhole = (path, text) => {
  writeFileSync(`${path}.partial`, text);
  renameSync(`${path}.partial`, path);
};
if (opts.json) {
  writeWhole(opts.json, JSON.stringify({ info, chromiumVersion, loadBefore, loadAfter, cold, payload, ...result, firefox }, null, 1));
}
if (opts.svg) {
  const chartRows = Object.keys(builds).map((b) => ({
    label: b === 'dist' ? 'dist/' : `${opts.against.split('/').filter(Boolean).at(-1)}/`,
    samples: cold[b].map((c) => c.shownMs),
    median: coldMedian(b),
  }));
  const interleaved = other ? ', interleaved' : '';
  writeWhole(opts.svg, coldStartSvg(chartRows, `Demo cold start: ${coldRuns} fresh browser contexts a row${interleaved}`,
    `bench/browser, headless Chromium ${chromiumVersion} on a bare DevTools pipe, ${cpus().length} cores, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`));
}
if (errors.length) console.log(`Page errors: ${errors.join(' | ')}`);
if (foreign.length) {
  console.error(`Requests left 127.0.0.1: ${foreign.join(', ')}`);
  process.exit(1);
}

/**
 * Every engine's first load (runtime start included), loads, latencies and agreement on both
 * models, through `call(name, ...args)`, which runs the bench page's window.bench[name].
 */
async function measureEngines(call) {
  const info = await call('prepare');
  const measured = { info, first: {}, load: {}, latency: {}, difference: {} };
  // Only the first load of each engine pays for starting its runtime (wasm fetch, compile, init).
  for (const engine of engines) {
    for (const model of models) measured.first[`${engine}/${model}`] = await call('firstLoad', engine, model);
  }
  for (const model of models) {
    for (const engine of engines) measured.load[`${engine}/${model}`] = await call('loadTimes', engine, model, loads);
  }
  for (const model of models) {
    for (const engine of engines) measured.latency[`${engine}/${model}`] = [];
    for (let round = 0; round < rounds; round += 1) {
      for (const engine of engines) {
        const count = Math.ceil(runs / rounds);
        measured.latency[`${engine}/${model}`].push(...await call('latencies', engine, model, count, round ? 20 : warmup));
      }
    }
    measured.difference[model] = await call('maxDifference', model);
  }
  return measured;
}

/**
 * The table's rows for `measured` (from measureEngines): each ORT column with the ratio ours/that
 * column; the latency bar is judged against the faster of the two ORT set-ups.
 */
function engineRows(measured) {
  const rows = [];
  const row = (label, [ours, ort, folded], barText = '') => rows.push(
    [label, fmt(ours), fmt(ort), ratio(ours, ort), fmt(folded), ratio(ours, folded), barText]);
  for (const model of models) {
    const latency = engines.map((e) => median(measured.latency[`${e}/${model}`]));
    const best = Math.min(latency[1], latency[2]);
    const bar = LATENCY_BARS[model];
    row(`${model} latency, median (ms)`, latency,
      `≤ ${bar}×: ${(latency[0] / best).toFixed(2)}× ${latency[0] <= bar * best ? 'met' : 'MISSED'}`);
    row(`${model} latency, p90 (ms)`, engines.map((e) => quantile(measured.latency[`${e}/${model}`], 0.9)));
    row(`${model} load, median (ms)`, engines.map((e) => median(measured.load[`${e}/${model}`])));
  }
  const [startOurs, startOrt] = ['ours', 'ort'].map((e) => measured.first[`${e}/dense`]);
  rows.push(['runtime start + dense load (ms)', fmt(startOurs), fmt(startOrt), ratio(startOurs, startOrt), '–', '', '']);
  return rows;
}

/** Prints `rows` as a Markdown table under the engines' header. */
function printTable(rows) {
  const header = ['', 'ours (tract)', 'ORT', 'ours/ORT', 'ORT, DQ folded', 'ours/folded', 'bar'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r) => `| ${r.map((c, i) => (i ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(' | ')} |`;
  console.log(line(header));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  rows.forEach((r) => console.log(line(r)));
}

/** Prints each engine's and model's mean, p10 and p99 latency in `measured`. */
function printSpreads(measured) {
  for (const model of models) {
    for (const engine of engines) {
      const xs = measured.latency[`${engine}/${model}`];
      console.log(`  ${model} ${engine}: mean ${fmt(mean(xs))} ms, p10 ${fmt(quantile(xs, 0.1))}, p99 ${fmt(quantile(xs, 0.99))}`);
    }
  }
}

/**
 * Cold starts of dist/ on the phone profile `name` of bench/phone.mjs: per start and as medians,
 * the first reconstruction, the bytes the server sent before it, their floor and the bars.
 * @param {string} name
 */
async function phoneColdStarts(name) {
  const profile = NETWORK_PROFILES[name];
  if (!profile) {
    console.error(`--network ${name}: choose one of ${Object.keys(NETWORK_PROFILES).join(', ')}`);
    process.exit(2);
  }
  const phone = await launchBareChromium({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  const starts = [];
  try {
    for (let i = 0; i < coldRuns; i += 1) {
      const report = await phone.coldStart(demo.url, { timeoutMs: 180_000, phone: profile });
      foreign.push(...report.hosts.filter((host) => host !== '127.0.0.1'));
      const paths = report.requests.map((r) => new URL(r.url).pathname);
      starts.push({ shownMs: report.shownMs, ...floorOf(report.requests, profile), paths });
    }
  } finally {
    await phone.close();
  }
  const shown = median(starts.map((s) => s.shownMs));
  const floor = median(starts.map((s) => s.floorMs));
  const bytes = median(starts.map((s) => s.bytes));
  console.log(`Chromium ${browser.version()} headless, ${name}: ${profile.downloadBitsPerS / 1e6} Mbit/s, `
    + `${profile.rttMs} ms a round trip, ${profile.cpuSlowdown}× CPU slowdown, 390×844; ${cpus().length} cores, `
    + `load ${loadavg().map((l) => l.toFixed(2)).join(' ')}, ${new Date().toISOString()}`);
  for (const s of starts) {
    console.log(`  first reconstruction ${s.shownMs.toFixed(0)} ms; ${s.bytes} B in ${s.paths.length} responses, `
      + `chain of ${s.chainSteps}; floor ${s.floorMs.toFixed(0)} ms`);
  }
  console.log(`  waited for: ${starts.at(-1).paths.join(' ')}`);
  const ratioToFloor = shown / floor;
  console.log(`First reconstruction, median of ${coldRuns}: ${shown.toFixed(0)} ms; floor ${floor.toFixed(0)} ms; `
    + `${ratioToFloor.toFixed(2)}× the floor (bar ≤ 1.15×: ${ratioToFloor <= 1.15 ? 'met' : 'MISSED'}); `
    + `bytes waited for ${(bytes / 1e6).toFixed(3)} MB (bar ≤ 1.5 MB: ${bytes <= 1.5e6 ? 'met' : 'MISSED'})`);
  if (foreign.length) {
    console.error(`Requests left 127.0.0.1: ${foreign.join(', ')}`);
    process.exit(1);
  }
}

/**
 * Where our run of `model` spends its time: self and inclusive shares of the samples by wasm function,
 * from Chromium's sampling profiler over `runs` batch-1 runs of a build with a name section.
 */
async function profileRuns(jsPath, model) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${benchServer.url}bench/page/index.html?ours=${encodeURIComponent(`../../${jsPath}`)}`);
  await page.waitForFunction(() => window.bench, null, { timeout: 30_000 });
  const call = (name, ...args) => page.evaluate(([n, a]) => window.bench[n](...a), [name, args]);
  await call('prepare');
  await call('firstLoad', 'ours', model);
  await call('latencies', 'ours', model, 10, warmup);
  const cdp = await context.newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 20 });
  await cdp.send('Profiler.start');
  const times = await call('latencies', 'ours', model, runs, 0);
  const { profile } = await cdp.send('Profiler.stop');
  await browser.close();
  demo.server.close();
  benchServer.server.close();

  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const name = (node) => node.callFrame.functionName || `(${node.callFrame.url.split('/').at(-1) || 'program'})`;
  const self = new Map();
  const inclusive = new Map();
  let inRun = 0; // samples inside a wasm call: the rest is the page's loop, GC and idle
  for (const id of profile.samples) {
    const names = new Set();
    for (let at = id; at !== undefined; at = parent.get(at)) names.add(name(byId.get(at)));
    if (![...names].some((n) => n.includes('autoencodermodel_run'))) continue;
    inRun += 1;
    self.set(name(byId.get(id)), (self.get(name(byId.get(id))) ?? 0) + 1);
    for (const n of names) inclusive.set(n, (inclusive.get(n) ?? 0) + 1);
  }
  const top = (map, count) => [...map].sort((a, b) => b[1] - a[1]).slice(0, count)
    .map(([n, hits]) => `  ${((100 * hits) / inRun).toFixed(1).padStart(5)} %  ${n.length > 150 ? `${n.slice(0, 147)}...` : n}`);
  console.log(`${model} with ${jsPath}: median ${median(times).toFixed(3)} ms over ${runs} runs; `
    + `${inRun} profiler samples inside AutoencoderModel.run`);
  console.log('Self time, top 25:');
  top(self, 25).forEach((l) => console.log(l));
  console.log('Inclusive time, top 40:');
  top(inclusive, 40).forEach((l) => console.log(l));
}

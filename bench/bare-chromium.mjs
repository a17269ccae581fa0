// Cold starts of the demo in a Chromium driven over a bare DevTools pipe, with nothing of the
// browser instrumented beyond what the measurement needs: the page's Page and Runtime domains,
// for an init script and one binding, which the page calls once it shows its first
// reconstruction. bench/browser takes the demo's cold start from here; the cold-start bar judges it.
//
// Why not Playwright for this figure: Playwright enables the Network domain on the page and on
// every worker, pauses each new worker until it has attached to it, and adds its own script
// world. A visitor's browser does none of that, and it makes the cold start measurably slower,
// more so when the machine is busy (bench/README.md has the comparison).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The init script, run in the page before its own scripts: notes the time since navigation start
 * when #timing first reports an inference, which app.js writes right after painting the first
 * reconstruction, and sends it with the page's readouts at that moment to window.coldStartShown:
 * the pipe's binding here, a function of the page in bench/firefox.mjs.
 * It watches mutations rather than polling, which would make the page render frames in every
 * animation frame that it would not render for a visitor.
 */
export const FIRST_RECONSTRUCTION_OBSERVER = `
  new MutationObserver((_, observer) => {
    const timing = document.getElementById('timing')?.textContent ?? '';
    if (!timing.includes('Inference')) return;
    observer.disconnect();
    const shownMs = performance.now();
    const status = document.getElementById('status')?.textContent ?? '';
    const domContentLoadedMs = performance.getEntriesByType('navigation')[0]?.domContentLoadedEventEnd ?? NaN;
    const hosts = performance.getEntriesByType('resource').map((r) => new URL(r.name).hostname);
    window.coldStartShown(JSON.stringify({ shownMs, status, timing, domContentLoadedMs, hosts }));
  }).observe(document, { subtree: true, childList: true, characterData: true });`;

/**
 * Starts Chromium with `args` (plus headless and a fresh profile) on a DevTools pipe; resolves to
 * `{ coldStart(url, { timeoutMs, phone }), close() }`. `coldStart` opens `url` in a fresh
 * browser context (empty caches, like a first visit) with Playwright's default 1280×720
 * viewport, or with `phone` (a profile of bench/phone.mjs) in a phone's viewport under that
 * network and CPU slowdown, and resolves to what the page reported, or rejects after `timeoutMs`
 * (30 s) or on an uncaught page error.
 */
export async function launchBareChromium({ executablePath, args = [] }) {
  const profile = mkdtempSync(join(tmpdir(), 'bottleneck-bare-'));
  const chrome = spawn(executablePath,
    [...args, '--headless', '--remote-debugging-pipe', `--user-data-dir=${profile}`, 'about:blank'],
    { stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe'] });
  const pending = new Map();
  const listeners = new Set();
  let nextId = 0;
  let buffered = '';
  const failAll = (error) => {
    for (const { reject } of pending.values()) reject(error);
    pending.clear();
  };
  chrome.on('error', failAll);
  chrome.on('exit', (code, signal) => failAll(new Error(`Chromium exited (${signal ?? `code ${code}`})`)));
  chrome.stdio[4].on('data', (chunk) => {
    buffered += chunk.toString();
    for (let end = buffered.indexOf('\0'); end >= 0; end = buffered.indexOf('\0')) {
      const message = JSON.parse(buffered.slice(0, end));
      buffered = buffered.slice(end + 1);
      const waiting = pending.get(message.id);
      if (waiting) {
        pending.delete(message.id);
        if (message.error) waiting.reject(new Error(`${waiting.method}: ${message.error.message}`));
        else waiting.resolve(message.result);
      } else {
        for (const listener of listeners) listener(message);
      }
    }
  });
  const send = (method, params = {}, sessionId = undefined) => new Promise((resolve, reject) => {
    nextId += 1;
    pending.set(nextId, { resolve, reject, method });
    chrome.stdio[3].write(`${JSON.stringify({ id: nextId, method, params, sessionId })}\0`);
  });
  await send('Browser.getVersion'); // Chromium is up and answering

  /**
   * Puts the page of `sessionId`, or a worker of it, under `phone`'s network conditions (by a
   * rule for every URL, the form workers take), and the page under its CPU slowdown too, which
   * Chromium offers for pages only.
   */
  async function throttle(sessionId, phone, { isPage }) {
    await send('Network.enable', {}, sessionId);
    await send('Network.emulateNetworkConditionsByRule', {
      matchedNetworkConditions: [{
        urlPattern: '',
        latency: phone.rttMs,
        downloadThroughput: phone.downloadBitsPerS / 8,
        uploadThroughput: phone.uploadBitsPerS / 8,
      }],
    }, sessionId);
    if (isPage) await send('Emulation.setCPUThrottlingRate', { rate: phone.cpuSlowdown }, sessionId);
  }

  async function coldStart(url, { timeoutMs = 30_000, phone = null } = {}) {
    const { browserContextId } = await send('Target.createBrowserContext', { disposeOnDetach: true });
    const { targetId } = await send('Target.createTarget', { url: 'about:blank', browserContextId });
    const { sessionId } = await send('Target.attachToTarget', { targetId, flatten: true });
    let listener;
    let timer;
    /** @type {Map<string, { url: string, referer: string | null, sentS: number, finishedS?: number, bytes?: number }>} */
    const requests = new Map();
    /** @type {number | undefined} */
    let documentSentS;
    const shown = new Promise((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`${url}: no reconstruction within ${timeoutMs} ms`)), timeoutMs);
      listener = ({ sessionId: from, method, params }) => {
        if (method === 'Network.requestWillBeSent' && params.type !== 'Preflight') {
          const referer = params.request.headers.Referer ?? null;
          requests.set(params.requestId, { url: params.request.url, referer, sentS: params.timestamp });
          documentSentS ??= params.timestamp;
        } else if (method === 'Network.loadingFinished' && requests.has(params.requestId)) {
          Object.assign(requests.get(params.requestId), { finishedS: params.timestamp, bytes: params.encodedDataLength });
        }
        if (method === 'Target.attachedToTarget' && from === sessionId) {
          const worker = params.sessionId;
          throttle(worker, phone, { isPage: false })
            .then(() => send('Runtime.runIfWaitingForDebugger', {}, worker))
            .catch(reject);
          return;
        }
        if (from !== sessionId) return;
        if (method === 'Runtime.bindingCalled' && params.name === 'coldStartShown') {
          const report = JSON.parse(params.payload);
          // With the Network domain on (phone mode): every request complete by then, with its
          // bytes on the wire, timed from the document's request, which starts the page's clock.
          const done = [...requests.values()].filter((r) => r.finishedS !== undefined
            && (r.finishedS - documentSentS) * 1000 <= report.shownMs);
          resolve({
            ...report,
            requests: done.map(({ url, referer, bytes, sentS }) => ({ url, referer, bytes, sentMs: (sentS - documentSentS) * 1000 })),
          });
        } else if (method === 'Runtime.exceptionThrown') {
          reject(new Error(`${url}: ${params.exceptionDetails.exception?.description ?? params.exceptionDetails.text}`));
        }
      };
      listeners.add(listener);
    });
    // Settled whatever happens below; an error before the navigation is reported by that step.
    shown.catch(() => {});
    try {
      await send('Page.enable', {}, sessionId);
      await send('Runtime.enable', {}, sessionId);
      await send('Runtime.addBinding', { name: 'coldStartShown' }, sessionId);
      await send('Page.addScriptToEvaluateOnNewDocument', { source: FIRST_RECONSTRUCTION_OBSERVER }, sessionId);
      if (phone) {
        await throttle(sessionId, phone, { isPage: true });
        // A worker's requests are not under its page's conditions: each worker is held at its
        // start until it is throttled alike.
        await send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: true, flatten: true }, sessionId);
        await send('Emulation.setDeviceMetricsOverride',
          { width: 390, height: 844, deviceScaleFactor: 3, mobile: true }, sessionId);
      } else {
        await send('Emulation.setDeviceMetricsOverride',
          { width: 1280, height: 720, deviceScaleFactor: 1, mobile: false }, sessionId);
      }
      await send('Page.navigate', { url }, sessionId);
      return await shown;
    } finally {
      clearTimeout(timer);
      listeners.delete(listener);
      await send('Target.disposeBrowserContext', { browserContextId });
    }
  }

  return {
    coldStart,
    async close() {
      if (chrome.exitCode === null && chrome.signalCode === null) {
        const exited = new Promise((resolve) => chrome.once('exit', resolve));
        // Asked to close, Chromium ends its child processes too; killed, they can outlive it
        // for a moment and still write to the profile being removed.
        send('Browser.close').catch(() => {});
        const killer = setTimeout(() => chrome.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(killer);
      }
      rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    },
  };
}

// The soak's driver, shared by bench/soak.mjs and tests/e2e/soak.test.mjs: a long session on the
// built page through its own controls (strokes on the pad, the noise controls, the upload input,
// a worker that crashes or stops answering), with the page's and the worker's memory measured
// before and after.
import { readFileSync } from 'node:fs';

/**
 * What a soak does after its warm-up: inferences answered while drawing, noise changes, model
 * uploads (good and broken alternating) and worker restarts.
 * @typedef {{ inferences: number, noiseChanges: number, uploads: number, restarts: number }} SoakCounts
 */

/** The bench's warm-up: every path once or more, before the baseline. */
const WARM_UP = { inferences: 400, noiseChanges: 6, uploads: 4, restarts: 1 };

/** Mouse moves along each of a stroke's six segments. */
const MOVES_PER_SEGMENT = 8;

/** The mouse events a stroke has in flight at a time. */
const MOVES_IN_FLIGHT = 4;

/** The inferences answered after each restart, before the next one. */
const INFERENCES_PER_RESTART = 20;

// Any single step (a stroke's answers, an upload's answer, a restart) must finish within this.
const STEP_TIMEOUT_MS = 30_000;

// The message the driver's crash throws in the worker: the page hides it, as it hides any crash.
const CRASH_MESSAGE = 'soak: the worker crashed on purpose';

/**
 * Runs in the page before its own scripts: keeps the model worker the page started last and counts
 * its replies by type, so that the driver can count inferences answered and ask for `stats`. It
 * observes only: the page's code talks to the worker as it always does.
 */
function installProbe() {
  const NativeWorker = window.Worker;
  /** @type {{ worker: Worker | null, replies: Record<string, number> }} */
  const probe = { worker: null, replies: {} };
  window.Worker = class extends NativeWorker {
    /** @param {ConstructorParameters<typeof Worker>} args */
    constructor(...args) {
      super(...args);
      probe.worker = this;
      this.addEventListener('message', ({ data }) => {
        const key = data.type === 'failed' ? `failed ${data.request}` : data.type;
        probe.replies[key] = (probe.replies[key] ?? 0) + 1;
      });
    }
  };
  window.soakProbe = probe;
}

/** A small deterministic generator of numbers in [0, 1), so that every soak draws the same strokes. */
function random(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/**
 * Opens the page at `url` in a new page of `browser` (Playwright, Chromium) with the probe, and
 * waits for its first reconstruction; returns the driver of the session.
 * @param {import('playwright-core').Browser} browser
 * @param {string} url
 * @param {{ goodModel: string }} files  goodModel: a real ONNX file the page accepts
 */
export async function openSoakPage(browser, url, { goodModel }) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  /** @type {string[]} */
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().includes(CRASH_MESSAGE)) errors.push(message.text());
  });
  await page.addInitScript(installProbe);
  const pageSession = await page.context().newCDPSession(page);
  await page.goto(url);
  await page.locator('#timing').filter({ hasText: 'Inference' }).waitFor({ timeout: STEP_TIMEOUT_MS });

  const browserSession = await browser.newBrowserCDPSession();
  const good = readFileSync(goodModel);
  const pad = page.locator('#pad');
  const next = random(14);
  // What the driver did: inferences are counted from the workers' answers instead.
  const done = { noiseChanges: 0, uploads: 0, restarts: 0 };
  let strokesOnPad = 0;

  /** The count of replies of `type` the current and earlier workers sent. */
  const replies = () => page.evaluate(() => window.soakProbe.replies);
  const answered = async () => (await replies()).result ?? 0;

  /** Waits until the workers have answered `count` inferences in all. */
  async function waitForAnswers(count) {
    await page.waitForFunction((n) => (window.soakProbe.replies.result ?? 0) >= n, count,
      { timeout: STEP_TIMEOUT_MS });
  }

  /**
   * One stroke on the pad with the mouse, which the browser turns into pointer events: DevTools
   * input events, a few in flight at a time. The browser merges mouse moves that queue up while
   * the page handles one, so a burst would arrive as a few moves, and one at a time would leave
   * the page idle between them.
   */
  async function stroke() {
    // A person clears the pad now and then; the pad redraws every stroke on each move.
    if (strokesOnPad === 4) {
      await page.locator('#clear').click();
      strokesOnPad = 0;
    }
    const box = await pad.boundingBox();
    if (!box) throw new Error('the drawing pad is not on the page');
    const point = () => ({ x: box.x + (0.15 + 0.7 * next()) * box.width, y: box.y + (0.15 + 0.7 * next()) * box.height });
    /** @type {Promise<unknown>[]} */
    const inFlight = [];
    const mouse = async (type, { x, y }) => {
      if (inFlight.length === MOVES_IN_FLIGHT) await inFlight.shift();
      inFlight.push(pageSession.send('Input.dispatchMouseEvent',
        { type, x, y, button: 'left', buttons: type === 'mouseReleased' ? 0 : 1, clickCount: 1 }));
    };
    let at = point();
    await mouse('mouseMoved', at);
    await mouse('mousePressed', at);
    for (let corner = 0; corner < 6; corner += 1) {
      const to = point();
      for (let i = 1; i <= MOVES_PER_SEGMENT; i += 1) {
        const t = i / MOVES_PER_SEGMENT;
        await mouse('mouseMoved', { x: at.x + t * (to.x - at.x), y: at.y + t * (to.y - at.y) });
      }
      at = to;
    }
    await mouse('mouseReleased', at);
    await Promise.all(inFlight);
    strokesOnPad += 1;
  }

  /** Draws until the workers have answered `total` inferences since the page opened. */
  async function drawUntil(total) {
    let before = await answered();
    while (before < total) {
      await stroke();
      const now = await answered();
      // A stroke that got no answer at all means the page stopped inferring: the wait times out.
      if (now === before) await waitForAnswers(before + 1);
      before = now === before ? await answered() : now;
    }
  }

  /** One change of the noise controls: its kind, its strength, or a new draw of it, in turn. */
  async function changeNoise() {
    const before = await answered();
    // Each kind differs from the one before it, the first from the page's default (gaussian).
    const kinds = ['gaussian', 'salt-pepper', 'occlusion'];
    switch (done.noiseChanges % 3) {
      case 0:
        await page.locator('#noise-kind').selectOption(kinds[(done.noiseChanges / 3 + 1) % 3]);
        break;
      case 1:
        await page.locator('#noise-strength').fill(String(10 + ((done.noiseChanges * 37) % 90)));
        break;
      default:
        await page.locator('#reroll').click();
    }
    done.noiseChanges += 1;
    await waitForAnswers(before + 1);
  }

  /**
   * Uploads through the page's file input, alternately the good model and a broken file (random
   * bytes, or the good model cut in half), and waits for the page's message.
   */
  async function uploadModel() {
    const index = done.uploads;
    done.uploads += 1;
    const broken = index % 2 === 1;
    const name = broken ? `broken-${index}.onnx` : `good-${index}.onnx`;
    const buffer = !broken ? good
      : index % 4 === 1 ? Buffer.from(Array.from({ length: 4096 }, () => Math.floor(next() * 256)))
        : good.subarray(0, good.length >> 1);
    const status = page.locator('#upload-status');
    await page.locator('#upload').setInputFiles({ name, mimeType: 'application/octet-stream', buffer });
    // The status alternates between the two, so each upload's message is a change of it.
    await status.filter({ hasText: broken ? /^Error: / : new RegExp(`^Now using ${name}`) })
      .waitFor({ timeout: STEP_TIMEOUT_MS });
  }

  /**
   * Stops the worker as a bug would, and waits for the page to have replaced it: by an uncaught
   * error in the worker (its error event), or every fourth time by the worker closing itself,
   * which leaves the page's next request unanswered until its watchdog replaces it.
   */
  async function restartWorker() {
    const readyBefore = (await replies()).ready ?? 0;
    const worker = page.workers().at(-1);
    if (!worker) throw new Error('the page has no worker');
    const crash = done.restarts % 4 !== 3;
    done.restarts += 1;
    if (crash) {
      await worker.evaluate((message) => { setTimeout(() => { throw new Error(message); }); }, CRASH_MESSAGE);
    } else {
      await worker.evaluate(() => self.close());
      await stroke();
    }
    await page.waitForFunction((n) => (window.soakProbe.replies.ready ?? 0) > n, readyBefore,
      { timeout: STEP_TIMEOUT_MS });
    await page.locator('#status').filter({ hasText: /restarted/ }).waitFor({ timeout: STEP_TIMEOUT_MS });
  }

  /**
   * The worker's JS heap after a collection, through a DevTools session on its target; null when
   * the browser lists no worker of the page.
   */
  async function workerHeap() {
    const { targetInfos } = await browserSession.send('Target.getTargets');
    const target = targetInfos.find((info) => info.type === 'worker' && info.url.endsWith('/worker.js'));
    if (!target) return null;
    const { sessionId } = await browserSession.send('Target.attachToTarget', { targetId: target.targetId, flatten: false });
    /** @type {Map<number, (result: any) => void>} */
    const pending = new Map();
    /** @param {{ sessionId: string, message: string }} event */
    const onMessage = (event) => {
      const message = JSON.parse(event.message);
      if (event.sessionId === sessionId && pending.has(message.id)) pending.get(message.id)?.(message.result);
    };
    browserSession.on('Target.receivedMessageFromTarget', onMessage);
    const call = (id, method) => new Promise((resolve) => {
      pending.set(id, resolve);
      browserSession.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method }) });
    });
    try {
      await call(1, 'HeapProfiler.collectGarbage');
      return (await call(2, 'Runtime.getHeapUsage')).usedSize;
    } finally {
      browserSession.off('Target.receivedMessageFromTarget', onMessage);
      await browserSession.send('Target.detachFromTarget', { sessionId });
    }
  }

  /** The page's JS heap, the worker's and the worker's wasm memory, in bytes, after collections. */
  async function memory() {
    await pageSession.send('HeapProfiler.collectGarbage');
    const { usedSize: pageHeap } = await pageSession.send('Runtime.getHeapUsage');
    const wasm = await page.evaluate(() => new Promise((resolve) => {
      const { worker } = window.soakProbe;
      /** @param {MessageEvent} event */
      const listener = ({ data }) => {
        if (data.type !== 'stats') return;
        worker.removeEventListener('message', listener);
        resolve(data.wasmBytes);
      };
      worker.addEventListener('message', listener);
      worker.postMessage({ type: 'stats' });
    }));
    return { pageHeap, workerHeap: await workerHeap(), wasm };
  }

  /**
   * Does `counts`, interleaved: the inferences, noise changes and uploads spread evenly over the
   * worker's life, then the restarts, each new worker answering a few inferences before the next.
   * Past `deadline` (a Date.now() time) it stops early, with `late` set.
   * @param {SoakCounts} counts
   * @param {{ deadline: number, progress?: (done: Record<string, number>) => void }} options
   */
  async function run(counts, { deadline, progress = () => {} }) {
    const before = { ...done, inferences: await answered() };
    const counted = async () => ({ ...Object.fromEntries(Object.entries(done).map(([k, v]) => [k, v - before[k]])),
      inferences: (await answered()) - before.inferences });
    const drawn = counts.inferences - counts.restarts * INFERENCES_PER_RESTART;
    const steps = Math.max(counts.noiseChanges, counts.uploads, 1);
    const share = (total, step) => Math.floor((step * total) / steps) - Math.floor(((step - 1) * total) / steps);
    let late = false;
    for (let step = 1; step <= steps && !late; step += 1) {
      await drawUntil(before.inferences + Math.floor((step * drawn) / steps));
      for (let i = share(counts.noiseChanges, step); i > 0; i -= 1) await changeNoise();
      for (let i = share(counts.uploads, step); i > 0; i -= 1) await uploadModel();
      progress(await counted());
      late = Date.now() > deadline;
    }
    const longLived = await memory();
    for (let i = 1; i <= counts.restarts && !late; i += 1) {
      await restartWorker();
      await drawUntil(before.inferences + drawn + i * INFERENCES_PER_RESTART);
      progress(await counted());
      late = Date.now() > deadline;
    }
    return { longLived, done: await counted(), late };
  }

  /**
   * The warm-up (its restarts first, so that the worker measured is the one warmed up), the
   * baseline, `counts`, and the memory at the end: of the worker that lived through the
   * inferences, noise changes and uploads, and of the page after the restarts too. `minutes`
   * bounds it all: past it, the soak stops early and says so (`late`).
   * @param {SoakCounts} counts
   * @param {{ warmUp?: SoakCounts, minutes: number, progress?: (done: Record<string, number>) => void }} options
   */
  async function soak(counts, { warmUp = WARM_UP, minutes, progress }) {
    const started = Date.now();
    const deadline = started + minutes * 60_000;
    for (let i = 0; i < warmUp.restarts; i += 1) await restartWorker();
    await run({ ...warmUp, restarts: 0 }, { deadline });
    const warmUpMs = Date.now() - started;
    const start = await memory();
    const { longLived, done: counted, late } = await run(counts, { deadline, progress });
    const end = await memory();
    return {
      counts: counted, late, warmUp, replies: await replies(), start, longLived, end,
      warmUpMs, soakMs: Date.now() - started - warmUpMs, errors,
    };
  }

  return { page, soak };
}

/**
 * The growth of each figure from `start` to the long-lived worker's end (wasm memory, worker heap)
 * and to the page's end (its heap), in bytes; null where a figure is missing.
 * @param {Awaited<ReturnType<Awaited<ReturnType<typeof openSoakPage>>['soak']>>} report
 */
export function growth({ start, longLived, end }) {
  const minus = (a, b) => (a === null || b === null ? null : a - b);
  return {
    wasm: minus(longLived.wasm, start.wasm),
    workerHeap: minus(longLived.workerHeap, start.workerHeap),
    pageHeap: minus(end.pageHeap, start.pageHeap),
  };
}

// WebKitGTK's MiniBrowser driven by its WebKitWebDriver over plain W3C WebDriver (a small client
// on fetch), as one of the engines of engines.test.mjs. The MiniBrowser has no headless mode: it
// draws into an Xvfb started here, on a display Xvfb picks itself.
import { spawn } from 'node:child_process';
import { createServer, request as httpRequest } from 'node:http';
import { requireBinary } from './require-binary.mjs';
import { callSource } from './source.mjs';

const DRIVER_PATH = '/usr/bin/WebKitWebDriver';
const XVFB_PATH = '/usr/bin/Xvfb';
const MINIBROWSER_PATH = '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';
const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';
// WebDriver's codes for the keys the scenarios press.
const KEYS = { End: '\uE010' };

/** Starts Xvfb; resolves to { display, process } once it accepts clients. */
async function startXvfb() {
  const xvfb = spawn(XVFB_PATH, ['-displayfd', '3', '-nolisten', 'tcp', '-screen', '0', '1280x1024x24'],
    { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
  let stderr = '';
  xvfb.stderr.on('data', (chunk) => { stderr += chunk; });
  const display = await new Promise((done, fail) => {
    let written = '';
    xvfb.stdio[3].on('data', (chunk) => {
      written += chunk;
      if (written.includes('\n')) done(`:${written.trim()}`);
    });
    xvfb.once('exit', (code) => fail(new Error(`Xvfb exited (${code}): ${stderr}`)));
  });
  return { display, process: xvfb };
}

/**
 * An HTTP proxy on 127.0.0.1 that the browser sends every http:// request through, its page's
 * and its workers', so `seen` lists every http:// URL requested: plain WebDriver has no network
 * log. It forwards requests to 127.0.0.1 and answers any other host with a 404. WebKit's https://
 * requests do not come through it: for those, the scenarios have the page's resource timing.
 */
async function startProxy() {
  const seen = [];
  const proxy = createServer((request, response) => {
    seen.push(request.url);
    const target = new URL(request.url);
    if (target.hostname !== '127.0.0.1') {
      response.writeHead(404).end('outside the test server');
      return;
    }
    const forward = httpRequest(target, { method: request.method, headers: request.headers }, (answer) => {
      response.writeHead(answer.statusCode, answer.headers);
      answer.pipe(response);
    });
    forward.on('error', () => response.destroy());
    request.pipe(forward);
  });
  await new Promise((done) => { proxy.listen(0, '127.0.0.1', done); });
  return { proxy, seen, address: `127.0.0.1:${proxy.address().port}` };
}

/** A port free on 127.0.0.1 a moment ago. */
async function freePort() {
  const probe = createServer();
  await new Promise((done) => { probe.listen(0, '127.0.0.1', done); });
  const { port } = probe.address();
  await new Promise((done) => { probe.close(done); });
  return port;
}

/** Sends one WebDriver command; resolves to its value, or throws the driver's error. */
async function send(base, method, path, body) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const { value } = await response.json();
  if (value?.error) throw new Error(`WebDriver ${method} ${path}: ${value.error}: ${value.message}`);
  return value;
}

/** Starts WebKitWebDriver on `display`; resolves to { base, process } once it answers. */
async function startDriver(display) {
  const port = await freePort();
  const driver = spawn(DRIVER_PATH, [`--port=${port}`, '--host=127.0.0.1'],
    { stdio: 'ignore', env: { ...process.env, DISPLAY: display } });
  const base = `http://127.0.0.1:${port}`;
  for (let tries = 0; ; tries += 1) {
    try {
      if ((await send(base, 'GET', '/status')).ready) return { base, process: driver };
    } catch (error) {
      if (tries >= 100) throw new Error(`WebKitWebDriver did not answer on ${base}: ${error.message}`);
    }
    await new Promise((done) => { setTimeout(done, 50); });
  }
}

/**
 * Starts the MiniBrowser (under Xvfb, through WebKitWebDriver) with a viewport of
 * `width`×`height`; resolves to its engine adapter. Its console is not readable over WebDriver,
 * so the adapter has no `consoleErrors`: the page's own probe (engines.test.mjs) is what sees them.
 */
export async function launch({ width, height }) {
  for (const [path, what] of [[DRIVER_PATH, 'WebKitWebDriver'], [MINIBROWSER_PATH, 'the WebKitGTK MiniBrowser'], [XVFB_PATH, 'Xvfb']]) {
    requireBinary(path, what);
  }
  const children = [];
  let proxy;
  const stop = () => {
    for (const child of children) child.kill();
    proxy?.proxy.close();
  };
  // Children die with this process, even when a test fails before close().
  process.once('exit', stop);
  try {
    const xvfb = await startXvfb();
    children.push(xvfb.process);
    proxy = await startProxy();
    const driver = await startDriver(xvfb.display);
    children.unshift(driver.process);
    const { sessionId, capabilities } = await send(driver.base, 'POST', '/session', {
      capabilities: {
        alwaysMatch: {
          proxy: { proxyType: 'manual', httpProxy: proxy.address },
          'webkitgtk:browserOptions': { binary: MINIBROWSER_PATH, args: ['--automation'] },
        },
      },
    });
    const session = (method, path, body) => send(driver.base, method, `/session/${sessionId}${path}`, body);
    const run = async (fn, args) => {
      const outcome = await session('POST', '/execute/async', {
        script: `const done = arguments[arguments.length - 1];
          Promise.resolve().then(() => ${callSource(fn, args)})
            .then((value) => done({ value }), (error) => done({ error: String(error?.stack ?? error) }));`,
        args: [],
      });
      if ('error' in outcome) throw new Error(`in the page: ${outcome.error}`);
      return outcome.value;
    };
    // The window's size includes its frame: set it, then grow it by what the viewport lacks.
    await session('POST', '/window/rect', { width, height });
    const [innerWidth, innerHeight] = await run(() => [window.innerWidth, window.innerHeight], []);
    await session('POST', '/window/rect', { width: 2 * width - innerWidth, height: 2 * height - innerHeight });
    const find = async (selector) => (await session('POST', '/element', { using: 'css selector', value: selector }))[ELEMENT];
    const actions = async (list) => {
      await session('POST', '/actions', { actions: list });
      await session('DELETE', '/actions');
    };
    return {
      name: 'webkit',
      version: `MiniBrowser, WebKitGTK ${capabilities.browserVersion}`,
      goto: (url) => session('POST', '/url', { url }),
      evaluate: (fn, ...args) => run(fn, args),
      click: async (selector) => { await session('POST', `/element/${await find(selector)}/click`, {}); },
      drag: ([first, ...rest]) => {
        const move = ([x, y]) => ({ type: 'pointerMove', origin: 'viewport', x: Math.round(x), y: Math.round(y), duration: 0 });
        return actions([{
          type: 'pointer',
          id: 'mouse',
          parameters: { pointerType: 'mouse' },
          actions: [move(first), { type: 'pointerDown', button: 0 }, ...rest.map(move), { type: 'pointerUp', button: 0 }],
        }]);
      },
      press: async (selector, key) => {
        await run((s) => document.querySelector(s).focus(), [selector]);
        await actions([{ type: 'key', id: 'keyboard', actions: [{ type: 'keyDown', value: KEYS[key] }, { type: 'keyUp', value: KEYS[key] }] }]);
      },
      // WebDriver's "send keys" to a file input sets its file, as a user's choice would.
      setFile: async (selector, path) => { await session('POST', `/element/${await find(selector)}/value`, { text: path }); },
      // The viewport only: plain WebDriver has no full-page screenshot.
      screenshot: async () => Buffer.from(await session('GET', '/screenshot'), 'base64'),
      requests: () => [...proxy.seen],
      close: async () => {
        await session('DELETE', '').catch(() => {});
        stop();
        process.off('exit', stop);
      },
    };
  } catch (error) {
    stop();
    process.off('exit', stop);
    throw error;
  }
}

// @ts-check
// The page's side of the model worker: takes over the one index.html started, restarts it when it
// fails or stops answering, and sends it one request of each kind at a time (an inference, a decoding, a
// morph), the latest first.

/**
 * @import { ConvReply, DecodeRequest, DecodedReply, InferRequest, InterpolateRequest,
 *   InterpolatedReply, ProgressReply, ReadyReply, ResultReply, WorkerReply, WorkerRequest }
 *   from './protocol.js'
 */

/**
 * The requests that are sent one at a time, the latest winning, and the reply each gets.
 * @typedef {{ infer: [InferRequest, ResultReply], decode: [DecodeRequest, DecodedReply],
 *   interpolate: [InterpolateRequest, InterpolatedReply] }} Lanes
 */

/** Which lane each reply answers. */
const LANE_OF_REPLY = /** @type {const} */ ({ result: 'infer', decoded: 'decode', interpolated: 'interpolate' });

// A worker that stops answering (closed, or stuck in a loop) is replaced: every request after
// the first load, which may be a slow download, must be answered within this time.
const ANSWER_TIMEOUT_MS = 5000;

// After this many failures in a row, a worker that cannot even start is not restarted again.
const MAX_RESTARTS = 3;

const newModelWorker = () => window.bottleneckStartup.newWorker();

/**
 * What the client tells the page: `progress` while the first load downloads, then `ready` or
 * `loadFailed`; `stopped` is `restarting` unless the worker keeps failing.
 * @typedef {object} ModelEvents
 * @property {(progress: ProgressReply) => void} progress
 * @property {(ready: ReadyReply & { loadMs: number, restarted: boolean }) => void} ready
 * @property {(message: string) => void} loadFailed
 * @property {(conv: ConvReply) => void} convLoaded
 * @property {(message: string) => void} failed
 * @property {(restarting: boolean) => void} stopped
 */

/**
 * Makes the page's one client of the model worker, telling the page through `events`.
 * @param {ModelEvents} events
 */
export function createModelClient(events) {
  /** @type {Worker} */
  let worker;
  let startedMs = 0;
  let ready = false;
  let restarts = 0;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let watchdog;
  /** @typedef {{ request: () => WorkerRequest, resolve: (reply: any) => void }} Asked */
  /** @typedef {{ inFlight: Asked | null, next: Asked | null }} Lane */
  /** @type {Record<keyof Lanes, Lane>} */
  const lanes = {
    infer: { inFlight: null, next: null },
    decode: { inFlight: null, next: null },
    interpolate: { inFlight: null, next: null },
  };
  /** @type {{ resolve: (message: string) => void, reject: (error: Error) => void }[]} */
  let uploads = [];

  /** Whether the worker owes an answer. */
  const waiting = () => uploads.length > 0 || Object.values(lanes).some((lane) => lane.inFlight);

  /** Restarts the timer a worker must answer within, while it owes an answer. */
  function watchAnswers() {
    clearTimeout(watchdog);
    if (waiting()) watchdog = setTimeout(restart, ANSWER_TIMEOUT_MS);
  }

  /**
   * @param {WorkerRequest} request
   * @param {Transferable[]} [transfer]
   */
  function send(request, transfer = []) {
    worker.postMessage(request, transfer);
    watchAnswers();
  }

  /**
   * @param {Lane} lane
   * @param {Asked} asked
   */
  function sendOn(lane, asked) {
    lane.inFlight = asked;
    const request = asked.request();
    send(request, 'ink' in request ? [request.ink.buffer] : []);
  }

  /**
   * Resolves the lane's request in flight with `reply`, and sends its next one.
   * @param {Lane} lane
   * @param {WorkerReply | null} reply
   */
  function answered(lane, reply) {
    lane.inFlight?.resolve(reply);
    lane.inFlight = null;
    const queued = lane.next;
    lane.next = null;
    if (queued) sendOn(lane, queued);
  }

  /** @param {WorkerReply} reply */
  function handle(reply) {
    switch (reply.type) {
      case 'ready': {
        const restarted = restarts > 0;
        restarts = 0;
        ready = true;
        events.ready({ ...reply, loadMs: performance.now() - startedMs, restarted });
        break;
      }
      case 'progress':
        events.progress(reply);
        return;
      case 'conv':
        events.convLoaded(reply);
        break;
      case 'result':
      case 'decoded':
      case 'interpolated':
        answered(lanes[LANE_OF_REPLY[reply.type]], reply);
        break;
      case 'uploaded':
        uploads.shift()?.resolve(reply.message);
        break;
      case 'failed':
        if (reply.request === 'upload') uploads.shift()?.reject(new Error(reply.message));
        else if (reply.request === 'load') events.loadFailed(reply.message);
        else events.failed(reply.message);
        if (reply.fatal) {
          restart();
          return;
        }
        if (reply.request in lanes) answered(lanes[/** @type {keyof Lanes} */ (reply.request)], null);
        break;
    }
    // `conv` is news the worker sends unasked, not an answer; the others may leave some owed.
    if (reply.type !== 'conv') watchAnswers();
  }

  /**
   * Starts a worker, or takes over `early`, the one index.html started and asked to load.
   * @param {Window['bottleneckStartup'] | null} early
   */
  function startWorker(early) {
    const started = early?.worker ?? newModelWorker();
    worker = started;
    startedMs = early?.startedMs ?? performance.now();
    started.onmessage = ({ data }) => handle(data);
    // A worker that fails to start or crashes is replaced, so the page never hangs.
    started.onerror = (event) => {
      event.preventDefault();
      restart();
    };
    if (early?.failed) {
      restart();
      return;
    }
    early?.replies.splice(0).forEach(handle);
    if (!early) started.postMessage({ type: 'load' });
  }

  /** Ends the worker, and answers what it owed with null, or rejects it. */
  function stopWorker() {
    clearTimeout(watchdog);
    worker.terminate();
    ready = false;
    for (const lane of Object.values(lanes)) {
      lane.inFlight?.resolve(null);
      lane.next?.resolve(null);
      lane.inFlight = null;
      lane.next = null;
    }
    for (const upload of uploads) upload.reject(new Error('the model worker stopped'));
    uploads = [];
  }

  function restart() {
    stopWorker();
    restarts += 1;
    events.stopped(restarts <= MAX_RESTARTS);
    if (restarts <= MAX_RESTARTS) startWorker(null);
  }

  return {
    /** Takes over the first worker, replaying its answers; events start here. */
    start() {
      startWorker(window.bottleneckStartup);
    },
    /** Starts a fresh worker, which downloads its files again: after a failed load. */
    retry() {
      stopWorker();
      startWorker(null);
    },
    /**
     * Asks on `lane` for the request `request` builds when it is sent: now, or after the one in
     * flight unless a later one is asked for. Null when not sent, failed or cut short.
     * @template {keyof Lanes} L
     * @param {L} lane
     * @param {() => Lanes[L][0]} request
     * @returns {Promise<Lanes[L][1] | null>}
     */
    ask(lane, request) {
      const queue = lanes[lane];
      return new Promise((resolve) => {
        if (queue.inFlight) {
          queue.next?.resolve(null);
          queue.next = { request, resolve };
        } else if (ready) {
          sendOn(queue, { request, resolve });
        } else {
          resolve(null);
        }
      });
    },
    /**
     * Replaces a model by the ONNX file `bytes`: resolves to what it replaced, or rejects.
     * @param {string} name
     * @param {ArrayBuffer} bytes
     * @returns {Promise<string>}
     */
    upload(name, bytes) {
      return new Promise((resolve, reject) => {
        uploads.push({ resolve, reject });
        send({ type: 'upload', name, bytes }, [bytes]);
      });
    },
  };
}

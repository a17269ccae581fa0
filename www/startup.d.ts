// The global that index.html's inline script sets before any module runs (see model-client.js).
import type { WorkerReply } from './protocol.js';

declare global {
  interface Window {
    /** The model worker, started before the page is parsed, and what it did meanwhile. */
    bottleneckStartup: {
      /** Starts a model worker (worker.js). */
      newWorker(): Worker;
      worker: Worker;
      /** When `worker` was started, by performance.now(). */
      startedMs: number;
      /** Whether `worker` failed to start. */
      failed: boolean;
      /** Its answers until the client took it over. */
      replies: WorkerReply[];
    };
  }
}

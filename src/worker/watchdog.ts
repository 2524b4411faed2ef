/**
 * The watchdog: a thread beside the worker's event loop that ends the process when the loop
 * has been blocked too long (a task body that never yields, `while (true) {}`). JavaScript
 * cannot pre-empt such a body, and a blocked worker renews no lease and sends no heartbeat: it
 * would linger, holding its registry entry, while its task is handed to the next worker. Ending
 * the process lets a supervisor start a fresh one; the redelivery cap ends the task for good.
 *
 * The main thread writes a heartbeat to shared memory on a timer and the key of each run it
 * starts; the thread (`watchdog_thread.ts`, a `node:worker_threads` Worker, which Deno, Bun and
 * Node all run) reads them without needing the main thread.
 *
 * @module
 */

import { Worker as Thread } from "node:worker_threads";
import { type RunningTask, WatchdogMemory } from "./watchdog_memory.ts";

/** What the watchdog is told about the worker. */
export interface WatchdogOptions {
  /** How long the event loop may be blocked before the process is ended (ms, > 0). */
  limitMs: number;
  /** The worker's name and docket, for the log line. */
  worker: string;
  docket: string;
  /** The runs in progress, sent to the thread with each heartbeat. */
  running: () => RunningTask[];
}

/**
 * A running watchdog; `stop()` ends its thread.
 *
 * @example
 * ```ts ignore
 * const watchdog = Watchdog.start({ limitMs: 60_000, worker: "w1", docket: "orders", running });
 * watchdog.started("send_email", "welcome-u1");
 * watchdog.stop();
 * ```
 */
export class Watchdog {
  #memory: WatchdogMemory;
  #thread: Thread;
  #timer: ReturnType<typeof setInterval>;
  #running: () => RunningTask[];

  private constructor(options: WatchdogOptions) {
    const buffer = WatchdogMemory.allocate();
    this.#memory = new WatchdogMemory(buffer);
    this.#memory.beat(Date.now());
    this.#running = options.running;
    const every = Math.max(10, Math.min(1_000, Math.floor(options.limitMs / 4)));
    // The thread's module has this module's extension (.ts from source, .js once built).
    const extension = new URL(import.meta.url).pathname.match(/\.[a-z]+$/)?.[0] ?? ".ts";
    this.#thread = new Thread(new URL(`./watchdog_thread${extension}`, import.meta.url), {
      workerData: {
        buffer,
        limitMs: options.limitMs,
        checkEveryMs: every,
        worker: options.worker,
        docket: options.docket,
      },
    });
    this.#thread.unref();
    this.#timer = setInterval(() => this.#beat(), every);
  }

  /** Starts a watchdog with the given limit. */
  static start(options: WatchdogOptions): Watchdog {
    return new Watchdog(options);
  }

  /** Records the run starting now (called before its body runs). */
  started(task: string, key: string): void {
    this.#memory.started(task, key);
  }

  #beat(): void {
    this.#memory.beat(Date.now());
    this.#thread.postMessage({ running: this.#running().slice(0, 50) });
  }

  /** Ends the thread and the heartbeat timer. */
  stop(): void {
    clearInterval(this.#timer);
    void this.#thread.terminate();
  }
}

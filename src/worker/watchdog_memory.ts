/**
 * The memory the watchdog's two sides share: the main thread's last heartbeat (epoch ms) and the
 * key and task of the run it started last, written as it starts (a run that blocks as it starts
 * never lets another message through).
 *
 * @module
 */

/** A run the watchdog names when it ends the process. */
export interface RunningTask {
  /** The task key. */
  key: string;
  /** The task's name. */
  task: string;
}

/** What the watchdog thread is started with. */
export interface WatchdogSetup {
  /** The shared memory (see {@linkcode WatchdogMemory}). */
  buffer: SharedArrayBuffer;
  /** How long the main thread may go without a heartbeat. */
  limitMs: number;
  /** How often the thread looks. */
  checkEveryMs: number;
  /** The worker's name, for the log line. */
  worker: string;
  /** The docket's name, for the log line. */
  docket: string;
}

const TEXT_BYTES = 512;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Layout: bytes 0–7 the last heartbeat, 8–11 the length of the last started run's text, then
 * that text (`task\nkey`, cut at 512 bytes).
 *
 * @example
 * ```ts ignore
 * const memory = new WatchdogMemory(WatchdogMemory.allocate());
 * memory.beat(Date.now());
 * ```
 */
export class WatchdogMemory {
  #beat: BigInt64Array;
  #length: Int32Array;
  #text: Uint8Array;

  /** A buffer of the right size. */
  static allocate(): SharedArrayBuffer {
    return new SharedArrayBuffer(12 + TEXT_BYTES);
  }

  /** Views on a buffer made by `allocate`. */
  constructor(buffer: SharedArrayBuffer) {
    this.#beat = new BigInt64Array(buffer, 0, 1);
    this.#length = new Int32Array(buffer, 8, 1);
    this.#text = new Uint8Array(buffer, 12, TEXT_BYTES);
  }

  /** Records a heartbeat. */
  beat(now: number): void {
    Atomics.store(this.#beat, 0, BigInt(now));
  }

  /** The last heartbeat, epoch ms. */
  lastBeat(): number {
    return Number(Atomics.load(this.#beat, 0));
  }

  /** Records the run starting now. */
  started(task: string, key: string): void {
    const { written } = encoder.encodeInto(`${task}\n${key}`, this.#text);
    Atomics.store(this.#length, 0, written);
  }

  /** The run started last, if any. */
  lastStarted(): RunningTask | undefined {
    const length = Atomics.load(this.#length, 0);
    if (length <= 0) return undefined;
    const text = decoder.decode(this.#text.slice(0, length));
    const split = text.indexOf("\n");
    return { task: text.slice(0, split), key: text.slice(split + 1) };
  }
}

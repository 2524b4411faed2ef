/**
 * The watchdog's thread (see `watchdog.ts`): it reads the heartbeat the worker's main thread
 * writes to shared memory, and when that has not moved for longer than the limit, it writes one
 * JSON log line to stderr naming the running tasks and kills the process. It needs no event
 * loop of the main thread for either, which is blocked by then.
 *
 * @module
 */

import { parentPort, workerData } from "node:worker_threads";
import { writeSync } from "node:fs";
import process from "node:process";
import { type RunningTask, WatchdogMemory, type WatchdogSetup } from "./watchdog_memory.ts";

const setup = workerData as WatchdogSetup;
const memory = new WatchdogMemory(setup.buffer);
let running: RunningTask[] = [];
parentPort?.on("message", (message: { running: RunningTask[] }) => (running = message.running));

function trip(blockedMs: number): void {
  const last = memory.lastStarted();
  const tasks = last && !running.some((task) => task.key === last.key)
    ? [...running, last]
    : running;
  const line = {
    level: 60,
    time: Date.now(),
    pid: process.pid,
    worker: setup.worker,
    docket: setup.docket,
    blockedMs,
    running: tasks,
    msg: `event loop blocked for ${blockedMs} ms (limit ${setup.limitMs} ms), ` +
      `running ${tasks.map((task) => task.key).join(", ") || "nothing"}; ending the process`,
  };
  try {
    writeSync(2, JSON.stringify(line) + "\n");
  } finally {
    // process.exit from a worker thread ends only the thread on some runtimes; a signal to the
    // process itself ends it on Deno, Bun and Node alike.
    process.kill(process.pid, "SIGKILL");
  }
}

setInterval(() => {
  const blockedMs = Date.now() - memory.lastBeat();
  if (blockedMs > setup.limitMs) trip(blockedMs);
}, setup.checkEveryMs);

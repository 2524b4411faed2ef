/**
 * When the subscriber connection drops, what was published meanwhile is lost. Listeners that
 * must not miss an event look again once node-redis has subscribed again: the scheduler looks
 * for due tasks (an announcement of an earlier one may be gone), and a `getResult` waiter reads
 * the record (the end it waits for may have been announced).
 */

import assert from "node:assert/strict";
import { ExecutionCancelledError, task, Worker } from "../../mod.ts";
import type { WorkerInternalOptions } from "../../src/worker/options.ts";
import { connectDocket, waitUntil, withDroppableSubscribers } from "../_harness.ts";

/** Generous: bounds a wait for an event, never a speed. */
const EVENT_TIMEOUT_MS = 30_000;

const noop = task({ name: "noop", run: () => {} });

/** Resolves with `promise`, or rejects when it takes longer than `ms`. */
async function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what}: not within ${EVENT_TIMEOUT_MS} ms`)),
      EVENT_TIMEOUT_MS,
    );
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Counts the calls of `object[method]`; `next()` resolves at the next call. */
function counted<K extends string>(object: Record<K, (...args: any[]) => any>, method: K) {
  const original = object[method].bind(object);
  let calls = 0;
  let onCall: (() => void) | undefined;
  object[method] = ((...args: unknown[]) => {
    calls++;
    onCall?.();
    return original(...args);
  }) as never;
  return {
    get calls() {
      return calls;
    },
    next: () => new Promise<void>((resolve) => (onCall = resolve)),
  };
}

Deno.test("the scheduler looks again once its subscription is back after a drop [redis]", async () => {
  await withDroppableSubscribers(async (url, killSubscribers) => {
    await using docket = await connectDocket("redis", { url });
    docket.register(noop);
    const looks = counted(docket.backend as never, "nextDue");
    // Nothing else would wake it for ten minutes: no announcement, no poll.
    const options: WorkerInternalOptions = {
      schedulingResolution: 600_000,
      nextDueRecheck: 600_000,
      scheduleAutomaticTasks: false,
    };
    const worker = new Worker(docket, options);
    const running = worker.runForever();
    await waitUntil(() => looks.calls >= 1, EVENT_TIMEOUT_MS, "the scheduler's first look");
    const looked = looks.next();
    await killSubscribers();
    await within(looked, "a look after the subscription came back");
    await worker.stop();
    await running;
  });
});

Deno.test("a getResult waiter reads again once its subscription is back after a drop [redis]", async () => {
  await withDroppableSubscribers(async (url, killSubscribers) => {
    await using docket = await connectDocket("redis", { url });
    docket.register(noop);
    const execution = await docket.add(noop, { when: Date.now() + 600_000 })();
    const reads = counted(docket.backend as never, "readRun");
    const firstRead = reads.next();
    const result = execution.getResult({ timeout: 600_000 });
    result.catch(() => {}); // asserted below
    await firstRead;
    const readAgain = reads.next();
    await killSubscribers();
    await within(readAgain, "a read after the subscription came back");
    assert.equal(reads.calls, 2);
    await docket.cancel(execution.key);
    await assert.rejects(result, ExecutionCancelledError);
  });
});

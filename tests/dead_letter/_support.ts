/**
 * What the dead-letter tests share: tasks that fail (always, or until told not to), running a
 * worker until nothing is left, and reading the whole failed set page by page.
 */

import { type Docket, type FailedTask, task, Worker } from "../../mod.ts";
import { FAST } from "../_harness.ts";

/** Always throws `RangeError("boom <n>")`. */
export const boom = task({
  name: "boom",
  run({ n }: { n: number }) {
    throw new RangeError(`boom ${n}`);
  },
});

/** Another task name that always fails, for filters. */
export const fizzle = task({
  name: "fizzle",
  run({ n }: { n: number }) {
    throw new TypeError(`fizzle ${n}`);
  },
});

/** Whether `flaky` fails; tests set it. */
export const flakiness = { failing: true };

/** Fails while `flakiness.failing` is true, else returns `n * 2`. */
export const flaky = task({
  name: "flaky",
  run({ n }: { n: number }) {
    if (flakiness.failing) throw new Error(`flaky ${n}`);
    return n * 2;
  },
});

/** Runs a worker named `name` until nothing is queued or scheduled. */
export async function drain(docket: Docket, name = "dl-worker"): Promise<void> {
  await using worker = new Worker(docket, { ...FAST, name });
  await worker.runUntilFinished();
}

/** Every failed task, following cursors with pages of `limit`. */
export async function allFailed(
  docket: Docket,
  query: { task?: string; limit?: number } = {},
): Promise<FailedTask[]> {
  const items: FailedTask[] = [];
  let cursor: string | undefined;
  do {
    const page = await docket.failed({ ...query, cursor });
    items.push(...page.items);
    cursor = page.cursor;
  } while (cursor);
  return items;
}

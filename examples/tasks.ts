/**
 * Example tasks for `worker.ts --tasks ./examples/tasks.ts`.
 */

import { Retry, task } from "../mod.ts";

/** Adds two numbers. */
export const add = task({
  name: "add",
  logged: { a: true, b: true },
  run: ({ a, b }: { a: number; b: number }) => a + b,
});

/** Waits `ms` milliseconds (aborted by cancellation), reporting progress. */
export const slow = task({
  name: "slow",
  logged: { ms: true },
  async run({ ms, steps = 10 }: { ms: number; steps?: number }, ctx) {
    await ctx.progress.setTotal(steps);
    for (let i = 0; i < steps; i++) {
      await new Promise((resolve) => setTimeout(resolve, ms / steps));
      await ctx.progress.increment();
    }
    return `slept ${ms} ms`;
  },
});

/** Fails the first time, then succeeds. */
export const flaky = task({
  name: "flaky",
  retry: Retry({ attempts: 3, delay: 100 }),
  run(_payload: Record<string, never>, ctx) {
    if (ctx.attempt === 1) throw new Error("first attempt fails");
    return ctx.attempt;
  },
});

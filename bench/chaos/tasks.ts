/**
 * The chaos task: works a little, then writes its own record of the run to Redis, apart from
 * anything the docket keeps, so the run can be counted even when the docket's own records are in
 * doubt. The record is one hash field per run (`<key>|<worker>|<run number in this process>`),
 * written with HSETNX and retried until Redis answers: retrying the same run never counts twice.
 */

import { task } from "../../mod.ts";

/** The hash holding one field per run of a chaos task. */
export function runsKey(docket: string): string {
  return `chaos:${docket}:runs`;
}

let runsHere = 0;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Sleeps `ms` (the work), then records the run. */
export const chaosWork = task({
  name: "chaos_work",
  async run({ ms }: { ms: number }, ctx) {
    await sleep(ms);
    const field = `${ctx.key}|${ctx.worker.name}|${++runsHere}`;
    const value = `${Date.now()}|${ctx.attempt}`;
    for (let tries = 0;; tries++) {
      try {
        const redis = await ctx.docket.redis();
        await redis.sendCommand(["HSETNX", runsKey(ctx.docket.name), field, value]);
        return;
      } catch (error) {
        if (tries % 50 === 0) ctx.logger.warn({ err: error }, "chaos record not written yet");
        await sleep(100);
      }
    }
  },
});

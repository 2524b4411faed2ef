/**
 * Batched adds on Redis: tracked first attempts due now are written with the add_now script, and
 * those made together share one call.
 *
 * @module
 */

import type { ScheduleOutcome, ScheduleRequest } from "../backend.ts";
import type { Arg, RedisAccess } from "./access.ts";
import { text } from "./messages.ts";
import { addNowScript } from "./scripts/add_now.ts";

/** At most this many adds share one add_now call. */
const ADD_NOW_BATCH = 250;

/** One add waiting for its batch's call. */
interface PendingAdd {
  request: ScheduleRequest;
  when: number;
  resolve: (outcome: ScheduleOutcome) => void;
  reject: (error: unknown) => void;
}

/**
 * Writes tracked tasks due now with the add_now script. Such adds made together (in the same
 * turn of the event loop: `addMany`, `schedule`, many `add`s in flight) share one call, each
 * still answered on its own.
 */
export class AddNowBatcher {
  #redis: RedisAccess;
  #batch?: PendingAdd[];

  /** Creates a batcher that writes through `redis`. */
  constructor(redis: RedisAccess) {
    this.#redis = redis;
  }

  /** Adds one task, due at `when`, to the current batch; resolves with its own outcome. */
  add(request: ScheduleRequest, when: number): Promise<ScheduleOutcome> {
    return new Promise((resolve, reject) => {
      let batch = this.#batch;
      if (!batch) {
        batch = this.#batch = [];
        queueMicrotask(() => this.#flush());
      }
      batch.push({ request, when, resolve, reject });
      if (batch.length >= ADD_NOW_BATCH) this.#flush();
    });
  }

  #flush(): void {
    const batch = this.#batch;
    this.#batch = undefined;
    if (!batch || batch.length === 0) return;
    const keys = this.#redis.keys;
    const scriptKeys = [keys.stream];
    const args: Arg[] = [this.#redis.subscribersElsewhere ? "1" : "0"];
    for (const { request, when } of batch) {
      scriptKeys.push(keys.runs(request.key));
      args.push(request.key, request.task, request.data, when, keys.stateChannel(request.key));
    }
    this.#redis.run(addNowScript, scriptKeys, args).then((reply) => {
      // One task is answered bare, a batch with one answer per task.
      const answers = Array.isArray(reply) ? reply : [reply];
      for (let i = 0; i < batch.length; i++) {
        const answer = text(answers[i]);
        if (answer === "OK") batch[i].resolve("scheduled");
        else if (answer === "EXISTS") batch[i].resolve("exists");
        else batch[i].reject(new Error(answer.replace(/^ERR /, "")));
      }
    }, (error) => {
      for (const item of batch) item.reject(error);
    });
  }
}

/**
 * Helpers shared by the ConcurrencyLimit tests (not a test file itself).
 */

import { ConcurrencyLimit, type Docket, task, Worker } from "../../mod.ts";
import type { AdmitOutcome, Consumer } from "../../src/storage/backend.ts";
import { FAST } from "../_harness.ts";
import { Gate } from "./_support.ts";

/** Runs a worker until `body` is done, then stops it. */
export async function withWorker(
  docket: Docket,
  options: ConstructorParameters<typeof Worker>[1],
  body: (worker: Worker) => Promise<void>,
): Promise<void> {
  const worker = new Worker(docket, { ...FAST, ...options });
  const running = worker.runForever();
  try {
    await body(worker);
  } finally {
    await worker.stop();
    await running;
  }
}

/**
 * Registers a task limited to one run per `resource` whose run keyed "holder" blocks until
 * `gate` opens (`started` opens when it begins); `ran` lists the keys of finished runs.
 */
export function heldByKey(docket: Docket, name: string) {
  const gate = new Gate();
  const started = new Gate();
  const ran: string[] = [];
  const job = task({
    name,
    concurrency: ConcurrencyLimit("resource", { max: 1 }),
    async run(_p: { resource: string }, ctx) {
      if (ctx.key === "holder") {
        started.open();
        await gate.opened;
      }
      ran.push(ctx.key);
    },
  });
  docket.register(job);
  return { job, gate, started, ran };
}

/**
 * Registers a task limited to one run per `resource` whose run with `n: 0` blocks until `gate`
 * opens (`started` opens when it begins); `ran` lists the `n` of finished runs.
 */
export function heldByFirst(docket: Docket, name: string) {
  const gate = new Gate();
  const started = new Gate();
  const ran: number[] = [];
  const job = task({
    name,
    concurrency: ConcurrencyLimit("resource", { max: 1 }),
    async run({ n }: { resource: string; n: number }) {
      if (n === 0) {
        started.open();
        await gate.opened;
      }
      ran.push(n);
    },
  });
  docket.register(job);
  return { job, gate, started, ran };
}

/**
 * Claims the next message on the consumer `dead` and admits it to the concurrency limit `name`
 * (of `max`) with a lease of `leaseMs`, as a worker that then dies without releasing anything.
 */
export async function admitOnDead(
  docket: Docket,
  dead: Consumer,
  name: string,
  max: number,
  leaseMs: number,
): Promise<AdmitOutcome> {
  const [delivery] = await dead.claim({
    count: 1,
    blockMs: 0,
    now: Date.now(),
    gated: () => true,
  });
  return await docket.backend.admit({
    delivery,
    worker: "dead",
    checks: [{ kind: "concurrency", name, max }],
    leaseMs,
    ttlMs: docket.executionTtl,
  }, Date.now());
}

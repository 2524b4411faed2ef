/**
 * `deno task bench`: a worker draining pre-filled no-op tasks, fire-and-forget
 * (`executionTtl: 0`), logging off, on Redis and on memory://, at concurrency 1, 10 and 100.
 *
 * Each iteration fills a fresh docket (not timed), then times `worker.runUntilFinished()`: from
 * starting the worker until everything has run, its last check for more work included. Worker
 * knobs are the ones the side-by-side comparison uses (bench/compare/docket_tuning.ts).
 */
import { Worker } from "../mod.ts";
import { benchBackends, noopTask, openDocket, payload } from "./_backends.ts";
import { DEFAULT_DOCKET_TUNING } from "./compare/docket_tuning.ts";

const DRAINS = [
  { concurrency: 1, tasks: 1_000 },
  { concurrency: 10, tasks: 10_000 },
  { concurrency: 100, tasks: 10_000 },
];
const FILL_BATCH = 1_000;

for (const backend of await benchBackends()) {
  for (const { concurrency, tasks } of DRAINS) {
    Deno.bench({
      name: `drain ${tasks.toLocaleString("en-US")} no-op tasks, concurrency ${concurrency} ` +
        `[${backend.name}]`,
      group: `drain, concurrency ${concurrency}`,
      baseline: backend.name === "redis",
      ignore: backend.unavailable !== undefined,
      n: 8,
      warmup: 2,
      async fn(b) {
        await using docket = await openDocket(backend, { executionTtl: 0 });
        const { task, seen } = noopTask();
        docket.register(task);
        const addMany = docket.addMany(task);
        for (let start = 0; start < tasks; start += FILL_BATCH) {
          const end = Math.min(start + FILL_BATCH, tasks);
          await addMany(Array.from({ length: end - start }, (_, k) => payload(start + k)));
        }
        const worker = new Worker(docket, { concurrency, ...DEFAULT_DOCKET_TUNING });
        b.start();
        await worker.runUntilFinished();
        b.end();
        if (seen() !== tasks) throw new Error(`expected ${tasks} runs, saw ${seen()}`);
      },
    });
  }
}

/**
 * `deno task bench`: adding tasks, on Redis and on memory://, logging off, both with state kept
 * (the default 15-minute execution TTL) and fire-and-forget (`executionTtl: 0`).
 *
 * - `add`: one awaited `add` per iteration (its round trip included).
 * - `addMany`: 1,000 tasks in one call per iteration.
 * - `add, 1,000 in flight`: 1,000 `add` calls started together, per iteration.
 *
 * Nothing drains the dockets, so the batch benches run a fixed number of iterations.
 */
import type { Docket } from "../mod.ts";
import { benchBackends, noopTask, openDocket, payload } from "./_backends.ts";

const BATCH = 1_000;
const BATCH_ITERATIONS = { n: 40, warmup: 5 };
const MODES = [
  { label: "state kept", options: {} },
  { label: "fire-and-forget", options: { executionTtl: 0 } },
] as const;

const backends = await benchBackends();

/** Per backend and mode: a docket with the no-op task, opened on first use. */
function sessions() {
  return backends.flatMap((backend) =>
    MODES.map((mode) => {
      const { task } = noopTask();
      let opened: Promise<Docket> | undefined;
      const docket = () =>
        opened ??= openDocket(backend, mode.options).then((d) => {
          d.register(task);
          return d;
        });
      return { backend, mode, task, docket, label: `[${backend.name}, ${mode.label}]` };
    })
  );
}

let next = 0;
const batch = () => Array.from({ length: BATCH }, () => payload(next++));
const count = BATCH.toLocaleString("en-US");

// One group per operation, so each summary compares like with like (Redis, state kept, is the
// baseline).
for (const session of sessions()) {
  let add: ((p: ReturnType<typeof payload>) => Promise<unknown>) | undefined;
  Deno.bench({
    name: `add, one awaited at a time ${session.label}`,
    group: "add, one awaited at a time",
    baseline: session.backend.name === "redis" && session.mode.label === "state kept",
    ignore: session.backend.unavailable !== undefined,
    async fn() {
      add ??= (await session.docket()).add(session.task);
      await add(payload(next++));
    },
  });
}

for (const session of sessions()) {
  Deno.bench({
    ...BATCH_ITERATIONS,
    name: `addMany, ${count} per call ${session.label}`,
    group: `addMany, ${count} per call`,
    baseline: session.backend.name === "redis" && session.mode.label === "state kept",
    ignore: session.backend.unavailable !== undefined,
    async fn(b) {
      const addMany = (await session.docket()).addMany(session.task);
      const payloads = batch();
      b.start();
      await addMany(payloads);
      b.end();
    },
  });
}

for (const session of sessions()) {
  Deno.bench({
    ...BATCH_ITERATIONS,
    name: `add, ${count} in flight ${session.label}`,
    group: `add, ${count} in flight`,
    baseline: session.backend.name === "redis" && session.mode.label === "state kept",
    ignore: session.backend.unavailable !== undefined,
    async fn(b) {
      const add = (await session.docket()).add(session.task);
      const payloads = batch();
      b.start();
      await Promise.all(payloads.map((p) => add(p)));
      b.end();
    },
  });
}

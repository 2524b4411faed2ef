// Importing the type tests makes `deno test` type-check them with the suite: an expected error
// that stops erroring (or an Expect<Equal<…>> that stops holding) fails the run. They have no
// runtime effect beyond defining a few tasks.
import "./types/payload_types.ts";

import assert from "node:assert/strict";
import { type Execution, task, type TaskContext, Worker } from "../mod.ts";
import { BACKENDS, connectDocket, FAST } from "./_harness.ts";
import type { Equal, Expect } from "./types/_expect.ts";

const double = task({
  name: "double",
  run({ n }: { n: number }) {
    return n * 2;
  },
});

const describe = task({
  name: "describe",
  async run({ items }: { items: string[] }, ctx) {
    await ctx.progress.setMessage(`${items.length} items`);
    return { count: items.length, first: items[0] };
  },
});

function shout({ text }: { text: string }, _ctx: TaskContext) {
  return text.toUpperCase();
}

for (const kind of BACKENDS) {
  Deno.test(`${kind}: a typed execution resolves to what its task returned`, async () => {
    await using docket = await connectDocket(kind);
    docket.register(double);
    docket.register(describe);
    docket.register(shout);

    const execution = await docket.add(double)({ n: 21 });
    const [described, shouted] = await docket.schedule([
      { task: describe, payload: { items: ["a", "b"] } },
      { task: shout, payload: { text: "hi" }, key: "shout-1" },
    ]);
    const byName = await docket.add<typeof double>("double")({ n: 5 });

    await new Worker(docket, FAST).runUntilFinished();

    const n: number = await execution.getResult();
    const summary = await described.getResult();
    const loud: string = await shouted.getResult();
    type _summary = Expect<Equal<typeof summary, { count: number; first: string }>>;
    type _byName = Expect<Equal<typeof byName, Execution<number>>>;
    assert.equal(n, 42);
    assert.deepEqual(summary, { count: 2, first: "a" });
    assert.equal(loud, "HI");
    assert.equal(await byName.getResult(), 10);
  });
}

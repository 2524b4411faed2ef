/**
 * Executions: the state machine as events, results and errors, waiting with a timeout.
 */

import assert from "node:assert/strict";
import {
  ExecutionCancelledError,
  type ExecutionEvent,
  ExecutionState,
  task,
  TimeoutError,
  Worker,
} from "../mod.ts";
import { BACKENDS, connectDocket, FAST } from "./_harness.ts";

class PaymentDeclined extends Error {
  constructor(readonly code: string) {
    super(`declined: ${code}`);
    this.name = "PaymentDeclined";
  }
}

const succeed = task({ name: "succeed", run: ({ n }: { n: number }) => ({ doubled: n * 2 }) });
const failWithRange = task({
  name: "fail_with_range",
  run: () => {
    throw new RangeError("out of range");
  },
});
const failWithCustom = task({
  name: "fail_with_custom",
  run: () => {
    throw new PaymentDeclined("card-expired");
  },
});

for (const kind of BACKENDS) {
  Deno.test(`subscribe yields queued, running, completed in order [${kind}]`, async () => {
    await using docket = await connectDocket(kind);
    docket.register(succeed);
    const execution = await docket.add(succeed, { when: Date.now() + 100 })({ n: 2 });
    const states: string[] = [];
    const events = (async () => {
      for await (const event of execution.subscribe()) {
        if (event.type !== "state") continue;
        states.push(event.state);
        if (event.state === ExecutionState.COMPLETED) break;
      }
    })();
    await new Worker(docket, FAST).runUntilFinished();
    await events;
    assert.deepEqual(states, ["scheduled", "queued", "running", "completed"]);
  });

  Deno.test(`the running event names the worker [${kind}]`, async () => {
    await using docket = await connectDocket(kind);
    docket.register(succeed);
    const execution = await docket.add(succeed)({ n: 1 });
    const seen: ExecutionEvent[] = [];
    const events = (async () => {
      for await (const event of execution.subscribe()) {
        seen.push(event);
        if (event.type === "state" && event.state === "completed") break;
      }
    })();
    await new Worker(docket, { ...FAST, name: "named-worker" }).runUntilFinished();
    await events;
    const running = seen.find((e) => e.type === "state" && e.state === "running");
    assert.equal(running?.type === "state" && running.worker, "named-worker");
    assert.ok(running?.type === "state" && running.startedAt instanceof Date);
    assert.equal(seen[1].type, "progress", "the current progress follows the current state");
  });

  Deno.test(`getResult returns the result and keeps errors' classes [${kind}]`, async () => {
    await using docket = await connectDocket(kind);
    for (const t of [succeed, failWithRange, failWithCustom]) docket.register(t);
    const ok = await docket.add(succeed)({ n: 21 });
    const range = await docket.add(failWithRange)({});
    const custom = await docket.add(failWithCustom)({});
    await new Worker(docket, FAST).runUntilFinished();
    assert.deepEqual(await ok.getResult(), { doubled: 42 });
    await assert.rejects(range.getResult(), (error: Error) => {
      assert.ok(error instanceof RangeError);
      assert.equal(error.message, "out of range");
      assert.match(error.stack ?? "", /out of range/);
      return true;
    });
    await assert.rejects(custom.getResult(), (error: Error & { code?: string }) => {
      assert.equal(error.name, "PaymentDeclined");
      assert.equal(error.message, "declined: card-expired");
      assert.equal(error.code, "card-expired");
      return true;
    });
    await custom.sync();
    assert.equal(custom.state, ExecutionState.FAILED);
    assert.equal(custom.error, "PaymentDeclined: declined: card-expired");
  });

  Deno.test(`getResult waits for a running task without polling [${kind}]`, async () => {
    await using docket = await connectDocket(kind);
    docket.register(succeed);
    const execution = await docket.add(succeed, { when: Date.now() + 150 })({ n: 5 });
    const worker = new Worker(docket, FAST);
    const running = worker.runForever();
    assert.deepEqual(await execution.getResult({ timeout: 10_000 }), { doubled: 10 });
    await worker.stop();
    await running;
  });

  Deno.test(`getResult waits idle after an earlier run's end arrives late [${kind}]`, async () => {
    await using docket = await connectDocket(kind);
    docket.register(succeed);
    const execution = await docket.add(succeed, { key: "again", when: Date.now() + 60_000 })({
      n: 1,
    });
    const backend = docket.backend as unknown as {
      readRun(key: string): Promise<unknown>;
      subscribe(
        channel: string,
        listener: (message: string) => void,
        onRestored?: () => void,
      ): Promise<unknown>;
    };
    const readRun = backend.readRun.bind(backend);
    const subscribe = backend.subscribe.bind(backend);
    let reads = 0;
    let firstRead!: () => void;
    const waiting = new Promise<void>((resolve) => (firstRead = resolve));
    backend.readRun = (key) => {
      if (key === "again" && ++reads === 1) firstRead();
      return readRun(key);
    };
    let deliver!: (message: string) => void;
    backend.subscribe = (channel, listener, onRestored) => {
      if (channel === docket.keys.stateChannel("again")) deliver = listener;
      return subscribe(channel, listener, onRestored);
    };
    const result = execution.getResult({ timeout: 60_000 });
    result.catch(() => {}); // asserted below
    await waiting;
    // The end of an earlier run under this key (a worker finishing it late), while the record
    // says the key is scheduled again: the waiter reads once and goes back to waiting.
    deliver(JSON.stringify({ type: "state", key: "again", state: ExecutionState.COMPLETED }));
    // Other work on the same connection: a waiter reading again and again would read meanwhile.
    for (let i = 0; i < 20; i++) await readRun("something-else");
    assert.equal(reads, 2, "one read at the start, one after the event, then none");
    await docket.cancel("again");
    await assert.rejects(result, ExecutionCancelledError);
    assert.equal(reads, 3);
  });

  Deno.test(`subscribe reads the state again once its subscription is back [${kind}]`, async () => {
    await using docket = await connectDocket(kind);
    docket.register(succeed);
    const execution = await docket.add(succeed, { when: Date.now() + 60_000 })({ n: 1 });
    const backend = docket.backend as unknown as {
      subscribe(c: string, l: (m: string) => void, r?: () => void): Promise<unknown>;
    };
    const subscribe = backend.subscribe.bind(backend);
    const restores: (() => void)[] = [];
    let down = false;
    backend.subscribe = (channel, listener, onRestored) => {
      if (onRestored) restores.push(onRestored);
      return subscribe(channel, (m) => down || listener(m), onRestored);
    };
    const events = execution.subscribe();
    assert.equal(((await events.next()).value as ExecutionEvent).type, "state");
    assert.equal(((await events.next()).value as ExecutionEvent).type, "progress");
    const next = events.next();
    // The connection is down: the cancel's event never arrives (nor any after it). Then the
    // subscription is reported back: only reading the record again can tell of the cancel.
    down = true;
    await docket.cancel(execution.key);
    assert.ok(restores.length > 0, "subscribe asked to hear of a restored subscription");
    for (const restored of restores) restored();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const silent = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("no event after the restore")), 30_000);
    });
    const event = (await Promise.race([next, silent])).value as ExecutionEvent;
    clearTimeout(timer);
    assert.deepEqual([event.type, event.type === "state" && event.state], ["state", "cancelled"]);
    await events.return(undefined);
  });

  Deno.test(`getResult times out, and refuses timeout with deadline [${kind}]`, async () => {
    await using docket = await connectDocket(kind);
    docket.register(succeed);
    const execution = await docket.add(succeed, { when: Date.now() + 60_000 })({ n: 1 });
    const started = Date.now();
    await assert.rejects(execution.getResult({ timeout: 100 }), TimeoutError);
    assert.ok(Date.now() - started >= 90);
    await assert.rejects(execution.getResult({ deadline: Date.now() - 1 }), TimeoutError);
    await assert.rejects(
      execution.getResult({ timeout: 1, deadline: new Date() }),
      /timeout or deadline, not both/,
    );
  });

  Deno.test(`a task that returns nothing has an undefined result [${kind}]`, async () => {
    await using docket = await connectDocket(kind);
    const nothing = task({ name: "nothing", run: () => {} });
    docket.register(nothing);
    const execution = await docket.add(nothing)({});
    await new Worker(docket, FAST).runUntilFinished();
    assert.equal(await execution.getResult(), undefined);
  });

  Deno.test(`a result that cannot be stored fails the task, saying why [${kind}]`, async () => {
    await using docket = await connectDocket(kind);
    const bad = task({ name: "bad_result", run: () => new Map([["a", 1]]) });
    docket.register(bad);
    const execution = await docket.add(bad)({});
    await new Worker(docket, FAST).runUntilFinished();
    await assert.rejects(execution.getResult(), /result is a Map/);
  });
}

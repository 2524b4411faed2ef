/**
 * Small helpers shared by the behaviour tests (not a test file itself).
 */

import { type Docket, type Execution, ExecutionState } from "../../mod.ts";
import { type BackendKind, BACKENDS } from "../_harness.ts";

/** Registers one test per backend, named `name [backend]`. */
export function eachBackend(
  name: string,
  fn: (kind: BackendKind) => Promise<void>,
  options: Omit<Deno.TestDefinition, "name" | "fn"> = {},
): void {
  for (const kind of BACKENDS) {
    Deno.test({ ...options, name: `${name} [${kind}]`, fn: () => fn(kind) });
  }
}

/** A promise with its resolve function, for events raised inside task bodies. */
export function signal<T = void>(): PromiseWithResolvers<T> {
  return Promise.withResolvers<T>();
}

/** Rejects after `ms` with a message saying what was awaited, so a hang fails clearly. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits for an execution to reach a terminal state, through its events (no polling). */
export async function settled(execution: Execution, ms = 10_000): Promise<ExecutionState> {
  const terminal = new Set<string>([
    ExecutionState.COMPLETED,
    ExecutionState.FAILED,
    ExecutionState.CANCELLED,
  ]);
  // Leaving the for-await loop closes the subscription.
  return await within(
    (async () => {
      for await (const event of execution.subscribe()) {
        if (event.type === "state" && terminal.has(event.state)) return event.state;
      }
      throw new Error("event stream ended");
    })(),
    ms,
    `${execution.key} to settle`,
  );
}

/** The record of `key` as the store holds it now. */
export async function record(docket: Docket, key: string) {
  return await docket.backend.readRun(key);
}

/** How many copies of `key` are waiting (stream plus future queue). */
export async function waitingCopies(docket: Docket, key: string): Promise<number> {
  const pending = await docket.backend.pending(10_000);
  return pending.stream.filter((entry) => entry.message.key === key).length +
    pending.queue.filter((message) => message.key === key).length;
}

/** The log records (parsed pino JSON lines) whose message contains `text`. */
export function linesWith(lines: string[], text: string): Record<string, unknown>[] {
  return lines.map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((record) => String(record.msg).includes(text));
}

/**
 * Records an execution's state events until a terminal one. Await `ready` before starting the
 * work, so no event is missed; `done` resolves on the terminal state.
 */
export function watchStates(
  execution: Execution,
): { ready: Promise<void>; done: Promise<void>; states: string[] } {
  const states: string[] = [];
  const ready = Promise.withResolvers<void>();
  const done = (async () => {
    for await (const event of execution.subscribe()) {
      if (event.type !== "state") continue;
      // The first event is the state at subscription time: from then on nothing is missed.
      if (states.length === 0) ready.resolve();
      states.push(event.state);
      if (event.state === "completed" || event.state === "failed" || event.state === "cancelled") {
        return;
      }
    }
  })();
  done.catch(ready.reject);
  return { ready: ready.promise, done, states };
}

/**
 * Every child process the comparison starts (Bun drains, worker processes), so that none outlives
 * it: run.ts kills what is left on its exit paths and on Ctrl-C. And the line reader both kinds of
 * child answer through.
 */

const running = new Set<Deno.ChildProcess>();

/** Registers a started child until it exits; returns it. */
export function tracked(child: Deno.ChildProcess): Deno.ChildProcess {
  running.add(child);
  child.status.finally(() => running.delete(child));
  return child;
}

/** SIGKILLs every child still running. */
export function killChildren(): void {
  for (const child of running) {
    try {
      child.kill("SIGKILL");
    } catch { /* already exited */ }
  }
}

/** The lines of a child's output stream as they come, without their line ends. */
export async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let pending = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    const parts = (pending + text).split("\n");
    pending = parts.pop()!;
    yield* parts;
  }
  if (pending !== "") yield pending;
}

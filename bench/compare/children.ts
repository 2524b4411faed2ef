/**
 * Every child process the comparison starts (Bun drains, worker processes), so that none outlives
 * it: run.ts kills what is left on its exit paths and on Ctrl-C.
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

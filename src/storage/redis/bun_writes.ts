/**
 * Two costs node-redis pays on Bun and not on Deno or Node, removed here (on Bun only).
 *
 * Writes: node-redis encodes a command as several chunks (the RESP header and string arguments
 * as one string, each Buffer argument on its own) and writes each chunk with `socket.write()`
 * between `cork()` and `uncork()`. Node and Deno hand the corked chunks to one `writev`. Bun
 * does too at the system-call level (one `sendto` per batch), but on its way there it runs its
 * JavaScript stream machinery for every chunk and turns every string chunk into a Buffer of its
 * own before concatenating them all: with 100 commands in flight that was over half of the
 * client's CPU. Here the chunks of consecutive commands are joined before node-redis writes
 * them ({@linkcode coalesceCommands}), so a batch reaches the socket as a few large writes.
 * node-redis's own `write()` still does the writing: it still corks, still stops pulling
 * commands from its queue when the socket asks to drain (now after a group of at most
 * {@linkcode GROUP_BYTES} rather than after one command), and still swallows an `EPIPE` from a
 * half-closed socket. Commands keep their order; a reconnect opens a new socket under the same
 * `write()`, so nothing is lost or bypassed.
 *
 * Tracing: node-redis skips its per-command tracing (a sanitised copy of the arguments, a Buffer
 * payload decoded to a string, five channel publications) only when a tracing channel says
 * `hasSubscribers === false`. Bun's `TracingChannel` has no `hasSubscribers` (oven-sh/bun#27805),
 * so every command was traced for nobody. The getter Node defines is added where it is missing:
 * true while any of the five channels has a subscriber, so a tracer that subscribes still sees
 * every command.
 *
 * Both changes apply to node-redis itself (the copy docket imports), so the connections node-redis
 * opens on its own (Cluster nodes, Sentinel masters, duplicates) get them too, as do clients a
 * caller passes in; they change no bytes on the wire and no reply.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import diagnostics from "node:diagnostics_channel";
import { createClient } from "redis";
import { runtimeName } from "../../runtime.ts";

/** A chunk node-redis writes: a RESP string or a Buffer argument. */
type Chunk = string | Buffer;

/**
 * The most bytes joined into one chunk. Large enough that a batch of small commands goes out in a
 * few writes, small enough that the socket's drain signal is still heard every few kilobytes.
 */
export const GROUP_BYTES = 16 * 1024;

/** A Buffer argument at least this large is passed on as it is, not copied into a group. */
const OWN_CHUNK_BYTES = 4 * 1024;

/** Joins a run of chunks into one: a string when they all are, else one Buffer. */
function joined(run: Chunk[], onlyStrings: boolean): Chunk {
  if (run.length === 1) return run[0];
  if (onlyStrings) return (run as string[]).join("");
  let size = 0;
  for (const chunk of run) {
    size += typeof chunk === "string" ? Buffer.byteLength(chunk) : chunk.length;
  }
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const chunk of run) {
    at += typeof chunk === "string" ? out.write(chunk, at) : chunk.copy(out, at);
  }
  return out;
}

/**
 * The encoded commands of `commands` (each an array of chunks), regrouped: each item is the
 * chunks of one or more whole consecutive commands, small chunks joined into one (large Buffer
 * arguments kept apart, uncopied), about {@linkcode GROUP_BYTES} at most unless one command is
 * larger. Commands are pulled from `commands` only as items are pulled from the result, and
 * every command pulled is in the item yielded next: a consumer that stops early has written
 * every command it took.
 */
export function* coalesceCommands(
  commands: Iterable<ReadonlyArray<Chunk>>,
  groupBytes = GROUP_BYTES,
): Generator<Chunk[], void, undefined> {
  const source = commands[Symbol.iterator]();
  try {
    for (;;) {
      const group: Chunk[] = [];
      let run: Chunk[] = [];
      let onlyStrings = true;
      let size = 0;
      let exhausted = false;
      while (size < groupBytes) {
        const next = source.next();
        if (next.done) {
          exhausted = true;
          break;
        }
        for (const chunk of next.value) {
          if (typeof chunk === "string") {
            run.push(chunk);
            size += chunk.length;
          } else if (chunk.length >= OWN_CHUNK_BYTES) {
            if (run.length > 0) group.push(joined(run, onlyStrings));
            group.push(chunk);
            run = [];
            onlyStrings = true;
            size += chunk.length;
          } else {
            run.push(chunk);
            onlyStrings = false;
            size += chunk.length;
          }
        }
      }
      if (run.length > 0) group.push(joined(run, onlyStrings));
      if (group.length > 0) yield group;
      if (exhausted) return;
    }
  } finally {
    source.return?.();
  }
}

const PATCHED = Symbol.for("docket.coalescedWrites");

/**
 * node-redis's socket class, which node-redis does not export: read off the socket of a client
 * that never connects (taken out and put back through node-redis's internal socket handoff, then
 * the client is destroyed, which also takes it off node-redis's metrics registry).
 */
function redisSocketPrototype(): any {
  const client: any = createClient();
  try {
    if (typeof client._ejectSocket !== "function" || typeof client._insertSocket !== "function") {
      return undefined;
    }
    const socket = client._ejectSocket();
    client._insertSocket(socket);
    const prototype = socket && Object.getPrototypeOf(socket);
    return typeof prototype?.write === "function" ? prototype : undefined;
  } finally {
    client.destroy();
  }
}

/** Makes node-redis's socket write coalesced commands; false where its shape is not the known one. */
function coalesceRedisWrites(): boolean {
  const prototype = redisSocketPrototype();
  if (!prototype) return false;
  if (prototype[PATCHED]) return true;
  const write = prototype.write;
  prototype.write = function (commands: Iterable<ReadonlyArray<Chunk>>) {
    return write.call(this, coalesceCommands(commands));
  };
  prototype[PATCHED] = true;
  return true;
}

/** Adds Node's `TracingChannel.hasSubscribers` where the runtime lacks it. */
function defineTracingHasSubscribers(): void {
  if (typeof diagnostics.tracingChannel !== "function") return;
  const prototype = Object.getPrototypeOf(diagnostics.tracingChannel("docket:probe"));
  if (!prototype || "hasSubscribers" in prototype) return;
  Object.defineProperty(prototype, "hasSubscribers", {
    configurable: true,
    get(this: Record<string, { hasSubscribers?: boolean } | undefined>) {
      return ["start", "end", "asyncStart", "asyncEnd", "error"]
        .some((name) => this[name]?.hasSubscribers === true);
    },
  });
}

let applied: { writes: boolean } | undefined;

/**
 * Applies the Bun changes above once per process (nothing on Deno and Node). Returns whether
 * node-redis's writes are coalesced (for tests: a node-redis whose internals changed shape is
 * left as it is, and a test says so).
 */
export function adaptRedisToRuntime(): { writes: boolean } {
  if (applied) return applied;
  if (runtimeName() !== "bun") return (applied = { writes: false });
  defineTracingHasSubscribers();
  return (applied = { writes: coalesceRedisWrites() });
}

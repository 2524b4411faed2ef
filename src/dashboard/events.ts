/**
 * `/events`: the docket's state and progress events as Server-Sent Events, straight from its
 * pub/sub (the store publishes them; nothing here polls). Events published while the server's
 * subscription was down are lost, so once it is back a `resync` event tells the page to read the
 * whole view again.
 *
 * @module
 */

import type { Docket } from "../docket.ts";

/** How often a comment line keeps idle connections (and proxies) from timing out. */
const KEEPALIVE_MS = 15_000;

/**
 * A streaming response relaying every state and progress event of the docket until the client
 * goes away (the runtime cancels the body's stream).
 *
 * @example
 * ```ts ignore
 * const response = await eventStream(docket);
 * ```
 */
export async function eventStream(docket: Docket): Promise<Response> {
  const encoder = new TextEncoder();
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let open = true;
  const send = (text: string) => {
    if (!open) return;
    try {
      controller.enqueue(encoder.encode(text));
    } catch {
      open = false;
    }
  };
  const unsubscribe = await docket.backend.subscribeEvents((message) => {
    let type = "message";
    try {
      const parsed = JSON.parse(message) as { type?: unknown };
      if (parsed.type === "state" || parsed.type === "progress") type = parsed.type;
    } catch {
      return;
    }
    send(`event: ${type}\ndata: ${message.replace(/\n/g, "")}\n\n`);
  }, () => send("event: resync\ndata: {}\n\n"));
  let keepalive: ReturnType<typeof setInterval> | undefined;
  const stop = () => {
    if (!open && keepalive === undefined) return;
    open = false;
    clearInterval(keepalive);
    keepalive = undefined;
    void unsubscribe();
    try {
      controller.close();
    } catch {
      // Already closed by the client.
    }
  };
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
      send(": connected\n\nretry: 2000\n\n");
      keepalive = setInterval(() => send(": keepalive\n\n"), KEEPALIVE_MS);
    },
    cancel: stop,
  });
  return new Response(body, {
    headers: {
      "Content-Type": "text/event-stream",
      "Cache-Control": "no-store",
      "X-Accel-Buffering": "no",
    },
  });
}

/**
 * Serving a fetch handler on Deno or Bun, for `cli.ts dashboard`.
 *
 * @module
 */

/** A running server. */
export interface RunningServer {
  /** The address it listens on (`http://127.0.0.1:8765/`). */
  url: string;
  /** Stops listening and ends open connections. */
  close(): Promise<void>;
}

type Handler = (request: Request) => Response | Promise<Response>;

/**
 * Listens on `host:port` (port 0 picks a free one) with the runtime's own HTTP server.
 *
 * @example
 * ```ts ignore
 * const server = await serveFetch(handler, { host: "127.0.0.1", port: 8765 });
 * await server.close();
 * ```
 */
export function serveFetch(
  handler: Handler,
  options: { host: string; port: number },
): Promise<RunningServer> {
  const g = globalThis as any;
  const shown = options.host.includes(":") ? `[${options.host}]` : options.host;
  if (g.Bun) {
    const server = g.Bun.serve({
      hostname: options.host,
      port: options.port,
      fetch: handler,
      idleTimeout: 0,
    });
    return Promise.resolve({
      url: `http://${shown}:${server.port}/`,
      close: async () => {
        await server.stop(true);
      },
    });
  }
  if (g.Deno) {
    return new Promise((resolve) => {
      const server = g.Deno.serve({
        hostname: options.host,
        port: options.port,
        onListen: ({ port }: { port: number }) =>
          resolve({
            url: `http://${shown}:${port}/`,
            close: async () => {
              await server.shutdown();
            },
          }),
      }, handler);
    });
  }
  throw new Error("the dashboard command runs on Deno or Bun");
}

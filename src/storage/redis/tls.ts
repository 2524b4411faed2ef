/**
 * TLS options for `rediss://` connections: a CA to trust, a client certificate and key (for a
 * server with `tls-auth-clients yes`), and the usual checks.
 *
 * @module
 */

import { readFileSync } from "node:fs";

/**
 * TLS settings of a `rediss://`, `rediss+cluster://` or `rediss+sentinel://` connection. `ca`,
 * `cert` and `key` are PEM text, or paths of PEM files (a string that holds `-----BEGIN` is
 * taken as PEM, anything else as a path).
 *
 * @example
 * ```ts ignore
 * import { Docket } from "@docket/core";
 * await Docket.connect({
 *   url: "rediss://redis.internal:6380/0",
 *   tls: { ca: "/etc/ssl/redis-ca.pem", cert: "/etc/ssl/app.pem", key: "/etc/ssl/app.key" },
 * });
 * ```
 */
export interface TlsOptions {
  /** The certificate authority (or authorities) that signed the server's certificate. */
  ca?: string | string[];
  /** The client certificate, for servers that require one. */
  cert?: string;
  /** The client certificate's private key. */
  key?: string;
  /** Refuse a server whose certificate does not verify. Default `true`. */
  rejectUnauthorized?: boolean;
  /** The name the server's certificate must carry, when it differs from the host. */
  servername?: string;
}

/** The socket options node-redis takes for TLS (Node's `tls.connect` options). */
export interface TlsSocketOptions {
  tls: true;
  ca?: string[];
  cert?: string;
  key?: string;
  rejectUnauthorized?: boolean;
  servername?: string;
}

function pem(value: string, field: string): string {
  if (value.includes("-----BEGIN")) return value;
  try {
    return readFileSync(value, "utf8");
  } catch (error) {
    throw new TypeError(
      `tls.${field}: "${value}" is neither PEM text nor a readable file ` +
        `(${(error as Error).message})`,
    );
  }
}

/**
 * Checks TLS options and reads the files they name; `undefined` when there are none.
 *
 * @example
 * ```ts ignore
 * tlsSocketOptions({ ca: "-----BEGIN CERTIFICATE-----…" }); // { tls: true, ca: ["-----BEGIN…"] }
 * ```
 */
export function tlsSocketOptions(options: TlsOptions | undefined): TlsSocketOptions | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      "tls must be an object: { ca?, cert?, key?, rejectUnauthorized?, servername? }",
    );
  }
  const known = new Set(["ca", "cert", "key", "rejectUnauthorized", "servername"]);
  for (const field of Object.keys(options)) {
    if (!known.has(field)) {
      throw new TypeError(`unknown tls option "${field}" (known: ${[...known].join(", ")})`);
    }
  }
  if ((options.cert === undefined) !== (options.key === undefined)) {
    throw new TypeError("tls.cert and tls.key go together: give both or neither");
  }
  const socket: TlsSocketOptions = { tls: true };
  if (options.ca !== undefined) {
    const list = Array.isArray(options.ca) ? options.ca : [options.ca];
    socket.ca = list.map((ca) => pem(ca, "ca"));
  }
  if (options.cert !== undefined) socket.cert = pem(options.cert, "cert");
  if (options.key !== undefined) socket.key = pem(options.key, "key");
  if (options.rejectUnauthorized !== undefined) {
    socket.rejectUnauthorized = options.rejectUnauthorized;
  }
  if (options.servername !== undefined) socket.servername = options.servername;
  return socket;
}

/**
 * The TLS options every connecting command takes (`--tls-ca`, `--tls-cert`, `--tls-key`,
 * `--tls-servername`, `--tls-insecure`) with their `DOCKET_TLS_*` environment defaults.
 *
 * @module
 */

import type { TlsOptions } from "../storage/redis/tls.ts";
import { env } from "./parsing.ts";

/**
 * The `parseArgs` options for TLS.
 *
 * @example
 * ```ts
 * import { parseArgs } from "node:util";
 * import { TLS_OPTIONS } from "./tls_options.ts";
 * const { values } = parseArgs({ args: ["--tls-ca", "ca.pem"], options: TLS_OPTIONS });
 * values["tls-ca"]; // "ca.pem"
 * ```
 */
export const TLS_OPTIONS = {
  "tls-ca": { type: "string" },
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
  "tls-servername": { type: "string" },
  "tls-insecure": { type: "boolean" },
} as const;

/**
 * Help lines for {@linkcode TLS_OPTIONS}.
 *
 * @example
 * ```ts
 * import { TLS_HELP } from "./tls_options.ts";
 * console.log(TLS_HELP);
 * ```
 */
export const TLS_HELP =
  `  --tls-ca <pem|path>            CA that signed the server certificate, for rediss:// [DOCKET_TLS_CA]
  --tls-cert <pem|path>          client certificate [DOCKET_TLS_CERT]
  --tls-key <pem|path>           client certificate's key [DOCKET_TLS_KEY]
  --tls-servername <name>        name the server certificate must carry [DOCKET_TLS_SERVERNAME]
  --tls-insecure                 do not verify the server certificate [DOCKET_TLS_INSECURE=1]`;

/**
 * The TLS options from the flags, else the environment; `undefined` when none is set.
 *
 * @example
 * ```ts
 * import { resolveTls } from "./tls_options.ts";
 * resolveTls({ "tls-servername": "redis.internal" }); // { servername: "redis.internal" }
 * ```
 */
export function resolveTls(values: {
  "tls-ca"?: string;
  "tls-cert"?: string;
  "tls-key"?: string;
  "tls-servername"?: string;
  "tls-insecure"?: boolean;
}): TlsOptions | undefined {
  const tls: TlsOptions = {};
  const ca = values["tls-ca"] ?? env("DOCKET_TLS_CA");
  const cert = values["tls-cert"] ?? env("DOCKET_TLS_CERT");
  const key = values["tls-key"] ?? env("DOCKET_TLS_KEY");
  const servername = values["tls-servername"] ?? env("DOCKET_TLS_SERVERNAME");
  const insecure = values["tls-insecure"] ??
    ["1", "true", "yes"].includes((env("DOCKET_TLS_INSECURE") ?? "").toLowerCase());
  if (ca !== undefined) tls.ca = ca;
  if (cert !== undefined) tls.cert = cert;
  if (key !== undefined) tls.key = key;
  if (servername !== undefined) tls.servername = servername;
  if (insecure) tls.rejectUnauthorized = false;
  return Object.keys(tls).length ? tls : undefined;
}

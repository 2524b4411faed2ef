/**
 * Keeping the passwords of the command line's Redis URLs (`--url`, `DOCKET_URL`) out of what a
 * command prints, whatever error carried them.
 *
 * @module
 */

import { redactSecrets, secretsOf } from "../storage/redis/url.ts";
import { env } from "./parsing.ts";

/**
 * `message` with the passwords of `--url` (in `args`) and `DOCKET_URL` replaced by `***`.
 *
 * @example
 * ```ts
 * import { redactCommandLine } from "./redact.ts";
 * redactCommandLine("bad p/ss", ["--url", "redis://u:p/ss@h/0"]); // "bad ***"
 * ```
 */
export function redactCommandLine(message: string, args: readonly string[]): string {
  const urls: string[] = [];
  args.forEach((arg, i) => {
    if (arg === "--url" && args[i + 1] !== undefined) urls.push(args[i + 1]);
    else if (arg.startsWith("--url=")) urls.push(arg.slice("--url=".length));
  });
  const fromEnv = env("DOCKET_URL");
  if (fromEnv) urls.push(fromEnv);
  return redactSecrets(message, urls.flatMap(secretsOf));
}

/**
 * Lua scripts, loaded once and called by SHA.
 *
 * A script is sent with EVALSHA; when the server answers NOSCRIPT (first use, a restart, a
 * SCRIPT FLUSH, a failover) it is loaded with SCRIPT LOAD and the call is sent again.
 *
 * @module
 */

import { createHash } from "node:crypto";

/** A Lua script with a name for errors and logs. */
export interface LuaScript {
  readonly name: string;
  readonly source: string;
  readonly sha: string;
}

/**
 * Declares a script. Its KEYS and ARGV are documented at the top of the Lua source.
 *
 * @example
 * ```ts ignore
 * const echo = defineScript("echo", "return ARGV[1]");
 * ```
 */
export function defineScript(name: string, source: string): LuaScript {
  return { name, source, sha: createHash("sha1").update(source).digest("hex") };
}

/** Sends one command; the Redis backend provides it over node-redis. */
export type SendCommand = (args: (string | Uint8Array)[], binary?: boolean) => Promise<unknown>;

/**
 * Runs a script by SHA, loading it when the server does not have it.
 */
export async function runScript(
  send: SendCommand,
  script: LuaScript,
  keys: string[],
  args: (string | number | Uint8Array)[],
  binary = false,
): Promise<unknown> {
  // Built in one pass: this runs once per add, claim and finish.
  const command: (string | Uint8Array)[] = new Array(3 + keys.length + args.length);
  command[0] = "EVALSHA";
  command[1] = script.sha;
  command[2] = String(keys.length);
  let at = 3;
  for (let i = 0; i < keys.length; i++) command[at++] = keys[i];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    command[at++] = typeof arg === "number" ? String(arg) : arg;
  }
  try {
    return await send(command, binary);
  } catch (error) {
    if (!String((error as Error)?.message).startsWith("NOSCRIPT")) throw error;
    await send(["SCRIPT", "LOAD", script.source]);
    return await send(command, binary);
  }
}

/**
 * The eviction check at connect: a Redis that may evict keys under memory pressure can drop a
 * task's message or record, and that work is then lost without a trace.
 *
 * @module
 */

import type { BackendWarn } from "../backend.ts";
import type { Arg } from "./access.ts";

/**
 * Warns once when `maxmemory-policy` is anything but `noeviction`. Says nothing where the
 * policy cannot be read (an ACL user without `CONFIG GET`, a managed Redis that hides CONFIG).
 */
export async function warnIfEvicting(
  send: (args: Arg[]) => Promise<unknown>,
  warn: BackendWarn,
): Promise<void> {
  let reply: unknown;
  try {
    reply = await send(["CONFIG", "GET", "maxmemory-policy"]);
  } catch {
    return;
  }
  const policy = policyOf(reply);
  if (policy === undefined || policy === "noeviction") return;
  warn(
    `Redis maxmemory-policy is "${policy}", not "noeviction": under memory pressure Redis may ` +
      `evict this docket's keys and lose tasks; set maxmemory-policy noeviction`,
    { maxmemoryPolicy: policy },
  );
}

function policyOf(reply: unknown): string | undefined {
  if (Array.isArray(reply)) return reply[1] === undefined ? undefined : String(reply[1]);
  if (reply && typeof reply === "object") {
    const value = (reply as Record<string, unknown>)["maxmemory-policy"];
    return value === undefined ? undefined : String(value);
  }
  return undefined;
}

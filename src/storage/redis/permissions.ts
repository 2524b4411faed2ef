/**
 * Least-privilege Redis ACLs for one docket, and clear errors when Redis refuses something.
 *
 * A docket needs its own keys (`~{name}*`), its own channels (`&{name}*`) and the commands below.
 * ACLs apply inside Lua scripts too, so the list holds what the scripts call as well as what is
 * sent directly. Redis's own refusal inside a script names neither the command nor the script
 * (`ERR The user executing the script can't run this command…, on @user_script:12`); the
 * wrapper here reads the line of the script it names and says which command it was, and which
 * `ACL SETUSER` line grants what the docket needs.
 *
 * @module
 */

import { PermissionError } from "../../errors.ts";
import type { LuaScript } from "./script.ts";
import type { RedisConnection, SendOptions } from "./connection.ts";

/**
 * Every command a docket sends, directly or from its scripts (lower case, subcommands as
 * `command|sub`). `select` is needed only with a database other than 0.
 */
export const DOCKET_COMMANDS: readonly string[] = [
  // scripts and their loading
  "evalsha",
  "script|load",
  // streams: the work stream and the strike stream
  "xadd",
  "xack",
  "xclaim",
  "xdel",
  "xgroup|create",
  "xgroup|delconsumer",
  "xinfo|consumers",
  "xlen",
  "xpending",
  "xrange",
  "xread",
  "xreadgroup",
  "xrevrange",
  "xtrim",
  // sorted sets: the schedule, the worker registry, flow control, the dead-letter index
  "zadd",
  "zcard",
  "zcount",
  "zrange",
  "zrangebyscore",
  "zrem",
  "zremrangebyscore",
  "zrevrangebyscore",
  "zscore",
  "zmscore",
  // hashes: execution records and progress
  "hdel",
  "hexists",
  "hget",
  "hgetall",
  "hincrby",
  "hmget",
  "hset",
  // sets, strings and keys
  "sadd",
  "smembers",
  "get",
  "set",
  "del",
  "exists",
  "pexpire",
  "pttl",
  // pub/sub: state, progress and cancellation events
  "publish",
  "subscribe",
  "unsubscribe",
  // pub/sub of every event, for the dashboard
  "psubscribe",
  "punsubscribe",
  // pub/sub: who listens, so scripts skip the events of a batch nobody hears
  "pubsub|numpat",
  "pubsub|numsub",
  // connection
  "ping",
  "select",
];

/**
 * A docket name as an ACL glob: `*`, `?`, `[`, `]` and `\` are matched literally.
 *
 * @example
 * ```ts ignore
 * escapeGlob("jobs*eu"); // "jobs\\*eu"
 * ```
 */
export function escapeGlob(name: string): string {
  return name.replace(/[*?[\]\\]/g, "\\$&");
}

/**
 * The ACL rules that let a user run one docket and nothing else.
 *
 * @example
 * ```ts ignore
 * aclRules("orders"); // "resetkeys ~{orders}* resetchannels &{orders}* -@all +evalsha …"
 * ```
 */
export function aclRules(name: string): string {
  const pattern = `{${escapeGlob(name)}}*`;
  return `resetkeys ~${pattern} resetchannels &${pattern} -@all ` +
    DOCKET_COMMANDS.map((command) => `+${command}`).join(" ");
}

/**
 * The `ACL SETUSER` line for `user` on docket `name` (for an existing user: its password
 * stays as it is).
 */
export function aclSetuserLine(name: string, user = "<user>"): string {
  return `ACL SETUSER ${user} on ${aclRules(name)}`;
}

/** Where a refused command came from, to name it in the error. */
export interface RefusalContext {
  /** The docket's name. */
  docket: string;
  /** The ACL user (from the URL), if known. */
  user?: string;
  /** The command sent. */
  args: readonly (string | Uint8Array)[];
  /** The scripts by SHA, to name one that was refused from inside. */
  scripts?: ReadonlyMap<string, LuaScript>;
}

function isRefusal(message: string): boolean {
  return message.startsWith("NOPERM") ||
    /^ERR The user executing the script can't/.test(message);
}

/** The Redis command called on `line` of a script's source. */
function commandAtLine(script: LuaScript, line: number): string | undefined {
  const text = script.source.split("\n")[line - 1] ?? "";
  return /redis\.p?call\(\s*['"]([A-Za-z]+)['"]/.exec(text)?.[1]?.toLowerCase();
}

function what(message: string, context: RefusalContext): string {
  const sent = String(context.args[0] ?? "").toLowerCase();
  const inScript = /script: ([0-9a-f]{40}), on @user_script:(\d+)/.exec(message);
  if (inScript) {
    const script = context.scripts?.get(inScript[1]);
    const command = script ? commandAtLine(script, Number(inScript[2])) : undefined;
    const where = script ? ` in docket's "${script.name}" script` : " in a script";
    if (/access at least one of the keys/.test(message)) {
      return `a key passed to '${command ?? "a command"}'${where}`;
    }
    return `the '${command ?? "(unknown)"}' command${where}`;
  }
  const refusedCommand = /run the '([^']+)' command/.exec(message)?.[1];
  if (refusedCommand) return `the '${refusedCommand}' command`;
  const keys = context.args.filter((arg) =>
    typeof arg === "string" && arg.startsWith(`{${context.docket}}`)
  );
  if (/channels/.test(message)) return `the channel ${keys.join(", ") || "(unknown)"} ('${sent}')`;
  if (/keys/.test(message)) return `the key ${keys.join(", ") || "(unknown)"} ('${sent}')`;
  return `'${sent}'`;
}

/**
 * Turns Redis's refusal (`NOPERM…`, or its in-script form) into a {@linkcode PermissionError}
 * that names what was refused and the ACL line that fixes it; any other error is returned as is.
 */
export function explainRefusal(error: unknown, context: RefusalContext): unknown {
  const message = (error as Error)?.message;
  if (typeof message !== "string" || !isRefusal(message)) return error;
  return new PermissionError(
    `Redis refused ${what(message, context)} to ${
      context.user ? `user "${context.user}"` : "this connection's user"
    } (${message}). A docket needs its keys, its channels and a set of commands; grant them ` +
      `with: ${aclSetuserLine(context.docket, context.user)}`,
    { cause: error },
  );
}

/**
 * A connection whose refused commands fail with a {@linkcode PermissionError} (see
 * {@linkcode explainRefusal}); for the connections the backend derives (readers, subscriber).
 */
export class ExplainedConnection implements RedisConnection {
  readonly inner: RedisConnection;
  readonly #context: Omit<RefusalContext, "args">;
  constructor(inner: RedisConnection, context: Omit<RefusalContext, "args">) {
    this.inner = inner;
    this.#context = context;
  }
  get isReady(): boolean {
    return this.inner.isReady;
  }
  sendCommand(args: (string | Buffer)[], options?: SendOptions): Promise<unknown> {
    return this.inner.sendCommand(args, options).catch((error) => {
      throw explainRefusal(error, { ...this.#context, args });
    });
  }
  duplicate(): RedisConnection {
    return new ExplainedConnection(this.inner.duplicate(), this.#context);
  }
  connect(): Promise<unknown> {
    return this.inner.connect();
  }
  on(event: "error" | "ready", listener: (error: Error) => void): unknown {
    return this.inner.on(event, listener);
  }
  async subscribe(channel: string, listener: (message: string) => void): Promise<void> {
    try {
      await this.inner.subscribe(channel, listener);
    } catch (error) {
      throw explainRefusal(error, { ...this.#context, args: ["SUBSCRIBE", channel] });
    }
  }
  unsubscribe(channel: string, listener: (message: string) => void): Promise<void> {
    return this.inner.unsubscribe(channel, listener);
  }
  async pSubscribe(pattern: string, listener: (message: string) => void): Promise<void> {
    try {
      await this.inner.pSubscribe(pattern, listener);
    } catch (error) {
      throw explainRefusal(error, { ...this.#context, args: ["PSUBSCRIBE", pattern] });
    }
  }
  pUnsubscribe(pattern: string, listener: (message: string) => void): Promise<void> {
    return this.inner.pUnsubscribe(pattern, listener);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
  destroy(): void {
    this.inner.destroy();
  }
}

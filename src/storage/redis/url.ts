/**
 * Reading Redis URLs, and keeping their passwords out of every message.
 *
 * URLs are parsed here rather than by node-redis so that a password may hold any character
 * (`/`, `@`, `%`, `:`), written raw or percent-encoded: the credentials end at the last `@`
 * of the URL, and the password starts after the first `:` of them. (So an `@` in the query,
 * such as in `sentinel_password`, must be percent-encoded, as query values should be.)
 *
 * @module
 */

/** A host and port. */
export interface RedisNode {
  host: string;
  port: number;
}

/** What every URL kind carries: TLS or not, and the data nodes' credentials. */
interface UrlCommon {
  tls: boolean;
  username?: string;
  password?: string;
}

/** A Redis URL, read: standalone, Cluster (one node to discover it from) or Sentinel. */
export type RedisUrl =
  | UrlCommon & { kind: "standalone"; node: RedisNode; database: number }
  | UrlCommon & { kind: "cluster"; node: RedisNode }
  | UrlCommon & {
    kind: "sentinel";
    sentinels: RedisNode[];
    master: string;
    database: number;
    sentinelUsername?: string;
    sentinelPassword?: string;
  };

const SCHEMES: Record<string, { kind: RedisUrl["kind"]; tls: boolean }> = {
  "redis:": { kind: "standalone", tls: false },
  "rediss:": { kind: "standalone", tls: true },
  "redis+cluster:": { kind: "cluster", tls: false },
  "rediss+cluster:": { kind: "cluster", tls: true },
  "redis+sentinel:": { kind: "sentinel", tls: false },
  "rediss+sentinel:": { kind: "sentinel", tls: true },
};

const SCHEME_LIST = "redis://, rediss://, redis+cluster://, rediss+cluster://, " +
  "redis+sentinel://, rediss+sentinel:// or memory://";

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text; // a raw `%` that starts no escape is part of the password
  }
}

/** The URL cut into scheme, credentials, hosts, path and query (credentials end at the last `@`). */
function splitUrl(url: string) {
  const match = /^([a-z][a-z0-9+.-]*:)\/\/(.*)$/is.exec(url.trim());
  if (!match) return undefined;
  const [, scheme, rest] = match;
  const at = rest.lastIndexOf("@");
  const userinfo = at < 0 ? undefined : rest.slice(0, at);
  const afterAt = rest.slice(at + 1);
  const end = afterAt.search(/[/?#]/);
  const hosts = end < 0 ? afterAt : afterAt.slice(0, end);
  const tail = end < 0 ? "" : afterAt.slice(end);
  const query = tail.indexOf("?");
  const path = (query < 0 ? tail : tail.slice(0, query)).replace(/#.*$/, "");
  const params = new URLSearchParams(query < 0 ? "" : tail.slice(query + 1).replace(/#.*$/, ""));
  let username: string | undefined;
  let password: string | undefined;
  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(":");
    username = decode(colon < 0 ? userinfo : userinfo.slice(0, colon)) || undefined;
    password = colon < 0 ? undefined : decode(userinfo.slice(colon + 1));
  }
  return { scheme: scheme.toLowerCase(), username, password, hosts, path, params };
}

function parseNode(text: string, defaultPort: number, url: string): RedisNode {
  let parsed: URL;
  try {
    parsed = new URL(`redis://${text}`);
  } catch {
    throw new TypeError(`"${text}" is not a valid host:port in ${redactUrl(url)}`);
  }
  if (!parsed.hostname) throw new TypeError(`a host is missing in ${redactUrl(url)}`);
  const host = parsed.hostname.replace(/^\[(.*)\]$/, "$1");
  return { host, port: parsed.port ? Number(parsed.port) : defaultPort };
}

function parseDatabase(text: string | undefined, url: string): number {
  if (text === undefined || text === "") return 0;
  if (!/^\d+$/.test(text)) {
    throw new TypeError(`the database must be a number, got "${text}" in ${redactUrl(url)}`);
  }
  return Number(text);
}

/**
 * Reads a Redis URL; a malformed one is a `TypeError` that names the problem (its password
 * hidden).
 *
 * @example
 * ```ts ignore
 * parseRedisUrl("redis+sentinel://h1:26379,h2/mymaster/2");
 * // { kind: "sentinel", sentinels: [h1:26379, h2:26379], master: "mymaster", database: 2, … }
 * ```
 */
export function parseRedisUrl(url: string): RedisUrl {
  const parts = splitUrl(url);
  if (!parts) {
    throw new TypeError(`"${redactUrl(url)}" is not a valid URL (expected redis://host:port/db)`);
  }
  const scheme = SCHEMES[parts.scheme];
  if (!scheme) {
    throw new TypeError(
      `unsupported URL scheme "${parts.scheme}" in ${redactUrl(url)}: use ${SCHEME_LIST}`,
    );
  }
  const common = { tls: scheme.tls, username: parts.username, password: parts.password };
  const segments = parts.path.split("/").filter(Boolean);
  if (scheme.kind === "sentinel") {
    const sentinels = parts.hosts.split(",").map((s) => s.trim()).filter(Boolean)
      .map((member) => parseNode(member, 26379, url));
    if (sentinels.length === 0) throw new TypeError(`no sentinel host in ${redactUrl(url)}`);
    if (!segments[0]) {
      throw new TypeError(
        `the master name is missing in ${redactUrl(url)} ` +
          `(expected redis+sentinel://host:port,host:port/<master-name>[/db])`,
      );
    }
    return {
      ...common,
      kind: "sentinel",
      sentinels,
      master: decode(segments[0]),
      database: parseDatabase(segments[1], url),
      sentinelUsername: parts.params.get("sentinel_username") ?? undefined,
      sentinelPassword: parts.params.get("sentinel_password") ?? undefined,
    };
  }
  if (parts.hosts.includes(",")) {
    throw new TypeError(`only a sentinel URL lists several hosts, got ${redactUrl(url)}`);
  }
  const node = parseNode(parts.hosts || "localhost", 6379, url);
  if (scheme.kind === "cluster") {
    if (segments.length > 1 || (segments[0] ?? "0") !== "0") {
      throw new TypeError(`a Redis Cluster has only database 0, got ${redactUrl(url)}`);
    }
    return { ...common, kind: "cluster", node };
  }
  if (segments.length > 1) throw new TypeError(`unexpected path in ${redactUrl(url)}`);
  return { ...common, kind: "standalone", node, database: parseDatabase(segments[0], url) };
}

/**
 * Hides the password of a URL (and of its `sentinel_password` parameter) before it is shown.
 *
 * @example
 * ```ts ignore
 * redactUrl("redis://app:s3cr/t@redis:6379/0"); // "redis://app:***@redis:6379/0"
 * ```
 */
export function redactUrl(url: string): string {
  return url
    .replace(/^([a-z][a-z0-9+.-]*:\/\/)([^:@]*):(.*)@(?=[^@]*$)/is, "$1$2:***@")
    .replace(/(sentinel_password=)[^&#]*/gi, "$1***");
}

/**
 * The secret strings of a URL (its passwords, raw, decoded and encoded): every message that
 * might carry one passes through {@linkcode redactSecrets}.
 */
export function secretsOf(url: string): string[] {
  const parts = splitUrl(url);
  if (!parts) return [];
  const secrets = new Set<string>();
  const fromQuery = [...parts.params].filter(([name]) => /password/i.test(name)).map(([, v]) => v);
  for (const secret of [parts.password, ...fromQuery]) {
    if (!secret) continue;
    secrets.add(secret);
    secrets.add(encodeURIComponent(secret));
  }
  const at = url.lastIndexOf("@");
  const colon = url.indexOf(":", url.indexOf("//") + 2);
  if (at > 0 && colon > 0 && colon < at) secrets.add(url.slice(colon + 1, at));
  return [...secrets].filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
}

/**
 * Replaces every secret in `text` with `***`, and hides URL passwords.
 *
 * @example
 * ```ts ignore
 * redactSecrets("AUTH failed for p@ss", ["p@ss"]); // "AUTH failed for ***"
 * ```
 */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let result = text;
  for (const secret of secrets) result = result.split(secret).join("***");
  return result.replace(/([a-z][a-z0-9+.-]*:\/\/)([^:@\s/]*):([^\s]*)@/gi, "$1$2:***@");
}

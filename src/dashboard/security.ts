/**
 * The dashboard's guards: a session cookie, the per-session CSRF token every action must carry,
 * the bearer token or login cookie a `token` requires, and the response headers (a strict
 * Content-Security-Policy among them).
 *
 * Sessions are stateless: the session id is random, and the CSRF token and the proof of login
 * are HMACs of it under a key made when the dashboard starts, so nothing grows per visitor and
 * a restart signs everyone out.
 *
 * @module
 */

/** The session id cookie. */
export const SESSION_COOKIE = "docket_session";
/** The cookie that proves a login (only with a token). */
export const AUTH_COOKIE = "docket_auth";

/** Every page's Content-Security-Policy: own scripts and styles only, nothing inline. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join("; ");

/** Headers set on every response. */
export const SECURITY_HEADERS: Record<string, string> = {
  "Content-Security-Policy": CONTENT_SECURITY_POLICY,
  "X-Content-Type-Options": "nosniff",
  "X-Frame-Options": "DENY",
  "Referrer-Policy": "no-referrer",
  "Cache-Control": "no-store",
};

const encoder = new TextEncoder();

function hex(bytes: ArrayBuffer | Uint8Array): string {
  return [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** True when two strings are equal, compared in time that does not depend on where they differ. */
export function sameText(a: string, b: string): boolean {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

/**
 * Signs session ids: the CSRF token and the login proof of a session.
 *
 * @example
 * ```ts
 * import { SessionSigner } from "./security.ts";
 * const signer = new SessionSigner();
 * const sid = SessionSigner.newSessionId();
 * const csrf = await signer.csrf(sid);
 * await signer.checkCsrf(sid, csrf); // true
 * ```
 */
export class SessionSigner {
  #key: Promise<CryptoKey>;

  constructor() {
    this.#key = crypto.subtle.generateKey({ name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  }

  /** A fresh random session id. */
  static newSessionId(): string {
    return hex(crypto.getRandomValues(new Uint8Array(18)));
  }

  async #sign(purpose: string, sid: string): Promise<string> {
    const signature = await crypto.subtle.sign(
      "HMAC",
      await this.#key,
      encoder.encode(
        `${purpose}:${sid}`,
      ),
    );
    return hex(signature);
  }

  /** The CSRF token of a session. */
  csrf(sid: string): Promise<string> {
    return this.#sign("csrf", sid);
  }

  /** True when `token` is the CSRF token of `sid`. */
  async checkCsrf(sid: string | undefined, token: string | undefined): Promise<boolean> {
    if (!sid || !token) return false;
    return sameText(await this.csrf(sid), token);
  }

  /** The login proof of a session (the value of the auth cookie). */
  loginProof(sid: string): Promise<string> {
    return this.#sign("auth", sid);
  }

  /** True when `proof` is the login proof of `sid`. */
  async checkLogin(sid: string | undefined, proof: string | undefined): Promise<boolean> {
    if (!sid || !proof) return false;
    return sameText(await this.loginProof(sid), proof);
  }
}

/** The bearer token of an `Authorization` header, if any. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(.+)$/i.exec(header ?? "");
  return match?.[1].trim();
}

/** A `Set-Cookie` value: HttpOnly, SameSite=Strict, for the whole dashboard. */
export function cookie(name: string, value: string, path: string): string {
  return `${name}=${value}; Path=${path || "/"}; HttpOnly; SameSite=Strict`;
}

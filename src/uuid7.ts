/**
 * Time-ordered UUIDs (version 7) for task keys, monotonic within a millisecond.
 *
 * @module
 */

let lastMillis = 0;
let sequence = 0;

/**
 * Returns a new UUIDv7 string: 48 bits of epoch milliseconds, then a 12-bit counter that keeps
 * keys made in the same millisecond in order, then random bits.
 *
 * @example
 * ```ts
 * import { uuid7 } from "@docket/core";
 * uuid7(); // "019c4f1e-6a2b-7c3d-9e4f-0123456789ab"
 * ```
 */
export function uuid7(now: number = Date.now()): string {
  if (now > lastMillis) {
    lastMillis = now;
    sequence = Math.floor(Math.random() * 0x400);
  } else {
    sequence++;
    if (sequence > 0xfff) {
      lastMillis++;
      sequence = 0;
    }
  }
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  let millis = lastMillis;
  for (let i = 5; i >= 0; i--) {
    bytes[i] = millis % 256;
    millis = Math.floor(millis / 256);
  }
  bytes[6] = 0x70 | (sequence >> 8);
  bytes[7] = sequence & 0xff;
  bytes[8] = 0x80 | (bytes[8] & 0x3f);
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${
    hex.slice(20)
  }`;
}

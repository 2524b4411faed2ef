/**
 * Time-ordered UUIDs (version 7) for task keys, monotonic within a millisecond.
 *
 * @module
 */

let lastMillis = 0;
let sequence = 0;

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"));
/** Random bytes drawn in bulk: one `getRandomValues` call serves 512 keys. */
const RANDOM = new Uint8Array(8 * 512);
let randomAt = RANDOM.length;
/** The time part (`xxxxxxxx-xxxx-`) is the same for every key made in one millisecond. */
let prefixMillis = -1;
let prefix = "";

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
  if (lastMillis !== prefixMillis) {
    prefixMillis = lastMillis;
    const time = (lastMillis % 2 ** 48).toString(16).padStart(12, "0");
    prefix = `${time.slice(0, 8)}-${time.slice(8, 12)}-`;
  }
  if (randomAt + 8 > RANDOM.length) {
    crypto.getRandomValues(RANDOM);
    randomAt = 0;
  }
  const r = randomAt;
  randomAt += 8;
  return prefix + HEX[0x70 | (sequence >> 8)] + HEX[sequence & 0xff] + "-" +
    HEX[0x80 | (RANDOM[r] & 0x3f)] + HEX[RANDOM[r + 1]] + "-" + HEX[RANDOM[r + 2]] +
    HEX[RANDOM[r + 3]] + HEX[RANDOM[r + 4]] + HEX[RANDOM[r + 5]] + HEX[RANDOM[r + 6]] +
    HEX[RANDOM[r + 7]];
}

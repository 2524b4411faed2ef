/**
 * Text from the store made safe to print: keys, task and docket names, worker names, errors and
 * messages are whatever a producer wrote, and a raw control character in them (an `ESC[2J`
 * clears the screen, a `\r` overwrites a line) would act on the terminal of whoever runs the
 * command. Every command prints such text through {@linkcode printable}.
 *
 * @module
 */

/**
 * Escapes control characters (C0, DEL, C1), line and paragraph separators and the bidirectional
 * overrides as `\n`, `\t`, `\r`, `\xNN` or `\uNNNN`, so the text shows as it is and acts on
 * nothing. Other text, Unicode included, is left as it is.
 *
 * @example
 * ```ts
 * import { printable } from "./printable.ts";
 * printable("order\x1b[2J"); // "order\\x1b[2J"
 * ```
 */
export function printable(text: string): string {
  let out = "";
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const escaped = escapeFor(code);
    if (escaped === undefined) continue;
    out += text.slice(from, i) + escaped;
    from = i + 1;
  }
  return from === 0 ? text : out + text.slice(from);
}

const NAMED: Record<number, string> = { 0x09: "\\t", 0x0a: "\\n", 0x0d: "\\r" };

function escapeFor(code: number): string | undefined {
  if (code < 0x20 || code === 0x7f) {
    return NAMED[code] ?? `\\x${code.toString(16).padStart(2, "0")}`;
  }
  const unsafe = (code >= 0x80 && code <= 0x9f) || code === 0x2028 || code === 0x2029 ||
    (code >= 0x202a && code <= 0x202e) || (code >= 0x2066 && code <= 0x2069);
  return unsafe ? `\\u${code.toString(16).padStart(4, "0")}` : undefined;
}

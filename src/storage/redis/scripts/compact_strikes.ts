/**
 * The `compact_strikes` Lua script: replaces the history of the strike stream with one snapshot
 * of the strikes in effect.
 *
 * @module
 */

import { defineScript } from "../script.ts";

/**
 * Appends a snapshot entry (every strike in effect, as the caller computed it from the stream up
 * to its last entry) and trims every entry before it, in one atomic step. Nothing is done unless
 * the caller has applied the stream's newest entry (an instruction it has not seen would be lost)
 * and the stream holds at least `min length` entries. A reader anywhere in the trimmed history
 * next reads the snapshot, which replaces its whole set, so it stays consistent.
 */
export const compactStrikesScript = defineScript(
  "compact_strikes",
  `
-- KEYS[1] strike stream
-- ARGV[1] id of the newest entry the caller has applied   ARGV[2] encoded snapshot
-- ARGV[3] min length: compact only a stream holding at least this many entries
-- Returns the snapshot entry's id, or '' when nothing was done.
local stream = KEYS[1]
if redis.call('XLEN', stream) < tonumber(ARGV[3]) then return '' end
local newest = redis.call('XREVRANGE', stream, '+', '-', 'COUNT', 1)[1]
if not newest or newest[1] ~= ARGV[1] then return '' end
local id = redis.call('XADD', stream, '*', 'i', ARGV[2])
redis.call('XTRIM', stream, 'MINID', id)
return id
`,
);

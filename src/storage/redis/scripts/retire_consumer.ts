/**
 * The `retire_consumer` Lua script: removes a stopped worker's consumer from the group.
 *
 * @module
 */

import { defineScript } from "../script.ts";

/**
 * Deletes one consumer from the stream's consumer group, but only while nothing is pending for
 * it (XGROUP DELCONSUMER would drop its pending messages, which must stay to be redelivered).
 */
export const retireConsumerScript = defineScript(
  "retire_consumer",
  `
-- KEYS[1] stream of due work
-- ARGV[1] consumer group   ARGV[2] consumer name
-- Returns 1 when the consumer was deleted, 0 when it holds messages or there is no group.
local pending = redis.pcall('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2])
if type(pending) ~= 'table' or pending.err or #pending > 0 then return 0 end
redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
return 1
`,
);

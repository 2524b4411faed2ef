/**
 * The `renew_slots` Lua script: renews the concurrency slots of running tasks.
 *
 * @module
 */

import { defineScript } from "../script.ts";

/**
 * Renews the concurrency slots of running tasks: each member still present gets the current
 * time as its score (a slot cleared as stale is not brought back), and each slot set's
 * lifetime is extended.
 */
export const renewSlotsScript = defineScript(
  "renew_slots",
  `
-- KEYS[i] slot set (zset) of the i-th hold
-- ARGV[1] now (ms)   ARGV[2] slot set lifetime (ms)   ARGV[2 + i] member of the i-th hold
-- Returns how many slots were renewed.
local now, ttl = ARGV[1], ARGV[2]
local renewed = 0
for i = 1, #KEYS do
  renewed = renewed + redis.call('ZADD', KEYS[i], 'XX', 'CH', now, ARGV[2 + i])
  redis.call('PEXPIRE', KEYS[i], ttl)
end
return renewed
`,
);

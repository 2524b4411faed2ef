/**
 * The `progress` Lua script: updates a task's progress record and publishes it.
 *
 * @module
 */

import { defineScript } from "../script.ts";

/**
 * Updates a task's progress atomically (set total, set or clear the message, increment) and
 * publishes the whole new record, so concurrent increments never lose a count and every observer
 * sees the same sequence.
 */
export const progressScript = defineScript(
  "progress",
  `
-- KEYS[1] progress hash (also the name of the progress channel)
-- ARGV[1] task key   ARGV[2] generation of the run   ARGV[3] now (epoch ms)
-- ARGV[4] total ('' unchanged)   ARGV[5] message ('' unchanged)   ARGV[6] 1 clears the message
-- ARGV[7] increment ('' or 0: none)   ARGV[8] record ttl (ms)
-- Returns {current, total, message or false, updated}.
local progress = KEYS[1]
local key, generation, now = ARGV[1], ARGV[2], ARGV[3]
-- A record from an earlier generation belongs to a previous attempt (a retry, a replaced run):
-- this attempt starts afresh.
local stored = tonumber(redis.call('HGET', progress, 'gen'))
if stored and stored < tonumber(generation) then redis.call('DEL', progress) end
redis.call('HSET', progress, 'gen', generation, 'updated', now)
if redis.call('HEXISTS', progress, 'current') == 0 then
  redis.call('HSET', progress, 'current', 0)
end
if ARGV[4] ~= '' then redis.call('HSET', progress, 'total', ARGV[4]) end
if ARGV[6] == '1' then
  redis.call('HDEL', progress, 'message')
elseif ARGV[5] ~= '' then
  redis.call('HSET', progress, 'message', ARGV[5])
end
if ARGV[7] ~= '' and ARGV[7] ~= '0' then redis.call('HINCRBY', progress, 'current', ARGV[7]) end
redis.call('PEXPIRE', progress, ARGV[8])
local values = redis.call('HMGET', progress, 'current', 'total', 'message', 'updated')
local event = {type = 'progress', key = key, current = tonumber(values[1]),
  total = tonumber(values[2]), updatedAt = tonumber(values[4])}
if values[3] then event.message = values[3] end
redis.call('PUBLISH', progress, cjson.encode(event))
return values
`,
);

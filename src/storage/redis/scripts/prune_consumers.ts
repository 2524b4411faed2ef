/**
 * The `prune_consumers` Lua script: removes the consumers of workers that are gone.
 *
 * @module
 */

import { defineScript } from "../script.ts";

/**
 * Deletes every consumer of the group that has nothing pending, has been idle at least the
 * given time, and whose worker is not in the registry with a heartbeat newer than the stale
 * time: what a worker that died (or stopped before consumer cleanup existed) leaves behind.
 */
export const pruneConsumersScript = defineScript(
  "prune_consumers",
  `
-- KEYS[1] stream of due work   KEYS[2] worker registry (sorted set by last heartbeat)
-- ARGV[1] consumer group   ARGV[2] now (ms)   ARGV[3] stale after (ms)   ARGV[4] minimum idle (ms)
-- ARGV[5] at most this many deleted per call
-- Returns the names of the deleted consumers.
local group, now, stale = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local min_idle, limit = tonumber(ARGV[4]), tonumber(ARGV[5])
local consumers = redis.pcall('XINFO', 'CONSUMERS', KEYS[1], group)
if type(consumers) ~= 'table' or consumers.err then return {} end
local deleted = {}
for _, flat in ipairs(consumers) do
  if #deleted >= limit then break end
  local info = {}
  for i = 1, #flat, 2 do info[flat[i]] = flat[i + 1] end
  if info.pending == 0 and tonumber(info.idle) >= min_idle then
    local seen = tonumber(redis.call('ZSCORE', KEYS[2], info.name))
    if seen == nil or seen < now - stale then
      redis.call('XGROUP', 'DELCONSUMER', KEYS[1], group, info.name)
      deleted[#deleted + 1] = info.name
    end
  end
end
return deleted
`,
);

/**
 * The `purge_failed` Lua script: removes dead-letter entries.
 *
 * @module
 */

import { defineScript } from "../script.ts";

/**
 * Removes the dead-letter entries named, each only if it still names the task the caller read
 * and failed at or before the cutoff (an entry written again meanwhile stays). Members whose
 * entry is gone are removed from both indexes; a member of a task index whose entry now names
 * another task is removed from that index only.
 */
export const purgeFailedScript = defineScript(
  "purge_failed",
  `
-- KEYS[1] dead-letter index
-- then 2 keys per entry: its entry hash, the dead-letter index of the task name the caller read
-- ARGV[1] cutoff: only entries that failed at or before it (epoch ms)
-- ARGV[2] 'task' when the caller scans a task's index, 'all' when it scans KEYS[1]
-- then 2 values per entry: task key, that task name
-- Returns {entries removed, members removed from the index the caller scans}
local index = KEYS[1]
local cutoff, scanning = tonumber(ARGV[1]), ARGV[2]
local purged, removed = 0, 0
for i = 1, (#ARGV - 2) / 2 do
  local entry, by_task = KEYS[2 * i], KEYS[2 * i + 1]
  local key, expected = ARGV[2 * i + 1], ARGV[2 * i + 2]
  local found = redis.call('HMGET', entry, 'task', 'failed')
  if not found[1] then
    redis.call('ZREM', index, key)
    redis.call('ZREM', by_task, key)
    removed = removed + 1
  elseif found[1] ~= expected then
    redis.call('ZREM', by_task, key)
    if scanning == 'task' then removed = removed + 1 end
  elseif tonumber(found[2]) <= cutoff then
    redis.call('DEL', entry)
    redis.call('ZREM', index, key)
    redis.call('ZREM', by_task, key)
    purged = purged + 1
    removed = removed + 1
  end
end
return {purged, removed}
`,
);

/**
 * The `retry_failed` Lua script: puts dead-letter entries back on the stream as fresh tasks.
 *
 * @module
 */

import { defineScript } from "../script.ts";

/**
 * Reruns tasks that failed for good, each with the payload its entry kept: a fresh runs record
 * (attempt 1, the next generation, no result or error, holding the payload), a message on the
 * stream due now (without the payload: the claim takes it from the record), a
 * `queued` event, and the entry removed from the set. A key that is scheduled, queued or running
 * again is left alone (`live`), entry and all.
 */
export const retryFailedScript = defineScript(
  "retry_failed",
  `
-- KEYS[1] dead-letter index    KEYS[2] stream of due work
-- then 3 keys per entry: its entry hash, its runs hash, the dead-letter index of the task name
--   the caller read from the entry
-- ARGV[1] now (epoch ms), then 3 values per entry: task key, that task name, state channel
-- Returns one outcome per entry: 'retried', 'missing' (no entry), 'live' (key live again),
--   'changed' (the entry now names another task: read it again and retry)
local index, stream = KEYS[1], KEYS[2]
local now = ARGV[1]
local outcomes = {}
for i = 1, (#ARGV - 1) / 3 do
  local entry, runs, by_task = KEYS[3 * i], KEYS[3 * i + 1], KEYS[3 * i + 2]
  local key, expected, channel = ARGV[3 * i - 1], ARGV[3 * i], ARGV[3 * i + 1]
  local found = redis.call('HMGET', entry, 'task', 'data')
  local task, data = found[1], found[2]
  if not task then
    redis.call('ZREM', index, key)
    outcomes[i] = 'missing'
  elseif task ~= expected then
    redis.call('ZREM', by_task, key)
    outcomes[i] = 'changed'
  else
    local current = redis.call('HMGET', runs, 'state', 'gen')
    local state = current[1]
    if state == 'scheduled' or state == 'queued' or state == 'running' then
      outcomes[i] = 'live'
    else
      local generation = (tonumber(current[2]) or 0) + 1
      redis.call('DEL', runs)
      -- No payload in the message: it is stored once, in the runs record (the claim returns it).
      local id = redis.call('XADD', stream, '*', 'k', key, 't', task, 'w', now, 'a', '1',
        'g', generation)
      -- Neither the key (in the record's name) nor the attempt (a missing one is the first).
      redis.call('HSET', runs, 'state', 'queued', 'task', task, 'data', data, 'when', now,
        'gen', generation, 'sid', id)
      redis.call('PUBLISH', channel,
        cjson.encode({type = 'state', key = key, state = 'queued', when = tonumber(now)}))
      redis.call('DEL', entry)
      redis.call('ZREM', index, key)
      redis.call('ZREM', by_task, key)
      outcomes[i] = 'retried'
    end
  end
end
return outcomes
`,
);

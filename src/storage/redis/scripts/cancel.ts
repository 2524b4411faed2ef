/**
 * The `cancel` Lua script: cancels a task in any state and announces it.
 *
 * @module
 */

import { defineScript } from "../script.ts";

/**
 * Cancels a task in any state: waiting copies are removed from the stream (including a future
 * task that has come due but is not yet claimed) and from the queue, the record becomes a
 * cancelled tombstone, and the cancellation is announced so a worker running the task aborts it.
 */
export const cancelScript = defineScript(
  "cancel",
  `
-- KEYS[1] runs hash   KEYS[2] stream   KEYS[3] queue   KEYS[4] parked hash   KEYS[5] progress hash
-- KEYS[6] tombstone marker: lives at least as long as any record written here for a key that had
--   none (workers look for such records only while the marker exists)
-- ARGV[1] task key    ARGV[2] now (epoch ms)    ARGV[3] execution ttl (ms; 0 keeps nothing)
-- ARGV[4] consumer group    ARGV[5] state channel    ARGV[6] cancel channel
-- ARGV[7] tombstone ttl (ms) for keys with no record, so an untracked copy is still skipped
-- Returns the state the task was in ('' when there was no record).
local runs, stream, queue, parked, progress, marker = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5],
  KEYS[6]
local key, now, ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local group, state_channel, cancel_channel = ARGV[4], ARGV[5], ARGV[6]
local tombstone_ttl = tonumber(ARGV[7])

local current = redis.call('HMGET', runs, 'state', 'sid', 'when')
local state, stream_id = current[1], current[2]
-- A future task's record leaves its due time to the queue's score: the tombstone keeps it.
local due = nil
if state == 'scheduled' and not current[3] then due = redis.call('ZSCORE', queue, key) end
if stream_id then
  redis.call('XACK', stream, group, stream_id)
  redis.call('XDEL', stream, stream_id)
end
redis.call('ZREM', queue, key)
redis.call('DEL', parked, progress)

if not state then
  local life = ttl > 0 and ttl or tombstone_ttl
  redis.call('HSET', runs, 'state', 'cancelled', 'completed', now)
  redis.call('PEXPIRE', runs, life)
  if redis.call('PTTL', marker) < life then redis.call('SET', marker, now, 'PX', life) end
elseif state == 'scheduled' or state == 'queued' or state == 'running' then
  if due then
    redis.call('HSET', runs, 'state', 'cancelled', 'completed', now, 'when', due)
  else
    redis.call('HSET', runs, 'state', 'cancelled', 'completed', now)
  end
  redis.call('HDEL', runs, 'sid')
  if ttl > 0 then
    redis.call('PEXPIRE', runs, ttl)
  else
    redis.call('DEL', runs)
  end
  if state ~= 'running' then
    redis.call('PUBLISH', state_channel,
      cjson.encode({type = 'state', key = key, state = 'cancelled', completedAt = now}))
  end
end
redis.call('PUBLISH', cancel_channel, key)
return state or ''
`,
);

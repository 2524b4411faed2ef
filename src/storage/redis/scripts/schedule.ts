/**
 * The `schedule` Lua script: writes a task (add, replace, or a retry's next attempt).
 *
 * @module
 */

import { defineScript } from "../script.ts";

/**
 * Writes a task: immediate tasks go to the stream, future ones to the queue, with their message
 * in the runs record (tracked tasks) or in a parked hash (untracked ones, which have no record).
 * An immediate tracked task's message carries no payload (field `d`): it is in the runs record.
 * One round trip per add, with no separate lock: the dedup check and the write are one script.
 *
 * Modes: `add` writes nothing when the key is scheduled, queued or running; `replace` removes
 * any waiting copy first and supersedes a running one; `reschedule` (retries) acknowledges the
 * finished attempt's message and writes the next attempt. Every write of a tracked task bumps the
 * runs record's generation, which the message carries, so older copies are recognised as stale.
 */
export const scheduleScript = defineScript(
  "schedule",
  `
-- KEYS[1] runs hash of the task       KEYS[2] stream of due work
-- KEYS[3] queue of future work (zset) KEYS[4] parked hash of the task (untracked future tasks;
--   replace deletes one an earlier version wrote for a tracked task)
-- ARGV[1] mode: add | replace | reschedule
-- ARGV[2] task key    ARGV[3] task name    ARGV[4] payload (MessagePack)
-- ARGV[5] when (epoch ms)    ARGV[6] now (epoch ms)    ARGV[7] attempt
-- ARGV[8] tracked: 1 keeps a runs record and publishes state events, 0 does neither
-- ARGV[9] consumer group     ARGV[10] id of a message to acknowledge first ('' for none)
-- ARGV[11] state channel
-- ARGV[12] expected generation ('' none): write only if the record is live with exactly this
--   generation (a perpetual successor, a retry), so a stale copy of a run never writes
-- ARGV[13] trace context of the sender ('' none), written as field p of the message
-- ARGV[14] next-due channel: a future task that becomes the earliest waiting is announced there
-- Returns 'OK'; 'EXISTS' when mode add found the key live; 'STALE' when ARGV[12] did not hold.
local runs, stream, queue, parked = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local mode, key, task, data = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local when, now, attempt = tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7]
local tracked = ARGV[8] == '1'
local group, ack_id, channel, expected = ARGV[9], ARGV[10], ARGV[11], ARGV[12]

-- Queues a future task, announcing it when it comes before every other (schedulers sleep until
-- the earliest; those of other processes learn of an earlier one only from this).
local function enqueue()
  local head = redis.call('ZRANGE', queue, 0, 0, 'WITHSCORES')
  redis.call('ZADD', queue, when, key)
  if ARGV[14] and ARGV[14] ~= '' and (head[2] == nil or when < tonumber(head[2])) then
    redis.call('PUBLISH', ARGV[14], when)
  end
end

if ack_id ~= '' then
  redis.call('XACK', stream, group, ack_id)
  redis.call('XDEL', stream, ack_id)
end

local generation = 0
if tracked then
  local current = redis.call('HMGET', runs, 'state', 'gen', 'sid')
  local state = current[1]
  local live = state == 'scheduled' or state == 'queued' or state == 'running'
  if mode == 'add' and live then
    return 'EXISTS'
  end
  if expected ~= '' and not (live and current[2] == expected) then
    return 'STALE'
  end
  if mode == 'replace' then
    if current[3] then
      redis.call('XACK', stream, group, current[3])
      redis.call('XDEL', stream, current[3])
    end
    redis.call('ZREM', queue, key)
    redis.call('DEL', parked)
  end
  generation = (tonumber(current[2]) or 0) + 1
  -- A fresh record: no result, error or expiry left over from an earlier run of this key.
  redis.call('DEL', runs)
end

local trace = ARGV[13] ~= nil and ARGV[13] ~= '' and ARGV[13]
local fields = {'k', key, 't', task, 'd', data, 'w', ARGV[5], 'a', attempt, 'g', generation}
if trace then
  fields[#fields + 1] = 'p'
  fields[#fields + 1] = trace
end
-- The runs record's fields. The key is not one of them (it is in the record's name), nor the
-- attempt when it is the first (every reader takes a missing attempt for 1), nor a future task's
-- due time, which is its score in the queue (move_due writes it into the record when it moves the
-- task, cancel when it cancels it). Records written by an earlier version hold all three, and
-- read the same.
local function run_record(state)
  local record = {'state', state, 'task', task, 'data', data, 'gen', generation}
  if state == 'queued' then
    record[#record + 1] = 'when'
    record[#record + 1] = ARGV[5]
  end
  if attempt ~= '1' then
    record[#record + 1] = 'attempt'
    record[#record + 1] = attempt
  end
  return record
end
local state = 'scheduled'
if when <= now then
  state = 'queued'
  if tracked then
    -- The payload is stored once, in the runs record: the claim returns it with the verdict.
    table.remove(fields, 6)
    table.remove(fields, 5)
  end
  local id = redis.call('XADD', stream, '*', unpack(fields))
  if tracked then
    local record = run_record(state)
    record[#record + 1] = 'sid'
    record[#record + 1] = id
    redis.call('HSET', runs, unpack(record))
  end
elseif tracked then
  -- The runs record holds every field of the message (p too, when there is one) but the key and
  -- due time, which are the task's member and score in the queue: move_due builds the message
  -- from the two, so a tracked future task has no parked hash and its payload is stored once.
  local record = run_record(state)
  if trace then
    record[#record + 1] = 'p'
    record[#record + 1] = trace
  end
  redis.call('HSET', runs, unpack(record))
  enqueue()
else
  redis.call('HSET', parked, unpack(fields))
  enqueue()
end
if tracked then
  redis.call('PUBLISH', channel, cjson.encode({type = 'state', key = key, state = state, when = when}))
end
return 'OK'
`,
);

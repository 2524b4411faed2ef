/**
 * The `move_due` Lua script: moves future tasks that have come due to the stream.
 *
 * @module
 */

import { defineScript } from "../script.ts";

/**
 * Moves due future tasks to the stream. The caller reads a bounded batch of due keys first
 * (ZRANGEBYSCORE … LIMIT), so every key the script touches is declared and a backlog of a million
 * future tasks is moved a batch at a time, never blocking Redis for long. Scores are checked again
 * here, so a task replaced to a later time in between stays where it is.
 */
export const moveDueScript = defineScript(
  "move_due",
  `
-- KEYS[1] queue of future work   KEYS[2] stream of due work
-- KEYS[1 + 2i] parked hash and KEYS[2 + 2i] runs hash of the i-th key
-- ARGV[1] now (epoch ms); then 2 values per key: task key, state channel
-- Returns how many tasks were moved.
local queue, stream = KEYS[1], KEYS[2]
local now = tonumber(ARGV[1])
local moved = 0
local count = (#ARGV - 1) / 2
for i = 1, count do
  local key, channel = ARGV[2 * i], ARGV[2 * i + 1]
  local parked, runs = KEYS[1 + 2 * i], KEYS[2 + 2 * i]
  local score = redis.call('ZSCORE', queue, key)
  if score and tonumber(score) <= now then
    redis.call('ZREM', queue, key)
    -- Keys of another type (written by something else) are skipped, never the batch: a parked
    -- entry that cannot be read is dropped; a message the stream refuses is left out.
    local fields = redis.pcall('HGETALL', parked)
    if type(fields) == 'table' and fields.err then
      fields = {}
    end
    local id = false
    if #fields > 0 and #fields % 2 == 0 then
      id = redis.pcall('XADD', stream, '*', unpack(fields))
      if type(id) == 'table' then id = false end
    end
    if #fields > 0 then redis.call('DEL', parked) end
    if id then
      moved = moved + 1
      local state = redis.pcall('HGET', runs, 'state')
      if state == 'scheduled' then
        redis.call('HSET', runs, 'state', 'queued', 'sid', id)
        redis.call('PUBLISH', channel, cjson.encode({type = 'state', key = key, state = 'queued',
          when = tonumber(score)}))
      end
    end
  end
end
return moved
`,
);

/**
 * The `finish` Lua script: records how a batch of runs ended and acknowledges their messages.
 *
 * @module
 */

import { defineScript } from "../script.ts";

/**
 * Records how a batch of runs ended, then acknowledges and deletes their messages with one XACK
 * and one XDEL. A run whose record has moved on to a newer generation (replaced, perpetuated) is
 * superseded: its record is left alone, but its terminal event is still published so nobody
 * waiting on it hangs. Untracked runs (generation 0, fire-and-forget) have no record and no
 * listeners: they are passed as bare stream ids, after the tracked ones.
 */
export const finishScript = defineScript(
  "finish",
  `
-- KEYS[1] stream of due work
-- KEYS[2i] runs hash and KEYS[2i + 1] progress hash of the i-th tracked run
-- ARGV[1] consumer group    ARGV[2] now (epoch ms)    ARGV[3] execution ttl (ms; 0 keeps nothing)
-- ARGV[4] how many tracked runs follow
-- then 8 values per tracked run: stream id, task key, generation, state
--   (completed|failed|cancelled), error text ('' none), error record ('' none), result ('' none),
--   state channel
-- then the stream ids of untracked runs (nothing to record: only acknowledged)
local stream = KEYS[1]
local group, now, ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local ids = {}
local count = tonumber(ARGV[4])
for i = 4 + count * 8 + 1, #ARGV do
  if ARGV[i] ~= '' then ids[#ids + 1] = ARGV[i] end
end
for i = 1, count do
  local base = 4 + (i - 1) * 8
  local id, key, generation, state = ARGV[base + 1], ARGV[base + 2], ARGV[base + 3], ARGV[base + 4]
  local error_text, failure, result = ARGV[base + 5], ARGV[base + 6], ARGV[base + 7]
  local channel = ARGV[base + 8]
  local runs, progress = KEYS[2 * i], KEYS[2 * i + 1]
  if generation ~= '0' then
    local current = redis.call('HMGET', runs, 'gen', 'sid')
    if current[1] == generation then
      if ttl > 0 then
        if error_text == '' and failure == '' and result == '' then
          redis.call('HSET', runs, 'state', state, 'completed', now)
        else
          local fields = {'state', state, 'completed', now}
          if error_text ~= '' then fields[#fields + 1] = 'error'; fields[#fields + 1] = error_text end
          if failure ~= '' then fields[#fields + 1] = 'failure'; fields[#fields + 1] = failure end
          if result ~= '' then fields[#fields + 1] = 'result'; fields[#fields + 1] = result end
          redis.call('HSET', runs, unpack(fields))
        end
        if current[2] then redis.call('HDEL', runs, 'sid') end
        redis.call('PEXPIRE', runs, ttl)
      else
        redis.call('DEL', runs)
      end
    end
    -- Every progress record carries its generation: without one there is no record to remove.
    local progress_generation = tonumber(redis.call('HGET', progress, 'gen'))
    if progress_generation ~= nil and progress_generation <= tonumber(generation) then
      redis.call('DEL', progress)
    end
    local event = {type = 'state', key = key, state = state, completedAt = now}
    if error_text ~= '' then event.error = error_text end
    redis.call('PUBLISH', channel, cjson.encode(event))
  end
  if id ~= '' then ids[#ids + 1] = id end
end
if #ids > 0 then
  redis.call('XACK', stream, group, unpack(ids))
  redis.call('XDEL', stream, unpack(ids))
end
return #ids
`,
);

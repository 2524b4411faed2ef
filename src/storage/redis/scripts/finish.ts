/**
 * The `finish` Lua script: records how a batch of runs ended and acknowledges their messages.
 *
 * @module
 */

import { defineScript } from "../script.ts";
import { DEAD_LETTER_LUA } from "./dead_letter.ts";
import { LISTENERS_LUA } from "./listeners.ts";
import { REMOVE_ACKNOWLEDGED_LUA } from "./remove_acknowledged.ts";

/**
 * Records how a batch of runs ended, then acknowledges their messages with one XACK and removes
 * them from the stream (`remove_acknowledged.ts`: one XDEL, or for a batch a trim). A run whose
 * record has moved on to a newer generation (replaced, perpetuated) is superseded: its record
 * is left alone, but its terminal event is still published so nobody waiting on it hangs.
 * Terminal events are published only where someone can hear them (see `listeners.ts`).
 * Untracked runs (generation 0, fire-and-forget) have no record and no listeners: they are
 * passed as bare stream ids, after the tracked ones.
 *
 * Runs that failed for good may come with a dead-letter entry, written here (see
 * `dead_letter.ts`) unless the run was superseded; successful batches carry none and pay nothing.
 *
 * The same call counts the batch in the current minute's stats hash (see `src/stats/`): runs by
 * how they ended, the durations of tracked runs (from the record's start time) in buckets, and
 * the stream's depth; the hash expires after the stats TTL, so the counters cost no round trip
 * of their own and stay bounded.
 *
 * Each run is recorded on its own: a runs or progress key that holds another type of value is
 * skipped (and reported back), while its message is still acknowledged, its terminal event still
 * published and its dead-letter entry still written, so one bad key never holds up the batch or
 * comes back on redelivery. A stats hash of another type is skipped the same way.
 */
export const finishScript = defineScript(
  "finish",
  `
-- KEYS[1] stream of due work    KEYS[2] dead-letter index
-- KEYS[1 + 2i] runs hash and KEYS[2 + 2i] progress hash of the i-th tracked run
-- then, for the j-th dead-letter entry, its entry hash and its task's dead-letter index
-- KEYS[#KEYS] the current minute's stats hash
-- ARGV[1] consumer group    ARGV[2] now (epoch ms)    ARGV[3] execution ttl (ms; 0 keeps nothing)
-- ARGV[4] how many tracked runs follow    ARGV[5] how many dead-letter entries follow
-- ARGV[6] stats ttl (ms)    ARGV[7], ARGV[8], ARGV[9] how many runs of the batch completed,
--   failed, were cancelled
-- ARGV[10] 1 when subscribers may be on other nodes (Redis Cluster): publish every event
-- then 8 values per tracked run: stream id, task key, generation, state
--   (completed|failed|cancelled), error text ('' none), error record ('' none), result ('' none),
--   state channel
-- then 11 values per dead-letter entry: generation of its run ('0' untracked), task key, task
--   name, payload, when, attempt, worker, error name, error message, error stack, ttl (ms)
-- then the stream ids of untracked runs (nothing to record: only acknowledged)
-- Returns the acknowledged count, or {acknowledged count, then per run that could not be
-- recorded: task key, error} when there are such runs.
${DEAD_LETTER_LUA}
${LISTENERS_LUA}
${REMOVE_ACKNOWLEDGED_LUA}
local stream, failed_index, stats = KEYS[1], KEYS[2], KEYS[#KEYS]
local unrecorded = {}
local group, now, ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
-- Times and TTLs go to Redis as the strings they came as: a Lua number passed to redis.call is
-- formatted with printf's %.17g first, which costs more than the command it is passed to.
local now_text, ttl_text = ARGV[2], ARGV[3]
local ids = {}
local count, letters = tonumber(ARGV[4]), tonumber(ARGV[5])
local letters_at = 10 + count * 8
local durations = {}
for i = letters_at + letters * 11 + 1, #ARGV do
  if ARGV[i] ~= '' then ids[#ids + 1] = ARGV[i] end
end
-- Every tracked run publishes its terminal event, where someone can hear it.
local channels = {}
for i = 1, count do
  local base = 10 + (i - 1) * 8
  if ARGV[base + 3] ~= '0' then channels[#channels + 1] = ARGV[base + 8] end
end
local listeners = audience(channels, ARGV[10] == '1')
-- "key generation" of each run that was still its key's current one (only the dead-letter
-- entries below ask)
local current_runs = {}
for i = 1, count do
  local base = 10 + (i - 1) * 8
  local id, key, generation, state = ARGV[base + 1], ARGV[base + 2], ARGV[base + 3], ARGV[base + 4]
  local error_text, failure, result = ARGV[base + 5], ARGV[base + 6], ARGV[base + 7]
  local channel = ARGV[base + 8]
  local runs, progress = KEYS[1 + 2 * i], KEYS[2 + 2 * i]
  if generation ~= '0' then
    local current = redis.pcall('HMGET', runs, 'gen', 'sid', 'started')
    if type(current) == 'table' and current.err then
      -- Nothing can be recorded there; the failure still goes to the dead-letter set.
      unrecorded[#unrecorded + 1] = key
      unrecorded[#unrecorded + 1] = current.err
      if letters > 0 then current_runs[key .. ' ' .. generation] = true end
    elseif current[1] == generation then
      local started = tonumber(current[3])
      if started then
        -- Buckets grow by a factor of sqrt(2): src/stats/minute_stats.ts reads them back.
        local bucket = 'd' .. math.floor(2 * math.log(math.max(0, now - started) + 1) / math.log(2))
        durations[bucket] = (durations[bucket] or 0) + 1
      end
      if letters > 0 then current_runs[key .. ' ' .. generation] = true end
      if ttl > 0 then
        if error_text == '' and failure == '' and result == '' then
          redis.call('HSET', runs, 'state', state, 'completed', now_text)
        else
          local fields = {'state', state, 'completed', now_text}
          if error_text ~= '' then fields[#fields + 1] = 'error'; fields[#fields + 1] = error_text end
          if failure ~= '' then fields[#fields + 1] = 'failure'; fields[#fields + 1] = failure end
          if result ~= '' then fields[#fields + 1] = 'result'; fields[#fields + 1] = result end
          redis.call('HSET', runs, unpack(fields))
        end
        if current[2] then redis.call('HDEL', runs, 'sid') end
        redis.call('PEXPIRE', runs, ttl_text)
      else
        redis.call('DEL', runs)
      end
    end
    -- Every progress record carries its generation: without one there is no record to remove.
    -- (A progress key of another type is left alone: it is not this run's record.)
    local progress_generation = redis.pcall('HGET', progress, 'gen')
    if type(progress_generation) ~= 'table' then
      progress_generation = tonumber(progress_generation)
      if progress_generation ~= nil and progress_generation <= tonumber(generation) then
        redis.call('DEL', progress)
      end
    end
    if heard(listeners, channel) then
      local event = {type = 'state', key = key, state = state, completedAt = now}
      if error_text ~= '' then event.error = error_text end
      redis.call('PUBLISH', channel, cjson.encode(event))
    end
  end
  if id ~= '' then ids[#ids + 1] = id end
end
for j = 1, letters do
  local base = letters_at + (j - 1) * 11
  local generation, key = ARGV[base + 1], ARGV[base + 2]
  if generation == '0' or current_runs[key .. ' ' .. generation] then
    local at = 2 + 2 * count + 2 * (j - 1)
    dead_letter(failed_index, KEYS[at + 1], KEYS[at + 2], now, tonumber(ARGV[base + 11]), key,
      ARGV[base + 3], ARGV[base + 4], ARGV[base + 5], ARGV[base + 6], ARGV[base + 7],
      ARGV[base + 8], ARGV[base + 9], ARGV[base + 10])
  end
end
if #ids > 0 then
  redis.call('XACK', stream, group, unpack(ids))
  remove_acknowledged(stream, group, ids)
end
-- Counters are best effort: pcall, so a stats key of another type never fails the batch.
local states = {'completed', 'failed', 'cancelled'}
for i = 1, 3 do
  if ARGV[6 + i] ~= '0' then redis.pcall('HINCRBY', stats, states[i], ARGV[6 + i]) end
end
for bucket, n in pairs(durations) do
  redis.pcall('HINCRBY', stats, bucket, n == 1 and '1' or string.format('%d', n))
end
redis.pcall('HSET', stats, 'depth', string.format('%d', redis.call('XLEN', stream)))
redis.pcall('PEXPIRE', stats, ARGV[6])
-- A bare count when every run was recorded: a table costs Redis more to reply with.
if #unrecorded == 0 then return #ids end
local reply = {#ids}
for _, value in ipairs(unrecorded) do reply[#reply + 1] = value end
return reply
`,
);

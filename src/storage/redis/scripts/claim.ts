/**
 * The `claim` Lua script: decides which messages of a delivered batch run, and drops the rest.
 *
 * @module
 */

import { defineScript } from "../script.ts";
import { LISTENERS_LUA } from "./listeners.ts";

/**
 * Defines `judge(runs, key, generation, gated, channel, deliveries, previous, worker, now, cap,
 * want_data, tombstones_marked, now_text)`: the verdict on one delivered message, shared by
 * `claim` and `read_claim` so both decide exactly alike. `now_text` is `now` as the caller got it
 * (ARGV), written to the record as it is: a Lua number passed to redis.call is formatted with
 * printf first, which costs more than the HSET it goes to.
 *
 * - A tracked message runs only when its runs record (`runs`, which must be in the caller's
 *   KEYS or derived from the docket's hash-tagged prefix) is live with the same generation; an
 *   untracked one only when no record (a cancellation tombstone) exists, which is not even
 *   looked for when `tombstones_marked` is false (no tombstone can exist then).
 * - Returns `{'1'}` run it, `{'0'}` drop it (the caller acknowledges and deletes), `{'A', times
 *   abandoned, holders}` abandoned past the cap, `{'E', error}` runs key unusable. With
 *   `want_data` (the message carries no payload: it is in the runs record only), `'1'` and `'A'`
 *   of a tracked message also carry the record's `data` as their last element.
 * - Also defines `drop(stream, group, ids)`: acknowledges and deletes the messages judged `'0'`.
 * - A claimed message is marked running unless `gated`, with its running event on `channel`
 *   (false when nobody can hear it: see `listeners.ts`, whose functions are defined here too).
 */
export const CLAIM_LUA = `${LISTENERS_LUA}
local function holders_with(previous, before)
  local list = {}
  if before and before ~= '' then
    for name in string.gmatch(before, '[^\\n]+') do list[#list + 1] = name end
  end
  if previous ~= '' then list[#list + 1] = previous end
  while #list > 10 do table.remove(list, 1) end
  return table.concat(list, '\\n')
end

local function judge(runs, key, generation, gated, channel, deliveries, previous, worker, now,
    cap, want_data, tombstones_marked, now_text)
  local abandoned = cap >= 0 and deliveries - 1 > cap
  if generation == '0' then
    if tombstones_marked and redis.call('EXISTS', runs) ~= 0 then return {'0'} end
    if abandoned then return {'A', deliveries - 1, previous} end
    return {'1'}
  end
  local current
  if want_data then
    current = redis.pcall('HMGET', runs, 'state', 'gen', 'when', 'holders', 'data')
  else
    current = redis.pcall('HMGET', runs, 'state', 'gen', 'when', 'holders')
  end
  if type(current) == 'table' and current.err then return {'E', current.err} end
  local state = current[1]
  local live = (state == 'queued' or state == 'scheduled' or state == 'running')
    and current[2] == generation
  if not live then return {'0'} end
  local verdict
  if deliveries > 1 then
    local holders = holders_with(previous, current[4])
    redis.call('HSET', runs, 'holders', holders)
    if abandoned then verdict = {'A', deliveries - 1, holders} end
  elseif current[4] then
    redis.call('HDEL', runs, 'holders')
  end
  if not verdict then
    verdict = {'1'}
    if not gated then
      redis.call('HSET', runs, 'state', 'running', 'worker', worker, 'started', now_text)
      redis.call('HDEL', runs, 'sid')
      if channel then
        redis.call('PUBLISH', channel, cjson.encode({type = 'state', key = key,
          state = 'running', worker = worker, startedAt = now, when = tonumber(current[3])}))
      end
    end
  end
  if want_data then verdict[#verdict + 1] = current[5] or '' end
  return verdict
end
-- Acknowledges and deletes the messages judged '0' (stream ids): nothing will run them.
local function drop(stream, group, dropped)
  if #dropped > 0 then
    redis.call('XACK', stream, group, unpack(dropped))
    redis.call('XDEL', stream, unpack(dropped))
  end
end
`;

/**
 * Claims a batch of delivered messages in one call. A tracked message runs only when its runs
 * record is live and carries the same generation; an untracked one only when no record (a
 * cancellation tombstone) exists. Claimed messages are marked running unless admission control
 * must decide first; the rest are acknowledged and deleted in one XACK and one XDEL.
 *
 * Each message is judged on its own: a runs key that cannot be read (it holds another type of
 * value) makes that one message `unusable` (`E`), never the batch. A message redelivered more
 * often than the cap allows comes back `abandoned` (`A`) and is not marked running; the workers
 * that held it are kept in the record's `holders` field (newline-separated, the last ten). Both
 * stay pending: the worker records them failed through the finish script, which acknowledges.
 * Running events are published only where someone can hear them (see `listeners.ts`).
 */
export const claimScript = defineScript(
  "claim",
  `
-- KEYS[1] stream of due work; KEYS[1 + i] runs hash of the i-th message
-- ARGV[1] consumer group    ARGV[2] worker name    ARGV[3] now (epoch ms)
-- ARGV[4] most redeliveries a message may have and still run (-1: no cap)
-- ARGV[5] 1 when subscribers may be on other nodes (Redis Cluster): publish every event
-- then 8 values per message: stream id, task key, generation, gated (1/0), state channel,
--   times delivered counting this one (0 unknown), the consumer that held it before ('' none),
--   whether the message lacks its payload (1/0: then '1' and 'A' also return the record's data)
-- Returns one verdict per message: {'1'} run it, {'0'} dropped (stale, cancelled or finished),
-- {'A', times abandoned, holders} abandoned past the cap, {'E', error} runs key unusable;
-- '1' and 'A' end with the record's data when the message lacks its payload.
${CLAIM_LUA}
local stream = KEYS[1]
local group, worker, now, cap = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local verdicts, dropped = {}, {}
local PER = 8
local count = (#ARGV - 5) / PER
-- The channels of the tracked messages that may be marked running here (not gated).
local channels = {}
for i = 1, count do
  local base = 5 + (i - 1) * PER
  if ARGV[base + 3] ~= '0' and ARGV[base + 4] ~= '1' then
    channels[#channels + 1] = ARGV[base + 5]
  end
end
local listeners = audience(channels, ARGV[5] == '1')
for i = 1, count do
  local base = 5 + (i - 1) * PER
  local channel = ARGV[base + 5]
  local verdict = judge(KEYS[1 + i], ARGV[base + 2], ARGV[base + 3], ARGV[base + 4] == '1',
    heard(listeners, channel) and channel, tonumber(ARGV[base + 6]), ARGV[base + 7], worker, now,
    cap, ARGV[base + 8] == '1', true, ARGV[3])
  verdicts[i] = verdict
  if verdict[1] == '0' then dropped[#dropped + 1] = ARGV[base + 1] end
end
drop(stream, group, dropped)
return verdicts
`,
);

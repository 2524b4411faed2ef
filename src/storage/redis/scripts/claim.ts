/**
 * The `claim` Lua script: decides which messages of a delivered batch run, and drops the rest.
 *
 * @module
 */

import { defineScript } from "../script.ts";

/**
 * Claims a batch of delivered messages in one call. A tracked message runs only when its runs
 * record is live and carries the same generation; an untracked one only when no record (a
 * cancellation tombstone) exists. Claimed messages are marked running unless admission control
 * must decide first; the rest are acknowledged and deleted in one XACK and one XDEL.
 */
export const claimScript = defineScript(
  "claim",
  `
-- KEYS[1] stream of due work; KEYS[1 + i] runs hash of the i-th message
-- ARGV[1] consumer group    ARGV[2] worker name    ARGV[3] now (epoch ms)
-- then 5 values per message: stream id, task key, generation, gated (1/0), state channel
-- Returns one verdict per message: 1 run it, 0 dropped (stale, cancelled or finished).
local stream = KEYS[1]
local group, worker, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
local verdicts, dropped = {}, {}
local count = (#ARGV - 3) / 5
for i = 1, count do
  local base = 3 + (i - 1) * 5
  local id, key, generation = ARGV[base + 1], ARGV[base + 2], ARGV[base + 3]
  local gated, channel = ARGV[base + 4] == '1', ARGV[base + 5]
  local runs = KEYS[1 + i]
  local live
  if generation == '0' then
    live = redis.call('EXISTS', runs) == 0
  else
    local current = redis.call('HMGET', runs, 'state', 'gen', 'when')
    local state = current[1]
    live = (state == 'queued' or state == 'scheduled' or state == 'running')
      and current[2] == generation
    if live and not gated then
      redis.call('HSET', runs, 'state', 'running', 'worker', worker, 'started', now)
      redis.call('HDEL', runs, 'sid')
      redis.call('PUBLISH', channel, cjson.encode({type = 'state', key = key, state = 'running',
        worker = worker, startedAt = now, when = tonumber(current[3])}))
    end
  end
  if live then
    verdicts[i] = 1
  else
    verdicts[i] = 0
    dropped[#dropped + 1] = id
  end
end
if #dropped > 0 then
  redis.call('XACK', stream, group, unpack(dropped))
  redis.call('XDEL', stream, unpack(dropped))
end
return verdicts
`,
);

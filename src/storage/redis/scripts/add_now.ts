/**
 * The `add_now` Lua script: the commonest write, tracked tasks added to run now.
 *
 * @module
 */

import { defineScript } from "../script.ts";
import { LISTENERS_LUA } from "./listeners.ts";

/**
 * The `schedule` script's mode `add` for tracked tasks that are due now (first attempt, no
 * expected generation, nothing to acknowledge), on its own: for each task it writes exactly what
 * `schedule` writes in that case (the message without the payload, which is in the runs record),
 * from fewer arguments, and adds that arrive together share one call. Answers 'OK', or 'EXISTS'
 * when the key is scheduled, queued or running, for each task (a single task: the bare answer,
 * not an array of one). A single task fails as `schedule` does; in a batch, each task is answered
 * on its own, and one that fails is answered with its error, prefixed 'ERR '. A batch publishes
 * the queued events only of the tasks someone can hear (see `listeners.ts`).
 */
export const addNowScript = defineScript(
  "add_now",
  `
-- KEYS[1] stream of due work    KEYS[1 + i] runs hash of the i-th task
-- ARGV[1] 1 when subscribers may be on other nodes (Redis Cluster): publish every event
-- then 5 values per task: task key, task name, payload (MessagePack), when (epoch ms, not after
-- now), state channel
${LISTENERS_LUA}
local stream = KEYS[1]
local count = #KEYS - 1
local channels = {}
for i = 1, count do channels[i] = ARGV[1 + i * 5] end
local listeners = audience(channels, ARGV[1] == '1')
local function add(i)
  local runs, base = KEYS[1 + i], 1 + (i - 1) * 5
  local key, task, data, when = ARGV[base + 1], ARGV[base + 2], ARGV[base + 3], ARGV[base + 4]
  local current = redis.call('HMGET', runs, 'state', 'gen')
  local state = current[1]
  if state == 'scheduled' or state == 'queued' or state == 'running' then
    return 'EXISTS'
  end
  -- Formatted once, as redis.call would format the number for each command it is passed to.
  local generation = string.format('%.17g', (tonumber(current[2]) or 0) + 1)
  -- A fresh record: no result, error or expiry left over from an earlier run of this key (every
  -- record has a state or a generation, so without both there is nothing to clear).
  if state or current[2] then redis.call('DEL', runs) end
  -- No payload in the message: it is stored once, in the runs record (the claim returns it).
  local id = redis.call('XADD', stream, '*', 'k', key, 't', task, 'w', when, 'a', '1',
    'g', generation)
  -- Neither the key (in the record's name) nor the attempt (a missing one is the first).
  redis.call('HSET', runs, 'state', 'queued', 'task', task, 'data', data, 'when', when,
    'gen', generation, 'sid', id)
  local channel = ARGV[base + 5]
  if not heard(listeners, channel) then return 'OK' end
  -- The bytes cjson.encode writes for this event, without building and encoding a table, when
  -- nothing in it needs escaping (cjson's number format keeps up to 14 digits as they are).
  local event
  if string.find(key, '[%c"\\\\/]') or not string.find(when, '^%d+$') or #when > 14 then
    event = cjson.encode({type = 'state', key = key, state = 'queued', when = tonumber(when)})
  else
    event = '{"state":"queued","type":"state","key":"' .. key .. '","when":' .. when .. '}'
  end
  redis.call('PUBLISH', channel, event)
  return 'OK'
end
-- Bare: Redis replies with a table at a cost.
if count == 1 then return add(1) end
local answers = {}
for i = 1, count do
  local ok, answer = pcall(add, i)
  if ok then
    answers[i] = answer
  else
    answers[i] = 'ERR ' .. tostring(type(answer) == 'table' and answer.err or answer)
  end
end
return answers
`,
);

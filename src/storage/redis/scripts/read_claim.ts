/**
 * The `read_claim` Lua script: reads new messages for a worker and claims them in the same call.
 *
 * @module
 */

import { defineScript } from "../script.ts";
import { CLAIM_LUA } from "./claim.ts";

/**
 * Reads up to `count` new messages (a non-blocking XREADGROUP) and judges each as the `claim`
 * script does (see `CLAIM_LUA`), so a worker with work waiting takes its next batch in one round
 * trip instead of a read and then a claim; the worker sends it right behind the write of the
 * ends that freed the slots, in the same round trip. The blocking read of an idle stream and the
 * takeover of abandoned messages still go through XREADGROUP and `claim`.
 *
 * The runs hash and state channel of each message are derived here from the docket's
 * hash-tagged prefix (`<prefix>:runs:<key>`, `<prefix>:state:<key>`, as in `src/keys.ts`), so
 * they are in the stream's Cluster slot although they are not in KEYS.
 *
 * A message this script cannot judge is left pending, untouched, with verdict `'?'`: a field
 * missing or not a number (the worker drops it as malformed), or a tracked message of a task
 * whose `gated` answer the worker did not pass (the worker claims it with `claim`). Running
 * events are published only where someone can hear them (see `listeners.ts`).
 */
export const readClaimScript = defineScript(
  "read_claim",
  `
-- KEYS[1] stream of due work    KEYS[2] tombstones marker (present while tombstones may exist)
-- ARGV[1] consumer group    ARGV[2] worker name    ARGV[3] now (epoch ms)
-- ARGV[4] how many messages to read at most    ARGV[5] the docket's prefix ('{name}')
-- ARGV[6] 1 when no task is gated (every task name is answered for), else 0
-- ARGV[7] 1 when subscribers may be on other nodes (Redis Cluster): publish every event
-- then pairs: task name, gated (1/0), for the task names the worker answers for
-- Returns one flat array, per entry read: its id, how many field names and values follow, those,
-- how many elements its verdict has, those. Verdicts are claim's ({'1'}, {'0'} dropped,
-- {'E', error}; '1' ends with the record's data when the message has no payload field), or
-- {'?'} left pending and not judged. (Flat: Redis replies with each nested table at a cost.)
${CLAIM_LUA}
local stream, marker = KEYS[1], KEYS[2]
local group, worker, now, prefix = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[5]
local read = redis.call('XREADGROUP', 'GROUP', group, worker, 'COUNT', ARGV[4], 'STREAMS',
  stream, '>')
if not read then return {} end
local entries = read[1][2]
local none_gated = ARGV[6] == '1'
local gated = {}
for i = 8, #ARGV, 2 do gated[ARGV[i]] = ARGV[i + 1] == '1' end
-- An entry's message: its fields, and whether this script can judge it (see above).
local function parse(fields)
  local m = {}
  for j = 1, #fields, 2 do
    local name = fields[j]
    if name == 'k' then m.key = fields[j + 1]
    elseif name == 't' then m.task = fields[j + 1]
    elseif name == 'g' then m.generation = fields[j + 1]
    elseif name == 'd' then m.has_data = true
    elseif name == 'w' then m.when = fields[j + 1]
    elseif name == 'a' then m.attempt = fields[j + 1]
    end
  end
  local complete = m.key and m.task and m.generation and m.when and m.attempt
    and tonumber(m.generation) and tonumber(m.when) and tonumber(m.attempt)
  m.judged = complete and (m.generation ~= '0' or m.has_data)
    and (m.generation == '0' or gated[m.task] ~= nil or none_gated)
  m.tracked = m.judged and m.generation ~= '0'
  return m
end
-- Every message is parsed first: the channels of those that may be marked running (tracked, not
-- gated) tell who listens before any is judged.
local messages, channels = {}, {}
for i, entry in ipairs(entries) do
  local m = parse(entry[2])
  if m.tracked and gated[m.task] ~= true then
    channels[#channels + 1] = prefix .. ':state:' .. m.key
  end
  messages[i] = m
end
local listeners = audience(channels, ARGV[7] == '1')
local marked
local reply, at, dropped = {}, 0, {}
for i, entry in ipairs(entries) do
  local m, fields = messages[i], entry[2]
  local verdict
  if not m.judged then
    verdict = {'?'}
  else
    if m.generation == '0' and marked == nil then marked = redis.call('EXISTS', marker) ~= 0 end
    local channel = m.tracked and prefix .. ':state:' .. m.key
    if channel and not heard(listeners, channel) then channel = false end
    verdict = judge(prefix .. ':runs:' .. m.key, m.key, m.generation, gated[m.task] == true,
      channel, 1, '', worker, now, -1, not m.has_data, marked, ARGV[3])
  end
  if verdict[1] == '0' then dropped[#dropped + 1] = entry[1] end
  reply[at + 1], reply[at + 2] = entry[1], #fields
  at = at + 2
  for j = 1, #fields do reply[at + j] = fields[j] end
  at = at + #fields + 1
  reply[at] = #verdict
  for j = 1, #verdict do reply[at + j] = verdict[j] end
  at = at + #verdict
end
drop(stream, group, dropped)
return reply
`,
);

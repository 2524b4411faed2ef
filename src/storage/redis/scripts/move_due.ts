/**
 * The `move_due` Lua script: moves future tasks that have come due to the stream.
 *
 * @module
 */

import { defineScript } from "../script.ts";
import { LISTENERS_LUA } from "./listeners.ts";

/**
 * Moves due future tasks to the stream. The caller reads a bounded batch of due keys first
 * (ZRANGEBYSCORE … LIMIT), so every key the script touches is declared and a backlog of a million
 * future tasks is moved a batch at a time, never blocking Redis for long. Scores are checked again
 * here, so a task replaced to a later time in between stays where it is.
 *
 * A tracked task's message is built from its runs record (state `scheduled`), which holds
 * everything the message carries but its due time (the score, which the move writes into the
 * record) and its key (the member): three commands per task (HMGET, XADD, HSET), plus a few per
 * batch, and a PUBLISH of its `queued` event when someone can hear it (`listeners.ts`: two PUBSUB
 * commands per batch tell). An untracked task, which has no runs record, keeps its message in a
 * parked hash (HMGET, HGETALL, XADD, DEL). A tracked task written by an earlier version also has a
 * parked hash: when one exists it is moved exactly as before, so its trace context is kept.
 */
export const moveDueScript = defineScript(
  "move_due",
  `
-- KEYS[1] queue of future work   KEYS[2] stream of due work
-- KEYS[1 + 2i] parked hash and KEYS[2 + 2i] runs hash of the i-th key
-- ARGV[1] now (epoch ms)
-- ARGV[2] 1 when subscribers may be on other nodes (Redis Cluster): publish every event
-- then 2 values per key: task key, state channel
-- Returns how many tasks were moved.
${LISTENERS_LUA}
local queue, stream = KEYS[1], KEYS[2]
local now, everywhere = tonumber(ARGV[1]), ARGV[2] == '1'
local count = (#ARGV - 2) / 2

-- Commands taking many keys get them a chunk at a time (unpack() is bounded by the Lua stack):
-- the replies of the chunks, concatenated.
local function chunked(command, head, list)
  local replies = {}
  for from = 1, #list, 1000 do
    local to = math.min(from + 999, #list)
    local reply
    if head then
      reply = redis.call(command, head, unpack(list, from, to))
    else
      reply = redis.call(command, unpack(list, from, to))
    end
    if type(reply) ~= 'table' then reply = {reply} end
    for _, value in ipairs(reply) do replies[#replies + 1] = value end
  end
  return replies
end

-- One ZMSCORE checks every score again, one ZREM takes the due ones out of the queue.
local members = {}
for i = 1, count do members[i] = ARGV[1 + 2 * i] end
if count == 0 then return 0 end
local scores = chunked('ZMSCORE', queue, members)
local due, due_keys = {}, {}
for i = 1, count do
  if scores[i] and tonumber(scores[i]) <= now then
    due[#due + 1] = i
    due_keys[#due_keys + 1] = members[i]
  end
end
if #due == 0 then return 0 end
chunked('ZREM', queue, due_keys)

-- A runs record in state scheduled is a tracked task's, and holds its message (every field but
-- k, which is the member). Its payload is not copied: the claim reads it from the record. Keys
-- of another type (written by something else) are skipped, never the batch.
local records, parked_keys, channels = {}, {}, {}
for _, i in ipairs(due) do
  local r = redis.pcall('HMGET', KEYS[2 + 2 * i], 'state', 'task', 'when', 'attempt', 'gen', 'p')
  if type(r) == 'table' and not r.err and r[1] == 'scheduled' then
    -- No attempt field: the first (the record of a first attempt leaves it out). No when: the
    -- due time is the score (written into the record below, once the task is queued).
    r[4] = r[4] or '1'
    r.scored = not r[3]
    r[3] = r[3] or scores[i]
    r.complete = r[2] and r[5]
    records[i] = r
    parked_keys[#parked_keys + 1] = KEYS[1 + 2 * i]
    channels[#channels + 1] = ARGV[2 + 2 * i]
  end
end
-- Only tracked tasks publish their queued event, and only where someone can hear it.
local listeners = audience(channels, everywhere)
-- Parked hashes of tracked tasks exist only in dockets written by an earlier version: one EXISTS
-- tells whether this batch has any, and only then is each of them looked for.
local look_for_parked = false
if #parked_keys > 0 then
  for _, n in ipairs(chunked('EXISTS', false, parked_keys)) do
    if n > 0 then look_for_parked = true end
  end
end

local moved = 0
-- The message of a parked hash, as an earlier version moved it: fields as written, hash deleted.
-- Answers the stream id, false when nothing was moved, or nil when there is no usable hash.
local function move_parked(parked)
  local fields = redis.pcall('HGETALL', parked)
  if type(fields) ~= 'table' or fields.err or #fields == 0 or #fields % 2 ~= 0 then return nil end
  local id = redis.pcall('XADD', stream, '*', unpack(fields))
  redis.call('DEL', parked)
  if type(id) == 'table' then return false end
  return id
end

for _, i in ipairs(due) do
  local key, channel = ARGV[1 + 2 * i], ARGV[2 + 2 * i]
  local parked, runs = KEYS[1 + 2 * i], KEYS[2 + 2 * i]
  local r = records[i]
  local id = nil
  if r == nil or look_for_parked then id = move_parked(parked) end
  if r ~= nil and r.complete and id == nil then
    -- No d: the payload stays in the runs record only, and the claim returns it with the verdict.
    if r[6] then
      id = redis.pcall('XADD', stream, '*', 'k', key, 't', r[2], 'w', r[3], 'a', r[4], 'g', r[5],
        'p', r[6])
    else
      id = redis.pcall('XADD', stream, '*', 'k', key, 't', r[2], 'w', r[3], 'a', r[4], 'g', r[5])
    end
    if type(id) == 'table' then id = false end
  end
  if id then
    moved = moved + 1
    if r ~= nil then
      if r.scored then
        redis.call('HSET', runs, 'state', 'queued', 'sid', id, 'when', r[3])
      else
        redis.call('HSET', runs, 'state', 'queued', 'sid', id)
      end
      if heard(listeners, channel) then
        redis.call('PUBLISH', channel, cjson.encode({type = 'state', key = key, state = 'queued',
          when = tonumber(scores[i])}))
      end
    end
  end
end
return moved
`,
);

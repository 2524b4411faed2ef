/**
 * The `admit` Lua script: admission control for a delivery whose task has flow controls.
 *
 * @module
 */

import { defineScript } from "../script.ts";

/**
 * Admission control for one gated delivery: every flow control of its task (concurrency limits,
 * debounce, cooldowns, rate limits) is checked first, then the side effects of the one outcome
 * are applied, so a task held back by one control consumes nothing of another.
 *
 * Outcomes, strongest first: dropped (a cooldown, a debounce that is not the burst's winner, a
 * rate limit with drop), rescheduled (the debounce winner before the quiet time, a rate limit
 * without drop: to the latest time any of them asks for), parked (the first concurrency limit
 * with no room, or with older waiters: arrival order is kept), admitted (slots taken, cooldown
 * windows started, rate-limit entries written, the task marked running and its running event
 * published). A parked or rescheduled task gives back any slot it held (a reservation from a
 * wake), so a task waiting on one limit holds none of the others.
 *
 * Slot members are `<task key>@<generation>`. A slot found under the delivery's own member is
 * its own (reserved for it when it was woken, or held before a takeover). A run admitted
 * before (state `running`: its worker died) has only its concurrency limits checked again; debounce
 * and cooldown apply to first attempts only (retries are neither debounced nor cooled down).
 */
export const admitScript = defineScript(
  "admit",
  `
-- KEYS[1] stream   KEYS[2] runs hash   KEYS[3] queue   KEYS[4] parked hash (untracked tasks)
-- KEYS[5] progress hash
-- KEYS[6] concurrency watch set; then the keys of each check, in order:
--   concurrency: slots (zset), waiters (stream); debounce: hash; cooldown: string; rate-limit: zset
-- ARGV[1] consumer group   ARGV[2] worker   ARGV[3] now (ms)   ARGV[4] lease (ms)
-- ARGV[5] execution ttl (ms; 0 keeps nothing)   ARGV[6] stream id   ARGV[7] task key
-- ARGV[8] task name   ARGV[9] payload   ARGV[10] when   ARGV[11] attempt   ARGV[12] generation
-- ARGV[13] state channel   ARGV[14] next-due channel (a rescheduled task that becomes the
--   earliest waiting is announced there); then 5 values per check: kind, name, and ('' when unused)
--   concurrency: max   debounce: settle (ms)   cooldown: window (ms)
--   rate-limit: limit, per (ms), drop (1/0)
-- Returns {outcome, detail, names of concurrency limits to wake...}: outcome is admitted,
-- parked (detail: the limit), rescheduled (detail: when), dropped (detail: why), stale, or
-- unusable (detail: the error reading the runs hash; nothing was written).
local stream, runs, queue, parked, progress, watch = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local group, worker = ARGV[1], ARGV[2]
local now, lease, ttl = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local id, key, task, data, when = ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10]
local attempt, generation, channel = ARGV[11], ARGV[12], ARGV[13]
local tracked = generation ~= '0'
local member = key .. '@' .. generation
local stale = now - lease

local function acknowledge()
  redis.call('XACK', stream, group, id)
  redis.call('XDEL', stream, id)
end

local state = false
if tracked then
  -- A runs key of another type fails this one task (the worker records why), nothing else.
  local current = redis.pcall('HMGET', runs, 'state', 'gen')
  if type(current) == 'table' and current.err then return {'unusable', current.err} end
  state = current[1]
  if not ((state == 'queued' or state == 'scheduled' or state == 'running')
      and current[2] == generation) then
    acknowledge()
    return {'stale', ''}
  end
elseif redis.call('EXISTS', runs) == 1 then
  acknowledge()
  return {'stale', ''}
end
local readmit = state == 'running'
local fresh = (not readmit) and attempt == '1'

-- 1. Check everything; write nothing that depends on the outcome.
local checks = {}
local drop_reason, resched_at, park = false, false, false
local k, a = 7, 15
while a <= #ARGV do
  local c = {kind = ARGV[a], name = ARGV[a + 1]}
  local p1, p2, p3 = ARGV[a + 2], ARGV[a + 3], ARGV[a + 4]
  a = a + 5
  if c.kind == 'concurrency' then
    c.slots, c.waiters = KEYS[k], KEYS[k + 1]
    k = k + 2
    c.max = tonumber(p1)
    c.held = redis.call('ZSCORE', c.slots, member) ~= false
    if not c.held then
      local live = redis.call('ZCOUNT', c.slots, '(' .. stale, '+inf')
      local waiting = redis.call('XLEN', c.waiters)
      if live >= c.max or waiting > 0 then
        if not park then park = c end
        c.wake = waiting > 0 and live < c.max
      end
    end
  else
    c.key = KEYS[k]
    k = k + 1
    local verdict = 'pass'
    if c.kind == 'debounce' and fresh then
      c.settle = tonumber(p1)
      local current = redis.call('HMGET', c.key, 'winner', 'seen')
      c.winner = current[1]
      if not c.winner then
        verdict, c.at = 'wait', now + c.settle
      elseif c.winner == key then
        local seen = tonumber(current[2]) or 0
        if now - seen < c.settle then verdict, c.at = 'wait', seen + c.settle end
      else
        verdict = 'drop'
      end
    elseif c.kind == 'cooldown' and fresh then
      c.window = tonumber(p1)
      local holder = redis.call('GET', c.key)
      if holder and holder ~= member then verdict = 'drop' end
    elseif c.kind == 'rate-limit' and not readmit then
      c.limit, c.per = tonumber(p1), tonumber(p2)
      redis.call('ZREMRANGEBYSCORE', c.key, '-inf', now - c.per)
      if (not redis.call('ZSCORE', c.key, member)) and redis.call('ZCARD', c.key) >= c.limit then
        if p3 == '1' then
          verdict = 'drop'
        else
          local oldest = redis.call('ZRANGE', c.key, 0, 0, 'WITHSCORES')
          verdict, c.at = 'wait', math.max(now + 1, tonumber(oldest[2]) + c.per)
        end
      end
    end
    if verdict == 'drop' and not drop_reason then drop_reason = c.name end
    if verdict == 'wait' and ((not resched_at) or c.at > resched_at) then resched_at = c.at end
  end
  checks[#checks + 1] = c
end

-- 2. Apply the outcome.
local wake = {}
local function wake_if_waiting(c)
  if redis.call('XLEN', c.waiters) > 0 then wake[#wake + 1] = c.name end
end
-- Not admitted: give back the slots this delivery holds, and have limits with room woken.
local function give_back()
  for _, c in ipairs(checks) do
    if c.kind == 'concurrency' then
      if c.held then
        redis.call('ZREM', c.slots, member)
        wake_if_waiting(c)
      elseif c.wake then
        wake[#wake + 1] = c.name
      end
    end
  end
end
local function result(outcome, detail)
  local reply = {outcome, detail}
  for _, name in ipairs(wake) do reply[#reply + 1] = name end
  return reply
end

if drop_reason then
  give_back()
  for _, c in ipairs(checks) do
    if c.kind == 'debounce' and c.winner then
      if c.winner == key then
        redis.call('DEL', c.key)
      else
        redis.call('HSET', c.key, 'seen', now)
        redis.call('PEXPIRE', c.key, c.settle * 10)
      end
    end
  end
  acknowledge()
  if tracked then
    if ttl > 0 then
      redis.call('HSET', runs, 'state', 'cancelled', 'completed', now)
      redis.call('HDEL', runs, 'sid', 'worker', 'started')
      redis.call('PEXPIRE', runs, ttl)
    else
      redis.call('DEL', runs)
    end
    redis.call('DEL', progress)
    redis.call('PUBLISH', channel,
      cjson.encode({type = 'state', key = key, state = 'cancelled', completedAt = now}))
  end
  return result('dropped', drop_reason)
end

if resched_at then
  resched_at = math.floor(resched_at)
  give_back()
  for _, c in ipairs(checks) do
    if c.kind == 'debounce' and c.settle then
      if not c.winner then redis.call('HSET', c.key, 'winner', key, 'seen', now) end
      redis.call('PEXPIRE', c.key, c.settle * 10 + (resched_at - now))
    end
  end
  acknowledge()
  local head = redis.call('ZRANGE', queue, 0, 0, 'WITHSCORES')
  redis.call('ZADD', queue, resched_at, key)
  if head[2] == nil or resched_at < tonumber(head[2]) then
    redis.call('PUBLISH', ARGV[14], resched_at)
  end
  if tracked then
    -- The runs record is the future message (as the schedule script writes it): the next
    -- generation and the new time; no trace context, as a rescheduled message never had one.
    redis.call('HINCRBY', runs, 'gen', 1)
    redis.call('HSET', runs, 'state', 'scheduled', 'when', resched_at)
    redis.call('HDEL', runs, 'sid', 'worker', 'started', 'p')
    redis.call('PUBLISH', channel,
      cjson.encode({type = 'state', key = key, state = 'scheduled', when = resched_at}))
  else
    redis.call('HSET', parked, 'k', key, 't', task, 'd', data, 'w', resched_at, 'a', attempt,
      'g', 0)
  end
  return result('rescheduled', resched_at)
end

if park then
  give_back()
  for _, c in ipairs(checks) do
    if c.kind == 'debounce' and c.winner == key then redis.call('PEXPIRE', c.key, c.settle * 10) end
  end
  acknowledge()
  redis.call('XADD', park.waiters, '*', 'k', key, 't', task, 'd', data, 'w', when, 'a', attempt,
    'g', generation, 'x', park.max)
  if tracked then
    redis.call('HSET', runs, 'state', 'scheduled')
    redis.call('HDEL', runs, 'sid', 'worker', 'started')
    redis.call('PUBLISH', channel,
      cjson.encode({type = 'state', key = key, state = 'scheduled', when = tonumber(when)}))
  end
  -- The safeguard looks again when the oldest slot could have gone stale.
  local oldest = redis.call('ZRANGE', park.slots, 0, 0, 'WITHSCORES')
  local check_at = now
  if oldest[2] then check_at = tonumber(oldest[2]) + lease + 1 end
  redis.call('ZADD', watch, 'LT', check_at, park.name)
  return result('parked', park.name)
end

for _, c in ipairs(checks) do
  if c.kind == 'concurrency' then
    local cleared = redis.call('ZREMRANGEBYSCORE', c.slots, '-inf', stale)
    redis.call('ZADD', c.slots, now, member)
    redis.call('PEXPIRE', c.slots, lease * 4)
    if cleared > 0 then wake_if_waiting(c) end
  elseif c.kind == 'cooldown' and c.window then
    redis.call('SET', c.key, member, 'PX', c.window)
  elseif c.kind == 'rate-limit' and c.limit then
    redis.call('ZADD', c.key, now, member)
    redis.call('PEXPIRE', c.key, c.per * 2)
  elseif c.kind == 'debounce' and c.winner == key then
    redis.call('DEL', c.key)
  end
end
if tracked then
  redis.call('HSET', runs, 'state', 'running', 'worker', worker, 'started', now)
  redis.call('HDEL', runs, 'sid')
  redis.call('PUBLISH', channel, cjson.encode({type = 'state', key = key, state = 'running',
    worker = worker, startedAt = now, when = tonumber(redis.call('HGET', runs, 'when'))}))
end
return result('admitted', '')
`,
);

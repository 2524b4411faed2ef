/**
 * The `release` Lua script: frees concurrency slots and wakes the waiters that fit.
 *
 * @module
 */

import { defineScript } from "../script.ts";

/**
 * Frees concurrency slots and wakes waiters, oldest first, for several limits at once. Used when
 * a run ends (with its slot member), after an admission that left room (no member), and by the
 * safeguard that recovers limits whose holders died (no member).
 *
 * Waking a waiter writes its runs hash, which must be declared: so the first call declares no
 * waiter, and when a limit has room and waiters the script answers with the first waiter
 * entries (ids and task keys) for the caller to declare in a second call. A release with nobody
 * waiting is therefore one round trip. Entries removed in between are skipped. While waiters
 * wait, stale slots (not renewed within the lease) are cleared. A woken waiter whose record is
 * no longer `scheduled` with the same generation (cancelled, replaced) is dropped; a live one
 * goes back on the stream with a new generation, `queued`, and a slot reserved for it under
 * `<key>@<new generation>`, so nothing can take its place. Each waiter entry carries the `max`
 * of its own limit (field `x`). The watch set holds a limit while it has waiters, scored by when
 * its oldest slot could go stale.
 */
export const releaseScript = defineScript(
  "release",
  `
-- KEYS[1] stream   KEYS[2] concurrency watch set
-- then per limit: slots (zset), waiters (stream), then the runs hash of each declared waiter
-- ARGV[1] now (ms)   ARGV[2] lease (ms)   ARGV[3] waiter entries to hand back per limit
-- then per limit: name, slot member to free ('' none), n declared waiters,
--   then n x (waiter entry id, state channel of its task)
-- Returns one list per limit: empty when done; else the waiter entries to declare in another
-- call (entry id, task key, entry id, task key, ...), because room is left for them.
local stream, watch = KEYS[1], KEYS[2]
local now, lease, hand_back = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local stale = now - lease
local replies = {}
local k, a = 3, 4
while a <= #ARGV do
  local name, member, n = ARGV[a], ARGV[a + 1], tonumber(ARGV[a + 2])
  a = a + 3
  local slots, waiters = KEYS[k], KEYS[k + 1]
  k = k + 2
  if member ~= '' then redis.call('ZREM', slots, member) end
  local waiting = redis.call('XLEN', waiters) > 0
  if waiting then redis.call('ZREMRANGEBYSCORE', slots, '-inf', stale) end
  local full = false
  for _ = 1, n do
    local entry_id, channel, runs = ARGV[a], ARGV[a + 1], KEYS[k]
    a = a + 2
    k = k + 1
    local entry = false
    if waiting and not full then entry = redis.call('XRANGE', waiters, entry_id, entry_id)[1] end
    if entry then
      local fields = {}
      for f = 1, #entry[2], 2 do fields[entry[2][f]] = entry[2][f + 1] end
      if redis.call('ZCARD', slots) >= (tonumber(fields.x) or 1) then
        full = true
      else
        redis.call('XDEL', waiters, entry_id)
        local generation, live = fields.g, false
        if generation == '0' then
          live = redis.call('EXISTS', runs) == 0
        else
          local current = redis.call('HMGET', runs, 'state', 'gen')
          live = current[1] == 'scheduled' and current[2] == generation
        end
        if live then
          if generation ~= '0' then
            generation = tostring(redis.call('HINCRBY', runs, 'gen', 1))
          end
          local message = {'k', fields.k, 't', fields.t, 'd', fields.d, 'w', fields.w,
            'a', fields.a, 'g', generation}
          if fields.p then
            message[#message + 1] = 'p'
            message[#message + 1] = fields.p
          end
          local sid = redis.call('XADD', stream, '*', unpack(message))
          if generation ~= '0' then
            redis.call('HSET', runs, 'state', 'queued', 'sid', sid)
            redis.call('PUBLISH', channel, cjson.encode({type = 'state', key = fields.k,
              state = 'queued', when = tonumber(fields.w)}))
          end
          redis.call('ZADD', slots, now, fields.k .. '@' .. generation)
          redis.call('PEXPIRE', slots, lease * 4)
        end
      end
    end
  end
  local reply = {}
  if redis.call('XLEN', waiters) == 0 then
    redis.call('DEL', waiters)
    redis.call('ZREM', watch, name)
  else
    local check_at = now
    local oldest = redis.call('ZRANGE', slots, 0, 0, 'WITHSCORES')
    local first = redis.call('XRANGE', waiters, '-', '+', 'COUNT', hand_back)
    local room = not full
    if room and first[1] then
      for f = 1, #first[1][2], 2 do
        if first[1][2][f] == 'x' and redis.call('ZCARD', slots) >= tonumber(first[1][2][f + 1]) then
          room = false
        end
      end
    end
    if room then
      for _, entry in ipairs(first) do
        local task_key = ''
        for f = 1, #entry[2], 2 do
          if entry[2][f] == 'k' then task_key = entry[2][f + 1] end
        end
        reply[#reply + 1] = entry[1]
        reply[#reply + 1] = task_key
      end
    elseif oldest[2] then
      check_at = tonumber(oldest[2]) + lease + 1
    end
    redis.call('ZADD', watch, check_at, name)
  end
  replies[#replies + 1] = reply
end
return replies
`,
);

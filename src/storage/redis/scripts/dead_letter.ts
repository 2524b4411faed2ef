/**
 * The Lua that keeps a task which failed for good in the dead-letter set, shared by every script
 * that can end a task FAILED (today `finish`), so the entry is written in the same atomic step.
 *
 * @module
 */

/**
 * Defines `dead_letter(index, entry, by_task, now, ttl, key, task, data, when, attempt, worker,
 * error_name, error_message, error_stack)`.
 *
 * - `index` is `{d}:failed`, `by_task` is `{d}:failed-task:<task>` (sorted sets scored by when
 *   the task failed, epoch ms), `entry` is `{d}:failed:<key>` (a hash). All must be in KEYS.
 * - The entry replaces any earlier one of the key and expires `ttl` ms from now; members of
 *   both indexes that failed `ttl` ms ago or more are trimmed, and each index lives at least as
 *   long as its newest entry.
 * - It never raises: a key of the wrong type is skipped, so the caller's script goes on.
 */
export const DEAD_LETTER_LUA = `
local function dead_letter(index, entry, by_task, now, ttl, key, task, data, when, attempt,
    worker, error_name, error_message, error_stack)
  -- redis.pcall throughout: a dead-letter key of the wrong type (planted, or left by another
  -- program) loses that entry, never the batch of ends being recorded with it.
  redis.pcall('DEL', entry)
  redis.pcall('HSET', entry, 'key', key, 'task', task, 'data', data, 'when', when,
    'attempt', attempt, 'worker', worker, 'failed', now, 'ename', error_name,
    'emessage', error_message, 'estack', error_stack)
  redis.pcall('PEXPIRE', entry, ttl)
  for _, set in ipairs({index, by_task}) do
    redis.pcall('ZREMRANGEBYSCORE', set, '-inf', now - ttl)
    redis.pcall('ZADD', set, now, key)
    local life = redis.pcall('PTTL', set)
    if type(life) == 'number' and life < ttl then redis.pcall('PEXPIRE', set, ttl) end
  end
end
`;

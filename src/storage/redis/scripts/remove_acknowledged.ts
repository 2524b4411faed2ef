/**
 * The Lua that removes acknowledged messages from the stream of due work, shared by the scripts
 * that acknowledge a batch (`finish`).
 *
 * @module
 */

/**
 * Defines `remove_acknowledged(stream, group, ids)`: deletes the messages `ids`, which the
 * caller has just acknowledged in `group`.
 *
 * `XDEL` finds each id by walking its stream node (up to 100 entries) from the start, over the
 * entries deleted before it, so a batch of n ids costs n walks: at a batch of 50, 2.5–3 µs of
 * Redis time per message, the largest single cost of a fire-and-forget drain. `XTRIM MINID`
 * frees whole nodes and walks a partial one once. A batch is trimmed instead, up to the first
 * message that must stay, which is the older of:
 *
 * - the oldest message still pending in the group (`XPENDING` summary: it may belong to any
 *   worker, and must stay to be finished or redelivered);
 * - the message right after the batch's newest one (nothing newer is known to be done).
 *
 * Everything older than that bound has been delivered (the group reads in order and the batch's
 * ids were delivered) and is no longer pending, so it has been acknowledged: trimming it removes
 * only messages an `XDEL` would remove anyway. The batch's ids at or past the bound (a run that
 * ended before an older one still running elsewhere) are deleted with `XDEL` as before.
 *
 * Small batches keep `XDEL`: for one id the trim walks its node all the same, and the `XPENDING`
 * costs more than it saves. So does a batch with an id this cannot read as `ms-seq` in a Lua
 * number, and a server that refuses `XPENDING` or `XTRIM` (an ACL without them).
 */
export const REMOVE_ACKNOWLEDGED_LUA = `
-- From this many ids a batch is trimmed rather than deleted id by id.
local TRIM_FROM = 16
-- The two parts of a stream id as Lua numbers (exact below 2^53), or nil.
local function id_parts(id)
  local dash = string.find(id, '-', 1, true)
  if not dash or dash > 16 or #id - dash > 15 then return nil end
  local ms, seq = tonumber(string.sub(id, 1, dash - 1)), tonumber(string.sub(id, dash + 1))
  if not ms or not seq then return nil end
  return ms, seq
end
local function older(ms_a, seq_a, ms_b, seq_b)
  return ms_a < ms_b or (ms_a == ms_b and seq_a < seq_b)
end
-- Where a trim of the batch may stop, and the batch's ids at or past it; nil when the batch must
-- be deleted id by id instead (small, an id not readable, XPENDING refused).
local function trim_plan(stream, group, ids)
  if #ids < TRIM_FROM then return nil end
  local ms_of, seq_of, newest_ms, newest_seq = {}, {}, -1, -1
  for i = 1, #ids do
    local ms, seq = id_parts(ids[i])
    if not ms then return nil end
    ms_of[i], seq_of[i] = ms, seq
    if older(newest_ms, newest_seq, ms, seq) then newest_ms, newest_seq = ms, seq end
  end
  local pending = redis.pcall('XPENDING', stream, group)
  if type(pending) ~= 'table' or pending.err then return nil end
  local oldest, oldest_ms, oldest_seq = pending[2], nil, nil
  if oldest then
    oldest_ms, oldest_seq = id_parts(oldest)
    if not oldest_ms then return nil end
  end
  -- Nothing pending older than the batch's newest: the whole batch goes with the trim.
  if not oldest or older(newest_ms, newest_seq, oldest_ms, oldest_seq) then
    return string.format('%d-%d', newest_ms, newest_seq + 1), {}
  end
  local staying = {}
  for i = 1, #ids do
    if not older(ms_of[i], seq_of[i], oldest_ms, oldest_seq) then
      staying[#staying + 1] = ids[i]
    end
  end
  return oldest, staying
end
local function remove_acknowledged(stream, group, ids)
  local bound, staying = trim_plan(stream, group, ids)
  if bound then
    local trimmed = redis.pcall('XTRIM', stream, 'MINID', bound)
    if type(trimmed) == 'table' and trimmed.err then bound = nil end
  end
  if not bound then staying = ids end
  if #staying > 0 then redis.call('XDEL', stream, unpack(staying)) end
end
`;

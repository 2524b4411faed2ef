/**
 * The `read_run` Lua script: reads a runs record whole, with a future task's due time.
 *
 * @module
 */

import { defineScript } from "../script.ts";

/**
 * Reads a runs record (HGETALL), adding field `when` from the queue's score when the record is a
 * future task's that leaves its due time to the queue (the schedule script writes none, as the
 * score holds it). One script, so the record and the score are read at one moment: a task moved
 * or replaced in between never mixes one run's fields with another's time.
 */
export const readRunScript = defineScript(
  "read_run",
  `
-- KEYS[1] runs hash of the task    KEYS[2] queue of future work (zset)
-- ARGV[1] task key
-- Returns the record's fields and values (HGETALL), then 'when' and the score when the record
-- is scheduled without a due time of its own; an empty list when there is no record.
local fields = redis.call('HGETALL', KEYS[1])
local state, when = nil, nil
for i = 1, #fields, 2 do
  if fields[i] == 'state' then state = fields[i + 1] end
  if fields[i] == 'when' then when = fields[i + 1] end
end
if state == 'scheduled' and not when then
  local score = redis.pcall('ZSCORE', KEYS[2], ARGV[1])
  if type(score) == 'string' then
    fields[#fields + 1] = 'when'
    fields[#fields + 1] = score
  end
end
return fields
`,
);

/**
 * The Lua that tells a script which of its state events someone can hear, shared by the scripts
 * that publish one event per task of a batch (`add_now`, `claim`, `read_claim`, `finish`,
 * `move_due`), so a batch nobody listens to costs no PUBLISH per task.
 *
 * @module
 */

/**
 * Defines `audience(channels, everywhere)` and `heard(audience, channel)`.
 *
 * A PUBLISH reaches only the clients subscribed at that instant, and nothing can subscribe while
 * a script runs: what `PUBSUB NUMPAT` and `PUBSUB NUMSUB` answer inside the script is exactly who
 * its PUBLISHes would reach, so leaving out the events nobody hears changes nothing anyone can
 * see. `audience` asks once per call (NUMSUB for every channel of the batch, a chunk at a time)
 * and answers a set of the channels with a subscriber, or `true` (publish everything) when:
 *
 * - `everywhere` is true: on Redis Cluster a PUBLISH also reaches the subscribers of every other
 *   node, which this node's counts leave out (the client passes '1' there);
 * - any pattern subscription exists on the server (the dashboard's live view): the script does
 *   not match patterns itself;
 * - there are fewer than two channels: asking would cost more commands than publishing;
 * - Redis refuses PUBSUB (an ACL user without `pubsub|numpat` and `pubsub|numsub`).
 *
 * Subscribers of a replica (which gets the master's PUBLISHes) are not counted: nothing in
 * docket subscribes on a replica (on Sentinel, its pub/sub follows the master).
 *
 * Channels may repeat. `heard(audience, channel)` says whether to publish on `channel`.
 */
export const LISTENERS_LUA = `
local function audience(channels, everywhere)
  if everywhere or #channels < 2 then return true end
  -- pcall: a user whose ACL lacks PUBSUB still gets every event, as before it was asked.
  local patterns = redis.pcall('PUBSUB', 'NUMPAT')
  if type(patterns) ~= 'number' or patterns > 0 then return true end
  local listened = {}
  for from = 1, #channels, 1000 do
    local reply = redis.pcall('PUBSUB', 'NUMSUB', unpack(channels, from,
      math.min(from + 999, #channels)))
    if type(reply) ~= 'table' or reply.err then return true end
    for j = 1, #reply, 2 do
      -- Anything but a count of 0 counts as a listener.
      if (tonumber(reply[j + 1]) or 1) > 0 then listened[reply[j]] = true end
    end
  end
  return listened
end

local function heard(audience, channel)
  return audience == true or audience[channel] == true
end
`;

/**
 * The keys and arguments of one `finish` script call for a batch of ends (see
 * `scripts/finish.ts` for their layout): tracked runs, then dead-letter entries, then the bare
 * stream ids of untracked runs, then the minute's stats hash.
 *
 * @module
 */

import type { FinishRequest } from "../backend.ts";
import type { DocketKeys } from "../../keys.ts";
import type { Arg } from "./access.ts";
import { statsArgs, statsKey } from "./events.ts";

/**
 * Lays out a batch of ends as the finish script reads them (`subscribersElsewhere`: see
 * `RedisAccess`).
 *
 * @example
 * ```ts ignore
 * const { keys, args } = finishCall(docketKeys, requests, Date.now(), 900_000, false);
 * await backend.run(finishScript, keys, args);
 * ```
 */
export function finishCall(
  keys: DocketKeys,
  requests: FinishRequest[],
  now: number,
  ttlMs: number,
  subscribersElsewhere: boolean,
): { keys: string[]; args: Arg[] } {
  const scriptKeys = [keys.stream, keys.failed];
  const args: Arg[] = [
    keys.group,
    now,
    ttlMs,
    0,
    0,
    ...statsArgs(requests),
    subscribersElsewhere ? "1" : "0",
  ];
  const untracked: string[] = [];
  const letters: FinishRequest[] = [];
  for (const request of requests) {
    if (request.deadLetter) letters.push(request);
    if (request.generation === 0) {
      untracked.push(request.id);
      continue;
    }
    args[3] = (args[3] as number) + 1;
    scriptKeys.push(keys.runs(request.key), keys.progress(request.key));
    args.push(
      request.id,
      request.key,
      request.generation,
      request.state,
      request.error ?? "",
      request.failure ?? "",
      request.result ?? "",
      keys.stateChannel(request.key),
    );
  }
  args[4] = letters.length;
  for (const { key, generation, deadLetter } of letters) {
    const letter = deadLetter!;
    scriptKeys.push(keys.failedEntry(key), keys.failedByTask(letter.task));
    args.push(
      generation,
      key,
      letter.task,
      letter.data,
      Math.round(letter.when),
      letter.attempt,
      letter.worker,
      letter.errorName,
      letter.errorMessage,
      letter.errorStack ?? "",
      letter.ttlMs,
    );
  }
  args.push(...untracked);
  scriptKeys.push(statsKey(keys, now));
  return { keys: scriptKeys, args };
}

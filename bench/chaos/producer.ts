/**
 * A chaos producer, run as its own process: adds `count` tasks with unique keys
 * `<prefix>-<n>`, paced to `rate` per second, retrying through Redis restarts. Before retrying a
 * key whose add failed it looks the key up, so an add that reached Redis but whose reply was lost
 * is not added twice. Prints `added <n>` as it goes and `done <n>` at the end.
 *
 * deno run -A bench/chaos/producer.ts <url> <docket> <prefix> <count> <rate> <seed>
 */

import { Docket } from "../../mod.ts";
import { createLogger } from "../../src/logging/logger.ts";
import { chaosWork } from "./tasks.ts";
import { Random } from "./rng.ts";

const [url, name, prefix, countText, rateText, seedText] = Deno.args;
const count = Number(countText);
const rate = Number(rateText);
const random = new Random(Number(seedText));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const logger = createLogger({ level: "error", format: "json" });

async function connect(): Promise<Docket> {
  for (;;) {
    try {
      return await Docket.connect({ name, url, logger, executionTtl: { hours: 12 } });
    } catch {
      await sleep(200);
    }
  }
}

const docket = await connect();
docket.register(chaosWork);

async function addOnce(key: string, ms: number): Promise<void> {
  let failed = false;
  for (;;) {
    try {
      if (failed && (await docket.getExecution(key)) !== null) return;
      await docket.add(chaosWork, { key })({ ms });
      return;
    } catch {
      failed = true;
      await sleep(100);
    }
  }
}

const BATCH = 20;
const started = Date.now();
let added = 0;
for (let from = 0; from < count; from += BATCH) {
  const keys = [];
  for (let n = from; n < Math.min(count, from + BATCH); n++) keys.push(n);
  await Promise.all(keys.map((n) => addOnce(`${prefix}-${n}`, random.between(5, 120))));
  added += keys.length;
  if (added % 500 < BATCH) console.log(`added ${added}`);
  const due = started + (added / rate) * 1000;
  if (due > Date.now()) await sleep(due - Date.now());
}
console.log(`done ${added}`);
await docket[Symbol.asyncDispose]();
Deno.exit(0);

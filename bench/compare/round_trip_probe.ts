/**
 * What one awaited call costs, side by side in one process on one throwaway Redis: a bare `PING`
 * through node-redis and through ioredis (the round trip alone), `docket.add` with state kept,
 * and BullMQ's `queue.add` with completed jobs kept 15 minutes. Three rounds of 5,000 calls each
 * after 500 warm-up calls; wall time and process CPU (user + system) per call.
 *
 *   deno run -A --lock=bench/compare/deno.lock bench/compare/round_trip_probe.ts
 *
 * The "one awaited add" row of RESULTS.md is bound by the round trip: see bench/PROFILE.md.
 */
// deno-lint-ignore-file no-import-prefix
import "npm:ioredis@5.11.1";
import { Redis } from "npm:ioredis@5.11.1";
import { Queue } from "npm:bullmq@6.7.0";
import { createClient } from "redis";
import pino from "pino";
import { Docket, task } from "../../mod.ts";
import { startRedisServer } from "./redis_server.ts";

const CALLS = 5_000;
const WARM_UP = 500;
const ROUNDS = 3;

async function perCall(label: string, call: (i: number) => Promise<unknown>): Promise<string> {
  for (let i = 0; i < WARM_UP; i++) await call(i);
  const cpu = process.cpuUsage();
  const start = performance.now();
  for (let i = 0; i < CALLS; i++) await call(i);
  const wall = (performance.now() - start) * 1_000 / CALLS;
  const used = process.cpuUsage(cpu);
  return `${label} ${wall.toFixed(0)} µs (CPU ${
    ((used.user + used.system) / CALLS).toFixed(0)
  } µs)`;
}

const server = await startRedisServer();
const connection = { host: server.host, port: server.port };
const nodeRedis = createClient({ url: server.url });
await nodeRedis.connect();
const ioredis = new Redis(connection);
const queue = new Queue("probe", { connection });
const docket = await Docket.connect({
  name: "probe",
  url: server.url,
  logger: pino({ level: "silent" }),
});
const noop = task({ name: "noop", run: (_payload: { i: number }) => {} });
docket.register(noop);
const add = docket.add(noop);
try {
  for (let round = 0; round < ROUNDS; round++) {
    console.log([
      await perCall("node-redis PING", () => nodeRedis.ping()),
      await perCall("ioredis PING", () => ioredis.ping()),
      await perCall("docket.add", (i) => add({ i })),
      await perCall(
        "BullMQ add",
        (i) => queue.add("noop", { i }, { removeOnComplete: { age: 900 } }),
      ),
    ].join(" | "));
  }
} finally {
  await docket.close();
  await queue.close();
  ioredis.disconnect();
  await nodeRedis.close();
  await server.stop();
}

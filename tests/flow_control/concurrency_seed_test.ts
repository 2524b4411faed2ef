/**
 * The seed's "Concurrency Control" examples, as written (in TypeScript).
 */

import assert from "node:assert/strict";
import { ConcurrencyLimit, task, Worker } from "../../mod.ts";
import { BACKENDS, connectDocket, FAST } from "../_harness.ts";
import { Gate, Overlap, redisCommand, sleep, waitForState } from "./_support.ts";
import { withWorker } from "./_concurrency.ts";

for (const kind of BACKENDS) {
  Deno.test(`seed: basic concurrency limits [${kind}]`, async () => {
    await using docket = await connectDocket(kind);
    const overlap = new Overlap();
    const processCustomerData = task({
      name: "process_customer_data",
      concurrency: ConcurrencyLimit("customer_id", { max: 1 }),
      async run({ customer_id }: { customer_id: number }) {
        overlap.enter(String(customer_id));
        await sleep(40); // update_customer_profile, recalculate_customer_metrics
        overlap.leave(String(customer_id));
      },
    });
    docket.register(processCustomerData);
    // These will run sequentially for the same customer
    await docket.add(processCustomerData)({ customer_id: 1001 });
    await docket.add(processCustomerData)({ customer_id: 1001 });
    await docket.add(processCustomerData)({ customer_id: 1001 });
    // But different customers can run concurrently
    await docket.add(processCustomerData)({ customer_id: 2001 });
    await docket.add(processCustomerData)({ customer_id: 3001 });
    await new Worker(docket, FAST).runUntilFinished();
    assert.equal(overlap.peak("1001"), 1);
    assert.equal(overlap.peakTotal, 3, "1001, 2001 and 3001 ran at once");
  });

  Deno.test(`seed: database connection pooling [${kind}]`, async () => {
    await using docket = await connectDocket(kind);
    const overlap = new Overlap();
    const backed: string[] = [];
    const backupDatabaseTable = task({
      name: "backup_database_table",
      concurrency: ConcurrencyLimit("db_name", { max: 2 }),
      async run({ db_name, table_name }: { db_name: string; table_name: string }) {
        overlap.enter(db_name);
        await sleep(25); // create_table_backup, verify_backup_integrity
        overlap.leave(db_name);
        backed.push(`${db_name}.${table_name}`);
      },
    });
    docket.register(backupDatabaseTable);
    // Schedule many backup tasks - only 2 per database will run concurrently
    const tables = ["users", "orders", "products", "analytics", "logs"];
    for (const table of tables) {
      await docket.add(backupDatabaseTable)({ db_name: "production", table_name: table });
      await docket.add(backupDatabaseTable)({ db_name: "staging", table_name: table });
    }
    await new Worker(docket, FAST).runUntilFinished();
    assert.equal(backed.length, 10);
    assert.equal(overlap.peak("production"), 2);
    assert.equal(overlap.peak("staging"), 2);
  });

  Deno.test(`seed: API rate limiting and file processing limits [${kind}]`, async () => {
    await using docket = await connectDocket(kind);
    const overlap = new Overlap();
    const syncUser = task({
      name: "sync_user_with_external_service",
      concurrency: ConcurrencyLimit("service_name", { max: 5 }),
      async run({ service_name }: { user_id: number; service_name: string }) {
        overlap.enter(service_name);
        await sleep(20);
        overlap.leave(service_name);
      },
    });
    const processMediaFile = task({
      name: "process_media_file",
      concurrency: ConcurrencyLimit("operation_type", { max: 3 }),
      async run({ operation_type }: { file_path: string; operation_type: string }) {
        overlap.enter(operation_type);
        await sleep(20);
        overlap.leave(operation_type);
      },
    });
    docket.register(syncUser);
    docket.register(processMediaFile);
    await docket.add(syncUser)({ user_id: 123, service_name: "salesforce" });
    await docket.add(syncUser)({ user_id: 456, service_name: "salesforce" });
    await docket.add(syncUser)({ user_id: 789, service_name: "hubspot" });
    for (let i = 0; i < 8; i++) {
      await docket.add(syncUser)({ user_id: 1000 + i, service_name: "salesforce" });
      await docket.add(processMediaFile)({
        file_path: `/videos/movie${i}.mp4`,
        operation_type: "video_transcode",
      });
    }
    await docket.add(processMediaFile)({
      file_path: "/images/photo1.jpg",
      operation_type: "image_resize",
    });
    await new Worker(docket, { ...FAST, concurrency: 20 }).runUntilFinished();
    assert.equal(overlap.peak("salesforce"), 5);
    assert.equal(overlap.peak("video_transcode"), 3);
    assert.equal(overlap.peak("hubspot"), 1);
    assert.equal(overlap.peak("image_resize"), 1);
  });

  Deno.test(`seed: custom scopes and multi-level concurrency [${kind}]`, async () => {
    await using docket = await connectDocket(kind);
    const overlap = new Overlap();
    const processTenantData = task({
      name: "process_tenant_data",
      concurrency: ConcurrencyLimit("tenant_id", { max: 2, scope: "tenant_operations" }),
      async run({ tenant_id }: { tenant_id: string; operation: string }) {
        overlap.enter(`tenant:${tenant_id}`);
        await sleep(20);
        overlap.leave(`tenant:${tenant_id}`);
      },
    });
    const processGlobalData = task({
      name: "process_global_data",
      concurrency: ConcurrencyLimit("data_type", { max: 1, scope: "global_operations" }),
      async run({ data_type }: { data_type: string }) {
        overlap.enter(`global:${data_type}`);
        await sleep(20);
        overlap.leave(`global:${data_type}`);
      },
    });
    const processUserExport = task({
      name: "process_user_export",
      concurrency: [
        ConcurrencyLimit("user_id", { max: 1 }),
        ConcurrencyLimit("export_type", { max: 3 }),
        ConcurrencyLimit("region", { max: 10 }),
      ],
      async run({ user_id, export_type, region }: {
        user_id: number;
        export_type: string;
        region: string;
      }) {
        const groups = [`user:${user_id}`, `type:${export_type}`, `region:${region}`];
        overlap.enter(...groups);
        await sleep(15);
        overlap.leave(...groups);
      },
    });
    for (const t of [processTenantData, processGlobalData, processUserExport]) docket.register(t);
    for (let i = 0; i < 6; i++) {
      await docket.add(processTenantData)({ tenant_id: "acme", operation: `op${i}` });
      await docket.add(processGlobalData)({ data_type: "prices" });
    }
    for (let i = 0; i < 40; i++) {
      await docket.add(processUserExport)({
        user_id: i % 5,
        export_type: ["csv", "pdf"][i % 2],
        region: ["eu", "us"][i % 3 === 0 ? 0 : 1],
      });
    }
    await new Worker(docket, { ...FAST, concurrency: 20 }).runUntilFinished();
    assert.equal(overlap.peak("tenant:acme"), 2);
    assert.equal(overlap.peak("global:prices"), 1);
    for (let u = 0; u < 5; u++) assert.equal(overlap.peak(`user:${u}`), 1);
    assert.ok(overlap.peak("type:csv") <= 3 && overlap.peak("type:pdf") <= 3);
    assert.ok(overlap.peak("type:csv") + overlap.peak("type:pdf") > 2, "types ran side by side");
    assert.ok(overlap.peak("region:us") <= 10);
  });
}

Deno.test("seed: monitoring concurrency from Redis (ZCARD on the slot key) [redis]", async () => {
  if (!BACKENDS.includes("redis")) return;
  await using docket = await connectDocket("redis");
  const gate = new Gate();
  const started = new Gate();
  const job = task({
    name: "process_customer_data",
    concurrency: ConcurrencyLimit("customer_id", { max: 1 }),
    async run(_p: { customer_id: number }, ctx) {
      if (ctx.key === "first") {
        started.open();
        await gate.opened;
      }
    },
  });
  docket.register(job);
  await withWorker(docket, { redeliveryTimeout: 10_000 }, async () => {
    await docket.add(job, { key: "first" })({ customer_id: 1001 });
    await started.opened;
    await docket.add(job, { key: "second" })({ customer_id: 1001 });
    await waitForState(docket, "second", "scheduled");
    const redis = await docket.redis();
    const slots = `{${docket.name}}:concurrency:customer_id:1001`;
    assert.equal(await redis.sendCommand(["ZCARD", slots]), 1);
    assert.deepEqual(await redis.sendCommand(["ZRANGE", slots, "0", "-1"]), ["first@1"]);
    assert.equal(await redis.sendCommand(["XLEN", `${slots}:waiters`]), 1);
    const ttl = await redis.sendCommand(["PTTL", slots]) as number;
    assert.ok(ttl > 0 && ttl <= 40_000, `the slot set expires (${ttl})`);
    assert.deepEqual(
      await redis.sendCommand(["ZRANGE", `{${docket.name}}:concurrency-watch`, "0", "-1"]),
      [
        "concurrency:customer_id:1001",
      ],
    );
    gate.open();
    await (await docket.getExecution("second"))!.getResult({ timeout: 5_000 });
  });
  assert.deepEqual(
    await redisCommand(docket, ["EXISTS", `{${docket.name}}:concurrency:customer_id:1001`]),
    0,
  );
});

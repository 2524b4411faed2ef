/**
 * Least-privilege ACL users: one restricted as the README says (its docket's keys and channels,
 * the docket's command list) runs the core flows; one missing a command gets an error that names
 * it and the ACL line that fixes it; one without PUBSUB still gets every event.
 */

import assert from "node:assert/strict";
import { createClient } from "redis";
import { ConcurrencyLimit, Docket, PermissionError, task, Worker } from "../../mod.ts";
import { aclRules, DOCKET_COMMANDS, escapeGlob } from "../../src/storage/redis/permissions.ts";
import { FAST, LogCapture, uniqueName } from "../_harness.ts";
import { type Spawned, startRedisWith } from "../_servers.ts";
import { runCli } from "../cli/_cli.ts";
import { ROOT } from "../cli/_cli.ts";

const PASSWORD = "a/cl@p%:w";

/** The default user's connection, which creates the restricted users. */
interface Admin {
  sendCommand(args: string[]): Promise<unknown>;
}

async function withAclServer(
  run: (admin: Admin, port: number) => Promise<void>,
): Promise<void> {
  let server: Spawned | undefined;
  const admin = () => createClient({ socket: { host: "127.0.0.1", port: server!.port } });
  let client: ReturnType<typeof admin> | undefined;
  try {
    // An evicting policy: the restricted user cannot read it, so no warning may appear.
    server = await startRedisWith(["--maxmemory-policy", "allkeys-lru"]);
    client = admin();
    await client.connect();
    await run(client as unknown as Admin, server.port);
  } finally {
    client?.destroy();
    await server?.kill();
  }
}

async function createUser(
  admin: Admin,
  user: string,
  rules: string,
): Promise<string> {
  await admin.sendCommand(["ACL", "SETUSER", user, "on", `>${PASSWORD}`, ...rules.split(" ")]);
  return user;
}

Deno.test("the README's ACL rules are the ones the library derives", () => {
  const readme = Deno.readTextFileSync(`${ROOT}/README.md`);
  assert.ok(readme.includes(aclRules("orders")), 'README shows aclRules("orders")');
  assert.equal(escapeGlob("eu*jobs?[1]"), "eu\\*jobs\\?\\[1\\]");
  // Every command a script calls is in the list (ACLs apply inside scripts).
  for (const entry of Deno.readDirSync(`${ROOT}/src/storage/redis/scripts`)) {
    const source = Deno.readTextFileSync(`${ROOT}/src/storage/redis/scripts/${entry.name}`);
    for (const [, command] of source.matchAll(/redis\.p?call\(\s*['"]([A-Za-z]+)['"]/g)) {
      // A command with subcommands (XGROUP, XINFO) is granted one subcommand at a time.
      const name = command.toLowerCase();
      const granted = DOCKET_COMMANDS.some((c) => c === name || c.startsWith(`${name}|`));
      assert.ok(granted, `${entry.name}: ${command}`);
    }
  }
});

Deno.test("a user restricted to its docket runs add, worker, results, progress, strikes, flow control, the failed set and the CLI", async () => {
  await withAclServer(async (admin, port) => {
    const name = uniqueName("acl");
    const user = await createUser(admin, "app", aclRules(name));
    const url = `redis://${user}:${PASSWORD}@127.0.0.1:${port}/0`;
    const capture = new LogCapture();
    await using docket = await Docket.connect({ url, name, logger: capture.logger });
    const ran: number[] = [];
    const double = task({
      name: "double",
      async run({ n }: { n: number }, ctx) {
        await ctx.progress.setTotal(2);
        await ctx.progress.increment();
        await ctx.progress.increment();
        ran.push(n);
        return n * 2;
      },
    });
    const limited = task({
      name: "limited",
      concurrency: ConcurrencyLimit("id", { max: 1 }),
      run: ({ id }: { id: string }) => id,
    });
    const boom = task({
      name: "boom",
      run: () => {
        throw new Error("boom");
      },
    });
    docket.register(double);
    docket.register(limited);
    docket.register(boom);
    await docket.strike(double, "n", "==", 5);
    const struck = await docket.add(double)({ n: 5 });
    const executions = await docket.addMany(double)([{ n: 1 }, { n: 2 }, { n: 3 }]);
    const progress: number[] = [];
    const watching = (async () => {
      for await (const event of executions[0].subscribe()) {
        if (event.type === "progress") progress.push(event.current ?? -1);
        if (event.type === "state" && event.state === "completed") break;
      }
    })();
    const limitedRuns = await docket.addMany(limited)([{ id: "a" }, { id: "a" }, { id: "b" }]);
    const future = await docket.add(double, { when: new Date(Date.now() + 50) })({ n: 4 });
    const failing = await docket.add(boom)({});
    await new Worker(docket, FAST).runUntilFinished();
    await watching;
    for (const [i, execution] of executions.entries()) {
      assert.equal(await execution.getResult({ timeout: { seconds: 30 } }), (i + 1) * 2);
    }
    assert.equal(await future.getResult({ timeout: { seconds: 30 } }), 8);
    for (const execution of limitedRuns) {
      assert.equal(await execution.getResult({ timeout: { seconds: 30 } }), execution.payload.id);
    }
    assert.ok(!ran.includes(5), "the struck task did not run");
    assert.equal((await docket.getExecution(struck.key))?.state !== "completed", true);
    assert.deepEqual(progress.slice(-1), [2]);
    await assert.rejects(failing.getResult({ timeout: { seconds: 30 } }), /boom/);
    const failed = await docket.failed();
    assert.deepEqual(failed.items.map((item) => item.key), [failing.key]);
    const retried = await docket.retry(failing.key);
    assert.equal((await docket.failed()).items.length, 0);
    await docket.cancel(retried.key);
    await docket.restore(double, "n", "==", 5);
    assert.equal((await docket.snapshot()).totalTasks, 0);

    const cli = await runCli("deno", ["snapshot", "--url", url, "--docket", name]);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /Nothing is scheduled, queued or running/);
    const strike = await runCli("deno", ["strike", "double", "--url", url, "--docket", name]);
    assert.equal(strike.code, 0, strike.stderr);
    const cliText = cli.stderr + strike.stderr;
    assert.ok(!/maxmemory|NOPERM|refused/.test(cliText), cliText);

    const logged = capture.text();
    assert.ok(!/maxmemory|NOPERM|PermissionError|refused/.test(logged), logged);
    // The user really is restricted: another docket's keys and CONFIG are refused.
    const raw = createClient({
      url: `redis://${user}:${encodeURIComponent(PASSWORD)}@127.0.0.1:${port}/0`,
    });
    await raw.connect();
    await assert.rejects(raw.sendCommand(["GET", "{other}:x"]), /NOPERM/);
    await assert.rejects(raw.sendCommand(["CONFIG", "GET", "maxmemory-policy"]), /NOPERM/);
    raw.destroy();
  });
});

Deno.test("a user missing one command gets an error naming it and the ACL line", async () => {
  await withAclServer(async (admin, port) => {
    const name = uniqueName("acl");
    // Missing a command a script calls: Redis's own error names neither.
    const noPublish = await createUser(admin, "no-publish", `${aclRules(name)} -publish`);
    await using docket = await Docket.connect({
      url: `redis://${noPublish}:${PASSWORD}@127.0.0.1:${port}/0`,
      name,
      logger: new LogCapture().logger,
    });
    const error = await docket.add("trace")({ message: "x" }).then(() => undefined, (e) => e);
    assert.ok(error instanceof PermissionError, String(error));
    assert.match(error.message, /refused the 'publish' command in docket's "\w+" script/);
    assert.match(error.message, /to user "no-publish"/);
    assert.ok(error.message.includes(`ACL SETUSER no-publish on ${aclRules(name)}`), error.message);
    assert.ok(!error.message.includes(PASSWORD));

    // Missing a command sent directly.
    const noRange = await createUser(admin, "no-range", `${aclRules(name)} -xpending`);
    await using other = await Docket.connect({
      url: `redis://${noRange}:${PASSWORD}@127.0.0.1:${port}/0`,
      name,
      logger: new LogCapture().logger,
    });
    await assert.rejects(
      other.snapshot(),
      (e: unknown) =>
        e instanceof PermissionError && /refused the 'xpending' command/.test(e.message),
    );

    // Another docket's keys: the key is named.
    const elsewhere = await createUser(admin, "elsewhere", aclRules("not-this-one"));
    await assert.rejects(
      Docket.connect({
        url: `redis://${elsewhere}:${PASSWORD}@127.0.0.1:${port}/0`,
        name,
        logger: new LogCapture().logger,
      }),
      (e: unknown) =>
        e instanceof PermissionError && e.message.includes(`refused the key {${name}}:strikes`),
    );
  });
});

Deno.test("a user without PUBSUB still gets every event of a batch", async () => {
  await withAclServer(async (admin, port) => {
    const name = uniqueName("acl");
    const rules = `${aclRules(name)} -pubsub|numpat -pubsub|numsub`;
    const user = await createUser(admin, "no-pubsub", rules);
    await using docket = await Docket.connect({
      url: `redis://${user}:${PASSWORD}@127.0.0.1:${port}/0`,
      name,
      logger: new LogCapture().logger,
    });
    const later = task({ name: "later", run: () => {} });
    docket.register(later);
    const executions = await docket.addMany(later, { when: Date.now() + 3_600_000 })([{}, {}, {}]);
    const events: string[] = [];
    const marker = docket.keys.stateChannel("marker");
    const markerArrived = Promise.withResolvers<void>();
    const unsubscribe = await docket.backend.subscribe(
      docket.keys.stateChannel(executions[1].key),
      (message) => events.push(JSON.parse(message).state),
    );
    const unsubscribeMarker = await docket.backend.subscribe(marker, () => markerArrived.resolve());
    // The move asks who listens, is refused, and publishes every queued event as it did before.
    assert.equal(await docket.backend.moveDue(Date.now() + 7_200_000, 1_000), 3);
    // Published after the move on the same server: it arrives after the move's events.
    await (await docket.redis()).sendCommand(["PUBLISH", marker, "end"]);
    await markerArrived.promise;
    assert.deepEqual(events, ["queued"]);
    // Redis did refuse it.
    assert.match(JSON.stringify(await admin.sendCommand(["ACL", "LOG"])), /pubsub\|numpat/);
    await unsubscribe();
    await unsubscribeMarker();
  });
});

import assert from "node:assert/strict";
import { createLogger, formatDuration, type LoggerOptions } from "../../src/logging/logger.ts";

function capture(options: LoggerOptions = {}) {
  const lines: string[] = [];
  const logger = createLogger({ ...options, destination: { write: (line) => lines.push(line) } });
  return { logger, lines };
}

/** Run `fn` with DOCKET_LOG_LEVEL set to `value` (or unset), restoring it afterwards. */
function withLevelEnv(value: string | undefined, fn: () => void) {
  const previous = Deno.env.get("DOCKET_LOG_LEVEL");
  try {
    if (value === undefined) Deno.env.delete("DOCKET_LOG_LEVEL");
    else Deno.env.set("DOCKET_LOG_LEVEL", value);
    fn();
  } finally {
    if (previous === undefined) Deno.env.delete("DOCKET_LOG_LEVEL");
    else Deno.env.set("DOCKET_LOG_LEVEL", previous);
  }
}

Deno.test("json output is synchronous, parseable and carries level, msg and bound fields", () => {
  withLevelEnv(undefined, () => {
    const { logger, lines } = capture({ format: "json" });
    logger.child({ worker: "w1" }).info({ key: "order-1" }, "task started");
    assert.equal(lines.length, 1);
    assert.ok(lines[0].endsWith("\n"));
    const record = JSON.parse(lines[0]);
    assert.equal(record.level, 30);
    assert.equal(record.msg, "task started");
    assert.equal(record.name, "docket");
    assert.equal(record.worker, "w1");
    assert.equal(record.key, "order-1");
    assert.equal(typeof record.time, "number");
  });
});

Deno.test("auto format with a custom destination writes json", () => {
  withLevelEnv(undefined, () => {
    const { logger, lines } = capture();
    logger.warn("careful");
    assert.equal(JSON.parse(lines[0]).msg, "careful");
  });
});

Deno.test("pretty output is one readable line with time, level, message and fields", () => {
  withLevelEnv(undefined, () => {
    const { logger, lines } = capture({ format: "pretty" });
    const message = "↪ process_order(customerId='1001', ...)";
    logger.child({ worker: "w1" }).info({ key: "order-1", attempt: 2 }, message);
    assert.equal(lines.length, 1);
    const line = lines[0];
    assert.ok(line.endsWith("\n"));
    assert.equal(line.split("\n").length, 2, "a single line");
    assert.match(line, /^\d\d:\d\d:\d\d\.\d{3} INFO {2}\S/);
    assert.ok(line.includes(message));
    assert.ok(!line.startsWith("{"));
    assert.ok(!line.includes('"msg"'));
    assert.ok(!line.includes('"level"'));
    assert.ok(line.includes("worker=w1"), line);
    assert.ok(line.includes("key=order-1"), line);
    assert.ok(line.includes("attempt=2"), line);
    assert.ok(!line.includes("pid="), line);
    assert.ok(!line.includes("hostname="), line);
  });
});

Deno.test("pretty output prints an error's stack on its own lines", () => {
  withLevelEnv(undefined, () => {
    const { logger, lines } = capture({ format: "pretty" });
    logger.error({ err: new Error("kaboom") }, "task failed");
    const [first, ...rest] = lines[0].trimEnd().split("\n");
    assert.match(first, /ERROR task failed/);
    assert.ok(!first.includes("kaboom"), first);
    assert.ok(rest.length >= 2, lines[0]);
    assert.equal(rest[0].trim(), "Error: kaboom");
    assert.ok(rest[1].trim().startsWith("at "), rest[1]);
  });
});

Deno.test("the level option filters records", () => {
  withLevelEnv(undefined, () => {
    const { logger, lines } = capture({ level: "warn", format: "json" });
    logger.info("hidden");
    logger.warn("shown");
    assert.equal(lines.length, 1);
    assert.equal(JSON.parse(lines[0]).msg, "shown");
    assert.equal(logger.level, "warn");
  });
});

Deno.test("the default level is info", () => {
  withLevelEnv(undefined, () => {
    const { logger, lines } = capture({ format: "json" });
    logger.debug("hidden");
    logger.info("shown");
    assert.equal(logger.level, "info");
    assert.equal(lines.length, 1);
  });
});

Deno.test("an unknown level is refused with a message naming it", () => {
  withLevelEnv(undefined, () => {
    assert.throws(
      () => createLogger({ level: "verbose", destination: { write() {} } }),
      (error: Error) =>
        error.message.includes("verbose") && error.message.includes("debug") &&
        error.message.includes("silent"),
    );
  });
});

Deno.test("DOCKET_LOG_LEVEL is honoured", () => {
  withLevelEnv("debug", () => {
    const { logger, lines } = capture({ format: "json" });
    assert.equal(logger.level, "debug");
    logger.debug("visible");
    assert.equal(JSON.parse(lines[0]).level, 20);
  });
  withLevelEnv("ERROR", () => {
    const { logger, lines } = capture({ format: "json" });
    assert.equal(logger.level, "error");
    logger.warn("hidden");
    assert.equal(lines.length, 0);
  });
  withLevelEnv("debug", () => {
    const { logger } = capture({ level: "fatal", format: "json" });
    assert.equal(logger.level, "fatal", "explicit option wins over the environment");
  });
  withLevelEnv("chatty", () => {
    assert.throws(
      () => createLogger({ destination: { write() {} } }),
      /chatty.*DOCKET_LOG_LEVEL/,
    );
  });
});

Deno.test("silent level writes nothing", () => {
  withLevelEnv(undefined, () => {
    const { logger, lines } = capture({ level: "silent", format: "pretty" });
    logger.fatal("nothing");
    assert.equal(lines.length, 0);
  });
});

Deno.test("an unknown format is refused", () => {
  assert.throws(
    () => createLogger({ format: "xml" as "json", destination: { write() {} } }),
    /xml/,
  );
});

Deno.test("formatDuration renders fixed-width milliseconds and seconds", () => {
  assert.equal(formatDuration(0), "     0ms");
  assert.equal(formatDuration(1), "     1ms");
  assert.equal(formatDuration(1234), "  1234ms");
  assert.equal(formatDuration(99_999), " 99999ms");
  assert.equal(formatDuration(100_000), "   100s ");
  assert.equal(formatDuration(3_600_000), "  3600s ");
  for (const ms of [0, 5, 999, 12_345, 99_999, 100_000, 250_000, 999_000]) {
    assert.equal(formatDuration(ms).length, 8, `${ms}`);
  }
});

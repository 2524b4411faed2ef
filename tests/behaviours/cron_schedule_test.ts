import assert from "node:assert/strict";
import { type CronSchedule, parseCron } from "../../src/behaviours/cron_schedule.ts";

// Every test starts from fixed instants, so nothing depends on the wall clock. Deno's op
// sanitizer also fails a test that leaves a timer behind, which checks croner schedules nothing.

/** Epoch ms of an ISO instant; the strings below always carry their "Z". */
const at = (iso: string): number => Date.parse(iso);

/** The next `count` runs after `fromIso`, as ISO strings, asserting they strictly increase. */
function runs(schedule: CronSchedule, fromIso: string, count: number): string[] {
  const out: string[] = [];
  let after = at(fromIso);
  for (let i = 0; i < count; i++) {
    const next = schedule.next(after);
    assert.ok(next > after, `${schedule.expression}: ${next} is not after ${after}`);
    out.push(new Date(next).toISOString());
    after = next;
  }
  return out;
}

/** How many runs fall in [fromIso, toIso), asserting strict increase and whole minutes. */
function countRuns(schedule: CronSchedule, fromIso: string, toIso: string): number {
  let count = 0;
  const end = at(toIso);
  for (let next = schedule.next(at(fromIso) - 1); next < end; count++) {
    assert.equal(next % 60_000, 0, `${schedule.expression}: run ${next} not on a whole minute`);
    const following = schedule.next(next);
    assert.ok(following > next, `${schedule.expression} (${schedule.tz}) went back at ${next}`);
    next = following;
  }
  return count;
}

Deno.test("parseCron keeps the expression and time zone, defaulting to UTC", () => {
  const schedule = parseCron("  0 9 * * 1-5 ");
  assert.equal(schedule.expression, "0 9 * * 1-5");
  assert.equal(schedule.tz, "UTC");
  assert.equal(parseCron("@daily", "Europe/Paris").tz, "Europe/Paris");
  assert.ok(Object.isFrozen(schedule));
});

Deno.test("each keyword expands to its 5-field equivalent", () => {
  const from = "2026-05-13T10:17:23.456Z"; // a Wednesday
  const cases: [string, string, string][] = [
    ["@yearly", "0 0 1 1 *", "2027-01-01T00:00:00.000Z"],
    ["@annually", "0 0 1 1 *", "2027-01-01T00:00:00.000Z"],
    ["@monthly", "0 0 1 * *", "2026-06-01T00:00:00.000Z"],
    ["@weekly", "0 0 * * 0", "2026-05-17T00:00:00.000Z"],
    ["@daily", "0 0 * * *", "2026-05-14T00:00:00.000Z"],
    ["@midnight", "0 0 * * *", "2026-05-14T00:00:00.000Z"],
    ["@hourly", "0 * * * *", "2026-05-13T11:00:00.000Z"],
  ];
  for (const [keyword, fields, expected] of cases) {
    assert.deepEqual(runs(parseCron(keyword), from, 1), [expected], keyword);
    // Also over a few runs, so a keyword matching only its first run would be caught.
    assert.deepEqual(runs(parseCron(keyword), from, 3), runs(parseCron(fields), from, 3), keyword);
  }
  assert.deepEqual(runs(parseCron("@DAILY"), from, 1), ["2026-05-14T00:00:00.000Z"]);
});

Deno.test("keywords honour the time zone", () => {
  assert.deepEqual(runs(parseCron("@daily", "Europe/Paris"), "2026-05-13T10:00:00Z", 2), [
    "2026-05-13T22:00:00.000Z",
    "2026-05-14T22:00:00.000Z",
  ]);
  assert.deepEqual(runs(parseCron("@monthly", "America/New_York"), "2026-05-13T10:00:00Z", 1), [
    "2026-06-01T04:00:00.000Z",
  ]);
});

Deno.test("next() is strictly after its argument, to the millisecond", () => {
  const daily = parseCron("0 9 * * *");
  assert.equal(daily.next(at("2026-01-05T08:59:59.999Z")), at("2026-01-05T09:00:00Z"));
  assert.equal(daily.next(at("2026-01-05T09:00:00.000Z")), at("2026-01-06T09:00:00Z"));
  assert.equal(daily.next(at("2026-01-05T09:00:00.500Z")), at("2026-01-06T09:00:00Z"));
  const everyMinute = parseCron("* * * * *");
  assert.equal(everyMinute.next(at("2026-01-05T09:00:00.000Z")), at("2026-01-05T09:01:00Z"));
  assert.equal(everyMinute.next(at("2026-01-05T09:00:59.999Z")), at("2026-01-05T09:01:00Z"));
});

Deno.test("weekday 09:00 in Europe/Paris, winter and summer", () => {
  const weekdays = parseCron("0 9 * * 1-5", "Europe/Paris");
  // From Friday 9 January 2026 13:00 Paris (CET, UTC+1): Monday to Friday, then Monday again.
  assert.deepEqual(runs(weekdays, "2026-01-09T12:00:00Z", 6), [
    "2026-01-12T08:00:00.000Z",
    "2026-01-13T08:00:00.000Z",
    "2026-01-14T08:00:00.000Z",
    "2026-01-15T08:00:00.000Z",
    "2026-01-16T08:00:00.000Z",
    "2026-01-19T08:00:00.000Z",
  ]);
  // From Saturday 4 July 2026 (CEST, UTC+2): Monday 6 July at 09:00 Paris.
  assert.deepEqual(runs(weekdays, "2026-07-04T08:00:00Z", 1), ["2026-07-06T07:00:00.000Z"]);
  // Friday 07:59 Paris: still that Friday.
  assert.deepEqual(runs(weekdays, "2026-07-03T05:59:00Z", 1), ["2026-07-03T07:00:00.000Z"]);
});

Deno.test("Europe/Paris spring forward (29 March 2026, 02:00 CET -> 03:00 CEST)", () => {
  // 02:30 does not exist that night: it runs once, at 03:00 CEST, the end of the gap.
  assert.deepEqual(runs(parseCron("30 2 * * *", "Europe/Paris"), "2026-03-27T12:00:00Z", 4), [
    "2026-03-28T01:30:00.000Z", // 02:30 CET
    "2026-03-29T01:00:00.000Z", // 03:00 CEST
    "2026-03-30T00:30:00.000Z", // 02:30 CEST
    "2026-03-31T00:30:00.000Z",
  ]);
  assert.deepEqual(runs(parseCron("0 9 * * *", "Europe/Paris"), "2026-03-27T12:00:00Z", 3), [
    "2026-03-28T08:00:00.000Z",
    "2026-03-29T07:00:00.000Z",
    "2026-03-30T07:00:00.000Z",
  ]);
});

Deno.test("Europe/Paris fall back (25 October 2026, 03:00 CEST -> 02:00 CET)", () => {
  // 02:30 happens twice that night: it runs once, at the first (CEST) occurrence.
  const nightly = parseCron("30 2 * * *", "Europe/Paris");
  assert.deepEqual(runs(nightly, "2026-10-23T12:00:00Z", 4), [
    "2026-10-24T00:30:00.000Z", // 02:30 CEST
    "2026-10-25T00:30:00.000Z", // 02:30 CEST, first occurrence
    "2026-10-26T01:30:00.000Z", // 02:30 CET
    "2026-10-27T01:30:00.000Z",
  ]);
  // Asked between the two occurrences, it does not run again at 02:30 CET.
  assert.equal(nightly.next(at("2026-10-25T01:00:00Z")), at("2026-10-26T01:30:00Z"));
  assert.deepEqual(runs(parseCron("0 9 * * *", "Europe/Paris"), "2026-10-23T12:00:00Z", 3), [
    "2026-10-24T07:00:00.000Z",
    "2026-10-25T08:00:00.000Z",
    "2026-10-26T08:00:00.000Z",
  ]);
});

Deno.test("America/New_York spring forward (8 March 2026, 02:00 EST -> 03:00 EDT)", () => {
  assert.deepEqual(runs(parseCron("30 2 * * *", "America/New_York"), "2026-03-06T12:00:00Z", 4), [
    "2026-03-07T07:30:00.000Z", // 02:30 EST
    "2026-03-08T07:00:00.000Z", // 03:00 EDT, the end of the gap
    "2026-03-09T06:30:00.000Z", // 02:30 EDT
    "2026-03-10T06:30:00.000Z",
  ]);
  assert.deepEqual(runs(parseCron("0 9 * * *", "America/New_York"), "2026-03-06T15:00:00Z", 3), [
    "2026-03-07T14:00:00.000Z",
    "2026-03-08T13:00:00.000Z",
    "2026-03-09T13:00:00.000Z",
  ]);
});

Deno.test("America/New_York fall back (1 November 2026, 02:00 EDT -> 01:00 EST)", () => {
  // 02:30 happens once there (01:00-01:59 repeats), so it simply moves from UTC-4 to UTC-5.
  assert.deepEqual(runs(parseCron("30 2 * * *", "America/New_York"), "2026-10-30T12:00:00Z", 3), [
    "2026-10-31T06:30:00.000Z",
    "2026-11-01T07:30:00.000Z",
    "2026-11-02T07:30:00.000Z",
  ]);
  // 01:30 happens twice: it runs once, at the first (EDT) occurrence.
  const repeated = parseCron("30 1 * * *", "America/New_York");
  assert.deepEqual(runs(repeated, "2026-10-30T12:00:00Z", 3), [
    "2026-10-31T05:30:00.000Z", // 01:30 EDT
    "2026-11-01T05:30:00.000Z", // 01:30 EDT, first occurrence
    "2026-11-02T06:30:00.000Z", // 01:30 EST
  ]);
  assert.equal(repeated.next(at("2026-11-01T06:00:00Z")), at("2026-11-02T06:30:00Z"));
  assert.deepEqual(runs(parseCron("0 9 * * *", "America/New_York"), "2026-10-30T15:00:00Z", 3), [
    "2026-10-31T13:00:00.000Z",
    "2026-11-01T14:00:00.000Z",
    "2026-11-02T14:00:00.000Z",
  ]);
});

Deno.test("lists of explicit times are fixed times across DST", () => {
  assert.deepEqual(
    runs(parseCron("30 2,14 * * *", "America/New_York"), "2026-03-07T12:00:00Z", 3),
    ["2026-03-07T19:30:00.000Z", "2026-03-08T07:00:00.000Z", "2026-03-08T18:30:00.000Z"],
  );
  assert.deepEqual(
    runs(parseCron("30 1,13 * * *", "America/New_York"), "2026-11-01T00:00:00Z", 3),
    ["2026-11-01T05:30:00.000Z", "2026-11-01T18:30:00.000Z", "2026-11-02T06:30:00.000Z"],
  );
});

Deno.test("interval expressions follow real time across DST", () => {
  // Spring: 02:00 and 02:30 EST do not exist and are skipped.
  assert.deepEqual(runs(parseCron("*/30 * * * *", "America/New_York"), "2026-03-08T06:10:00Z", 3), [
    "2026-03-08T06:30:00.000Z", // 01:30 EST
    "2026-03-08T07:00:00.000Z", // 03:00 EDT
    "2026-03-08T07:30:00.000Z",
  ]);
  // Autumn: 01:00 and 01:30 run in EDT and again in EST.
  assert.deepEqual(runs(parseCron("*/30 * * * *", "America/New_York"), "2026-11-01T04:50:00Z", 5), [
    "2026-11-01T05:00:00.000Z",
    "2026-11-01T05:30:00.000Z",
    "2026-11-01T06:00:00.000Z",
    "2026-11-01T06:30:00.000Z",
    "2026-11-01T07:00:00.000Z",
  ]);
  // Hourly in Paris: one run per real hour through both changes.
  assert.deepEqual(runs(parseCron("@hourly", "Europe/Paris"), "2026-03-28T23:30:00Z", 3), [
    "2026-03-29T00:00:00.000Z", // 01:00 CET
    "2026-03-29T01:00:00.000Z", // 03:00 CEST
    "2026-03-29T02:00:00.000Z",
  ]);
  assert.deepEqual(runs(parseCron("@hourly", "Europe/Paris"), "2026-10-24T23:30:00Z", 3), [
    "2026-10-25T00:00:00.000Z", // 02:00 CEST
    "2026-10-25T01:00:00.000Z", // 02:00 CET
    "2026-10-25T02:00:00.000Z",
  ]);
});

Deno.test("over all of 2026, runs strictly increase and match the calendar", () => {
  // Local year 2026 in each zone, as UTC instants; both zones end the year on standard time.
  const years: [string, string, string][] = [
    ["Europe/Paris", "2025-12-31T23:00:00Z", "2026-12-31T23:00:00Z"],
    ["America/New_York", "2026-01-01T05:00:00Z", "2027-01-01T05:00:00Z"],
  ];
  for (const [tz, from, to] of years) {
    // Fixed times: exactly one run per local day, DST days included.
    assert.equal(countRuns(parseCron("30 2 * * *", tz), from, to), 365, tz);
    assert.equal(countRuns(parseCron("30 1 * * *", tz), from, to), 365, tz);
    assert.equal(countRuns(parseCron("0 9 * * *", tz), from, to), 365, tz);
    // Intervals: one run per real hour / half hour, 365 * 24 hours between local new years.
    assert.equal(countRuns(parseCron("0 * * * *", tz), from, to), 8760, tz);
    assert.equal(countRuns(parseCron("*/30 * * * *", tz), from, to), 17520, tz);
    assert.equal(countRuns(parseCron("0 9 * * 1-5", tz), from, to), 261, tz);
  }
});

Deno.test("malformed expressions are refused with the expression in the message", () => {
  const cases: [string, string, RegExp][] = [
    ["not a cron", "TypeError", /"not a cron".*expected 5 fields.*got 3/],
    ["* * * *", "TypeError", /"\* \* \* \*".*expected 5 fields.*got 4/],
    ["", "TypeError", /"".*expected 5 fields.*got 0/],
    ["0 9 * * * 2026 1", "TypeError", /expected 5 fields.*got 7/],
    ["61 * * * *", "RangeError", /"61 \* \* \* \*".*minute/],
    ["0 24 * * *", "RangeError", /"0 24 \* \* \*".*hour/],
    ["0 9 * 13 *", "RangeError", /"0 9 \* 13 \*".*month/],
    ["0 12:00 * * *", "TypeError", /"0 12:00 \* \* \*".*unexpected characters in "12:00"/],
    ["0 9 * * FUNDAY", "TypeError", /"0 9 \* \* FUNDAY"/],
    ["0 0 30 2 *", "RangeError", /"0 0 30 2 \*".*never matches/],
    ["@reboot", "TypeError", /"@reboot".*unknown keyword.*@hourly/],
    ["@every 5m", "TypeError", /"@every 5m".*unknown keyword/],
  ];
  for (const [expression, name, message] of cases) {
    assert.throws(() => parseCron(expression), { name, message }, expression);
  }
});

Deno.test("6-field expressions with seconds are refused, saying so", () => {
  for (const expression of ["0 0 9 * * *", "*/10 * * * * *"]) {
    assert.throws(() => parseCron(expression), {
      name: "TypeError",
      message: /6 fields given, but a seconds field is not supported; use 5 fields/,
    });
    assert.throws(() => parseCron(expression), { message: new RegExp(RegExp.escape(expression)) });
  }
});

Deno.test("unknown time zones are refused by name", () => {
  for (const tz of ["Mars/Olympus", "Europe/Pariss", ""]) {
    assert.throws(() => parseCron("0 9 * * *", tz), {
      name: "RangeError",
      message: new RegExp(`Unknown time zone "${RegExp.escape(tz)}"`),
    });
  }
});

Deno.test("non-string arguments and bad next() inputs are refused", () => {
  assert.throws(() => parseCron(42 as unknown as string), { name: "TypeError" });
  assert.throws(() => parseCron("0 9 * * *", 1 as unknown as string), { name: "TypeError" });
  const daily = parseCron("@daily");
  for (const after of [NaN, Infinity, -Infinity, 9e15]) {
    assert.throws(() => daily.next(after), { name: "RangeError", message: /epoch milliseconds/ });
  }
});

/**
 * docket's metric instruments, under the Python docket's names so its dashboards carry over.
 * They come from the global meter provider: until the application registers an OpenTelemetry
 * SDK they are the API's no-ops, and cost a function call each.
 *
 * @module
 */

import {
  type Attributes,
  type Counter,
  type Histogram,
  type Meter,
  type MeterProvider,
  metrics,
  type ObservableGauge,
  type UpDownCounter,
} from "@opentelemetry/api";
import { VERSION } from "../version.ts";
import { DOCKET_NAME } from "./attributes.ts";

/** Every instrument docket records to. */
export interface DocketInstruments {
  readonly added: Counter;
  readonly replaced: Counter;
  readonly scheduled: Counter;
  readonly cancelled: Counter;
  readonly started: Counter;
  readonly redelivered: Counter;
  readonly stricken: Counter;
  readonly superseded: Counter;
  readonly completed: Counter;
  readonly failed: Counter;
  readonly succeeded: Counter;
  readonly retried: Counter;
  readonly perpetuated: Counter;
  readonly redisDisruptions: Counter;
  /** Seconds a run took. */
  readonly duration: Histogram;
  /** Seconds between when a task was due and when it started. */
  readonly punctuality: Histogram;
  readonly running: UpDownCounter;
  readonly strikesInEffect: UpDownCounter;
}

/** Sizes one docket reports for the depth gauges. */
export interface DepthSource {
  readonly docketName: string;
  counts(): Promise<{ stream: number; queue: number }>;
  /** Tasks kept in the dead-letter set, when the docket keeps one. */
  failed?(): Promise<number>;
}

const SECOND_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

let provider: MeterProvider | undefined;
let instrumentsCache: DocketInstruments | undefined;
const depthSources = new Set<DepthSource>();

function counter(meter: Meter, name: string, description: string): Counter {
  return meter.createCounter(name, { description });
}

function makeInstruments(meter: Meter): DocketInstruments {
  // Buckets for seconds (the SDK's default ones suit milliseconds).
  const seconds = (name: string, description: string) =>
    meter.createHistogram(name, {
      description,
      unit: "s",
      advice: { explicitBucketBoundaries: SECOND_BUCKETS },
    });
  const made: DocketInstruments = {
    added: counter(meter, "docket_tasks_added", "Tasks added (add, addMany, schedule)"),
    replaced: counter(meter, "docket_tasks_replaced", "Tasks replaced"),
    scheduled: counter(meter, "docket_tasks_scheduled", "Tasks written to the docket"),
    cancelled: counter(meter, "docket_tasks_cancelled", "Tasks cancelled"),
    started: counter(meter, "docket_tasks_started", "Runs started"),
    redelivered: counter(meter, "docket_tasks_redelivered", "Runs of redelivered messages"),
    stricken: counter(meter, "docket_tasks_stricken", "Tasks not run because they are struck"),
    superseded: counter(meter, "docket_tasks_superseded", "Successors not written: superseded"),
    completed: counter(meter, "docket_tasks_completed", "Runs ended, however they ended"),
    failed: counter(meter, "docket_tasks_failed", "Runs that failed"),
    succeeded: counter(meter, "docket_tasks_succeeded", "Runs that succeeded"),
    retried: counter(meter, "docket_tasks_retried", "Retries scheduled"),
    perpetuated: counter(meter, "docket_tasks_perpetuated", "Perpetual successors scheduled"),
    redisDisruptions: counter(meter, "docket_redis_disruptions", "Failed reads of the store"),
    duration: seconds("docket_task_duration", "How long runs took"),
    punctuality: seconds("docket_task_punctuality", "How late runs started after they were due"),
    running: meter.createUpDownCounter("docket_tasks_running", {
      description: "Runs in progress",
    }),
    strikesInEffect: meter.createUpDownCounter("docket_strikes_in_effect", {
      description: "Strikes sent minus restores sent",
    }),
  };
  const queueDepth = meter.createObservableGauge("docket_queue_depth", {
    description: "Tasks due and waiting for a worker",
  });
  const scheduleDepth = meter.createObservableGauge("docket_schedule_depth", {
    description: "Tasks scheduled for later",
  });
  const deadLetterDepth = meter.createObservableGauge("docket_dead_letter_depth", {
    description: "Tasks that failed for good and are kept in the dead-letter set",
  });
  meter.addBatchObservableCallback(
    (observer) => observeDepths(observer, queueDepth, scheduleDepth, deadLetterDepth),
    [queueDepth, scheduleDepth, deadLetterDepth],
  );
  return made;
}

async function observeDepths(
  observer: { observe(gauge: ObservableGauge, value: number, attributes?: Attributes): void },
  queueDepth: ObservableGauge,
  scheduleDepth: ObservableGauge,
  deadLetterDepth: ObservableGauge,
): Promise<void> {
  await Promise.all([...depthSources].map(async (source) => {
    try {
      const counts = await source.counts();
      const attributes = { [DOCKET_NAME]: source.docketName };
      observer.observe(queueDepth, counts.stream, attributes);
      observer.observe(scheduleDepth, counts.queue, attributes);
      if (source.failed) observer.observe(deadLetterDepth, await source.failed(), attributes);
    } catch {
      // The store is out of reach: no depth is reported rather than a wrong one.
    }
  }));
}

/**
 * The instruments of the meter provider registered now (made again when the application
 * registers another one, since the API hands out no-op meters before that).
 *
 * @example
 * ```ts ignore
 * instruments().added.add(1, { "docket.name": "orders", "docket.task": "send_email" });
 * ```
 */
export function instruments(): DocketInstruments {
  const current = metrics.getMeterProvider();
  if (current !== provider || !instrumentsCache) {
    provider = current;
    instrumentsCache = makeInstruments(current.getMeter("docket", VERSION));
  }
  return instrumentsCache!;
}

/**
 * Reports a docket's queue and schedule depth on the depth gauges while it is watched; the
 * sizes are read from the store when a reader collects (on scrape), not on a timer. Returns
 * the function that stops it.
 *
 * @example
 * ```ts ignore
 * const stop = watchDepths({ docketName: docket.name, counts: () => docket.backend.counts() });
 * ```
 */
export function watchDepths(source: DepthSource): () => void {
  depthSources.add(source);
  return () => depthSources.delete(source);
}

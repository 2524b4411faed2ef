/**
 * The worker: takes due tasks from the stream and runs them, up to `concurrency` at once.
 *
 * Alongside the main loop it runs small loops of its own: the scheduler (moves future tasks to
 * the stream when they come due), lease renewal (so a long task is never taken over while its
 * worker lives), heartbeats (the worker registry), the cancellation listener, and the seeding of
 * automatic tasks. On stop it takes no new work and lets running tasks finish. Each background
 * loop has its own module (`scheduler_loop.ts`, `leases.ts`, `heartbeat.ts`,
 * `automatic_tasks.ts`); the batched writes of runs' ends are in `finish_batch.ts`.
 *
 * @module
 */

import type { Docket } from "../docket.ts";
import type { Consumer, Delivery, FinishRequest, SlotHold } from "../storage/backend.ts";
import { type TaskDefinition, toDefinition } from "../definition.ts";
import type { Dependency } from "../dependencies.ts";
import type { Logger } from "../logging/logger.ts";
import { executeDelivery } from "./run.ts";
import { CancelledByRequest, RunAbort, WorkerShutdown } from "./abort.ts";
import { bounded, drainRuns } from "./shutdown.ts";
import type { Admit, RunEnvironment } from "./environment.ts";
import { SharedDependencies } from "./dependencies.ts";
import { FlowControl } from "./admission.ts";
import { Intake } from "./intake.ts";
import { type LoopControl, Pause } from "./pause.ts";
import { schedulerLoop } from "./scheduler_loop.ts";
import { leaseLoop } from "./leases.ts";
import { heartbeatLoop } from "./heartbeat.ts";
import { seedLoop } from "./automatic_tasks.ts";
import { FinishBatch } from "./finish_batch.ts";
import { defaultFallback, defaultWorkerName } from "./defaults.ts";
import { resolveTimings, type WorkerOptions } from "./options.ts";
import { Watchdog } from "./watchdog.ts";
import { consumerHygieneLoop, retireConsumer } from "./consumer_hygiene.ts";
import { nothingLeft } from "./until_finished.ts";
import { ReadPacing } from "./read_pacing.ts";
import { cancelMissed } from "./missed_cancels.ts";
import { type CombinedObserver, workerObservers } from "./observers.ts";

export type { WorkerInternalOptions, WorkerOptions } from "./options.ts";

/** How long a stopping worker keeps trying to record ends the store did not take. */
const STOP_WRITE_DEADLINE_MS = 10_000;
/** How long a stopping worker waits for each of its last calls to the store. */
const STOP_CALL_DEADLINE_MS = 3_000;

/** A run the worker holds a slot for. */
interface ActiveEntry {
  readonly abort: RunAbort;
  readonly delivery: Delivery;
  done: Promise<void>;
  /** Concurrency-limit slots it holds (flow control). */
  hold?: SlotHold;
  /** Has flow controls: keeps the worker's slot until those slots are given back, too. */
  gated: boolean;
}

/**
 * A worker serving one docket.
 *
 * @example
 * ```ts ignore
 * import { Worker } from "@docket/core";
 * await using worker = new Worker(docket, { concurrency: 10 });
 * await worker.runUntilFinished();
 * ```
 */
export class Worker implements AsyncDisposable {
  /** The docket served. */
  readonly docket: Docket;
  /** The worker's name in the registry and in the stream's consumer group. */
  readonly name: string;
  /** Tasks run at once (may be changed while running). */
  concurrency: number;
  /** Milliseconds. */
  readonly redeliveryTimeout: number;
  /** Milliseconds. */
  readonly reconnectionDelay: number;
  /** Milliseconds. */
  readonly minimumCheckInterval: number;
  /** Milliseconds. */
  readonly schedulingResolution: number;
  /** Whether automatic tasks are seeded. */
  readonly scheduleAutomaticTasks: boolean;
  /** Milliseconds running tasks get to finish after `stop()`; undefined waits for them. */
  readonly shutdownTimeout: number | undefined;
  /** The worker's logger. */
  readonly logger: Logger;
  /** Times a task's worker may vanish before the task ends FAILED as abandoned. */
  readonly maxRedeliveries: number;
  /** Milliseconds the event loop may be blocked before the watchdog ends the process; 0 off. */
  readonly watchdogTimeout: number;
  #watchdog?: Watchdog;
  #fallback: TaskDefinition;
  #workerDependencies: Readonly<Record<string, Dependency<unknown>>>;
  #shared = new SharedDependencies();
  #active = new Map<string, ActiveEntry>();
  #flow: FlowControl;
  #running?: Promise<void>;
  #stopping = false;
  #slotFreed = new Pause();
  /** Sends claims as slots free up, while the main loop runs. */
  #intake?: Intake;
  #loopPause = new Pause();
  /** What the background loops are given: they go on until the worker stops. */
  #loop: LoopControl = this.#loopPause.control(() => !this.#stopping);
  #finishes: FinishBatch;
  #runCounts = new Map<string, number>();
  #reseedInterval: number;
  #nextDueRecheck: number;
  #observer: CombinedObserver;

  /** Creates a worker; nothing happens until one of the `run…` methods is called. */
  constructor(docket: Docket, options: WorkerOptions = {}) {
    this.docket = docket;
    this.name = options.name ?? defaultWorkerName();
    const timings = resolveTimings(options, docket.maxRedeliveries);
    this.concurrency = timings.concurrency;
    this.redeliveryTimeout = timings.redeliveryTimeout;
    this.reconnectionDelay = timings.reconnectionDelay;
    this.minimumCheckInterval = timings.minimumCheckInterval;
    this.schedulingResolution = timings.schedulingResolution;
    this.shutdownTimeout = timings.shutdownTimeout;
    this.maxRedeliveries = timings.maxRedeliveries;
    this.watchdogTimeout = timings.watchdogTimeout;
    this.#reseedInterval = timings.reseedInterval;
    this.#nextDueRecheck = timings.nextDueRecheck;
    this.scheduleAutomaticTasks = options.scheduleAutomaticTasks ?? true;
    this.#fallback = options.fallbackTask ? toDefinition(options.fallbackTask) : defaultFallback;
    this.#workerDependencies = options.dependencies ?? {};
    this.logger = (options.logger ?? docket.logger).child({ worker: this.name });
    this.#flow = new FlowControl(docket, this.name, this.redeliveryTimeout, this.logger);
    const retryEvery = Math.min(1_000, this.reconnectionDelay);
    this.#finishes = new FinishBatch(docket, (r) => this.#freeFinished(r), this.logger, retryEvery);
    this.#observer = workerObservers(docket.keys, this.name, options.observers);
  }

  /** Runs until `stop()` is called; running tasks finish first. */
  runForever(): Promise<void> {
    return this.#start("forever");
  }

  /** Runs until nothing is queued or scheduled (future tasks included) and nothing is running. */
  runUntilFinished(): Promise<void> {
    return this.#start("until-finished");
  }

  /**
   * Like `runUntilFinished`, but each listed key runs at most the given number of times (for
   * perpetual tasks, which otherwise never finish).
   */
  async runAtMost(limits: Record<string, number>): Promise<void> {
    const strikes = this.docket.strikeList.strikes;
    const condition = (_task: string, key: string) =>
      key in limits && (this.#runCounts.get(key) ?? 0) >= limits[key];
    strikes.addCondition(condition);
    try {
      await this.#start("until-finished", new Set(Object.keys(limits)));
    } finally {
      strikes.removeCondition(condition);
    }
  }

  /** Stops taking work; resolves when running tasks have finished. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#observer.stopping();
    this.#slotFreed.wake();
    this.#loopPause.wake();
    await this.#running?.catch(() => undefined);
  }

  /** Stops the worker (for `await using`). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  /**
   * How many runs' ends the last stop could not record (the store was unreachable until its
   * deadline); their tasks are run again by another worker after `redeliveryTimeout`.
   */
  get unrecordedEnds(): number {
    return this.#finishes.unrecorded;
  }

  /** The task names this worker serves. */
  get taskNames(): string[] {
    return [...this.docket.tasks.keys()].sort();
  }

  #start(mode: "forever" | "until-finished", counted?: Set<string>): Promise<void> {
    if (this.#running) throw new Error(`worker ${this.name} is already running`);
    this.#stopping = false;
    this.#runCounts.clear();
    this.#running = this.#run(mode, counted).finally(() => (this.#running = undefined));
    return this.#running;
  }

  async #run(mode: "forever" | "until-finished", counted?: Set<string>): Promise<void> {
    const docket = this.docket;
    this.logger.info(
      { concurrency: this.concurrency },
      `Starting worker ${this.name} with tasks: ${this.taskNames.join(", ")}`,
    );
    const consumer = await this.#connect(() => docket.backend.consumer(this.name, this.#warn));
    if (!consumer) return;
    const unsubscribe = await this.#connect(() =>
      docket.backend.subscribe(
        docket.keys.cancelChannel,
        (key) => this.#cancelRunning(key),
        () =>
          cancelMissed(docket.backend, this.#active, (key) => this.#cancelRunning(key), this.#warn),
      )
    );
    const background: Promise<void>[] = [];
    try {
      if (!unsubscribe) return;
      const { logger } = this;
      const loop = this.#loop;
      if (this.scheduleAutomaticTasks) {
        background.push(seedLoop(docket, this.name, this.#reseedInterval, logger, loop));
      }
      background.push(
        schedulerLoop(docket, this.schedulingResolution, this.#nextDueRecheck, logger, loop),
        leaseLoop(consumer, this.#flow, this.#leased, this.redeliveryTimeout, logger, loop),
        heartbeatLoop(docket, this.name, () => this.taskNames, logger, loop),
        consumerHygieneLoop(docket, logger, loop),
      );
      this.#startWatchdog();
      background.push(this.#safeguardLoop());
      await this.#mainLoop(mode, consumer, counted);
    } finally {
      this.#stopping = true;
      this.#loopPause.wake();
      // Nothing here may wait on a store that cannot be reached: each step has a deadline.
      this.#finishes.stopping(STOP_WRITE_DEADLINE_MS);
      // Running tasks finish; past shutdownTimeout those still going are cut off.
      await drainRuns(
        this.#active,
        this.shutdownTimeout,
        (key) => new WorkerShutdown(this.name, key),
      );
      await this.#finishes.settle();
      const call = (work: Promise<unknown>) => bounded(work, STOP_CALL_DEADLINE_MS);
      await call(this.#flow.settle());
      await call(Promise.allSettled(background));
      await call(unsubscribe?.() ?? Promise.resolve());
      await call(docket.backend.removeWorker(this.name, this.taskNames));
      await call(consumer.close());
      if (this.#finishes.unrecorded === 0) {
        await call(retireConsumer(docket, this.name, this.logger));
      }
      this.#watchdog?.stop();
      this.#watchdog = undefined;
      await this.#shared.disposeAll().catch((error) =>
        this.logger.warn({ err: error }, "disposing shared dependencies failed")
      );
      this.logger.info(`Worker ${this.name} stopped`);
    }
  }

  /** Retries `open` until it succeeds or the worker is stopped. */
  async #connect<T>(open: () => Promise<T>): Promise<T | undefined> {
    while (!this.#stopping) {
      try {
        return await open();
      } catch (error) {
        this.#observer.readFailed(error);
        this.logger.error(
          { err: error },
          `cannot reach the store; retrying in ${this.reconnectionDelay} ms`,
        );
        await this.#loop.sleep(this.reconnectionDelay);
      }
    }
    return undefined;
  }

  #warn = (message: string, details?: Record<string, unknown>) => {
    this.logger.warn(details ?? {}, message);
  };

  async #mainLoop(
    mode: "forever" | "until-finished",
    consumer: Consumer,
    counted?: Set<string>,
  ): Promise<void> {
    const pacing = await ReadPacing.start(consumer, this, mode === "forever");
    const env = this.#environment(counted);
    const intake = new Intake({
      consumer,
      pacing,
      concurrency: () => this.concurrency,
      held: () => this.#active.size,
      stopping: () => this.#stopping,
      launch: (delivery) => this.#launch(delivery, env),
      wakeLoop: () => this.#slotFreed.wake(),
      gated: (task) => this.#flow.gated(this.docket.tasks.get(task) ?? this.#fallback),
      observer: this.#observer,
      redeliveryTimeout: this.redeliveryTimeout,
      maxRedeliveries: this.maxRedeliveries,
    });
    this.#intake = intake;
    try {
      // Claims go out from the intake as slots free up; the loop handles the rest, and looks
      // again every minimumCheckInterval (the concurrency may have changed).
      while (!this.#stopping) {
        this.#observer.loopTurned();
        if (intake.failure) {
          const { error } = intake.failure;
          intake.failure = undefined;
          intake.backingOff = true;
          try {
            if (intake.inFlight > 0) await bounded(intake.settled(), this.reconnectionDelay); // (*)
            if (this.#stopping) break;
            this.logger.error(
              { err: error },
              `reading work failed; retrying in ${this.reconnectionDelay} ms`,
            );
            await this.#loopPause.sleep(this.reconnectionDelay);
          } finally {
            intake.backingOff = false;
          }
          continue;
        }
        if (intake.emptied && intake.inFlight === 0) {
          if (mode === "until-finished") {
            // Runs that end in this turn of the event loop (the last batch, often) free their
            // slots first, rather than leaving the worker to wait out a blocking read.
            if (this.#active.size > 0) await new Promise((resolve) => setTimeout(resolve, 0));
            // `emptied` holds the intake back while the check is out: a slot freed meanwhile
            // would send a blocking read that the end of the run then has to wait out.
            if (this.#active.size === 0 && await this.#finished()) break;
          }
          intake.emptied = false;
        }
        if (intake.pump()) await this.#slotFreed.sleep(this.minimumCheckInterval);
      }
    } finally {
      this.#intake = undefined;
      // A read waiting for work ends now; with the store down, the unblock waits no longer than
      // the reads themselves may.
      await bounded(consumer.interrupt().catch(() => {}), STOP_CALL_DEADLINE_MS);
      // (*) A read queued while the store is down waits for it; a stop gives up after a deadline.
      if (!await bounded(intake.settled(), STOP_CALL_DEADLINE_MS)) intake.abandoned = true;
    }
  }

  async #finished(): Promise<boolean> {
    try {
      await this.#finishes.settle();
      const idle = () => this.#active.size === 0;
      return await nothingLeft(this.docket.backend, idle, this.minimumCheckInterval / 2);
    } catch {
      return false;
    }
  }

  /** What every run of this worker shares. */
  #environment(counted?: Set<string>): RunEnvironment {
    const docket = this.docket;
    return {
      docket,
      worker: this,
      logger: this.logger,
      sharedDependencies: this.#shared,
      workerDependencies: this.#workerDependencies,
      finish: (request) => this.#finishes.add(request),
      isStruck: (task, key, payload) => docket.isStruck(task, key, payload),
      onStart: counted
        ? (key) => {
          if (counted.has(key)) this.#runCounts.set(key, (this.#runCounts.get(key) ?? 0) + 1);
        }
        : () => {},
      observer: this.#observer,
    };
  }

  #launch(delivery: Delivery, env: RunEnvironment): void {
    const { message } = delivery;
    const definition = this.docket.tasks.get(message.task) ?? this.#fallback;
    const entry: ActiveEntry = {
      abort: new RunAbort(),
      delivery,
      done: undefined as unknown as Promise<void>,
      hold: undefined,
      gated: false,
    };
    let admit: Admit | undefined;
    let admissionAsked = false;
    if (this.#flow.gated(definition)) {
      entry.gated = true;
      admit = async (payload, logger) => {
        admissionAsked = true;
        const admission = await this.#flow.admit(delivery, definition, payload, logger);
        if (admission.admitted) entry.hold = admission.hold;
        return admission.admitted;
      };
    }
    this.#active.set(message.key, entry);
    this.#watchdog?.started(message.task, message.key);
    const run = executeDelivery(env, delivery, definition, entry.abort, admit);
    if (!admit) {
      entry.done = run.then(
        () => this.#ended(entry),
        (error) => {
          this.#recordingFailed(error, message.key);
          this.#ended(entry);
        },
      );
      return;
    }
    entry.done = run
      .catch((error) => this.#recordingFailed(error, message.key))
      .then(async () => {
        if (entry.hold) await this.#flow.release(entry.hold);
        // Ended before admission (struck): give back a slot reserved for it when it was woken.
        else if (!admissionAsked) await this.#flow.giveBack(delivery, definition);
      })
      .finally(() => this.#ended(entry));
  }

  #recordingFailed(error: unknown, key: string): void {
    this.logger.error({ err: error, key }, "recording a task's end failed");
  }

  /** Frees a run's slot (if it still holds it). */
  #ended(entry: ActiveEntry): void {
    const key = entry.delivery.message.key;
    if (this.#active.get(key) === entry) this.#active.delete(key);
    this.#slotsFreed();
  }

  /** Slots came free: claims go out now (the main loop is woken only if it must act). */
  #slotsFreed(): void {
    if (!this.#intake) this.#slotFreed.wake();
    else this.#intake.pump();
  }

  #cancelRunning(key: string): void {
    const run = this.#active.get(key);
    if (!run) return;
    this.logger.info({ key }, `Cancelling running task ${key}`);
    run.abort.abort(new CancelledByRequest(key));
  }

  /**
   * Called as a batch of ends is written. The run's body is over, so a run without flow controls
   * gives its slot back as the write goes out: the next read overlaps the write instead of
   * waiting for it. (Its message stays pending until the write lands, and `stop()` and
   * `runUntilFinished()` wait for every write.)
   */
  #freeFinished(requests: readonly FinishRequest[]): void {
    let freed = false;
    for (const request of requests) {
      const entry = this.#active.get(request.key);
      if (entry && !entry.gated && entry.delivery.id === request.id) {
        this.#active.delete(request.key);
        freed = true;
      }
    }
    if (freed) this.#slotsFreed();
  }

  /** Runs whose leases are renewed: those running, and those whose ends wait to be written. */
  #leased = () => [...this.#active.values(), ...this.#finishes.held()];

  #startWatchdog(): void {
    if (this.watchdogTimeout <= 0 || this.#watchdog) return;
    this.#watchdog = Watchdog.start({
      limitMs: this.watchdogTimeout,
      worker: this.name,
      docket: this.docket.name,
      running: () =>
        [...this.#active.values()].map(({ delivery: { message } }) => ({
          key: message.key,
          task: message.task,
        })),
    });
  }

  /** Recovers concurrency limits whose holders died while tasks wait (see FlowControl). */
  #safeguardLoop(): Promise<void> {
    const every = Math.max(this.schedulingResolution, Math.min(1_000, this.redeliveryTimeout / 4));
    return this.#flow.safeguardLoop(this.#loop.running, this.#loop.sleep, every);
  }
}

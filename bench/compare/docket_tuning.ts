/**
 * docket worker timing knobs used by the comparison. Kept apart from docket.ts so that the
 * orchestrator can read and print them even when the library itself fails to load.
 */

/**
 * Passed explicitly to every docket Worker, so a change of library defaults cannot silently
 * change the numbers.
 */
export interface DocketTuning {
  /** ms; the idle XREADGROUP block, and so also how long runUntilFinished's last check takes. */
  minimumCheckInterval: number;
  /** ms; how often due scheduled tasks are moved to the stream. */
  schedulingResolution: number;
}

/**
 * The defaults of docket's worker command (`cli.ts worker`, src/cli/worker_command.ts), which is
 * how docket runs in production. (A `Worker` made in code defaults minimumCheckInterval to 250
 * ms.) Neither knob paces a busy worker: a worker that has just claimed a full batch reads on
 * without blocking, a blocking read returns as soon as work arrives, and future tasks are moved
 * when they come due if that is sooner than the scheduling resolution.
 */
export const DEFAULT_DOCKET_TUNING: DocketTuning = {
  minimumCheckInterval: 100,
  schedulingResolution: 250,
};

/**
 * Warm-up drains the docket (Bun) drain process runs before each measured one, the same drain
 * unrecorded (`docket_drain_child.ts`). The process itself serves the whole comparison run, so
 * it is warm from the rows before; this one drain puts it on the measured path (the same
 * concurrency and state), as an in-process contender's earlier repetitions put it there.
 * JavaScriptCore tiers a function up by how often it has run (bench/PROFILE.md "Bun").
 */
export const WARM_UP_DRAINS = 1;

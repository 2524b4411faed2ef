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
 * Warm-up drains a docket (Bun) drain process runs before the measured one
 * (`docket_drain_child.ts`). One left a fresh Bun process short of its steady
 * state: at concurrency 100 with state kept it drained 18.0–18.5k tasks/s after one and
 * 19.3–20.6k after three (two runs each, bench/PROFILE.md "Bun"), while the in-process Deno
 * contender has run dozens of drains before that row.
 */
export const WARM_UP_DRAINS = 3;

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

/** The values docket's production guide runs workers with. */
export const DEFAULT_DOCKET_TUNING: DocketTuning = {
  minimumCheckInterval: 100,
  schedulingResolution: 250,
};

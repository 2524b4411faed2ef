/**
 * The attribute names docket's spans and metrics use: the OpenTelemetry messaging semantic
 * conventions for spans, and the Python docket's labels (`docket.name`, `docket.task`,
 * `docket.worker`) for metrics, so its dashboards carry over.
 *
 * @module
 */

/** `messaging.system` of every docket span. */
export const MESSAGING_SYSTEM = "docket";

/** Metric labels; bounded: never a key, a time or a payload value. */
export const DOCKET_NAME = "docket.name";
/** The task's registered name. */
export const DOCKET_TASK = "docket.task";
/** The worker's name. */
export const DOCKET_WORKER = "docket.worker";

/**
 * Telemetry of strikes: a CLIENT span per strike or restore, and `docket_strikes_in_effect`
 * moved by the instructions this process sends.
 *
 * @module
 */

import type { StrikeInstruction } from "../strikes/instruction.ts";
import { DOCKET_NAME, DOCKET_TASK } from "./attributes.ts";
import { instruments } from "./metrics.ts";
import { traceOperation } from "./tracing.ts";

/**
 * Sends a strike or restore under its span, then counts it (labels: the task, parameter and
 * operator; never the compared value, which would make the series unbounded).
 *
 * @example
 * ```ts ignore
 * await traceStrike("orders", instruction, () => strikeList.send(instruction));
 * ```
 */
export async function traceStrike(
  docketName: string,
  instruction: StrikeInstruction,
  send: () => Promise<void>,
): Promise<void> {
  const labels = {
    [DOCKET_NAME]: docketName,
    [DOCKET_TASK]: instruction.task ?? "*",
    "docket.parameter": instruction.param ?? "*",
    "docket.operator": instruction.op,
  };
  await traceOperation(docketName, instruction.direction, labels, send);
  instruments().strikesInEffect.add(instruction.direction === "strike" ? 1 : -1, labels);
}

/**
 * Runs a worker: `deno run -A worker.ts --tasks ./examples/tasks.ts [options]`, or the same
 * with `bun run worker.ts`; from the npm package, `npx docket-worker --tasks ./tasks.js` on
 * Node. `--help` lists the options.
 *
 * @module
 */

import { installStopSignals } from "./src/cli/signals.ts";

// Listening for SIGTERM and SIGINT comes first, before the rest of the worker (and its task
// modules) load: a stop asked for in the first moments is then a clean one.
installStopSignals();
const { runMain, runWorkerCommand } = await import("./src/cli/worker_command.ts");
const { commandLineArgs } = await import("./src/runtime.ts");
await runMain(() => runWorkerCommand(commandLineArgs()));

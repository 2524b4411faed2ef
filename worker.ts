/**
 * Runs a worker: `deno run -A worker.ts --tasks ./examples/tasks.ts [options]`, or the same
 * with `bun run worker.ts`; from the npm package, `npx docket-worker --tasks ./tasks.js` on
 * Node. `--help` lists the options.
 *
 * @module
 */

import { runMain, runWorkerCommand } from "./src/cli/worker_command.ts";
import { commandLineArgs } from "./src/runtime.ts";

await runMain(() => runWorkerCommand(commandLineArgs()));

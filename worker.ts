/**
 * Runs a worker: `deno run -A worker.ts --tasks ./examples/tasks.ts [options]`, or the same
 * with `bun run worker.ts`. `--help` lists the options.
 *
 * @module
 */

import { runMain, runWorkerCommand } from "./src/cli/worker_command.ts";

// deno-lint-ignore no-explicit-any
await runMain(() => runWorkerCommand((globalThis as any).process.argv.slice(2)));

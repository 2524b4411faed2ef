/**
 * `worker`: run a worker from the command line (also `worker.ts`). SIGTERM and SIGINT stop it
 * gracefully: no new work is taken, running tasks finish, and the process exits 0 (1 when the
 * store could not be reached to record how some tasks ended); a second signal exits at once.
 * A watchdog ends the process when a task blocks its event loop (see `watchdog.ts`).
 *
 * @module
 */

import { printable } from "../logging/printable.ts";
import { parseArgs } from "node:util";
import type { Server } from "node:http";
import { Docket } from "../docket.ts";
import { Worker, type WorkerOptions } from "../worker/worker.ts";
import { createLogger, type LogFormat, type Logger } from "../logging/logger.ts";
import { env, parseCount, parseDuration, UsageError } from "./parsing.ts";
import { loadExport, loadTasks } from "./task_modules.ts";
import type { TaskLike } from "../definition.ts";
import { commandLineArgs, exitProcess } from "../runtime.ts";
import type { TlsOptions } from "../storage/redis/tls.ts";
import { resolveTls, TLS_HELP, TLS_OPTIONS } from "./tls_options.ts";
import { redactCommandLine } from "./redact.ts";
import { bounded } from "../worker/shutdown.ts";
import { installStopSignals, onStopSignal, stopSignal } from "./signals.ts";
import { HealthMonitor, serveHealth } from "../telemetry/health.ts";
import { watchDepths } from "../telemetry/metrics.ts";
import { type MetricsEndpoint, serveMetrics } from "./metrics_endpoint.ts";

/**
 * The worker command's help text.
 *
 * @example
 * ```ts ignore
 * import { WORKER_HELP } from "./worker_command.ts";
 * console.log(WORKER_HELP);
 * ```
 */
export const WORKER_HELP = `Usage: worker --tasks <module> [options]

Runs a worker. SIGTERM or SIGINT: stop taking work, let running tasks finish, exit 0 (1 when
ends could not be recorded because the store is unreachable); a second signal exits at once.

Options (environment variable in brackets):
  --tasks <module>               task module to load; repeat for more [DOCKET_TASKS, comma-separated]
  --url <url>                    redis://, rediss://, redis+cluster://, redis+sentinel:// or memory://
                                 [DOCKET_URL] (redis://localhost:6379/0)
  --docket <name>                docket name [DOCKET_NAME] (docket)
${TLS_HELP}
  --name <name>                  worker name [DOCKET_WORKER_NAME] (hostname#pid)
  --concurrency <n>              tasks run at once [DOCKET_WORKER_CONCURRENCY] (10)
  --redelivery-timeout <d>       lease length [DOCKET_WORKER_REDELIVERY_TIMEOUT] (5m)
  --reconnection-delay <d>       wait after losing the store [DOCKET_WORKER_RECONNECTION_DELAY] (5s)
  --minimum-check-interval <d>   longest wait for new work [DOCKET_WORKER_MINIMUM_CHECK_INTERVAL] (100ms)
  --scheduling-resolution <d>    how often due tasks move [DOCKET_WORKER_SCHEDULING_RESOLUTION] (250ms)
  --no-automatic-tasks           do not seed automatic perpetual and cron tasks
  --shutdown-timeout <d>         on SIGTERM, abort tasks still running after this and leave them
                                 for redelivery [DOCKET_WORKER_SHUTDOWN_TIMEOUT] (none: wait)
  --max-redeliveries <n>         times a task's worker may vanish before the task ends FAILED as
                                 abandoned [DOCKET_WORKER_MAX_REDELIVERIES] (3)
  --watchdog-timeout <d>         end the process when its event loop is blocked this long; 0 off
                                 [DOCKET_WORKER_WATCHDOG_TIMEOUT] (the redelivery timeout)
  --fallback-task <module:name>  runs tasks with unknown names [DOCKET_FALLBACK_TASK]
  --execution-ttl <d>            how long state and results are kept; 0 keeps nothing [DOCKET_EXECUTION_TTL] (15m)
  --until-finished               exit when nothing is queued, scheduled or running
  --healthcheck-port <port>      serve /healthz and /readyz on this port [DOCKET_WORKER_HEALTHCHECK_PORT]
  --metrics-port <port>          serve Prometheus /metrics on this port [DOCKET_WORKER_METRICS_PORT]
  --log-level <level>            trace|debug|info|warn|error|fatal|silent [DOCKET_LOG_LEVEL] (info)
  --log-format <format>          json|pretty|auto [DOCKET_LOG_FORMAT] (auto: pretty on a terminal)
  -h, --help                     show this help

Durations: 250ms, 30s, 5m, 2h, mm:ss or hh:mm:ss (a bare number is seconds).`;

/**
 * Parsed worker command options.
 *
 * @example
 * ```ts ignore
 * import { parseWorkerArgs } from "./worker_command.ts";
 * const options = parseWorkerArgs(["--tasks", "./examples/tasks.ts"]);
 * if (options !== "help") options.worker.concurrency; // 10
 * ```
 */
export interface WorkerCommandOptions {
  url: string;
  docket: string;
  tls?: TlsOptions;
  tasks: string[];
  worker: WorkerOptions;
  executionTtl: number;
  fallbackTask?: string;
  untilFinished: boolean;
  healthcheckPort?: number;
  /** Serve Prometheus `/metrics` on this port. */
  metricsPort?: number;
  logLevel?: string;
  logFormat: LogFormat;
}

/**
 * Parses the worker command's arguments, with environment defaults.
 *
 * @example
 * ```ts ignore
 * import { parseWorkerArgs } from "./worker_command.ts";
 * parseWorkerArgs(["--help"]); // "help"
 * ```
 */
export function parseWorkerArgs(args: string[]): WorkerCommandOptions | "help" {
  const { values } = parseArgs({
    args,
    allowPositionals: false,
    options: {
      tasks: { type: "string", multiple: true },
      url: { type: "string" },
      docket: { type: "string" },
      name: { type: "string" },
      concurrency: { type: "string" },
      "redelivery-timeout": { type: "string" },
      "reconnection-delay": { type: "string" },
      "minimum-check-interval": { type: "string" },
      "scheduling-resolution": { type: "string" },
      "no-automatic-tasks": { type: "boolean" },
      "shutdown-timeout": { type: "string" },
      "max-redeliveries": { type: "string" },
      "watchdog-timeout": { type: "string" },
      "fallback-task": { type: "string" },
      "execution-ttl": { type: "string" },
      "until-finished": { type: "boolean" },
      "healthcheck-port": { type: "string" },
      "metrics-port": { type: "string" },
      "log-level": { type: "string" },
      "log-format": { type: "string" },
      help: { type: "boolean", short: "h" },
      ...TLS_OPTIONS,
    },
  });
  if (values.help) return "help";
  const pick = (flag: string | undefined, variable: string) => flag ?? env(variable);
  const duration = (flag: string | undefined, variable: string, fallback: string, what: string) =>
    parseDuration(pick(flag, variable) ?? fallback, what);
  const tasks = values.tasks ?? env("DOCKET_TASKS")?.split(",").map((s) => s.trim()) ?? [];
  const format = pick(values["log-format"], "DOCKET_LOG_FORMAT") ?? "auto";
  if (!["json", "pretty", "auto"].includes(format)) {
    throw new UsageError(`--log-format must be json, pretty or auto, got "${format}"`);
  }
  const port = pick(values["healthcheck-port"], "DOCKET_WORKER_HEALTHCHECK_PORT");
  const metricsPort = pick(values["metrics-port"], "DOCKET_WORKER_METRICS_PORT");
  const concurrency = pick(values.concurrency, "DOCKET_WORKER_CONCURRENCY");
  const shutdownTimeout = pick(values["shutdown-timeout"], "DOCKET_WORKER_SHUTDOWN_TIMEOUT");
  const maxRedeliveries = pick(values["max-redeliveries"], "DOCKET_WORKER_MAX_REDELIVERIES");
  const redeliveryTimeout = duration(
    values["redelivery-timeout"],
    "DOCKET_WORKER_REDELIVERY_TIMEOUT",
    "5m",
    "--redelivery-timeout",
  );
  const watchdogTimeout = pick(values["watchdog-timeout"], "DOCKET_WORKER_WATCHDOG_TIMEOUT");
  return {
    url: pick(values.url, "DOCKET_URL") ?? "redis://localhost:6379/0",
    docket: pick(values.docket, "DOCKET_NAME") ?? "docket",
    tls: resolveTls(values),
    tasks: tasks.filter(Boolean),
    executionTtl: duration(
      values["execution-ttl"],
      "DOCKET_EXECUTION_TTL",
      "15m",
      "--execution-ttl",
    ),
    fallbackTask: pick(values["fallback-task"], "DOCKET_FALLBACK_TASK"),
    untilFinished: values["until-finished"] ?? false,
    healthcheckPort: port === undefined ? undefined : parseCount(port, "--healthcheck-port", 0),
    metricsPort: metricsPort === undefined
      ? undefined
      : parseCount(metricsPort, "--metrics-port", 0),
    logLevel: pick(values["log-level"], "DOCKET_LOG_LEVEL"),
    logFormat: format as LogFormat,
    worker: {
      name: pick(values.name, "DOCKET_WORKER_NAME"),
      concurrency: concurrency === undefined ? 10 : parseCount(concurrency, "--concurrency"),
      redeliveryTimeout,
      reconnectionDelay: duration(
        values["reconnection-delay"],
        "DOCKET_WORKER_RECONNECTION_DELAY",
        "5s",
        "--reconnection-delay",
      ),
      minimumCheckInterval: duration(
        values["minimum-check-interval"],
        "DOCKET_WORKER_MINIMUM_CHECK_INTERVAL",
        "100ms",
        "--minimum-check-interval",
      ),
      schedulingResolution: duration(
        values["scheduling-resolution"],
        "DOCKET_WORKER_SCHEDULING_RESOLUTION",
        "250ms",
        "--scheduling-resolution",
      ),
      scheduleAutomaticTasks: !values["no-automatic-tasks"],
      shutdownTimeout: shutdownTimeout === undefined
        ? undefined
        : parseDuration(shutdownTimeout, "--shutdown-timeout"),
      maxRedeliveries: maxRedeliveries === undefined
        ? undefined
        : parseCount(maxRedeliveries, "--max-redeliveries", 0),
      watchdogTimeout: watchdogTimeout === undefined
        ? redeliveryTimeout
        : parseDuration(watchdogTimeout, "--watchdog-timeout"),
    },
  };
}

/** Connects, retrying every `delay` until the store answers or `stopped()` is true. */
async function connectWithRetry(
  options: WorkerCommandOptions,
  logger: Logger,
  stopped: () => boolean,
): Promise<Docket | undefined> {
  const delay = Number(options.worker.reconnectionDelay ?? 5_000);
  while (!stopped()) {
    try {
      return await Docket.connect({
        name: options.docket,
        url: options.url,
        tls: options.tls,
        executionTtl: options.executionTtl,
        logger,
      });
    } catch (error) {
      if (error instanceof TypeError) throw new UsageError(error.message);
      logger.error(`${(error as Error).message}; retrying in ${delay} ms`);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
  return undefined;
}

/**
 * Runs the worker command; resolves with the process exit code.
 *
 * @example
 * ```ts ignore
 * import { runWorkerCommand } from "./worker_command.ts";
 * const code = await runWorkerCommand(["--tasks", "./examples/tasks.ts", "--until-finished"]);
 * ```
 */
export async function runWorkerCommand(args: string[]): Promise<number> {
  const options = parseWorkerArgs(args);
  if (options === "help") {
    console.log(WORKER_HELP);
    return 0;
  }
  const logger = createLogger({ level: options.logLevel, format: options.logFormat });
  let worker: Worker | undefined;
  installStopSignals();
  const stopRequested = () => stopSignal() !== undefined;
  const removeListener = onStopSignal((signal) => {
    logger.info(`Received ${signal}: finishing running tasks, then exiting`);
    worker?.stop();
  });
  try {
    return await runWorker(options, logger, (created) => (worker = created), stopRequested);
  } finally {
    removeListener();
  }
}

async function runWorker(
  options: WorkerCommandOptions,
  logger: Logger,
  created: (worker: Worker) => void,
  stopRequested: () => boolean,
): Promise<number> {
  const tasks = await loadTasks(options.tasks);
  const fallback = options.fallbackTask ? await loadExport(options.fallbackTask) : undefined;
  if (stopRequested()) return 0;
  const monitor = new HealthMonitor({ staleAfterMs: healthStaleAfter(options) });
  let health: Server | undefined;
  let endpoint: MetricsEndpoint | undefined;
  if (options.healthcheckPort !== undefined) {
    health = await serveHealth(options.healthcheckPort, monitor);
    logger.info(`health check listening on port ${options.healthcheckPort}`);
  }
  if (options.metricsPort !== undefined) {
    endpoint = await serveMetrics(options.metricsPort);
    logger.info(`metrics at http://0.0.0.0:${options.metricsPort}/metrics`);
  }
  try {
    const docket = await connectWithRetry(options, logger, stopRequested);
    if (!docket) return 0;
    let worker: Worker;
    try {
      for (const task of tasks) docket.register(task);
      worker = new Worker(docket, {
        ...options.worker,
        fallbackTask: fallback as TaskLike,
        observers: [monitor],
      });
      created(worker);
      if (endpoint) {
        watchDepths({
          docketName: docket.name,
          counts: () => docket.backend.counts(),
          failed: () => docket.backend.countFailed(Date.now(), docket.failedTtl),
        });
      }
      if (stopRequested()) return 0;
      if (options.untilFinished) await worker.runUntilFinished();
      else await worker.runForever();
    } finally {
      // A store that cannot be reached must not hold the exit up.
      await bounded(docket.close(), 5_000);
    }
    if (worker.unrecordedEnds > 0) {
      logger.error(
        `${worker.unrecordedEnds} task end(s) could not be recorded (the store is unreachable); ` +
          `those tasks run again elsewhere after the redelivery timeout`,
      );
      return 1;
    }
    return 0;
  } finally {
    health?.close();
    await endpoint?.close();
  }
}

/** How long the worker's loop may go without a turn before `/readyz` says it is stuck. */
function healthStaleAfter(options: WorkerCommandOptions): number {
  const interval = Number(options.worker.minimumCheckInterval ?? 250);
  return Math.max(10_000, interval * 10);
}

/**
 * Runs a command's main function and exits with its code; an error is printed as one line
 * (`error: …`) with exit code 2 for a command-line mistake, else 1.
 *
 * @example
 * ```ts ignore
 * import { runMain, runWorkerCommand } from "./worker_command.ts";
 * await runMain(() => runWorkerCommand(commandLineArgs()));
 * ```
 */
export async function runMain(main: () => Promise<number>): Promise<never> {
  let code: number;
  try {
    code = await main();
  } catch (error) {
    const message = redactCommandLine(
      error instanceof Error ? error.message : String(error),
      commandLineArgs(),
    );
    const usage = error instanceof UsageError ||
      String((error as { code?: string })?.code).startsWith("ERR_PARSE_ARGS");
    console.error(`error: ${printable(message)}${usage ? " (see --help)" : ""}`);
    code = usage ? 2 : 1;
  }
  return exitProcess(code);
}

/**
 * Loading `--tasks` modules: every export made with `task()` is registered, and each task in a
 * default-exported array.
 *
 * @module
 */

import { pathToFileURL } from "node:url";
import { resolve } from "node:path";
import { isTaskDefinition, type TaskDefinition } from "../definition.ts";
import { UsageError } from "./parsing.ts";
import { runtimeName } from "../runtime.ts";

/**
 * Imports a module by path (relative to the working directory) or by `file:`, `http:` or
 * `https:` URL. On Node before 22.18, a `.ts` module cannot be loaded: compile it to `.js`.
 *
 * @example
 * ```ts ignore
 * import { importModule } from "./task_modules.ts";
 * const module = await importModule("./examples/tasks.ts");
 * ```
 */
export async function importModule(specifier: string): Promise<Record<string, unknown>> {
  try {
    return await importUrl(moduleUrl(specifier));
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(
      `cannot load task module ${specifier}: ${(error as Error).message}${hintFor(specifier)}`,
    );
  }
}

/** The URL of a task module given by path or URL; a scheme other than file: and http(s): is refused. */
function moduleUrl(specifier: string): URL {
  if (!/^[a-z][a-z0-9+.-]+:/i.test(specifier)) return pathToFileURL(resolve(specifier));
  const url = new URL(specifier);
  if (!["file:", "http:", "https:"].includes(url.protocol)) {
    throw new UsageError(
      `cannot load task module ${specifier}: give a path or a file:, http: or https: URL`,
    );
  }
  return url;
}

/**
 * Imports an absolute URL. Each import starts with its scheme written out, so that publishing
 * can tell these are URLs (which need no import map) rather than bare specifiers.
 */
function importUrl(url: URL): Promise<Record<string, unknown>> {
  const rest = url.href.slice(url.protocol.length + 2);
  if (url.protocol === "file:") return import(`file://${rest}`);
  if (url.protocol === "https:") return import(`https://${rest}`);
  return import(`http://${rest}`);
}

function hintFor(specifier: string): string {
  const typescript = /\.[cm]?tsx?$/i.test(specifier);
  return typescript && runtimeName() === "node"
    ? " (this Node cannot load TypeScript: compile the task module to .js, or use Node 22.18 or later)"
    : "";
}

/**
 * The tasks a module exports.
 *
 * @example
 * ```ts ignore
 * import { tasksOf } from "./task_modules.ts";
 * tasksOf(await import("./examples/tasks.ts")).map((t) => t.name); // ["add", "slow", "flaky"]
 * ```
 */
export function tasksOf(module: Record<string, unknown>): TaskDefinition[] {
  const found: TaskDefinition[] = [];
  for (const value of Object.values(module)) {
    if (isTaskDefinition(value)) found.push(value);
  }
  if (Array.isArray(module.default)) {
    for (const value of module.default) if (isTaskDefinition(value)) found.push(value);
  }
  return [...new Set(found)];
}

/**
 * Loads every `--tasks` module and returns their tasks.
 *
 * @example
 * ```ts ignore
 * import { loadTasks } from "./task_modules.ts";
 * const tasks = await loadTasks(["./examples/tasks.ts"]);
 * ```
 */
export async function loadTasks(specifiers: string[]): Promise<TaskDefinition[]> {
  const tasks: TaskDefinition[] = [];
  for (const specifier of specifiers) {
    const found = tasksOf(await importModule(specifier));
    if (found.length === 0) {
      throw new UsageError(
        `task module ${specifier} exports no tasks (export values made with task(), or a ` +
          `default array of them)`,
      );
    }
    tasks.push(...found);
  }
  return tasks;
}

/**
 * Loads `module:export` (a fallback task).
 *
 * @example
 * ```ts ignore
 * import { loadExport } from "./task_modules.ts";
 * const fallback = await loadExport("./examples/tasks.ts:add");
 * ```
 */
export async function loadExport(reference: string): Promise<unknown> {
  const at = reference.lastIndexOf(":");
  if (at <= 0 || at === reference.length - 1 || /^[a-z]+:\/\/?[^:]*$/i.test(reference)) {
    throw new UsageError(`expected module:export, got "${reference}"`);
  }
  const module = await importModule(reference.slice(0, at));
  const name = reference.slice(at + 1);
  if (!(name in module)) throw new UsageError(`${reference.slice(0, at)} has no export "${name}"`);
  return module[name];
}

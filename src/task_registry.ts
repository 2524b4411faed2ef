/**
 * The tasks a docket knows by name: registering them (with aliases) and resolving a task or
 * name to what is registered.
 *
 * @module
 */

import { type TaskDefinition, type TaskLike, toDefinition } from "./definition.ts";
import { UnknownTaskError } from "./errors.ts";

/**
 * Registered tasks by name (aliases included).
 *
 * @example
 * ```ts ignore
 * const registry = new TaskRegistry();
 * registry.register(processOrder, { names: ["process_order"] });
 * registry.resolve("process_order").definition;
 * ```
 */
export class TaskRegistry {
  readonly #tasks = new Map<string, TaskDefinition>();

  /** The registered tasks by name. */
  get tasks(): ReadonlyMap<string, TaskDefinition> {
    return this.#tasks;
  }

  /** Registers a task under its name, or under `names` when given. */
  register(task: TaskLike, options: { names?: string[] } = {}): TaskDefinition {
    const definition = toDefinition(task);
    const names = options.names?.length ? options.names : [definition.name];
    for (const name of names) {
      if (typeof name !== "string" || !name) throw new TypeError("task names must be non-empty");
      this.#tasks.set(name, definition);
    }
    return definition;
  }

  /**
   * The definition registered under a name (an `UnknownTaskError` when there is none), or the
   * one of a task object, registering it on first use.
   */
  resolve(task: TaskLike | string): { name: string; definition: TaskDefinition } {
    if (typeof task === "string") {
      const definition = this.#tasks.get(task);
      if (!definition) throw new UnknownTaskError(task, this.#tasks.keys());
      return { name: task, definition };
    }
    const definition = toDefinition(task);
    const registered = this.#tasks.get(definition.name);
    if (!registered) this.register(definition);
    return { name: definition.name, definition: registered ?? definition };
  }
}

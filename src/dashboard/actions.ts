/**
 * The dashboard's actions: what each POST does to the docket. The routes check the session,
 * the CSRF token and read-only mode before any of these runs.
 *
 * @module
 */

import type { Docket } from "../docket.ts";

/** A refused action: a message for the user, and the HTTP status. */
export class ActionError extends Error {
  constructor(message: string, readonly status = 400) {
    super(message);
    this.name = "ActionError";
  }
}

/** The form fields of a POST. */
export type Fields = Record<string, string>;

/** Where to go after an action (a path under the dashboard). */
export type Redirect = string;

function required(fields: Fields, name: string): string {
  const value = fields[name]?.trim();
  if (!value) throw new ActionError(`the form has no ${name}`);
  return value;
}

/**
 * The dashboard may act on tasks its own process has not registered (it runs none): a name is
 * registered as a placeholder so `replace` can send under it.
 */
function ensureRegistered(docket: Docket, taskName: string): void {
  if (docket.tasks.has(taskName)) return;
  const placeholder = () => {
    throw new Error(`${taskName} is not run by the dashboard`);
  };
  Object.defineProperty(placeholder, "name", { value: taskName });
  docket.register(placeholder, { names: [taskName] });
}

async function rescheduleTo(docket: Docket, key: string, when: number): Promise<void> {
  const execution = await docket.getExecution(key);
  if (!execution) throw new ActionError(`no execution has the key ${key}`, 404);
  ensureRegistered(docket, execution.taskName);
  await docket.replace(execution.taskName, { key, when })(execution.payload);
}

/** A `datetime-local` value (read as UTC) or an ISO time, as epoch milliseconds. */
function parseWhen(text: string): number {
  const withZone = /[zZ]|[+-]\d\d:?\d\d$/.test(text) ? text : `${text}Z`;
  const when = Date.parse(withZone);
  if (Number.isNaN(when)) throw new ActionError(`"${text}" is not a date and time`);
  return when;
}

/** A strike value from the form: JSON when it parses, else the text itself. */
function parseStrikeValue(text: string | undefined): unknown {
  if (text === undefined || text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * Runs the action named by `path` (`/actions/cancel`, `/strikes`, …); resolves with where to
 * send the browser next.
 */
export async function runAction(
  docket: Docket,
  path: string,
  fields: Fields,
): Promise<Redirect> {
  const keyPage = (key: string) => `/executions/${encodeURIComponent(key)}`;
  switch (path) {
    case "/actions/cancel": {
      const key = required(fields, "key");
      await docket.cancel(key);
      return keyPage(key);
    }
    case "/actions/run-now": {
      const key = required(fields, "key");
      await rescheduleTo(docket, key, Date.now());
      return keyPage(key);
    }
    case "/actions/reschedule": {
      const key = required(fields, "key");
      await rescheduleTo(docket, key, parseWhen(required(fields, "when")));
      return keyPage(key);
    }
    case "/actions/retry": {
      const key = required(fields, "key");
      await docket.retry(key);
      return keyPage(key);
    }
    case "/actions/retry-failed":
      await docket.retryFailed({ task: fields.task || undefined });
      return "/failed";
    case "/actions/purge-failed":
      await docket.purgeFailed({ task: fields.task || undefined });
      return "/failed";
    case "/strikes":
    case "/strikes/restore": {
      const direction = path === "/strikes" ? "strike" : "restore";
      const task = fields.task?.trim() || null;
      const param = fields.param?.trim() || null;
      const value = param ? parseStrikeValue(fields.value) : undefined;
      const op = param ? fields.op || "==" : undefined;
      if (!task && !param) throw new ActionError("a strike needs a task, a parameter, or both");
      try {
        if (direction === "strike") await docket.strike(task, param, op, value);
        else await docket.restore(task, param, op, value);
      } catch (error) {
        if (error instanceof TypeError) throw new ActionError(error.message);
        throw error;
      }
      return "/strikes";
    }
    default:
      throw new ActionError(`there is no action at ${path}`, 404);
  }
}

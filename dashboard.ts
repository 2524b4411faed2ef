/**
 * The docket dashboard: see and steer a docket from a browser, live.
 *
 * @example
 * ```ts ignore
 * import { Docket } from "@docket/core";
 * import { createDashboard } from "@docket/core/dashboard";
 * const docket = await Docket.connect({ name: "orders", url: "redis://localhost:6379/0" });
 * Deno.serve({ hostname: "127.0.0.1", port: 8765 }, createDashboard(docket, { token: "s3cret" }));
 * ```
 *
 * @module
 */

export { createDashboard, type DashboardOptions, type FetchHandler } from "./src/dashboard/app.ts";

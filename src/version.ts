/**
 * The package version, as a constant so it is known wherever the code runs (a checkout, a
 * published package, a compiled binary) without reading `deno.json`. A test keeps it equal to
 * the version in `deno.json`.
 *
 * @module
 */

/**
 * The version of `@docket/core`.
 *
 * @example
 * ```ts
 * import { VERSION } from "@docket/core";
 * console.log(`docket ${VERSION}`);
 * ```
 */
export const VERSION = "0.1.0";

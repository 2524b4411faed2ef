/**
 * Compile-time assertions for the type tests: `type _ = Expect<Equal<A, B>>` fails `deno check`
 * unless A and B are the same type (not merely assignable to each other).
 *
 * @module
 */

/** True when A and B are identical types (`any`, `unknown` and `never` included). */
export type Equal<A, B> = (<X>() => X extends A ? 1 : 2) extends (<X>() => X extends B ? 1 : 2)
  ? true
  : false;

/** Compiles only when given `true`. */
export type Expect<T extends true> = T;

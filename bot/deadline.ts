/**
 * Waiting for a promise, but not past a deadline: chat platforms want an answer within 3 s.
 * @module
 */

/**
 * Resolves with `promise`'s value, or with `undefined` when it has not settled within `ms`
 * (it keeps running; a rejection within `ms` rejects).
 *
 * @param promise The work.
 * @param ms Milliseconds to wait at most.
 * @returns The value, or `undefined` when late.
 * @example
 * ```ts
 * import { beforeDeadline } from "./deadline.ts";
 * console.assert(await beforeDeadline(new Promise(() => {}), 10) === undefined);
 * ```
 */
export async function beforeDeadline<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  return await Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

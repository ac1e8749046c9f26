/**
 * Bounded concurrency for independent async jobs.
 * @module
 */

/**
 * Runs `fn` over `items` with at most `concurrency` calls in flight, keeping results in input order.
 * A rejected call rejects the whole run after the calls already in flight settle; use a `fn` that
 * catches when failures should be collected instead.
 *
 * @param items The inputs.
 * @param concurrency Largest number of calls in flight (at least 1).
 * @param fn The job.
 * @returns The results, in the order of `items`.
 * @example
 * ```ts
 * import { mapPool } from "./pool.ts";
 * const doubled = await mapPool([1, 2, 3], 2, async (x) => x * 2);
 * console.assert(doubled.join() === "2,4,6");
 * ```
 */
export async function mapPool<T, R>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`concurrency must be a positive integer: got ${concurrency}`);
  }
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (failure === undefined && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i] as T, i);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  if (failure !== undefined) throw failure.error;
  return results;
}

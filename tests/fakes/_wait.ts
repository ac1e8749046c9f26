/**
 * Polling for a fake's recorded calls: what a person would see arrives asynchronously.
 * @module
 */

/**
 * Waits until `calls` holds one that `match` accepts.
 *
 * @param calls The fake's growing record.
 * @param match What the test waits for.
 * @param describe How to list the calls when none matched.
 * @param timeoutMs How long to wait: a liveness limit, not a speed check (a loaded 2-core machine once
 * took more than 20 s for a party step, while the whole suite and training ran beside it). @default 60000
 * @returns The first matching call.
 * @throws {Error} After `timeoutMs`, listing the calls seen.
 */
export async function waitForCall<T extends { at: number }>(
  calls: readonly T[],
  match: (call: T) => boolean,
  describe: (call: T) => string,
  timeoutMs = 60_000,
): Promise<T> {
  const until = performance.now() + timeoutMs;
  while (performance.now() < until) {
    const hit = calls.find(match);
    if (hit) return hit;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`No matching call within ${timeoutMs} ms; calls: ${JSON.stringify(calls.map(describe))}`);
}

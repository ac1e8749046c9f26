/**
 * A per-user sliding-window rate limit: at most `limit` requests in any `windowMs`. In memory,
 * per process, which is what one bot process needs.
 * @module
 */

/** What {@linkcode RateLimiter.take} decided. */
export type RateDecision = { ok: true } | { ok: false; retryAfterSeconds: number };

/**
 * Counts each user's recent requests.
 *
 * @example
 * ```ts
 * import { RateLimiter } from "./rate_limit.ts";
 * const limiter = new RateLimiter({ limit: 1, windowMs: 60_000 });
 * console.assert(limiter.take("u1").ok && !limiter.take("u1").ok && limiter.take("u2").ok);
 * ```
 */
export class RateLimiter {
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #now: () => number;
  readonly #hits = new Map<string, number[]>();

  /**
   * @param opts `limit` requests per `windowMs` milliseconds; `now` is a clock seam for tests.
   */
  constructor(opts: { limit: number; windowMs: number; now?: () => number }) {
    this.#limit = opts.limit;
    this.#windowMs = opts.windowMs;
    this.#now = opts.now ?? Date.now;
  }

  /**
   * Records a request by `key` if it is within the limit.
   *
   * @param key The user (platform-qualified, e.g. `discord:123`).
   * @returns `ok`, or how many seconds until the next request is allowed.
   */
  take(key: string): RateDecision {
    const now = this.#now();
    const recent = (this.#hits.get(key) ?? []).filter((t) => now - t < this.#windowMs);
    if (recent.length >= this.#limit) {
      this.#hits.set(key, recent);
      return {
        ok: false,
        retryAfterSeconds: Math.max(1, Math.ceil((recent[0]! + this.#windowMs - now) / 1000)),
      };
    }
    recent.push(now);
    this.#hits.set(key, recent);
    if (this.#hits.size > 10_000) this.#prune(now);
    return { ok: true };
  }

  #prune(now: number): void {
    for (const [key, times] of this.#hits) {
      if (times.every((t) => now - t >= this.#windowMs)) this.#hits.delete(key);
    }
  }
}

/**
 * Limits shared by every chat process, kept on the queue's Redis with rate-limiter-flexible (the
 * one module that imports it): each user's requests per minute, so reaching several shards does
 * not multiply a quota, and the bound on work waiting for a worker.
 * @module
 */
import type { Redis } from "ioredis";
import { RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";
import type { SharedAdmission } from "../context.ts";
import type { RateDecision } from "../rate_limit.ts";
import { QueueUnavailable } from "./errors.ts";

/** Options of {@linkcode sharedAdmission}. */
export interface SharedAdmissionOptions {
  /** The queue's non-blocking connection (its commands fail at once while Redis is down). */
  redis: Redis;
  /** The deployment's key prefix. */
  prefix: string;
  /** Requests per user per `windowSeconds`. */
  perUser: number;
  /** @default 60 */
  windowSeconds?: number;
  /** Jobs that may wait for a worker; more are refused as busy. */
  capacity: number;
  /** Jobs waiting now, across all chat processes. */
  waiting: () => Promise<number>;
}

/**
 * The shared per-user rate limit and waiting-work bound.
 *
 * @param options The connection, the limits and the queue's depth.
 * @returns What the handlers ask before queuing work.
 */
export function sharedAdmission(options: SharedAdmissionOptions): SharedAdmission {
  const limiter = new RateLimiterRedis({
    storeClient: options.redis,
    keyPrefix: `${options.prefix}:rate`,
    points: options.perUser,
    duration: options.windowSeconds ?? 60,
    // Redis down: refuse at once (the chat says "busy, try again shortly"), never wait.
    rejectIfRedisNotReady: true,
  });
  return {
    async take(key: string): Promise<RateDecision> {
      try {
        await limiter.consume(key, 1);
        return { ok: true };
      } catch (res) {
        if (res instanceof RateLimiterRes) {
          return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(res.msBeforeNext / 1000)) };
        }
        throw new QueueUnavailable({ cause: res });
      }
    },
    async backlogFull(): Promise<boolean> {
      try {
        return (await options.waiting()) >= options.capacity;
      } catch (err) {
        throw new QueueUnavailable({ cause: err });
      }
    },
  };
}

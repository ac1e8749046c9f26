import assert from "node:assert/strict";
import { RateLimiter } from "./rate_limit.ts";

Deno.test("RateLimiter.take() allows `limit` per window per user and says when to retry", () => {
  let now = 1_000_000;
  const limiter = new RateLimiter({ limit: 2, windowMs: 60_000, now: () => now });
  assert.deepEqual(limiter.take("discord:1"), { ok: true });
  now += 10_000;
  assert.deepEqual(limiter.take("discord:1"), { ok: true });
  assert.deepEqual(limiter.take("discord:1"), { ok: false, retryAfterSeconds: 50 });
  assert.deepEqual(limiter.take("slack:1"), { ok: true }, "users are counted apart");
  now += 50_000;
  assert.deepEqual(limiter.take("discord:1"), { ok: true }, "the oldest request left the window");
});

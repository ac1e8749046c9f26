import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { redisUnavailable, startTestRedis } from "../../tests/redis_server.ts";
import type { ReindexProgressAnswer } from "../answer.ts";
import { type BoardRedis, redisReindexBoard } from "./reindex_board.ts";

const progress = (stage: string, percent: number, startedBy = "alice"): ReindexProgressAnswer => ({
  kind: "reindex_progress",
  stage,
  done: 0,
  total: 0,
  percent,
  etaSeconds: undefined,
  startedBy,
});

/** A board's view of `redis` that awaits `before()` ahead of each command it sends. */
function withHook(redis: Redis, before: () => Promise<void>): BoardRedis {
  return {
    set: async (key: string, value: string, px: "PX", ms: number, nx: "NX") => {
      await before();
      return redis.set(key, value, px, ms, nx);
    },
    get: async (key: string) => {
      await before();
      return redis.get(key);
    },
    eval: async (script: string, numKeys: number, ...args: (string | number)[]) => {
      await before();
      return redis.eval(script, numKeys, ...args);
    },
  };
}

const withRedis = (name: string, fn: (redis: Redis) => Promise<void>) =>
  Deno.test({
    name,
    ignore: redisUnavailable !== null,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const server = await startTestRedis();
      const redis = new Redis(server.url, { lazyConnect: true });
      try {
        await redis.connect();
        await fn(redis);
      } finally {
        redis.disconnect();
        await server.close();
      }
    },
  });

withRedis(
  "redisReindexBoard(): one run holds the board; another process reads its progress; only the holder frees it",
  async (redis) => {
    const a = redisReindexBoard(redis, "p");
    const b = redisReindexBoard(redis, "p");
    assert.equal(await a.claim(progress("hashing", 10)), undefined);
    await a.update(progress("embedding", 42));
    assert.deepEqual(await b.claim(progress("hashing", 0, "bob")), progress("embedding", 42));
    await b.update(progress("embedding", 1, "bob"));
    await b.release();
    assert.deepEqual(
      await b.claim(progress("hashing", 0, "bob")),
      progress("embedding", 42),
      "b changed nothing",
    );
    await a.release();
    assert.equal(await redis.exists("p:reindex:progress"), 0);
    assert.equal(await b.claim(progress("hashing", 0, "bob")), undefined);
  },
);

withRedis(
  "redisReindexBoard(): a claim that expired and was taken by another process is neither renewed over nor freed",
  async (redis) => {
    const a = redisReindexBoard(redis, "e", 150);
    const b = redisReindexBoard(redis, "e", 60_000);
    const c = redisReindexBoard(redis, "e");
    assert.equal(await a.claim(progress("hashing", 10)), undefined);
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(await b.claim(progress("hashing", 5, "bob")), undefined, "the stale claim has expired");
    await a.update(progress("embedding", 90));
    await a.release();
    assert.deepEqual(await c.claim(progress("hashing", 0, "carol")), progress("hashing", 5, "bob"));
    // a claim that lapsed with no one else waiting is renewed by its holder
    // (the lapse is made by deleting the key, so no renewal can lapse too early on a busy machine)
    const d = redisReindexBoard(redis, "f");
    assert.equal(await d.claim(progress("hashing", 1)), undefined);
    await redis.del("f:reindex:progress");
    assert.equal(await redis.exists("f:reindex:progress"), 0, "the claim has lapsed");
    await d.update(progress("embedding", 50));
    assert.deepEqual(await c.claim(progress("hashing", 0, "carol")), progress("hashing", 5, "bob"));
    assert.deepEqual(await redisReindexBoard(redis, "f").claim(progress("x", 0)), progress("embedding", 50));
  },
);

withRedis(
  "redisReindexBoard(): whenever another process takes over between two of the holder's commands, its claim survives",
  async (redis) => {
    // For each point k in the holder's renewal and release, another process's claim lands just before
    // the holder's k-th command (as if the holder's claim had expired there). A read followed by a
    // write would overwrite or delete it at some k; one compare-and-write script cannot.
    for (let k = 0; k < 6; k++) {
      const prefix = `race${k}`, key = `${prefix}:reindex:progress`;
      let sent = 0;
      const other = redisReindexBoard(redis, prefix);
      const holder = redisReindexBoard(
        withHook(redis, async () => {
          if (sent++ !== k) return;
          await redis.del(key);
          assert.equal(await other.claim(progress("hashing", 7, "bob")), undefined);
        }),
        prefix,
      );
      sent = -1; // the claim itself is not a point of interest
      assert.equal(await holder.claim(progress("hashing", 10)), undefined);
      await holder.update(progress("embedding", 42));
      await holder.release();
      if (sent <= k) continue; // the holder sent fewer than k + 1 commands: no takeover at this point
      const raw = await redis.get(key);
      assert.ok(raw !== null, `k=${k}: the other process's claim was deleted`);
      assert.deepEqual(
        await redisReindexBoard(redis, prefix).claim(progress("x", 0)),
        progress("hashing", 7, "bob"),
        `k=${k}: the other process's claim was overwritten`,
      );
    }
  },
);

import assert from "node:assert/strict";
import type { ReindexProgressAnswer } from "../answer.ts";
import { type BoardRedis, redisReindexBoard } from "./reindex_board.ts";

/** The commands the board uses, over a Map (expiry is Redis's job and not modelled here). */
function fakeRedis(): BoardRedis & { keys: Map<string, string> } {
  const keys = new Map<string, string>();
  return {
    keys,
    set(key: string, value: string, _px: "PX", _ms: number, nx?: "NX") {
      if (nx && keys.has(key)) return Promise.resolve(null);
      keys.set(key, value);
      return Promise.resolve("OK");
    },
    get: (key: string) => Promise.resolve(keys.get(key) ?? null),
    del: (key: string) => Promise.resolve(keys.delete(key) ? 1 : 0),
  } as BoardRedis & { keys: Map<string, string> };
}

const progress = (stage: string, percent: number, startedBy = "alice"): ReindexProgressAnswer => ({
  kind: "reindex_progress",
  stage,
  done: 0,
  total: 0,
  percent,
  etaSeconds: undefined,
  startedBy,
});

Deno.test("redisReindexBoard(): one run holds the board; another process reads its progress; only the holder frees it", async () => {
  const redis = fakeRedis();
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
  assert.equal(redis.keys.size, 0);
  assert.equal(await b.claim(progress("hashing", 0, "bob")), undefined);
});

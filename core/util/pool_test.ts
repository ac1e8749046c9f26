import assert from "node:assert/strict";
import { mapPool } from "./pool.ts";

Deno.test("mapPool() keeps input order and never exceeds the concurrency", async () => {
  let inFlight = 0;
  let peak = 0;
  const out = await mapPool([30, 5, 20, 1, 10, 2], 2, async (ms, i) => {
    inFlight++;
    peak = Math.max(peak, inFlight);
    await new Promise((r) => setTimeout(r, ms));
    inFlight--;
    return i * 10;
  });
  assert.deepEqual(out, [0, 10, 20, 30, 40, 50]);
  assert.equal(peak, 2);
});

Deno.test("mapPool() rejects with the first error and starts no new jobs after it", async () => {
  const started: number[] = [];
  await assert.rejects(
    mapPool([1, 2, 3, 4, 5], 1, (x) => {
      started.push(x);
      return x === 2 ? Promise.reject(new Error("boom")) : Promise.resolve(x);
    }),
    /boom/,
  );
  assert.deepEqual(started, [1, 2]);
});

Deno.test("mapPool() refuses a concurrency below one", async () => {
  await assert.rejects(mapPool([1], 0, (x) => Promise.resolve(x)), RangeError);
});

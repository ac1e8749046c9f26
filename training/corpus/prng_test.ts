import assert from "node:assert/strict";
import { createRng, hashSeed } from "./prng.ts";

Deno.test("createRng() repeats its sequence for the same seed and differs for another", () => {
  const a = createRng(123), b = createRng(123), c = createRng(124);
  const sa = Array.from({ length: 20 }, () => a.next());
  const sb = Array.from({ length: 20 }, () => b.next());
  const sc = Array.from({ length: 20 }, () => c.next());
  assert.deepEqual(sa, sb);
  assert.notDeepEqual(sa, sc);
  for (const v of sa) assert.ok(v >= 0 && v < 1);
});

Deno.test("createRng() int() stays in its inclusive range and reaches both ends", () => {
  const r = createRng(5);
  const seen = new Set<number>();
  for (let i = 0; i < 2000; i++) {
    const v = r.int(3, 6);
    assert.ok(v >= 3 && v <= 6);
    seen.add(v);
  }
  assert.deepEqual([...seen].sort(), [3, 4, 5, 6]);
});

Deno.test("createRng() fork() is deterministic and does not advance the parent", () => {
  const a = createRng(9), b = createRng(9);
  const fa = a.fork("x");
  assert.equal(a.next(), b.next());
  assert.equal(fa.next(), createRng(9).fork("x").next());
  assert.notEqual(createRng(9).fork("x").next(), createRng(9).fork("y").next());
});

Deno.test("createRng() weighted() never picks a zero-weight item", () => {
  const r = createRng(1);
  for (let i = 0; i < 500; i++) assert.notEqual(r.weighted(["a", "b", "c"], [1, 0, 2]), "b");
});

Deno.test("hashSeed() depends on every part", () => {
  assert.equal(hashSeed(1, "genre", "jazz", 0), hashSeed(1, "genre", "jazz", 0));
  assert.notEqual(hashSeed(1, "genre", "jazz", 0), hashSeed(1, "genre", "jazz", 1));
  assert.notEqual(hashSeed(1, "genre", "jazz", 0), hashSeed(2, "genre", "jazz", 0));
});

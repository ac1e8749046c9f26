import assert from "node:assert/strict";
import { pairedDifference } from "./compare_quality.ts";

Deno.test("pairedDifference(): the mean of b - a, with an interval that shrinks when the change is the same for every query", () => {
  const a = [0.2, 0.4, 0.6, 0.8, 0.0, 1.0];
  const same = pairedDifference(a, a.map((v) => v + 0.2));
  assert.ok(Math.abs(same.diff - 0.2) < 1e-12);
  assert.ok(Math.abs(same.interval95[0] - 0.2) < 1e-12 && Math.abs(same.interval95[1] - 0.2) < 1e-12);
  const mixed = pairedDifference(a, [0.4, 0.2, 0.8, 0.6, 0.2, 0.8]);
  assert.ok(Math.abs(mixed.diff) < 1e-12); // +0.2 and -0.2 three times each
  assert.ok(mixed.interval95[0] < 0 && mixed.interval95[1] > 0, JSON.stringify(mixed));
  assert.throws(() => pairedDifference(a, a.slice(1)), RangeError);
});

import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { setupBackend } from "./backend.ts";
import { matchAtOne, ntXentLoss, ntXentReference } from "./contrastive.ts";
import { seededRandom } from "./split.ts";

await setupBackend({ prefer: "wasm" });

const rows = (n: number, d: number, seed: number) => {
  const r = seededRandom(seed);
  return Array.from({ length: n }, () => Float32Array.from({ length: d }, () => r() * 2 - 1));
};

Deno.test("ntXentLoss() matches a plain-arithmetic NT-Xent and is low for aligned pairs", () => {
  const a = rows(6, 8, 1), b = rows(6, 8, 2);
  const t = (x: Float32Array[]) => tf.tensor2d(x.map((v) => Array.from(v)));
  for (const temperature of [0.1, 0.5]) {
    const got = ntXentLoss(t(a), t(b), temperature).dataSync()[0]!;
    assert.ok(Math.abs(got - ntXentReference(a, b, temperature)) < 1e-4, `${got}`);
  }
  // identical views (scaled: the loss is on directions) are far better than random pairs
  const aligned = ntXentLoss(t(a), t(a.map((v) => v.map((x) => 3 * x))), 0.1).dataSync()[0]!;
  assert.ok(aligned < 0.1 * ntXentReference(a, b, 0.1), `${aligned}`);
  // random pairs of 12 views: about ln(11)
  assert.ok(Math.abs(ntXentReference(rows(200, 64, 3), rows(200, 64, 4), 1) - Math.log(399)) < 0.2);
});

Deno.test("ntXentLoss() has gradients on the wasm backend that pull positives together", () => {
  const a = tf.variable(tf.tensor2d(rows(4, 5, 5).map((v) => Array.from(v))));
  const b = tf.tensor2d(rows(4, 5, 6).map((v) => Array.from(v)));
  const opt = tf.train.sgd(0.5);
  const before = ntXentLoss(a, b, 0.5).dataSync()[0]!;
  for (let i = 0; i < 20; i++) opt.minimize(() => ntXentLoss(a, b, 0.5), false, [a]);
  const after = ntXentLoss(a, b, 0.5).dataSync()[0]!;
  assert.ok(after < before - 0.3, `${before} -> ${after}`);
});

Deno.test("matchAtOne() counts first views whose nearest second view is their own", () => {
  const a = [Float32Array.of(1, 0), Float32Array.of(0, 1), Float32Array.of(1, 1)];
  assert.equal(matchAtOne(a, [Float32Array.of(2, 0.1), Float32Array.of(0.1, 3), Float32Array.of(1, 0.9)]), 1);
  assert.equal(matchAtOne(a, [Float32Array.of(0, 1), Float32Array.of(1, 0), Float32Array.of(1, 1)]), 1 / 3);
});

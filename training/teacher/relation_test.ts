import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { setupBackend } from "../backend.ts";
import { seededRandom } from "../split.ts";
import { labelContrastLoss, labelContrastReference, relationLoss, relationReference } from "./relation.ts";

await setupBackend({ prefer: "wasm" });

const rows = (n: number, d: number, seed: number) => {
  const r = seededRandom(seed);
  return Array.from({ length: n }, () => Float32Array.from({ length: d }, () => r() * 2 - 1));
};
const t = (x: readonly Float32Array[]) => tf.tensor2d(x.map((v) => Array.from(v)));
/** Index of each row's most cosine-similar other row. */
const nearest = (x: readonly Float32Array[]) => {
  const unit = x.map((v) => {
    const n = Math.hypot(...v);
    return Array.from(v, (a) => a / n);
  });
  return unit.map((a, i) => {
    let best = -1, bestSim = -Infinity;
    unit.forEach((b, j) => {
      const s = a.reduce((acc, v, k) => acc + v * b[k]!, 0);
      if (j !== i && s > bestSim) [best, bestSim] = [j, s];
    });
    return best;
  });
};

Deno.test("relationLoss() matches its plain-arithmetic reference, for embeddings of other sizes", () => {
  const student = rows(7, 12, 1), teacher = rows(7, 5, 2);
  for (const temperature of [0.1, 0.5]) {
    const got = relationLoss(t(student), t(teacher), temperature).dataSync()[0]!;
    const want = relationReference(student, teacher, temperature);
    assert.ok(want > 0.1, `${want}`);
    assert.ok(Math.abs(got - want) < 1e-3 * Math.max(1, want), `${got} vs ${want}`);
  }
});

Deno.test("relationLoss() is 0 when the student sees the teacher's neighbours, above 0 when not", () => {
  const teacher = rows(8, 6, 3);
  // a rotation of the teacher's space (swap two axes, flip one) and a scale keep every cosine
  const rotated = teacher.map((v) => Float32Array.of(-v[1]!, v[0]!, ...v.subarray(2)).map((x) => 4 * x));
  assert.ok(Math.abs(relationLoss(t(rotated), t(teacher)).dataSync()[0]!) < 1e-4);
  // the same vectors given to other windows
  const shuffled = [...teacher.slice(1), teacher[0]!];
  assert.ok(relationLoss(t(shuffled), t(teacher)).dataSync()[0]! > 0.5);
});

Deno.test("relationLoss() has gradients on the wasm backend that give the student the teacher's nearest neighbours", () => {
  const teacher = rows(10, 4, 5);
  const student = tf.variable(t(rows(10, 16, 6)));
  const before = relationLoss(student, t(teacher)).dataSync()[0]!;
  const opt = tf.train.adam(0.05);
  for (let i = 0; i < 150; i++) opt.minimize(() => relationLoss(student, t(teacher)), false, [student]);
  const after = relationLoss(student, t(teacher)).dataSync()[0]!;
  assert.ok(after < 0.2 * before, `${before} -> ${after}`);
  const learned = (student.arraySync() as number[][]).map((r) => Float32Array.from(r));
  assert.deepEqual(nearest(learned), nearest(teacher));
});

Deno.test("relationLoss() refuses batches that do not pair up or are too small", () => {
  assert.throws(() => relationLoss(t(rows(4, 3, 1)), t(rows(5, 3, 2))), /4 student rows but 5 teacher rows/);
  assert.throws(() => relationLoss(t(rows(2, 3, 1)), t(rows(2, 3, 2))), /at least 3/);
});

const oneHot = (labels: readonly number[], c: number) =>
  labels.map((l) => Float32Array.from({ length: c }, (_, k) => (k === l ? 1 : 0)));

Deno.test("labelContrastLoss() matches its plain-arithmetic reference, for hard and soft labels", () => {
  const student = rows(9, 12, 7);
  const soft = rows(9, 4, 8).map((v) => {
    const e = v.map(Math.exp), s = e.reduce((a, b) => a + b, 0);
    return e.map((x) => x / s);
  });
  for (const p of [oneHot([0, 0, 1, 1, 2, 2, 2, 3, 0], 4), soft]) {
    for (const temperature of [0.1, 0.5]) {
      const got = labelContrastLoss(t(student), t(p), temperature).dataSync()[0]!;
      const want = labelContrastReference(student, p, temperature);
      assert.ok(want > 0.5, `${want}`);
      assert.ok(Math.abs(got - want) < 1e-3 * Math.max(1, want), `${got} vs ${want}`);
    }
  }
});

Deno.test("labelContrastLoss() leaves out a window with no other window of its class", () => {
  const student = rows(5, 6, 9);
  // class 2 has one window: its row has no target; the other four rows are the mean
  const p = oneHot([0, 0, 1, 1, 2], 3);
  const got = labelContrastLoss(t(student), t(p)).dataSync()[0]!;
  assert.ok(Math.abs(got - labelContrastReference(student, p)) < 1e-3);
  assert.equal(labelContrastLoss(t(student), t(oneHot([0, 1, 2, 3, 4], 5))).dataSync()[0], 0);
  assert.equal(labelContrastReference(student, oneHot([0, 1, 2, 3, 4], 5)), 0);
  assert.throws(() => labelContrastLoss(t(student), t(p.slice(1))), /5 embeddings but 4 labels/);
});

Deno.test("labelContrastLoss() has gradients on the wasm backend that make each window's nearest neighbour one of its class", () => {
  const labels = [0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2];
  const p = t(oneHot(labels, 3));
  const student = tf.variable(t(rows(12, 16, 10)));
  const before = labelContrastLoss(student, p).dataSync()[0]!;
  const opt = tf.train.adam(0.05);
  for (let i = 0; i < 150; i++) opt.minimize(() => labelContrastLoss(student, p), false, [student]);
  const after = labelContrastLoss(student, p).dataSync()[0]!;
  assert.ok(after < 0.8 * before, `${before} -> ${after}`);
  const learned = (student.arraySync() as number[][]).map((r) => Float32Array.from(r));
  assert.deepEqual(nearest(learned).map((j) => labels[j]), labels);
});

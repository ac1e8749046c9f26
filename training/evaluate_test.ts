import assert from "node:assert/strict";
import { argmaxRows, classScores, computeMetrics, confusionMatrix, crossEntropy } from "./evaluate.ts";

const close = (a: number, b: number, eps = 1e-9) => assert.ok(Math.abs(a - b) <= eps, `${a} != ${b}`);

Deno.test("confusionMatrix() counts truth rows against predicted columns", () => {
  assert.deepEqual(confusionMatrix([0, 0, 1, 2, 2], [0, 1, 1, 2, 0], 3), [[1, 1, 0], [0, 1, 0], [1, 0, 1]]);
});

Deno.test("classScores() gives per-class precision, recall, F1 and the macro F1 (hand computed)", () => {
  // truth 0,0,1,2,2 ; predicted 0,1,1,2,0
  // class 0: tp 1, predicted 2, actual 2 -> p .5 r .5 f .5
  // class 1: tp 1, predicted 2, actual 1 -> p .5 r 1 f 2/3
  // class 2: tp 1, predicted 1, actual 2 -> p 1 r .5 f 2/3
  const s = classScores([[1, 1, 0], [0, 1, 0], [1, 0, 1]]);
  assert.deepEqual(s.precision, [0.5, 0.5, 1]);
  assert.deepEqual(s.recall, [0.5, 1, 0.5]);
  close(s.f1[1]!, 2 / 3);
  close(s.macroF1, (0.5 + 2 / 3 + 2 / 3) / 3);
  close(s.accuracy, 3 / 5);
});

Deno.test("classScores() leaves out a class absent from truth and predictions, scores 0 for one never predicted", () => {
  // 4 classes; class 3 never occurs and is never predicted; class 2 occurs but is never predicted
  const m = confusionMatrix([0, 0, 1, 2], [0, 0, 1, 1], 4);
  const s = classScores(m);
  // class 0: f 1 ; class 1: p .5 r 1 f 2/3 ; class 2: f 0 ; class 3: not counted
  close(s.macroF1, (1 + 2 / 3 + 0) / 3);
  assert.deepEqual(s.support, [2, 1, 1, 0]);
  // a class predicted but never true counts with F1 0
  const s2 = classScores(confusionMatrix([0, 0], [0, 1], 2));
  close(s2.macroF1, (2 / 3 + 0) / 2);
});

Deno.test("crossEntropy() is the mean -log softmax of the true class", () => {
  const logits = Float32Array.from([0, 0, Math.log(3), 0]); // row 0: p=.5/.5 ; row 1: p = .75/.25
  close(crossEntropy(logits, [0, 0], 2), (Math.log(2) + -Math.log(0.75)) / 2, 1e-6);
  // large logits stay finite (log-sum-exp)
  close(crossEntropy(Float32Array.from([1000, 0]), [0], 2), 0, 1e-9);
  assert.equal(crossEntropy(new Float32Array(), [], 2), 0);
});

Deno.test("computeMetrics() adds track-level accuracy from mean logits", () => {
  // one track of 3 segments, true class 1: segment votes 0,1,1 but mean logits favour 1
  const logits = Float32Array.from([2, 0, 0, 1, 0, 1.5]);
  const m = computeMetrics(logits, [1, 1, 1], ["a", "b"], [0, 0, 0]);
  close(m.accuracy, 2 / 3);
  assert.equal(m.trackAccuracy, 1);
  assert.equal(m.tracks, 1);
  assert.deepEqual(m.confusion, [[0, 0], [1, 2]]);
  assert.deepEqual(argmaxRows(logits, 2), [0, 1, 1]);
});

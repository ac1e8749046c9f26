import assert from "node:assert/strict";
import { calibrationReport, clipProbabilities, expectedCalibrationError } from "./calibration.ts";
import { seededRandom } from "../split.ts";

Deno.test("expectedCalibrationError(): 0 when confidence equals accuracy, the gap otherwise", () => {
  assert.equal(expectedCalibrationError([1, 1], [true, true]), 0);
  assert.ok(
    Math.abs(expectedCalibrationError([0.9, 0.9, 0.9, 0.9], [true, false, true, false]) - 0.4) < 1e-9,
  );
});

Deno.test("clipProbabilities() averages the segments' softmax, as core's cards do", () => {
  const p = clipProbabilities(Float32Array.of(0, 0, 10, 0), [0, 0], 2, 1);
  assert.equal(p.length, 1);
  assert.ok(Math.abs(p[0]![0]! - (0.5 + 0.99995) / 2) < 1e-4);
});

Deno.test("calibrationReport(): an over-confident model gets T > 1, a lower ECE, and a threshold from validation", () => {
  // 3 classes; the true class wins 60 % of the time, but logits are scaled to claim ~99 %
  const make = (clips: number, seed: number) => {
    const random = seededRandom(seed);
    const logits = new Float32Array(clips * 3 * 3), clipOf: number[] = [], labels: number[] = [];
    for (let c = 0; c < clips; c++) {
      const label = Math.floor(random() * 3);
      const predicted = random() < 0.6 ? label : (label + 1) % 3;
      labels.push(label);
      for (let s = 0; s < 3; s++) {
        const i = c * 3 + s;
        clipOf.push(c);
        logits[i * 3 + predicted] = 6 + random();
      }
    }
    return { logits, clipOf, labels };
  };
  const v = make(300, 1), t = make(300, 2);
  const r = calibrationReport({
    classes: ["a", "b", "c"],
    valLogits: v.logits,
    valClipOf: v.clipOf,
    valClipLabel: v.labels,
    testLogits: t.logits,
    testClipOf: t.clipOf,
    testClipLabel: t.labels,
    targetPrecision: 0.9,
  });
  assert.ok(r.temperature > 1, `T ${r.temperature}`);
  assert.ok(r.test.ece < r.test.eceUncalibrated);
  assert.ok(r.test.ece < 0.1, `ECE ${r.test.ece}`);
  assert.equal(r.minConfidence, 1); // 60 % accuracy never reaches 90 % precision: no label is shown
  assert.equal(r.test.shown, 0);
});

import assert from "node:assert/strict";
import { scaleTopLabel } from "../../core/mod.ts";
import {
  calibrationFigures,
  calibrationReport,
  chooseMethod,
  clipProbabilities,
  crossValidateCalibration,
  expectedCalibrationError,
  fitCalibration,
  fitTopLabel,
  NO_CLASS,
  teacherClipReference,
  TEMPERATURE_RANGE,
} from "./calibration.ts";
import { GENRE_TAG_MAP, mapClasses } from "./targets.ts";
import { MSD_TAGS } from "./teacher.ts";
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

Deno.test("calibrationReport(): an over-confident model gets T > 1 inside the searched range, a lower ECE, and a threshold from validation", () => {
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
    validation: v,
    test: t,
    targetPrecision: 0.9,
    method: "temperature",
  });
  assert.ok(r.temperature > 1, `T ${r.temperature}`);
  assert.ok(r.temperature > TEMPERATURE_RANGE[0] * 1.1 && r.temperature < TEMPERATURE_RANGE[1] / 1.1);
  assert.ok(r.test.ece < r.test.eceUncalibrated);
  assert.ok(r.test.ece < 0.1, `ECE ${r.test.ece}`);
  assert.ok(r.test.eceInterval[0] <= r.test.ece && r.test.ece <= r.test.eceInterval[1]);
  assert.equal(r.minConfidence, 1); // 60 % accuracy never reaches 90 % precision: no label is shown
  assert.equal(r.test.shown, 0);
});

function msdOutput(
  patches: Record<string, number>[],
): { n: number; tags: Float32Array; embedding: Float32Array } {
  const tags = new Float32Array(patches.length * MSD_TAGS.length);
  patches.forEach((p, i) => {
    for (const [tag, v] of Object.entries(p)) tags[i * MSD_TAGS.length + MSD_TAGS.indexOf(tag)] = v;
  });
  return { n: patches.length, tags, embedding: new Float32Array(patches.length * 200) };
}

Deno.test("teacherClipReference(): the teacher's top class over the clip at or above the floor, no class below it", () => {
  // tags are averaged over the clip, then a class takes its best tag: rock (0.3 + 0.5) / 2 = 0.4 beats
  // hard rock 0.25 and jazz 0.2
  const out = msdOutput([{ "rock": 0.3, "hard rock": 0.5, "jazz": 0.2 }, { "rock": 0.5, "jazz": 0.2 }]);
  const rock = mapClasses(GENRE_TAG_MAP).indexOf("rock");
  const at = teacherClipReference(GENRE_TAG_MAP, out, 0.35);
  assert.equal(at.label, rock);
  assert.ok(Math.abs(at.score - 0.4) < 1e-6);
  assert.equal(teacherClipReference(GENRE_TAG_MAP, out, 0.4).label, rock);
  // a classical clip: no genre tag of ours is confident
  assert.equal(teacherClipReference(GENRE_TAG_MAP, out, 0.45).label, NO_CLASS);
  assert.equal(
    teacherClipReference(GENRE_TAG_MAP, msdOutput([{ "instrumental": 0.9 }]), 0.35).label,
    NO_CLASS,
  );
});

Deno.test("calibrationFigures(): a clip with no right class counts as wrong when a label is shown", () => {
  // two clips, both shown with the same confident top class; the teacher was sure of the first only
  const logits = Float32Array.of(5, 0, 5, 0);
  const f = calibrationFigures(logits, [0, 1], [0, NO_CLASS], 2, { temperature: 1, minConfidence: 0.5 });
  assert.equal(f.labelled, 0.5);
  assert.equal(f.shown, 1);
  assert.equal(f.shownAccuracy, 0.5);
  assert.equal(f.accuracy, 0.5);
  assert.ok(f.ece > 0.45, `ECE ${f.ece}`); // ~0.99 claimed, right half the time
});

/**
 * A student that always agrees with the teacher's top class: confident (margin 4) on the clips the
 * teacher is sure of, hesitant (margin 1) on the others, which are 70 % of the clips.
 */
function agreeingStudent(clips: number, seed: number) {
  const random = seededRandom(seed);
  const logits = new Float32Array(clips * 3 * 4), clipOf: number[] = [];
  const top: number[] = [], reference: number[] = [];
  for (let c = 0; c < clips; c++) {
    const k = Math.floor(random() * 4);
    const sure = random() < 0.3;
    top.push(k);
    reference.push(sure ? k : NO_CLASS);
    for (let s = 0; s < 3; s++) {
      clipOf.push(c);
      logits[(c * 3 + s) * 4 + k] = (sure ? 4 : 1) + 0.5 * random();
    }
  }
  return { logits, clipOf, top, reference };
}

Deno.test("fitCalibration(): counting the teacher's unsure clips as wrong raises minConfidence, so most of the student's hesitant cards show no label", () => {
  const v = agreeingStudent(400, 3);
  const classes = ["a", "b", "c", "d"];
  const forced = fitCalibration(classes, v.logits, v.clipOf, v.top);
  assert.equal(forced.minConfidence, 0); // the old reference: always right, so always shown
  const honest = fitCalibration(classes, v.logits, v.clipOf, v.reference);
  const figures = calibrationFigures(v.logits, v.clipOf, v.reference, 4, honest);
  assert.ok(honest.minConfidence > 0.2, `minConfidence ${honest.minConfidence}`);
  // every sure clip is still shown, most hesitant ones are not, and shown labels are right >= 50 %
  const conf = clipProbabilities(v.logits, v.clipOf, 4, honest.temperature).map((p) => Math.max(...p));
  assert.ok(conf.every((p, c) => v.reference[c] === NO_CLASS || p >= honest.minConfidence));
  assert.ok(figures.shown < 0.6 && figures.shownAccuracy >= 0.5, JSON.stringify(figures));
  assert.ok(figures.ece < figures.eceUncalibrated, JSON.stringify(figures));
});

Deno.test("fitCalibration(): a threshold needs minShown clips, so a few lucky ones do not set it", () => {
  // 100 clips right 30 % of the time at a middling confidence, and 8 very confident, right ones
  const clips = 108, logits = new Float32Array(clips * 3 * 2), clipOf: number[] = [], labels: number[] = [];
  const random = seededRandom(5);
  for (let c = 0; c < clips; c++) {
    const lucky = c >= 100;
    labels.push(lucky || random() < 0.3 ? 0 : NO_CLASS);
    for (let s = 0; s < 3; s++) {
      clipOf.push(c);
      logits[(c * 3 + s) * 2] = lucky ? 6 : 0.5;
    }
  }
  const few = fitCalibration(["a", "b"], logits, clipOf, labels, { minShown: 5 });
  assert.ok(few.minConfidence > 0.5 && few.minConfidence < 1, `minConfidence ${few.minConfidence}`);
  assert.equal(fitCalibration(["a", "b"], logits, clipOf, labels).minConfidence, 1);
});

Deno.test("fitTopLabel() recovers the slope and bias that made the labels right", () => {
  const random = seededRandom(21);
  const conf: number[] = [], correct: boolean[] = [];
  for (let i = 0; i < 6000; i++) {
    const c = 0.05 + 0.9 * random();
    conf.push(c);
    correct.push(random() < scaleTopLabel(c, { slope: 1.8, bias: -0.7 }));
  }
  const s = fitTopLabel(conf, correct);
  assert.ok(Math.abs(s.slope - 1.8) < 0.2 && Math.abs(s.bias + 0.7) < 0.15, JSON.stringify(s));
  // confidence that says nothing: the slope is held positive and the scaled value is the base rate
  const flat = fitTopLabel(conf, conf.map(() => random() < 0.3));
  assert.ok(flat.slope > 0 && flat.slope < 0.2, JSON.stringify(flat));
  assert.ok(
    Math.abs(scaleTopLabel(0.9, flat) - 0.3) < 0.05 && Math.abs(scaleTopLabel(0.2, flat) - 0.3) < 0.05,
  );
});

/**
 * A 10-class student whose sure clips (top logit 8) are right 45 % of the time and hesitant ones (top
 * logit 0.5) 5 %: no temperature gives both (a hesitant clip cannot go below 1/10), top-label scaling can.
 */
function sureAndHesitant(clips: number, seed: number) {
  const random = seededRandom(seed);
  const logits = new Float32Array(clips * 3 * 10), clipOf: number[] = [], labels: number[] = [];
  for (let c = 0; c < clips; c++) {
    const sure = c % 2 === 0;
    labels.push(random() < (sure ? 0.45 : 0.05) ? 0 : NO_CLASS);
    for (let s = 0; s < 3; s++) {
      clipOf.push(c);
      logits[(c * 3 + s) * 10] = sure ? 8 : 0.5;
    }
  }
  return { logits, clipOf, labels };
}

Deno.test("crossValidateCalibration() prefers top-label scaling where no temperature fits, and calibrationReport() uses it by default", () => {
  const classes = Array.from({ length: 10 }, (_, i) => `c${i}`);
  const v = sureAndHesitant(120, 31), t = sureAndHesitant(300, 32);
  const cv = crossValidateCalibration(classes, v.logits, v.clipOf, v.labels, { repeats: 3 });
  assert.ok(cv["top-label"].logLoss < cv.temperature.logLoss, JSON.stringify(cv));
  assert.ok(cv["top-label"].ece < cv.temperature.ece, JSON.stringify(cv));
  assert.equal(chooseMethod(cv), "top-label");
  const input = { classes, validation: v, test: t };
  const auto = calibrationReport(input);
  assert.equal(auto.method, "top-label");
  assert.ok(auto.topLabel !== undefined && auto.methodChoice !== undefined);
  const plain = calibrationReport({ ...input, method: "temperature" });
  assert.equal(plain.topLabel, undefined);
  assert.ok(auto.test.ece < plain.test.ece, `${auto.test.ece} vs ${plain.test.ece}`);
  assert.ok(auto.test.ece < 0.06, `${auto.test.ece}`);
});

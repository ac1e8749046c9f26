/**
 * Honest card probabilities: temperature scaling fitted on held-out real clips, the expected
 * calibration error (ECE), and the confidence below which a card shows no label.
 *
 * Everything is measured as the card sees it: a clip's probabilities are the mean over its three
 * windows of `softmax(logits / T)` (core's `analyzeMany`), its label the top class, and what the card
 * claims is "this label is right with this probability". So the temperature minimises the log loss of
 * that claim (the top class's probability against whether the top class is right), not the likelihood
 * of a reference class: a clip may have no right class at all ({@linkcode NO_CLASS}, see
 * {@linkcode teacherClipReference}), and then any label shown on it is wrong.
 *
 * With the `top-label` method (the default) the top class's probability at that temperature then goes
 * through top-label Platt scaling, `sigmoid(slope * logit(p) + bias)` fitted on the same claim (core's
 * `scaleTopLabel`): a temperature can only spread or squeeze all probabilities together, and cannot
 * bring the confidence of a student whose labels are right on a quarter of the clips down to a quarter
 * without also flattening the order it has. With `auto` (the default) {@linkcode crossValidateCalibration}
 * compares the two methods on folds of the validation clips and the one with the lower out-of-fold log
 * loss is used: the same proper scoring rule the temperature minimises, never the test split.
 * @module
 */
import { scaleTopLabel, type TopLabelScaling } from "../../core/mod.ts";
import { seededRandom, shuffled } from "../split.ts";
import { classScores, meanRows, type TagMap } from "./targets.ts";
import type { TeacherOutput } from "./teacher.ts";

/** A clip's reference label when no class of ours is right for it: a label shown on it counts as wrong. */
export const NO_CLASS = -1;

/** The teacher's tag probability a student clip's top class must reach to be a right class (see README). */
export const TEACHER_FLOOR = 0.35;

/** Temperatures searched (a log grid between these). */
export const TEMPERATURE_RANGE = Object.freeze([0.05, 20] as const);

/** Clip-level figures at one temperature. */
export interface CalibrationFigures {
  /** Clips. */
  clips: number;
  /** Share of clips that have a right class (the others are {@linkcode NO_CLASS}). */
  labelled: number;
  /** Top-1 accuracy against the reference labels (a clip with no right class counts as wrong). */
  accuracy: number;
  /** Expected calibration error, 10 equal-width confidence bins. */
  ece: number;
  /** 90 % bootstrap interval of `ece` (1000 resamples of the clips, seeded). */
  eceInterval: [number, number];
  /** Same at temperature 1 (before scaling). */
  eceUncalibrated: number;
  /** Mean log loss of the top class's probability as the chance that it is right (what T minimises). */
  logLoss: number;
  /** Share of clips whose confidence reaches `minConfidence` (the card shows a label). */
  shown: number;
  /** Accuracy among those clips. */
  shownAccuracy: number;
}

/** What {@linkcode calibrationReport} returns (written as `calibration.json`, copied into the manifest). */
export interface CalibrationReport {
  /** Divides the logits before the softmax. */
  temperature: number;
  /** Top-label scaling of the top class's probability after the temperature (the `top-label` method). */
  topLabel?: TopLabelScaling;
  /** How it was calibrated. */
  method: CalibrationMethod;
  /** With `auto`: both methods' out-of-fold figures on validation, the lower log loss chosen. */
  methodChoice?: Record<CalibrationMethod, CrossValidatedFigures>;
  /** The log grid searched for `temperature`. */
  temperatureRange: [number, number];
  /** A card shows the label only when the calibrated clip probability is at least this. */
  minConfidence: number;
  /** The precision the threshold was chosen for, on validation. */
  targetPrecision: number;
  /** The fewest validation clips a threshold must still show to be chosen. */
  minShown: number;
  /** What the reference labels are. */
  reference: string;
  /** For the students: the teacher's tag probability a clip's top class must reach to be a right class. */
  floor?: number;
  validation: CalibrationFigures;
  test: CalibrationFigures;
}

/** One split's segment logits with their clip, and each clip's reference label. */
export interface CalibrationSplit {
  /** Row-major `[segments, classes]`. */
  logits: Float32Array;
  /** Clip index per segment. */
  clipOf: readonly number[];
  /** Per clip: the right class, or {@linkcode NO_CLASS}. */
  labels: readonly number[];
}

/** Inputs: both splits and the rules. */
export interface CalibrationInput {
  classes: readonly string[];
  /** Fitted on. */
  validation: CalibrationSplit;
  /** Reported on. */
  test: CalibrationSplit;
  /** Precision (on validation) the shown labels must reach: right more often than not. @default 0.5 */
  targetPrecision?: number;
  /**
   * The fewest validation clips a threshold must still show: below about 20 a precision has a standard
   * error over 0.11, so a few lucky clips would set the threshold. @default 20
   */
  minShown?: number;
  /** @default teacherReferenceText(floor) with `floor`, else "the reference class" */
  reference?: string;
  /** Recorded in the report when the labels come from {@linkcode teacherClipReference}. */
  floor?: number;
  /** @default DEFAULT_CALIBRATION_METHOD */
  method?: CalibrationMethod | "auto";
}

/** What {@linkcode fitCalibration} chooses on validation. */
export interface FittedCalibration {
  temperature: number;
  minConfidence: number;
  /** Top-label Platt scaling after the temperature (absent: the `temperature` method). */
  topLabel?: TopLabelScaling;
}

/** How card probabilities are calibrated: a temperature alone, or a temperature then top-label scaling. */
export type CalibrationMethod = "temperature" | "top-label";

/** The default: the {@linkcode CalibrationMethod} with the lower out-of-fold log loss on validation. */
export const DEFAULT_CALIBRATION_METHOD = "auto";

/**
 * How a report names the students' reference labels.
 *
 * @param floor The floor of {@linkcode teacherClipReference}.
 * @returns One sentence.
 */
export function teacherReferenceText(floor: number): string {
  return `the teacher's top class over the clip when its tag probability reaches ${floor}, else none (a shown label is wrong)`;
}

/**
 * A student clip's reference label from its teacher: the class whose tags the teacher scores highest
 * over the whole clip (mean of its cached patches; a class scores the largest probability among its
 * tags), but only when that raw tag probability reaches `floor`. Below it the teacher does not say the
 * clip is any of our classes (classical, reggae or ambient music is scored low on all of them), so the
 * clip has no right class.
 *
 * @param map The task's tag map.
 * @param tagOut The clip's cached output of the map's teacher.
 * @param floor The tag probability the top class must reach.
 * @returns The class index in `mapClasses(map)` order (or {@linkcode NO_CLASS}) and its raw score.
 * @example
 * ```ts
 * import { NO_CLASS, teacherClipReference } from "./calibration.ts";
 * import { GENRE_TAG_MAP } from "./targets.ts";
 * const tags = new Float32Array(50); // every MSD tag at 0: no genre
 * const r = teacherClipReference(GENRE_TAG_MAP, { n: 1, tags, embedding: new Float32Array(200) }, 0.3);
 * console.assert(r.label === NO_CLASS);
 * ```
 */
export function teacherClipReference(
  map: TagMap,
  tagOut: TeacherOutput,
  floor: number,
): { label: number; score: number } {
  const width = tagOut.tags.length / Math.max(1, tagOut.n);
  const scores = classScores(
    map,
    meanRows(tagOut.tags, width, Array.from({ length: tagOut.n }, (_, i) => i)),
  );
  let k = 0;
  for (let i = 1; i < scores.length; i++) if (scores[i]! > scores[k]!) k = i;
  const score = scores[k] ?? 0;
  return { label: score >= floor ? k : NO_CLASS, score };
}

/**
 * Clip probabilities: the mean over a clip's segments of `softmax(logits / T)`.
 *
 * @param logits Row-major `[segments, classes]`.
 * @param clipOf Clip index per segment.
 * @param nClasses Classes.
 * @param temperature T.
 * @returns One probability row per clip.
 */
export function clipProbabilities(
  logits: Float32Array,
  clipOf: readonly number[],
  nClasses: number,
  temperature: number,
): Float64Array[] {
  const clips = Math.max(-1, ...clipOf) + 1;
  const sums = Array.from({ length: clips }, () => new Float64Array(nClasses));
  const counts = new Array<number>(clips).fill(0);
  clipOf.forEach((c, i) => {
    const row = logits.subarray(i * nClasses, (i + 1) * nClasses);
    let m = -Infinity;
    for (const v of row) m = Math.max(m, v / temperature);
    let z = 0;
    for (const v of row) z += Math.exp(v / temperature - m);
    for (let k = 0; k < nClasses; k++) sums[c]![k]! += Math.exp(row[k]! / temperature - m) / z;
    counts[c]!++;
  });
  return sums.map((s, c) => s.map((v) => v / Math.max(1, counts[c]!)));
}

/**
 * Expected calibration error over equal-width confidence bins.
 *
 * @param confidence Top probability per item.
 * @param correct Whether the top class is right, per item.
 * @param bins @default 10
 * @returns ECE in [0, 1].
 */
export function expectedCalibrationError(
  confidence: readonly number[],
  correct: readonly boolean[],
  bins = 10,
): number {
  if (confidence.length === 0) return NaN;
  let ece = 0;
  for (let b = 0; b < bins; b++) {
    const lo = b / bins, hi = (b + 1) / bins;
    const idx = confidence.map((c, i) => [c, i] as const).filter(([c]) =>
      (b === 0 ? c >= lo : c > lo) && c <= hi
    );
    if (idx.length === 0) continue;
    const conf = idx.reduce((s, [c]) => s + c, 0) / idx.length;
    const acc = idx.filter(([, i]) => correct[i]).length / idx.length;
    ece += (idx.length / confidence.length) * Math.abs(acc - conf);
  }
  return ece;
}

function topOf(p: Float64Array): { k: number; conf: number } {
  let k = 0;
  for (let i = 1; i < p.length; i++) if (p[i]! > p[k]!) k = i;
  return { k, conf: p[k]! };
}

/** Per clip: the card's confidence and whether its label is right. */
function cards(
  logits: Float32Array,
  clipOf: readonly number[],
  labels: readonly number[],
  n: number,
  t: number,
  topLabel?: TopLabelScaling,
): { conf: number[]; correct: boolean[] } {
  const tops = clipProbabilities(logits, clipOf, n, t).map(topOf);
  return {
    conf: tops.map((x) => topLabel === undefined ? x.conf : scaleTopLabel(x.conf, topLabel)),
    correct: tops.map((x, c) => x.k === labels[c]),
  };
}

/**
 * Top-label Platt scaling: the slope and bias of a logistic regression of "the label is right" on
 * `logit(confidence)`, by Newton's method on the log loss (a small ridge keeps it finite when the
 * confidences separate right from wrong). A slope that would not be positive (confidence says nothing)
 * is held at 0.001, so the scaling stays increasing and the card's order of clips is kept.
 *
 * @param conf The card's top-class probability per clip.
 * @param correct Whether the label is right, per clip.
 * @returns Slope and bias for core's `scaleTopLabel`.
 * @example
 * ```ts
 * import { fitTopLabel } from "./calibration.ts";
 * const s = fitTopLabel([0.9, 0.9, 0.9, 0.9], [true, false, false, false]); // says 0.9, right 1 in 4
 * console.assert(s.slope > 0);
 * ```
 */
export function fitTopLabel(conf: readonly number[], correct: readonly boolean[]): TopLabelScaling {
  const x = conf.map((p) => {
    const q = Math.min(1 - 1e-9, Math.max(1e-9, p));
    return Math.log(q / (1 - q));
  });
  const y = correct.map((ok) => (ok ? 1 : 0));
  const ridge = 1e-3, minSlope = 1e-3;
  let a = 1, b = 0;
  const step = (fixSlope: boolean) => {
    let ga = ridge * (a - 1), gb = 0, haa = ridge, hab = 0, hbb = 1e-9;
    x.forEach((xi, i) => {
      const p = 1 / (1 + Math.exp(-(a * xi + b)));
      const r = p - y[i]!, w = p * (1 - p);
      ga += r * xi;
      gb += r;
      haa += w * xi * xi;
      hab += w * xi;
      hbb += w;
    });
    if (fixSlope) return { da: 0, db: gb / hbb };
    const det = haa * hbb - hab * hab;
    return { da: (hbb * ga - hab * gb) / det, db: (haa * gb - hab * ga) / det };
  };
  for (let it = 0; it < 50; it++) {
    const { da, db } = step(false);
    a -= da;
    b -= db;
    if (!Number.isFinite(a) || !Number.isFinite(b)) (a = 1, b = 0);
    if (Math.abs(da) + Math.abs(db) < 1e-10) break;
  }
  if (!(a >= minSlope)) {
    a = minSlope;
    for (let it = 0; it < 50; it++) {
      const { db } = step(true);
      b -= db;
      if (Math.abs(db) < 1e-10) break;
    }
  }
  return { slope: a, bias: b };
}

function logLoss(conf: readonly number[], correct: readonly boolean[]): number {
  let s = 0;
  conf.forEach((p, i) => {
    const q = Math.min(1 - 1e-12, Math.max(1e-12, p));
    s -= correct[i] ? Math.log(q) : Math.log(1 - q);
  });
  return s / Math.max(1, conf.length);
}

function bootstrapInterval(conf: readonly number[], correct: readonly boolean[]): [number, number] {
  if (conf.length === 0) return [NaN, NaN];
  const random = seededRandom(12);
  const values: number[] = [];
  for (let r = 0; r < 1000; r++) {
    const c: number[] = [], ok: boolean[] = [];
    for (let i = 0; i < conf.length; i++) {
      const j = Math.floor(random() * conf.length);
      c.push(conf[j]!);
      ok.push(correct[j]!);
    }
    values.push(expectedCalibrationError(c, ok));
  }
  values.sort((a, b) => a - b);
  return [values[49]!, values[949]!];
}

/**
 * A split's figures at one calibration.
 *
 * @param logits Row-major `[segments, classes]`.
 * @param clipOf Clip index per segment.
 * @param labels Per clip: the right class, or {@linkcode NO_CLASS}.
 * @param nClasses Classes.
 * @param fitted Temperature and threshold.
 * @returns The figures.
 */
export function calibrationFigures(
  logits: Float32Array,
  clipOf: readonly number[],
  labels: readonly number[],
  nClasses: number,
  fitted: FittedCalibration,
): CalibrationFigures {
  const cal = cards(logits, clipOf, labels, nClasses, fitted.temperature, fitted.topLabel);
  const raw = cards(logits, clipOf, labels, nClasses, 1);
  const shown = cal.conf.flatMap((c, i) => c >= fitted.minConfidence ? [cal.correct[i]!] : []);
  return {
    clips: labels.length,
    labelled: labels.filter((l) => l !== NO_CLASS).length / labels.length,
    accuracy: cal.correct.filter(Boolean).length / labels.length,
    ece: expectedCalibrationError(cal.conf, cal.correct),
    eceInterval: bootstrapInterval(cal.conf, cal.correct),
    eceUncalibrated: expectedCalibrationError(raw.conf, raw.correct),
    logLoss: logLoss(cal.conf, cal.correct),
    shown: shown.length / labels.length,
    shownAccuracy: shown.length === 0 ? NaN : shown.filter(Boolean).length / shown.length,
  };
}

/**
 * Fits on validation only: the temperature with the lowest log loss of "the card's label is right"
 * (a log grid of 121 points over {@linkcode TEMPERATURE_RANGE}), with the `top-label` method then the
 * top-label scaling ({@linkcode fitTopLabel}) on the same clips, then the smallest confidence threshold
 * (0, 0.01, …, 0.99) of the calibrated confidence whose shown labels reach `targetPrecision` while at
 * least `minShown` clips are shown (1: never show, when none does).
 *
 * @param classes Class names.
 * @param logits Validation logits, row-major `[segments, classes]`.
 * @param clipOf Clip index per segment.
 * @param labels Per clip: the right class, or {@linkcode NO_CLASS}.
 * @param opts Target precision (default 0.5), fewest shown clips (default 20), method (default
 *   `temperature`).
 * @returns Temperature, top-label scaling and threshold.
 */
export function fitCalibration(
  classes: readonly string[],
  logits: Float32Array,
  clipOf: readonly number[],
  labels: readonly number[],
  opts: { targetPrecision?: number; minShown?: number; method?: CalibrationMethod } = {},
): FittedCalibration {
  const n = classes.length;
  const target = opts.targetPrecision ?? 0.5;
  const minShown = opts.minShown ?? 20;
  const [lo, hi] = TEMPERATURE_RANGE;
  let temperature = 1, best = Infinity;
  for (let i = 0; i <= 120; i++) {
    const t = lo * (hi / lo) ** (i / 120);
    const c = cards(logits, clipOf, labels, n, t);
    const loss = logLoss(c.conf, c.correct);
    if (loss < best) (best = loss, temperature = t);
  }
  const raw = cards(logits, clipOf, labels, n, temperature);
  const topLabel = opts.method === "top-label" ? fitTopLabel(raw.conf, raw.correct) : undefined;
  const c = cards(logits, clipOf, labels, n, temperature, topLabel);
  let minConfidence = 1;
  for (let i = 0; i < 100; i++) {
    const tau = i / 100;
    const shown = c.conf.flatMap((p, k) => p >= tau ? [c.correct[k]!] : []);
    if (shown.length >= minShown && shown.filter(Boolean).length / shown.length >= target) {
      minConfidence = tau;
      break;
    }
  }
  return { temperature, minConfidence, ...(topLabel === undefined ? {} : { topLabel }) };
}

/**
 * The method with the lower out-of-fold log loss (a tie keeps the plain temperature).
 *
 * @param cv What {@linkcode crossValidateCalibration} measured.
 * @returns The method to use.
 */
export function chooseMethod(cv: Record<CalibrationMethod, CrossValidatedFigures>): CalibrationMethod {
  return cv["top-label"].logLoss < cv.temperature.logLoss ? "top-label" : "temperature";
}

/** Out-of-fold figures of one method ({@linkcode crossValidateCalibration}). */
export interface CrossValidatedFigures {
  /** Mean over the repeats of the pooled out-of-fold ECE. */
  ece: number;
  /** Standard deviation of that ECE over the repeats. */
  eceSd: number;
  /** Mean out-of-fold log loss of the claim "the label is right". */
  logLoss: number;
}

/**
 * Compares calibration methods on one split only (validation): `folds`-fold cross-validation repeated
 * `repeats` times with seeded shuffles; each fold is calibrated on the other folds and its clips' card
 * confidences are pooled, so every clip is judged by a calibration that never saw it.
 *
 * @param classes Class names.
 * @param logits Row-major `[segments, classes]`.
 * @param clipOf Clip index per segment.
 * @param labels Per clip: the right class, or {@linkcode NO_CLASS}.
 * @param opts Folds (default 5), repeats (default 20), seed (default 1).
 * @returns Per method, the out-of-fold ECE (mean, sd) and log loss.
 */
export function crossValidateCalibration(
  classes: readonly string[],
  logits: Float32Array,
  clipOf: readonly number[],
  labels: readonly number[],
  opts: { folds?: number; repeats?: number; seed?: number } = {},
): Record<CalibrationMethod, CrossValidatedFigures> {
  const n = classes.length, clips = labels.length, folds = opts.folds ?? 5;
  const segments = Array.from({ length: clips }, () => [] as number[]);
  clipOf.forEach((c, i) => segments[c]!.push(i));
  const subset = (ids: readonly number[]) => {
    const rows = ids.flatMap((c) => segments[c]!);
    const sub = new Float32Array(rows.length * n);
    rows.forEach((r, k) => sub.set(logits.subarray(r * n, (r + 1) * n), k * n));
    return {
      logits: sub,
      clipOf: ids.flatMap((_, k) => segments[ids[k]!]!.map(() => k)),
      labels: ids.map((c) => labels[c]!),
    };
  };
  const out = {} as Record<CalibrationMethod, CrossValidatedFigures>;
  for (const method of ["temperature", "top-label"] as const) {
    const random = seededRandom(opts.seed ?? 1);
    const eces: number[] = [], losses: number[] = [];
    for (let r = 0; r < (opts.repeats ?? 20); r++) {
      const order = shuffled(Array.from({ length: clips }, (_, i) => i), random);
      const conf: number[] = [], correct: boolean[] = [];
      for (let f = 0; f < folds; f++) {
        const held = order.filter((_, i) => i % folds === f);
        const fit = subset(order.filter((_, i) => i % folds !== f));
        const fitted = fitCalibration(classes, fit.logits, fit.clipOf, fit.labels, { method });
        const h = subset(held);
        const c = cards(h.logits, h.clipOf, h.labels, n, fitted.temperature, fitted.topLabel);
        conf.push(...c.conf);
        correct.push(...c.correct);
      }
      eces.push(expectedCalibrationError(conf, correct));
      losses.push(logLoss(conf, correct));
    }
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    const m = mean(eces);
    out[method] = {
      ece: m,
      eceSd: Math.sqrt(mean(eces.map((e) => (e - m) ** 2))),
      logLoss: mean(losses),
    };
  }
  return out;
}

/**
 * Fits on validation ({@linkcode fitCalibration}) and reports both splits.
 *
 * @param input Logits, clips and reference labels of both splits.
 * @returns The report.
 */
export function calibrationReport(input: CalibrationInput): CalibrationReport {
  const n = input.classes.length;
  const { validation: v, test: t } = input;
  const targetPrecision = input.targetPrecision ?? 0.5;
  const minShown = input.minShown ?? 20;
  const asked = input.method ?? DEFAULT_CALIBRATION_METHOD;
  const methodChoice = asked === "auto"
    ? crossValidateCalibration(input.classes, v.logits, v.clipOf, v.labels)
    : undefined;
  const method = methodChoice === undefined ? asked as CalibrationMethod : chooseMethod(methodChoice);
  const fitted = fitCalibration(input.classes, v.logits, v.clipOf, v.labels, {
    targetPrecision,
    minShown,
    method,
  });
  return {
    ...fitted,
    method,
    ...(methodChoice === undefined ? {} : { methodChoice }),
    temperatureRange: [...TEMPERATURE_RANGE],
    targetPrecision,
    minShown,
    reference: input.reference ??
      (input.floor === undefined ? "the reference class" : teacherReferenceText(input.floor)),
    ...(input.floor === undefined ? {} : { floor: input.floor }),
    validation: calibrationFigures(v.logits, v.clipOf, v.labels, n, fitted),
    test: calibrationFigures(t.logits, t.clipOf, t.labels, n, fitted),
  };
}

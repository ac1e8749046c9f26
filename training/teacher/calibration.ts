/**
 * Honest card probabilities: temperature scaling fitted on held-out real clips, the expected
 * calibration error (ECE), and the confidence below which a card shows no label.
 *
 * Everything is measured as the card sees it: a clip's probabilities are the mean over its three
 * windows of `softmax(logits / T)` (core's `analyzeMany`), its label the top class.
 * @module
 */

/** Clip-level figures at one temperature. */
export interface CalibrationFigures {
  /** Clips. */
  clips: number;
  /** Top-1 accuracy against the reference labels. */
  accuracy: number;
  /** Expected calibration error, 10 equal-width confidence bins. */
  ece: number;
  /** Same at temperature 1 (before scaling). */
  eceUncalibrated: number;
  /** Mean negative log-likelihood of the reference label. */
  nll: number;
  /** Share of clips whose confidence reaches `minConfidence` (the card shows a label). */
  shown: number;
  /** Accuracy among those clips. */
  shownAccuracy: number;
}

/** What {@linkcode calibrationReport} returns (written as `calibration.json`, copied into the manifest). */
export interface CalibrationReport {
  /** Divides the logits before the softmax. */
  temperature: number;
  /** A card shows the label only when the calibrated clip probability is at least this. */
  minConfidence: number;
  /** The precision the threshold was chosen for, on validation. */
  targetPrecision: number;
  /** What the reference labels are. */
  reference: string;
  validation: CalibrationFigures;
  test: CalibrationFigures;
}

/** Inputs: segment logits with their clip, and each clip's reference label. */
export interface CalibrationInput {
  classes: readonly string[];
  valLogits: Float32Array;
  valClipOf: readonly number[];
  valClipLabel: readonly number[];
  testLogits: Float32Array;
  testClipOf: readonly number[];
  testClipLabel: readonly number[];
  /** Precision (on validation) the shown labels must reach: right more often than not. @default 0.5 */
  targetPrecision?: number;
  /** @default "the teacher's top class" */
  reference?: string;
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

function figures(
  logits: Float32Array,
  clipOf: readonly number[],
  labels: readonly number[],
  n: number,
  t: number,
  minConfidence: number,
): CalibrationFigures {
  const at = (temp: number) => {
    const probs = clipProbabilities(logits, clipOf, n, temp);
    const tops = probs.map(topOf);
    return { probs, tops, correct: tops.map((x, c) => x.k === labels[c]) };
  };
  const cal = at(t), raw = at(1);
  const shown = cal.tops.map((x, c) => [x.conf >= minConfidence, cal.correct[c]!] as const).filter(([s]) =>
    s
  );
  return {
    clips: labels.length,
    accuracy: cal.correct.filter(Boolean).length / labels.length,
    ece: expectedCalibrationError(cal.tops.map((x) => x.conf), cal.correct),
    eceUncalibrated: expectedCalibrationError(raw.tops.map((x) => x.conf), raw.correct),
    nll: -cal.probs.reduce((s, p, c) => s + Math.log(Math.max(1e-12, p[labels[c]!]!)), 0) / labels.length,
    shown: shown.length / labels.length,
    shownAccuracy: shown.length === 0 ? NaN : shown.filter(([, ok]) => ok).length / shown.length,
  };
}

/**
 * Fits the temperature on validation (lowest clip-level NLL over a log grid from 0.25 to 8), picks the
 * smallest confidence threshold whose shown labels reach `targetPrecision` on validation (1: never show,
 * when none does), and reports both splits.
 *
 * @param input Logits, clips and reference labels of both splits.
 * @returns The report.
 */
export function calibrationReport(input: CalibrationInput): CalibrationReport {
  const n = input.classes.length;
  const target = input.targetPrecision ?? 0.5;
  let bestT = 1, bestNll = Infinity;
  for (let i = 0; i <= 60; i++) {
    const t = 0.25 * 32 ** (i / 60);
    const nll = figures(input.valLogits, input.valClipOf, input.valClipLabel, n, t, 1).nll;
    if (nll < bestNll) (bestNll = nll, bestT = t);
  }
  const probs = clipProbabilities(input.valLogits, input.valClipOf, n, bestT).map(topOf);
  let minConfidence = 1;
  for (let i = 0; i < 20; i++) {
    const tau = i / 20;
    const shown = probs.map((x, c) => [x.conf >= tau, x.k === input.valClipLabel[c]] as const).filter(([s]) =>
      s
    );
    // at least 5 shown clips, so one lucky clip does not set the threshold
    if (shown.length >= 5 && shown.filter(([, ok]) => ok).length / shown.length >= target) {
      minConfidence = tau;
      break;
    }
  }
  return {
    temperature: bestT,
    minConfidence,
    targetPrecision: target,
    reference: input.reference ?? "the teacher's top class",
    validation: figures(input.valLogits, input.valClipOf, input.valClipLabel, n, bestT, minConfidence),
    test: figures(input.testLogits, input.testClipOf, input.testClipLabel, n, bestT, minConfidence),
  };
}

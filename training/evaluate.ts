/**
 * Evaluation of a trained run on its held-out test split: segment-level accuracy, macro F1,
 * cross-entropy, per-class precision/recall/F1, the confusion matrix, track-level accuracy, and the two
 * images (confusion matrix, training curves), all written next to the model.
 *
 * Metric definitions (as scikit-learn's defaults):
 * - accuracy: share of segments whose arg-max logit is the true class;
 * - macro F1: unweighted mean of per-class F1 over the classes that occur in the truth or the
 *   predictions (a class never seen and never predicted is left out; one that is seen but never
 *   predicted, or predicted but never seen, scores 0);
 * - loss: mean softmax cross-entropy in nats, `-log softmax(logits)[true]`, computed in float64.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { type FeatureParams, type LogMel, normalizeLogMel } from "../core/mod.ts";
import { writeFileAtomic } from "../core/mod.ts";
import type { Logger } from "../core/mod.ts";
import { extractFeatures } from "./features_cache.ts";
import { confusionMatrixSvg, trainingCurvesSvg } from "./plots.ts";
import { loadRun, type Metrics, readJsonIfExists, RUN_FILES, type SplitsFile, writeJson } from "./run_dir.ts";

/**
 * Runs the classifier over normalised segments in batches.
 *
 * @param model Classifier (`logmel` -> `logits`).
 * @param segments Normalised log-mels, all of the model's input shape.
 * @param batchSize Segments per forward pass. @default 64
 * @returns Logits, row-major `[segments, classes]`.
 */
export function predictLogits(
  model: tf.LayersModel,
  segments: readonly LogMel[],
  batchSize = 64,
): Float32Array {
  const nClasses = model.outputs[0]!.shape[1] as number;
  const out = new Float32Array(segments.length * nClasses);
  for (let at = 0; at < segments.length; at += batchSize) {
    const batch = segments.slice(at, at + batchSize);
    const logits = tf.tidy(() => model.predict(toBatch(batch)) as tf.Tensor);
    out.set(logits.dataSync() as Float32Array, at * nClasses);
    logits.dispose();
  }
  return out;
}

/**
 * Packs log-mels into an NHWC tensor `[N, nMels, frames, 1]` (index `mel * frames + frame`).
 *
 * @param segments Log-mels of one shape.
 * @returns The tensor (caller disposes).
 */
export function toBatch(segments: readonly LogMel[]): tf.Tensor4D {
  const first = segments[0];
  if (first === undefined) throw new RangeError("Empty batch");
  const per = first.nMels * first.frames;
  const data = new Float32Array(segments.length * per);
  segments.forEach((s, i) => data.set(s.data, i * per));
  return tf.tensor4d(data, [segments.length, first.nMels, first.frames, 1]);
}

/** Arg-max per row of row-major `[n, c]` scores. */
export function argmaxRows(scores: Float32Array, nClasses: number): number[] {
  const n = scores.length / nClasses;
  const out: number[] = new Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < nClasses; c++) if (scores[i * nClasses + c]! > scores[i * nClasses + best]!) best = c;
    out[i] = best;
  }
  return out;
}

/**
 * Mean softmax cross-entropy of logits against integer labels, in float64.
 *
 * @param logits Row-major `[n, c]`.
 * @param labels `n` class indices.
 * @param nClasses `c`.
 * @returns Mean loss in nats (0 for no rows).
 */
export function crossEntropy(logits: Float32Array, labels: readonly number[], nClasses: number): number {
  if (labels.length === 0) return 0;
  let total = 0;
  labels.forEach((y, i) => {
    let max = -Infinity;
    for (let c = 0; c < nClasses; c++) max = Math.max(max, logits[i * nClasses + c]!);
    let sum = 0;
    for (let c = 0; c < nClasses; c++) sum += Math.exp(logits[i * nClasses + c]! - max);
    total += Math.log(sum) + max - logits[i * nClasses + y]!;
  });
  return total / labels.length;
}

/**
 * The confusion matrix `m[true][predicted]`.
 *
 * @param truth True class indices.
 * @param predicted Predicted class indices.
 * @param nClasses Number of classes.
 * @returns Counts.
 */
export function confusionMatrix(
  truth: readonly number[],
  predicted: readonly number[],
  nClasses: number,
): number[][] {
  const m = Array.from({ length: nClasses }, () => new Array<number>(nClasses).fill(0));
  truth.forEach((t, i) => m[t]![predicted[i]!]!++);
  return m;
}

/** Per-class scores and the macro F1 from a confusion matrix (see the module doc). */
export function classScores(
  confusion: number[][],
): {
  precision: number[];
  recall: number[];
  f1: number[];
  support: number[];
  macroF1: number;
  accuracy: number;
} {
  const n = confusion.length;
  const precision: number[] = [], recall: number[] = [], f1: number[] = [], support: number[] = [];
  let correct = 0, total = 0, f1Sum = 0, counted = 0;
  for (let c = 0; c < n; c++) {
    const tp = confusion[c]![c]!;
    const actual = confusion[c]!.reduce((a, b) => a + b, 0);
    const predicted = confusion.reduce((a, row) => a + row[c]!, 0);
    const p = predicted > 0 ? tp / predicted : 0;
    const r = actual > 0 ? tp / actual : 0;
    const f = p + r > 0 ? (2 * p * r) / (p + r) : 0;
    precision.push(p);
    recall.push(r);
    f1.push(f);
    support.push(actual);
    correct += tp;
    total += actual;
    if (actual > 0 || predicted > 0) {
      f1Sum += f;
      counted++;
    }
  }
  return {
    precision,
    recall,
    f1,
    support,
    macroF1: counted > 0 ? f1Sum / counted : 0,
    accuracy: total > 0 ? correct / total : 0,
  };
}

/**
 * All metrics from logits and labels.
 *
 * @param logits Row-major `[segments, classes]`.
 * @param labels True class per segment.
 * @param classes Class names.
 * @param trackOf Track index per segment, for the track-level accuracy (mean logits per track).
 * @returns The metrics as written to `metrics.json`.
 */
export function computeMetrics(
  logits: Float32Array,
  labels: readonly number[],
  classes: readonly string[],
  trackOf: readonly number[],
): Metrics {
  const nC = classes.length;
  const predicted = argmaxRows(logits, nC);
  const confusion = confusionMatrix(labels, predicted, nC);
  const s = classScores(confusion);
  // track level: mean logits of a track's segments
  const sums = new Map<number, { logits: Float64Array; label: number }>();
  labels.forEach((y, i) => {
    const t = trackOf[i]!;
    const entry = sums.get(t) ?? { logits: new Float64Array(nC), label: y };
    for (let c = 0; c < nC; c++) entry.logits[c]! += logits[i * nC + c]!;
    sums.set(t, entry);
  });
  let trackCorrect = 0;
  for (const { logits: l, label } of sums.values()) {
    if (argmaxRows(Float32Array.from(l), nC)[0] === label) trackCorrect++;
  }
  return {
    accuracy: s.accuracy,
    macroF1: s.macroF1,
    loss: crossEntropy(logits, labels, nC),
    trackAccuracy: sums.size > 0 ? trackCorrect / sums.size : 0,
    perClass: classes.map((label, c) => ({
      label,
      precision: s.precision[c]!,
      recall: s.recall[c]!,
      f1: s.f1[c]!,
      support: s.support[c]!,
    })),
    confusion,
    classes: [...classes],
    segments: labels.length,
    tracks: sums.size,
  };
}

/** Options of {@linkcode evaluateRun}. */
export interface EvaluateOptions {
  /** Feature cache folder. */
  cacheDir?: string;
  logger?: Logger;
  /** Called as test files are decoded. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Evaluates a run directory on its test split (from `splits.json`) and writes `metrics.json`,
 * `confusion_matrix.svg` and `training_curves.svg` into it.
 *
 * @param dir The run directory.
 * @param opts Cache, logger, progress.
 * @returns The metrics.
 */
export async function evaluateRun(dir: string, opts: EvaluateOptions = {}): Promise<Metrics> {
  const run = await loadRun(dir);
  const splits = await readJsonIfExists<SplitsFile>(join(dir, RUN_FILES.splits));
  if (splits === undefined || splits.test.length === 0) {
    throw new Error(`No test split recorded in ${join(dir, RUN_FILES.splits)}`);
  }
  const features: FeatureParams = run.features;
  const { tracks, skipped } = await extractFeatures(splits.test, {
    params: features,
    policy: "inference",
    ...(opts.cacheDir === undefined ? {} : { cacheDir: opts.cacheDir }),
    ...(opts.logger === undefined ? {} : { logger: opts.logger }),
    ...(opts.onProgress === undefined ? {} : { onProgress: opts.onProgress }),
  });
  if (skipped.length > 0) opts.logger?.warn(`${skipped.length} test files skipped`, { skipped });
  const segments: LogMel[] = [], labels: number[] = [], trackOf: number[] = [];
  tracks.forEach((t, ti) => {
    const y = run.classes.indexOf(t.item.label);
    if (y < 0) throw new Error(`Test item has a label outside the run's classes: ${t.item.label}`);
    for (const s of t.segments) {
      segments.push(normalizeLogMel(s, run.normalization.mean, run.normalization.std));
      labels.push(y);
      trackOf.push(ti);
    }
  });
  const logits = predictLogits(run.model, segments);
  run.model.dispose();
  const metrics = computeMetrics(logits, labels, run.classes, trackOf);
  await writeJson(join(dir, RUN_FILES.metrics), metrics);
  await writeFileAtomic(
    join(dir, RUN_FILES.confusion),
    confusionMatrixSvg(metrics.confusion, run.classes, `${run.task}: test confusion matrix`),
  );
  await writeFileAtomic(
    join(dir, RUN_FILES.curves),
    trainingCurvesSvg(run.history.epochs, `${run.task}: training curves`),
  );
  opts.logger?.info("Evaluated on the test split", {
    accuracy: round(metrics.accuracy),
    macroF1: round(metrics.macroF1),
    loss: round(metrics.loss),
    trackAccuracy: round(metrics.trackAccuracy),
    segments: metrics.segments,
  });
  return metrics;
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}

/**
 * Neighbourhood distillation: the student's embedding should see the same neighbours as the teacher's.
 *
 * Over a batch of windows, each window's cosine similarities to the other windows, divided by a
 * temperature and put through a softmax, give a distribution over its neighbours; the loss is the mean
 * Kullback-Leibler divergence from the teacher's distribution to the student's (0 when the two
 * embeddings rank and space every window's neighbours alike, whatever their dimensions). Unlike the
 * embedding regression, which goes through a projection that is not exported, this shapes the 256-d
 * embedding itself, the vector search compares by cosine.
 * @module
 */

import * as tf from "@tensorflow/tfjs";
import { cosineLogits, dot, unitVector } from "../contrastive.ts";

/** Each row's log-softmax over its cosine similarities to the other rows, divided by `temperature`. */
const neighbourLogProbs = (x: tf.Tensor2D, temperature: number) =>
  tf.logSoftmax(cosineLogits(x, temperature));

/** {@linkcode neighbourLogProbs} in plain arithmetic: row `i`, column `i` is `-Infinity`. */
function neighbourLogProbsReference(rows: readonly Float32Array[], temperature: number): number[][] {
  const u = rows.map(unitVector);
  return u.map((a, i) => {
    const sims = u.map((b, j) => (i === j ? -Infinity : dot(a, b) / temperature));
    const m = Math.max(...sims);
    const lse = m + Math.log(sims.reduce((s, v) => s + Math.exp(v - m), 0));
    return sims.map((v) => v - lse);
  });
}

/**
 * Mean KL divergence between the teacher's and the student's neighbour distributions over a batch.
 *
 * @param student Student embeddings, `[n, d1]`, n >= 3.
 * @param teacher Teacher embeddings of the same windows, `[n, d2]`.
 * @param temperature Softmax temperature of the cosine similarities. @default 0.1
 * @returns The loss (differentiable through `student`; call inside `tf.tidy` or `minimize`).
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { relationLoss } from "./relation.ts";
 * const t = tf.tensor2d([[1, 0], [0, 1], [1, 1]]);
 * const same = relationLoss(tf.mul(t, 3) as tf.Tensor2D, t).dataSync()[0]!;
 * console.assert(Math.abs(same) < 1e-5);
 * ```
 */
export function relationLoss(student: tf.Tensor2D, teacher: tf.Tensor2D, temperature = 0.1): tf.Scalar {
  if (student.shape[0] !== teacher.shape[0]) {
    throw new RangeError(
      `relationLoss: ${student.shape[0]} student rows but ${teacher.shape[0]} teacher rows`,
    );
  }
  if (student.shape[0] < 3) throw new RangeError("relationLoss needs at least 3 windows");
  return tf.tidy(() => {
    const logQ = neighbourLogProbs(student, temperature);
    const logP = neighbourLogProbs(teacher, temperature);
    const p = tf.exp(logP);
    // the diagonal has p = 0 (after exp of about -1e9 / T), so it adds nothing
    return tf.div(tf.sum(tf.mul(p, tf.sub(logP, logQ))), student.shape[0]) as tf.Scalar;
  });
}

/**
 * {@linkcode relationLoss} in plain arithmetic (the reference its test checks it against, and the
 * validation figure of a fixed set).
 *
 * @param student Student embeddings, one row per window.
 * @param teacher Teacher embeddings of the same windows.
 * @param temperature Softmax temperature. @default 0.1
 * @returns The mean KL divergence.
 */
export function relationReference(
  student: readonly Float32Array[],
  teacher: readonly Float32Array[],
  temperature = 0.1,
): number {
  const q = neighbourLogProbsReference(student, temperature);
  const p = neighbourLogProbsReference(teacher, temperature);
  let total = 0;
  p.forEach((row, i) =>
    row.forEach((lp, j) => {
      if (i !== j) total += Math.exp(lp) * (lp - q[i]![j]!);
    })
  );
  return total / student.length;
}

/**
 * Supervised contrast (SupCon, Khosla et al. 2020) with soft labels: each window's neighbours should be
 * the windows of its class. Row `i`'s target distribution over the other rows is `p_i · p_j`, the
 * probability that `i` and `j` are of one class, normalised over `j ≠ i`; the loss is the mean
 * cross-entropy from it to the student's neighbour distribution (for one-hot labels, SupCon's loss).
 * Rows with no other row of their class in the batch have no target and are left out of the mean.
 *
 * @param student Student embeddings, `[n, d]`, n >= 3.
 * @param p Class distributions of the same windows, `[n, C]` (one-hot for hard labels).
 * @param temperature Softmax temperature of the cosine similarities. @default 0.1
 * @returns The loss (0 when no row has a partner; call inside `tf.tidy` or `minimize`).
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { labelContrastLoss } from "./relation.ts";
 * const p = tf.tensor2d([[1, 0], [1, 0], [0, 1], [0, 1]]);
 * const together = labelContrastLoss(tf.tensor2d([[1, 0], [1, 0.01], [0, 1], [0.01, 1]]), p);
 * const apart = labelContrastLoss(tf.tensor2d([[1, 0], [0, 1], [1, 0.01], [0.01, 1]]), p);
 * console.assert(together.dataSync()[0]! < apart.dataSync()[0]!);
 * ```
 */
export function labelContrastLoss(student: tf.Tensor2D, p: tf.Tensor2D, temperature = 0.1): tf.Scalar {
  if (student.shape[0] !== p.shape[0]) {
    throw new RangeError(`labelContrastLoss: ${student.shape[0]} embeddings but ${p.shape[0]} labels`);
  }
  if (student.shape[0] < 3) throw new RangeError("labelContrastLoss needs at least 3 windows");
  return tf.tidy(() => {
    const n = student.shape[0];
    const logQ = neighbourLogProbs(student, temperature);
    const w = tf.mul(tf.matMul(p, p, false, true), tf.sub(1, tf.eye(n)));
    const rowSum = tf.sum(w, 1, true);
    const has = tf.cast(tf.greater(rowSum, 1e-12), "float32");
    const target = tf.div(w, tf.maximum(rowSum, 1e-12));
    // the diagonal's target is 0, so its log-probability of about -1e9 / T adds nothing
    const perRow = tf.neg(tf.sum(tf.mul(target, logQ), 1, true));
    return tf.div(tf.sum(tf.mul(perRow, has)), tf.maximum(tf.sum(has), 1)) as tf.Scalar;
  });
}

/**
 * {@linkcode labelContrastLoss} in plain arithmetic (its test's reference and the validation figure).
 *
 * @param student Student embeddings, one row per window.
 * @param p Class distributions of the same windows.
 * @param temperature Softmax temperature. @default 0.1
 * @returns The mean cross-entropy over the rows that have a partner (0 when none has).
 */
export function labelContrastReference(
  student: readonly Float32Array[],
  p: readonly Float32Array[],
  temperature = 0.1,
): number {
  const logQ = neighbourLogProbsReference(student, temperature);
  let total = 0, rows = 0;
  logQ.forEach((row, i) => {
    const w = p.map((q, j) => (i === j ? 0 : dot(p[i]!, q)));
    const sumW = w.reduce((s, v) => s + v, 0);
    if (sumW <= 1e-12) return;
    total += w.reduce((s, wj, j) => (wj > 0 ? s - (wj / sumW) * row[j]! : s), 0);
    rows++;
  });
  return rows === 0 ? 0 : total / rows;
}

/**
 * The contrastive task that teaches the models to hear real music the same way however it was copied:
 * two augmented views of one clip (different variants and window offsets) must embed close, and every
 * other clip of the batch apart. The loss is NT-Xent (SimCLR's normalised temperature-scaled
 * cross-entropy) on the L2-normalised 256-d embeddings, the very vectors the product compares.
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/**
 * The rows' cosine similarities to each other divided by `temperature`, each row's similarity to itself
 * pushed to about -1e9 so that a softmax over a row leaves it out (NT-Xent's and the neighbourhood
 * term's logits).
 *
 * @param x Rows, `[n, d]` (a small epsilon keeps a zero row finite).
 * @param temperature Softmax temperature.
 * @returns `[n, n]`.
 */
export function cosineLogits(x: tf.Tensor2D, temperature: number): tf.Tensor2D {
  return tf.tidy(() => {
    const unit = tf.div(x, tf.add(tf.sqrt(tf.sum(tf.square(x), 1, true)), 1e-8));
    const sim = tf.div(tf.matMul(unit, unit, false, true), temperature);
    return tf.sub(sim, tf.mul(tf.eye(x.shape[0]), 1e9)) as tf.Tensor2D;
  });
}

/**
 * NT-Xent over a batch of pairs: row `i` of `a` and row `i` of `b` are positives, the other `2n - 2`
 * rows negatives.
 *
 * @param a Embeddings of the first views, `[n, d]`.
 * @param b Embeddings of the second views, `[n, d]`.
 * @param temperature Softmax temperature.
 * @returns The mean loss over the `2n` anchors (a scalar tensor).
 */
export function ntXentLoss(a: tf.Tensor2D, b: tf.Tensor2D, temperature: number): tf.Scalar {
  return tf.tidy(() => {
    const n = a.shape[0];
    const masked = cosineLogits(tf.concat([a, b], 0), temperature);
    const partner = Array.from({ length: 2 * n }, (_, i) => (i < n ? i + n : i - n));
    const labels = tf.oneHot(tf.tensor1d(partner, "int32"), 2 * n);
    return tf.losses.softmaxCrossEntropy(labels, masked) as tf.Scalar;
  });
}

/**
 * NT-Xent computed in plain arithmetic (the reference for {@linkcode ntXentLoss} and the validation
 * figure).
 *
 * @param a First views, one `Float32Array` per pair.
 * @param b Second views.
 * @param temperature Softmax temperature.
 * @returns The mean loss.
 */
export function ntXentReference(
  a: readonly Float32Array[],
  b: readonly Float32Array[],
  temperature: number,
): number {
  const z = [...a, ...b].map(unitVector);
  const n = a.length;
  let total = 0;
  for (let i = 0; i < 2 * n; i++) {
    const logits = z.map((v, j) => (j === i ? -Infinity : dot(z[i]!, v) / temperature));
    const max = Math.max(...logits);
    const lse = max + Math.log(logits.reduce((s, l) => s + Math.exp(l - max), 0));
    total += lse - logits[i < n ? i + n : i - n]!;
  }
  return total / (2 * n);
}

/** The dot product of two vectors of one length. */
export function dot(x: Float32Array, y: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * y[i]!;
  return s;
}

/** `v` scaled to length 1 (a small epsilon keeps a zero vector finite). */
export function unitVector(v: Float32Array): Float32Array {
  const norm = Math.sqrt(dot(v, v)) + 1e-8;
  return v.map((x) => x / norm);
}

/**
 * How often the second view of a clip is the nearest (cosine) of all second views to its first view:
 * the retrieval the product does, in miniature.
 *
 * @param a First views.
 * @param b Second views (same order).
 * @returns The fraction of pairs matched first, in [0, 1].
 */
export function matchAtOne(a: readonly Float32Array[], b: readonly Float32Array[]): number {
  const ua = a.map(unitVector), ub = b.map(unitVector);
  let hits = 0;
  ua.forEach((q, i) => {
    let best = -1, bestScore = -Infinity;
    ub.forEach((v, j) => {
      const s = dot(q, v);
      if (s > bestScore) [best, bestScore] = [j, s];
    });
    if (best === i) hits++;
  });
  return a.length > 0 ? hits / a.length : NaN;
}

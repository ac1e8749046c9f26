/**
 * Block weights of a query: how much each model's blocks (genre, emotion, instrument) count in the
 * distance, `Σ_m w_m Σ_windows |q - c|²` over the model's unit blocks, weights scaled to mean 1 (equal
 * weights are the plain L2 distance of the paper's clip vector).
 *
 * No index changes for it: every stored block is unit length, so the plain L2 distance of a query whose
 * blocks are scaled by `w_m` is the weighted distance plus a constant of the query,
 * `3 (Σ_m w_m² - 3)` for a clip vector (and its segment-search form, the mean over windows times 3).
 * Scaling ranks exactly as the weighted distance; {@linkcode weightedDistance} takes the constant away
 * so similarities keep their meaning (the weighted mean block cosine). With the cosine metric the
 * index normalises the scaled query, which ranks the same way.
 *
 * **Short clips.** A clip of one window's audio (a 10 s excerpt; its three windows are the same sound)
 * is searched with the emotion blocks at half weight ({@linkcode SHORT_CLIP_BLOCK_WEIGHTS}). Chosen on
 * the validation clips of the mood set (issue 12, `bench/block_weights.ts`, models/README): 10 s
 * excerpts found their source first 131 times of 143 instead of 127, in the top 5 142 instead of 141,
 * and their neighbours' mood agreement did not drop (0.362 against 0.358). Longer clips keep equal
 * weights: there the same weighting cost mood agreement (0.352 against 0.369).
 * @module
 */
import { BLOCK_SIZE, MODELS_PER_CLIP, WINDOWS_PER_CLIP } from "../index/segment_search.ts";

/** Weights (genre, emotion, instrument), each model's blocks counting as much. */
export const EQUAL_BLOCK_WEIGHTS: readonly number[] = Object.freeze([1, 1, 1]);

/** Weights of a short clip's search: emotion at half the weight of genre and instrument, mean 1. */
export const SHORT_CLIP_BLOCK_WEIGHTS: readonly number[] = Object.freeze([1.2, 0.6, 1.2]);

/** The gap between 1 and the next float32. */
const FLOAT32_EPSILON = 2 ** -23;

/** The longest clip searched as short: one 10 s window, with up to 1 s of an encoder's padding. */
export const SHORT_CLIP_SECONDS = 11;

/**
 * The block weights a clip of this length is searched with.
 *
 * @param seconds The decoded clip's length (after any start offset).
 * @returns {@linkcode SHORT_CLIP_BLOCK_WEIGHTS} up to {@linkcode SHORT_CLIP_SECONDS}, else equal weights.
 * @example
 * ```ts
 * import { EQUAL_BLOCK_WEIGHTS, queryBlockWeights } from "./block_weights.ts";
 * console.assert(queryBlockWeights(30) === EQUAL_BLOCK_WEIGHTS);
 * console.assert(queryBlockWeights(10)[1] === 0.6);
 * ```
 */
export function queryBlockWeights(seconds: number): readonly number[] {
  return seconds <= SHORT_CLIP_SECONDS ? SHORT_CLIP_BLOCK_WEIGHTS : EQUAL_BLOCK_WEIGHTS;
}

/** The weights scaled to mean 1, checked. */
function normalised(weights: readonly number[]): number[] {
  const sum = weights.reduce((s, w) => s + w, 0);
  if (
    weights.length !== MODELS_PER_CLIP || weights.some((w) => !(w >= 0 && Number.isFinite(w))) || !(sum > 0)
  ) {
    throw new RangeError(
      `Block weights are ${MODELS_PER_CLIP} non-negative numbers, not all 0: ${weights.join()}`,
    );
  }
  return weights.map((w) => (MODELS_PER_CLIP * w) / sum);
}

/** Whether weights are equal (nothing to scale). */
function isEqualWeighting(weights: readonly number[]): boolean {
  return normalised(weights).every((w) => Math.abs(w - 1) < 1e-12);
}

/**
 * A clip vector with each model's blocks scaled by its weight (weights scaled to mean 1 first).
 *
 * @param vector `[g0, g1, g2, e0, e1, e2, i0, i1, i2]`, 256 floats each.
 * @param weights Genre, emotion, instrument.
 * @returns A new vector; `vector` itself for equal weights (nothing to scale).
 * @example
 * ```ts
 * import { weightBlocks } from "./block_weights.ts";
 * const v = weightBlocks(new Float32Array(2304).fill(1), [1, 0.5, 1]);
 * console.assert(v[0] === Math.fround(1.2) && v[768] === Math.fround(0.6));
 * ```
 */
export function weightBlocks(vector: Float32Array, weights: readonly number[]): Float32Array {
  const size = MODELS_PER_CLIP * WINDOWS_PER_CLIP * BLOCK_SIZE;
  if (vector.length !== size) throw new RangeError(`A clip vector has ${size} floats: got ${vector.length}`);
  if (isEqualWeighting(weights)) return vector;
  const w = normalised(weights);
  const out = new Float32Array(vector);
  const perModel = WINDOWS_PER_CLIP * BLOCK_SIZE;
  for (let m = 0; m < MODELS_PER_CLIP; m++) {
    for (let d = m * perModel; d < (m + 1) * perModel; d++) out[d] = out[d]! * w[m]!;
  }
  return out;
}

/**
 * The weighted distance of a neighbour found with a {@linkcode weightBlocks} query: on the scale of
 * the unweighted one (0 for the same audio, 18 for orthogonal blocks with `l2`; `2 - 2 cos` with
 * `cosine`), so a similarity computed from it is the weighted mean block cosine.
 *
 * @param distance What the index returned for the scaled query (a clip distance, or segment search's).
 * @param weights The weights the query was scaled by.
 * @param metric The searched index's metric.
 * @returns The weighted distance (never below 0).
 * @example
 * ```ts
 * import { weightedDistance } from "./block_weights.ts";
 * // the same audio: every block cosine 1, raw distance 3 (Σ (w - 1)²) = 3 (0.04 + 0.16 + 0.04)
 * console.assert(Math.abs(weightedDistance(0.72, [1, 0.5, 1], "l2")) < 1e-12);
 * ```
 */
export function weightedDistance(
  distance: number,
  weights: readonly number[],
  metric: "l2" | "cosine",
): number {
  const w = normalised(weights);
  const squares = w.reduce((s, x) => s + x * x, 0);
  if (metric === "l2") {
    const d = distance - WINDOWS_PER_CLIP * (squares - MODELS_PER_CLIP);
    // faiss sums in float32: for the same audio a few ulps of |q|² + |c|² are left after the
    // constant goes, more than SAME_AUDIO_SQUARED_DISTANCE; they are 0 (a block cosine of 0.99999
    // or more, so no other recording is)
    const ulps = 8 * FLOAT32_EPSILON * WINDOWS_PER_CLIP * (squares + MODELS_PER_CLIP);
    return d <= ulps ? 0 : d;
  }
  // cosine: raw = 2 - 2 Σ w cos / (|wq| |c|), |c| = 3, |wq| = sqrt(3 Σ w²); weighted = 2 - 2 Σ w cos / 9
  const scale = Math.sqrt(WINDOWS_PER_CLIP * squares) / MODELS_PER_CLIP;
  return Math.max(0, 2 - (2 - distance) * scale);
}

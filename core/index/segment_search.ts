/**
 * Segment-level search, beside the paper's whole-clip search.
 *
 * The paper compares whole 2304-d clip vectors `[g0, g1, g2, e0, e1, e2, i0, i1, i2]` (model-major,
 * each 256-d block unit length), so window 0 of a query is only ever compared with window 0 of a
 * catalog track. A 10 s excerpt (whose three windows are the same audio) then has to resemble all
 * three windows of its source at once. Segment search instead indexes each catalog track's three
 * **window vectors** `w = [g_w, e_w, i_w]` (768-d: the three models' blocks of one window), matches
 * every query window against all of them, and scores a track by the mean, over the query's windows,
 * of the distance to that track's closest window.
 *
 * Distances are squared L2 between window vectors (three unit blocks): `d² = 6 - 2 Σ cos`, so the
 * similarity `100 * (1 - d² / 6)` is the mean block cosine, as for whole clips.
 *
 * Pure logic: indexes are built and searched through `core/index/vector_index.ts` by the caller.
 * @module
 */

/** Models in a clip vector (genre, emotion, instrument). */
export const MODELS_PER_CLIP = 3;
/** Windows in a clip vector. */
export const WINDOWS_PER_CLIP = 3;
/** Dimensions of one model's block. */
export const BLOCK_SIZE = 256;
/** Dimensions of one window vector: one block per model. */
export const WINDOW_VECTOR_SIZE = MODELS_PER_CLIP * BLOCK_SIZE;
/** Largest squared distance between two window vectors of unit blocks with non-negative cosines. */
export const MAX_WINDOW_SQUARED_DISTANCE = 2 * MODELS_PER_CLIP;

/** A search hit as the vector index returns it (track id and squared distance). */
export interface WindowHit {
  trackId: number;
  distance: number;
}

/**
 * The three window vectors of a 2304-d clip vector.
 *
 * @param clip `[g0, g1, g2, e0, e1, e2, i0, i1, i2]`, 256 floats each.
 * @returns `[[g0, e0, i0], [g1, e1, i1], [g2, e2, i2]]`, 768 floats each (new arrays).
 * @example
 * ```ts
 * import { clipWindows } from "./segment_search.ts";
 * const clip = Float32Array.from({ length: 2304 }, (_, i) => Math.floor(i / 256)); // block index
 * const [w0, w1] = clipWindows(clip);
 * console.assert(w0![0] === 0 && w0![256] === 3 && w0![512] === 6 && w1![0] === 1);
 * ```
 */
export function clipWindows(clip: Float32Array): Float32Array[] {
  if (clip.length !== MODELS_PER_CLIP * WINDOWS_PER_CLIP * BLOCK_SIZE) {
    throw new RangeError(
      `A clip vector has ${MODELS_PER_CLIP * WINDOWS_PER_CLIP * BLOCK_SIZE} floats, got ${clip.length}`,
    );
  }
  return Array.from({ length: WINDOWS_PER_CLIP }, (_, w) => {
    const out = new Float32Array(WINDOW_VECTOR_SIZE);
    for (let m = 0; m < MODELS_PER_CLIP; m++) {
      const from = (m * WINDOWS_PER_CLIP + w) * BLOCK_SIZE;
      out.set(clip.subarray(from, from + BLOCK_SIZE), m * BLOCK_SIZE);
    }
    return out;
  });
}

/**
 * The rows to index for segment search: every clip's three window vectors, each labelled with its
 * track id.
 *
 * @param clips Clip vectors.
 * @param trackIds The track id of each clip.
 * @returns `3n x 768` floats and the `3n` track ids (each id three times in a row).
 */
export function windowRows(
  clips: readonly Float32Array[],
  trackIds: readonly number[],
): { vectors: Float32Array; trackIds: number[] } {
  if (clips.length !== trackIds.length) throw new RangeError("One track id per clip is needed");
  const vectors = new Float32Array(clips.length * WINDOWS_PER_CLIP * WINDOW_VECTOR_SIZE);
  const ids: number[] = [];
  clips.forEach((clip, c) => {
    clipWindows(clip).forEach((w, k) => {
      vectors.set(w, (c * WINDOWS_PER_CLIP + k) * WINDOW_VECTOR_SIZE);
      ids.push(trackIds[c]!);
    });
  });
  return { vectors, trackIds: ids };
}

/**
 * How many window hits to ask the index for, per query window, to rank `k` tracks: every track has
 * three windows, so `3 (k + margin)` hits hold at least `k + margin` distinct tracks.
 *
 * @param k Tracks wanted.
 * @param margin Extra tracks (e.g. the query's own, dropped later). @default 5
 * @returns Hits per query window.
 */
export function windowHitsFor(k: number, margin = 5): number {
  return WINDOWS_PER_CLIP * (k + margin);
}

/**
 * Aggregates per-window search results into a track ranking. For each query window, a track's
 * distance is that of its closest window among the hits; a track some query window did not return is
 * given that window's largest returned distance (its true distance is at least that). A track's
 * score is the mean over the query windows; only tracks some window returned are ranked.
 *
 * @param perWindow One hit list per query window (as from `VectorIndex.searchBatch`).
 * @param k Tracks to return.
 * @returns At most `k` tracks, closest first (ties by track id), with their mean distance.
 * @example
 * ```ts
 * import { aggregateWindowHits } from "./segment_search.ts";
 * const ranked = aggregateWindowHits([
 *   [{ trackId: 7, distance: 0.1 }, { trackId: 7, distance: 0.5 }, { trackId: 2, distance: 0.3 }],
 *   [{ trackId: 2, distance: 0.2 }, { trackId: 7, distance: 0.4 }],
 * ], 5);
 * console.assert(ranked[0]!.trackId === 2 && Math.abs(ranked[0]!.distance - 0.25) < 1e-12);
 * ```
 */
export function aggregateWindowHits(perWindow: readonly (readonly WindowHit[])[], k: number): WindowHit[] {
  const best: Map<number, number>[] = perWindow.map((hits) => {
    const m = new Map<number, number>();
    for (const h of hits) {
      if (h.trackId < 0 || !Number.isFinite(h.distance)) continue;
      const prev = m.get(h.trackId);
      if (prev === undefined || h.distance < prev) m.set(h.trackId, h.distance);
    }
    return m;
  });
  const worst = perWindow.map((hits) =>
    Math.max(0, ...hits.filter((h) => h.trackId >= 0 && Number.isFinite(h.distance)).map((h) => h.distance))
  );
  const tracks = new Set<number>();
  for (const m of best) for (const t of m.keys()) tracks.add(t);
  const scored: WindowHit[] = [...tracks].map((trackId) => ({
    trackId,
    distance: best.reduce((s, m, i) => s + (m.get(trackId) ?? worst[i]!), 0) / Math.max(1, best.length),
  }));
  return scored.sort((a, b) => a.distance - b.distance || a.trackId - b.trackId).slice(0, k);
}

/**
 * Similarity in percent for a segment-search distance: the mean block cosine, `100 (1 - d² / 6)`,
 * clipped to [0, 100] and rounded to one decimal.
 *
 * @param distance Mean squared window distance from {@linkcode aggregateWindowHits}.
 * @returns Percent.
 */
export function windowSimilarityPercent(distance: number): number {
  const pct = Math.min(100, Math.max(0, 100 * (1 - distance / MAX_WINDOW_SQUARED_DISTANCE)));
  return Math.round(pct * 10) / 10;
}

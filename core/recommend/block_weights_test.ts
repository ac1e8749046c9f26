import assert from "node:assert/strict";
import { mulberry32 } from "../util/random.ts";
import { silentLogger } from "../logger.ts";
import { SAME_AUDIO_SQUARED_DISTANCE } from "../catalog/reindex.ts";
import { buildVectorIndex, buildWindowIndex, searchWindows } from "../index/vector_index.ts";
import {
  EQUAL_BLOCK_WEIGHTS,
  queryBlockWeights,
  SHORT_CLIP_BLOCK_WEIGHTS,
  SHORT_CLIP_SECONDS,
  weightBlocks,
  weightedDistance,
} from "./block_weights.ts";

const DIM = 2304, BLOCK = 256;

/** Random clip vectors of nine unit blocks. */
function clips(n: number, seed: number): Float32Array[] {
  const rand = mulberry32(seed);
  return Array.from({ length: n }, () => {
    const v = Float32Array.from({ length: DIM }, () => rand() - 0.5);
    for (let b = 0; b < 9; b++) {
      const block = v.subarray(b * BLOCK, (b + 1) * BLOCK);
      const norm = Math.hypot(...block);
      block.forEach((x, i) => (block[i] = x / norm));
    }
    return v;
  });
}

/** Cosine of block `b` (model-major: model m, window w is block 3m + w) of two clips. */
const blockCos = (a: Float32Array, c: Float32Array, b: number, bc = b) => {
  let s = 0;
  for (let d = 0; d < BLOCK; d++) s += a[b * BLOCK + d]! * c[bc * BLOCK + d]!;
  return s;
};

/** The weighted distances written out: whole clips, and segment search's mean of closest windows x 3. */
function wholeDistance(q: Float32Array, c: Float32Array, w: readonly number[]): number {
  let s = 0;
  for (let b = 0; b < 9; b++) s += w[Math.floor(b / 3)]! * (2 - 2 * blockCos(q, c, b));
  return s;
}
function segmentDistance(q: Float32Array, c: Float32Array, w: readonly number[]): number {
  let sum = 0;
  for (let a = 0; a < 3; a++) {
    let best = Infinity;
    for (let cw = 0; cw < 3; cw++) {
      let s = 0;
      for (let m = 0; m < 3; m++) s += w[m]! * (2 - 2 * blockCos(q, c, 3 * m + a, 3 * m + cw));
      best = Math.min(best, s);
    }
    sum += best;
  }
  return sum; // mean over the 3 query windows, times 3, as searchWindows reports it
}

const w = SHORT_CLIP_BLOCK_WEIGHTS;
const catalog = clips(40, 1);
const ids = catalog.map((_, i) => 100 + i);
/** The clips as rows of one array, with their track ids. */
const rows = (vs: Float32Array[], trackIds: number[]) => {
  const vectors = new Float32Array(vs.length * DIM);
  vs.forEach((v, i) => vectors.set(v, i * DIM));
  return { dim: DIM, vectors, trackIds, logger: silentLogger };
};
/** An exact whole-clip index of the clips. */
const flatIndex = (vs: Float32Array[], trackIds: number[], metric: "l2" | "cosine" = "l2") =>
  buildVectorIndex({ kind: "flat", metric, ...rows(vs, trackIds) });
/** An exact window index of the clips (segment search). */
const windowIndex = (vs: Float32Array[], trackIds: number[]) =>
  buildWindowIndex({ kind: "flat", ...rows(vs, trackIds) });

/**
 * Asserts that `search` of the weighted query ranks the 40 tracks by `distanceOf` and that
 * weightedDistance() gives those distances back; and that the unweighted query ranks them otherwise, so
 * the weighting is not a no-op on these vectors.
 */
function assertRankedByWeightedDistance(
  search: (query: Float32Array) => { trackId: number; distance: number }[],
  distanceOf: (q: Float32Array, c: Float32Array, w: readonly number[]) => number,
  q: Float32Array,
): void {
  const hits = search(weightBlocks(q, w));
  const expected = catalog.map((c, i) => ({ trackId: ids[i]!, distance: distanceOf(q, c, w) }))
    .sort((a, b) => a.distance - b.distance);
  assert.deepEqual(hits.map((h) => h.trackId), expected.map((e) => e.trackId));
  hits.forEach((h, i) => {
    const d = weightedDistance(h.distance, w, "l2");
    assert.ok(Math.abs(d - expected[i]!.distance) < 1e-3, `${d} vs ${expected[i]!.distance}`);
  });
  assert.notDeepEqual(search(q).map((h) => h.trackId), expected.map((e) => e.trackId));
}

Deno.test("weightBlocks() and weightedDistance() on a flat L2 index: ranked and measured by the weighted block distance", () => {
  const index = flatIndex(catalog, ids);
  for (const q of clips(5, 2)) assertRankedByWeightedDistance((x) => index.search(x, 40), wholeDistance, q);
});

Deno.test("weightedDistance() puts a short clip's own audio within the same-audio threshold, as without weights", () => {
  const many = clips(200, 5);
  const trackIds = many.map((_, i) => i);
  const flat = flatIndex(many, trackIds);
  const windows = windowIndex(many, trackIds);
  many.forEach((v, i) => {
    const q = weightBlocks(v, w);
    const whole = flat.search(q, 1)[0]!;
    const segment = searchWindows(windows, q, 1)[0]!;
    assert.equal(whole.trackId, i);
    assert.equal(segment.trackId, i);
    assert.ok(
      weightedDistance(whole.distance, w, "l2") <= SAME_AUDIO_SQUARED_DISTANCE,
      `clip ${i}: ${whole.distance}`,
    );
    assert.ok(weightedDistance(segment.distance, w, "l2") <= SAME_AUDIO_SQUARED_DISTANCE, `clip ${i}`);
  });
  // a nearly identical clip (one genre block nudged, weighted distance about 1e-4) is not snapped to 0
  const near = new Float32Array(many[0]!);
  near[0] = near[0]! + 0.01;
  const block = near.subarray(0, BLOCK);
  const norm = Math.hypot(...block);
  block.forEach((x, i) => (block[i] = x / norm));
  const expected = wholeDistance(near, many[0]!, w);
  assert.ok(expected > 1e-5 && expected < 1e-3, `${expected}`);
  const found = flat.search(weightBlocks(near, w), 1)[0]!;
  assert.equal(found.trackId, 0);
  const d = weightedDistance(found.distance, w, "l2");
  assert.ok(
    d > SAME_AUDIO_SQUARED_DISTANCE && Math.abs(d - expected) < 0.1 * expected,
    `${d} vs ${expected}`,
  );
});

Deno.test("weightBlocks() and weightedDistance() in segment search: ranked and measured by the weighted window distance", () => {
  const windows = windowIndex(catalog, ids);
  // every window of every track (40 tracks), so the aggregation is exact
  for (const q of clips(5, 3)) {
    assertRankedByWeightedDistance((x) => searchWindows(windows, x, 40), segmentDistance, q);
  }
});

Deno.test("weightBlocks() and weightedDistance() on a cosine index: the weighted mean block cosine back", () => {
  const index = flatIndex(catalog, ids, "cosine");
  const [q] = clips(1, 4);
  const hits = index.search(weightBlocks(q!, w), 40);
  const byId = new Map(catalog.map((c, i) => [ids[i]!, c]));
  for (const h of hits) {
    // with equal weights the cosine distance of two nine-unit-block vectors is 2 - 2 Σ cos / 9
    const expected = wholeDistance(q!, byId.get(h.trackId)!, w) / 9;
    assert.ok(Math.abs(weightedDistance(h.distance, w, "cosine") - expected) < 1e-4);
  }
  // ranked by the weighted distance, not by the plain one
  const expected = catalog.map((c, i) => ({ trackId: ids[i]!, distance: wholeDistance(q!, c, w) }))
    .sort((a, b) => a.distance - b.distance).map((e) => e.trackId);
  assert.deepEqual(hits.map((h) => h.trackId), expected);
  assert.notDeepEqual(index.search(q!, 40).map((h) => h.trackId), expected);
});

Deno.test("queryBlockWeights() weighs short clips' emotion blocks at half, others equally; weightBlocks() refuses bad weights", () => {
  assert.equal(queryBlockWeights(10), SHORT_CLIP_BLOCK_WEIGHTS);
  assert.equal(queryBlockWeights(SHORT_CLIP_SECONDS), SHORT_CLIP_BLOCK_WEIGHTS);
  assert.equal(queryBlockWeights(SHORT_CLIP_SECONDS + 0.01), EQUAL_BLOCK_WEIGHTS);
  assert.equal(queryBlockWeights(30), EQUAL_BLOCK_WEIGHTS);
  const v = weightBlocks(new Float32Array(DIM).fill(1), [2, 1, 2]); // scaled to mean 1: 1.2, 0.6, 1.2
  assert.ok(
    Math.abs(v[0]! - 1.2) < 1e-6 && Math.abs(v[768]! - 0.6) < 1e-6 && Math.abs(v[1536]! - 1.2) < 1e-6,
  );
  assert.equal(weightedDistance(5, EQUAL_BLOCK_WEIGHTS, "l2"), 5);
  const plain = new Float32Array(DIM).fill(0.5);
  assert.equal(weightBlocks(plain, [2, 2, 2]), plain, "equal weights: nothing to scale");
  assert.throws(() => weightBlocks(new Float32Array(DIM), [1, -1, 1]), /non-negative/);
  assert.throws(() => weightBlocks(new Float32Array(DIM), [0, 0, 0]), /not all 0/);
  assert.throws(() => weightBlocks(new Float32Array(10), [1, 1, 1]), /2304 floats: got 10/);
});

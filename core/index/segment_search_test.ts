import assert from "node:assert/strict";
import { silentLogger } from "../logger.ts";
import { mulberry32 } from "../util/random.ts";
import { buildVectorIndex } from "./vector_index.ts";
import {
  aggregateWindowHits,
  clipWindows,
  windowHitsFor,
  windowRows,
  windowSimilarityPercent,
} from "./segment_search.ts";

/** A clip vector of nine random unit blocks with non-negative entries (as ReLU embeddings). */
function randomClip(random: () => number): Float32Array {
  const v = new Float32Array(2304);
  for (let b = 0; b < 9; b++) {
    let sq = 0;
    for (let i = 0; i < 256; i++) {
      const x = random() ** 3;
      v[b * 256 + i] = x;
      sq += x * x;
    }
    for (let i = 0; i < 256; i++) v[b * 256 + i]! /= Math.sqrt(sq);
  }
  return v;
}

/** The clip vector of a 10 s excerpt: window `w` of a clip in all three windows. */
function excerptOf(clip: Float32Array, w: number): Float32Array {
  const out = new Float32Array(2304);
  for (let m = 0; m < 3; m++) {
    for (let k = 0; k < 3; k++) {
      out.set(clip.subarray((m * 3 + w) * 256, (m * 3 + w + 1) * 256), (m * 3 + k) * 256);
    }
  }
  return out;
}

Deno.test("clipWindows() regroups model-major blocks into one [genre, emotion, instrument] vector per window", () => {
  const clip = Float32Array.from({ length: 2304 }, (_, i) => i);
  const ws = clipWindows(clip);
  assert.equal(ws.length, 3);
  // window 2 = blocks 2 (genre w2), 5 (emotion w2), 8 (instrument w2)
  assert.deepEqual([ws[2]![0], ws[2]![256], ws[2]![512], ws[2]![767]], [
    2 * 256,
    5 * 256,
    8 * 256,
    8 * 256 + 255,
  ]);
  assert.throws(() => clipWindows(new Float32Array(768)), RangeError);
  const rows = windowRows([clip, clip], [10, 11]);
  assert.deepEqual(rows.trackIds, [10, 10, 10, 11, 11, 11]);
  assert.deepEqual(rows.vectors.subarray(768 * 4, 768 * 4 + 2), ws[1]!.subarray(0, 2));
  assert.equal(windowHitsFor(5), 30);
});

Deno.test("aggregateWindowHits() averages each track's closest window over the query windows", () => {
  const ranked = aggregateWindowHits([
    [{ trackId: 1, distance: 0.2 }, { trackId: 1, distance: 0.9 }, { trackId: 2, distance: 0.4 }],
    [{ trackId: 2, distance: 0.1 }, { trackId: 3, distance: 0.3 }],
    [{ trackId: 1, distance: 0.2 }, { trackId: 2, distance: 0.6 }],
  ], 10);
  // track 1: 0.2, (missing: 0.3 = window 2's worst), 0.2 -> 0.7/3; track 2: 0.4, 0.1, 0.6 -> 1.1/3;
  // track 3: (0.9), 0.3, (0.6) -> 1.8/3
  assert.deepEqual(ranked.map((r) => r.trackId), [1, 2, 3]);
  assert.ok(Math.abs(ranked[0]!.distance - 0.7 / 3) < 1e-12);
  assert.ok(Math.abs(ranked[2]!.distance - 1.8 / 3) < 1e-12);
  assert.equal(aggregateWindowHits([[{ trackId: -1, distance: 0 }]], 3).length, 0);
  assert.equal(windowSimilarityPercent(0), 100);
  assert.equal(windowSimilarityPercent(3), 50);
  assert.equal(windowSimilarityPercent(7), 0);
});

Deno.test("segment search through the flat and IVF indexes finds a 10 s excerpt's source first", () => {
  const random = mulberry32(11);
  const clips = Array.from({ length: 200 }, () => randomClip(random));
  const ids = clips.map((_, i) => 1000 + i);
  const rows = windowRows(clips, ids);
  for (const kind of ["flat", "ivf"] as const) {
    const index = buildVectorIndex({ kind, metric: "l2", dim: 768, ...rows, logger: silentLogger });
    let first = 0;
    for (let c = 0; c < clips.length; c += 10) {
      const query = excerptOf(clips[c]!, c % 3);
      const windows = clipWindows(query);
      const flat = new Float32Array(3 * 768);
      windows.forEach((w, i) => flat.set(w, i * 768));
      const hits = index.searchBatch(flat, windowHitsFor(5), kind === "ivf" ? { nprobe: index.nlist! } : {});
      const ranked = aggregateWindowHits(hits, 5);
      if (ranked[0]!.trackId === ids[c]) first++;
      assert.ok(ranked[0]!.distance < 1e-4, `${kind}: exact window match expected`);
    }
    assert.equal(first, 20, kind);
  }
});

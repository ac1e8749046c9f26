import assert from "node:assert/strict";
import { silentLogger } from "../logger.ts";
import { mulberry32 } from "../util/random.ts";
import { APPROX_MIN_TRAIN_ROWS, approxSettings, buildApproxIndex, loadApproxIndex } from "./approx_index.ts";
import { RowWriter } from "./row_file.ts";
import { buildVectorIndex } from "./vector_index.ts";

const DIM = 24;

/** `tracks x rowsPerTrack` clustered rows written to `<dir>/rows.f32`; returns them too. */
function clusteredRows(dir: string, rows: number, seed = 1): Float32Array {
  const rand = mulberry32(seed);
  const centres = Array.from({ length: 40 }, () => Float32Array.from({ length: DIM }, () => rand() * 4));
  const out = new Float32Array(rows * DIM);
  for (let r = 0; r < rows; r++) {
    const c = centres[Math.floor(rand() * centres.length)]!;
    for (let j = 0; j < DIM; j++) out[r * DIM + j] = c[j]! + (rand() - 0.5) * 0.8;
  }
  const writer = new RowWriter(`${dir}/rows.f32`, DIM);
  writer.write(out.subarray(0, 1000 * DIM));
  writer.write(out.subarray(1000 * DIM));
  writer.close();
  return out;
}

const SETTINGS = { nlist: 32, m: 8, nprobe: 8, rerank: 64, trainRows: APPROX_MIN_TRAIN_ROWS };

/**
 * Tracks of three clustered rows in `<dir>/rows.f32` (by default 4,000 tracks, ids 1000...), and their
 * approximate index.
 */
function clusteredIndex(
  dir: string,
  { rows = 12_000, seed = 1, trackIdOf = (i: number) => 1000 + i } = {},
) {
  const vectors = clusteredRows(dir, rows, seed);
  const trackIds = Int32Array.from({ length: rows / 3 }, (_, i) => trackIdOf(i));
  const approx = buildApproxIndex({
    vectorsPath: `${dir}/rows.f32`,
    dim: DIM,
    rowsPerTrack: 3,
    trackIds,
    settings: SETTINGS,
    logger: silentLogger,
  });
  return { rows, vectors, trackIds, approx };
}

Deno.test("approxSettings: lists grow with the square root of the rows, capped; too few rows are refused", () => {
  assert.equal(approxSettings(60_000, 768).nlist, 122);
  assert.equal(approxSettings(320_000, 768).nlist, 283);
  assert.equal(approxSettings(3_000_000, 768).nlist, 512);
  assert.equal(approxSettings(3_000_000, 768).m, 48);
  assert.equal(approxSettings(3_000_000, 768).trainRows, 19_968);
  assert.deepEqual([approxSettings(320_000, 768).rerank, approxSettings(3_000_000, 768).rerank], [256, 512]);
  assert.equal(approxSettings(320_000, 768).nprobe, 8);
  assert.throws(() => approxSettings(APPROX_MIN_TRAIN_ROWS - 1, 768), /needs at least 9984 vectors/);
});

Deno.test("approximate index: exact distances after the re-rank, equal to a flat index when every row is a candidate", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { rows, vectors, trackIds, approx } = clusteredIndex(dir);
    const flat = buildVectorIndex({
      kind: "flat",
      metric: "l2",
      vectors,
      dim: DIM,
      trackIds: Array.from({ length: rows }, (_, r) => trackIds[Math.floor(r / 3)]!),
      logger: silentLogger,
    });
    const queries = vectors.slice(0, 6 * DIM).map((x, i) => x + (i % 7) * 0.01);
    const exact = flat.searchBatch(queries, 10);
    const all = approx.searchBatch(queries, 10, { nprobe: 32, rerank: rows });
    for (let q = 0; q < 6; q++) {
      assert.deepEqual(all[q]!.map((h) => h.trackId), exact[q]!.map((h) => h.trackId));
      all[q]!.forEach((h, i) => assert.ok(Math.abs(h.distance - exact[q]![i]!.distance) < 1e-3));
    }
    // The default settings find almost every true neighbour on clustered data.
    let found = 0;
    const some = approx.searchBatch(queries, 10);
    some.forEach((hits, q) => {
      const want = new Set(exact[q]!.map((h) => `${h.trackId}:${h.distance.toFixed(3)}`));
      found += hits.filter((h) => want.has(`${h.trackId}:${h.distance.toFixed(3)}`)).length;
    });
    assert.ok(found >= 0.9 * 60, `found ${found} of 60`);
    approx.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("approximate index: saved and loaded, same answers; truncated or mismatched files are named", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { rows, vectors, approx: built } = clusteredIndex(dir, {
      rows: 10_500,
      seed: 2,
      trackIdOf: (i) => 7 * i,
    });
    await Deno.mkdir(`${dir}/v1`);
    built.saveTo(`${dir}/v1`, "windows");
    const q = vectors.slice(30 * DIM, 33 * DIM);
    const before = built.searchBatch(q, 5);
    const loaded = loadApproxIndex(`${dir}/v1`, "windows");
    assert.deepEqual(loaded.searchBatch(q, 5), before);
    assert.equal(loaded.trackIds.length, rows);
    assert.equal(loaded.trackIds[5], 7);
    assert.ok(loaded.hasTrack(14) && !loaded.hasTrack(15));
    assert.equal(loadApproxIndex(`${dir}/v1`, "windows", { nprobe: 3 }).defaultNprobe, 3);
    loaded.close();
    built.close();

    // A truncated vector file, id file or faiss file: each is named.
    const cut = async (name: string, bytes: number) => {
      await Deno.copyFile(`${dir}/v1/${name}`, `${dir}/${name}.bak`);
      await Deno.truncate(`${dir}/v1/${name}`, bytes);
    };
    const restore = (name: string) => Deno.rename(`${dir}/${name}.bak`, `${dir}/v1/${name}`);
    await cut("windows.f32", 1000);
    assert.throws(() => loadApproxIndex(`${dir}/v1`, "windows"), /windows\.f32 is truncated or damaged/);
    await restore("windows.f32");
    await cut("windows.ids", 8);
    assert.throws(() => loadApproxIndex(`${dir}/v1`, "windows"), /windows\.ids is truncated or damaged/);
    await restore("windows.ids");
    await cut("windows.faiss", 5000);
    assert.throws(
      () => loadApproxIndex(`${dir}/v1`, "windows"),
      /FAISS could not read|Unexpected faiss index layout/,
    );
    await restore("windows.faiss");
    assert.ok(loadApproxIndex(`${dir}/v1`, "windows").size === rows);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("approximate index: a vector file of the wrong size or a sample too small to train is refused", async () => {
  const dir = await Deno.makeTempDir();
  try {
    clusteredRows(dir, 10_500, 3);
    const opts = { vectorsPath: `${dir}/rows.f32`, dim: DIM, rowsPerTrack: 3, logger: silentLogger };
    assert.throws(
      () => buildApproxIndex({ ...opts, trackIds: new Int32Array(3000), settings: SETTINGS }),
      /holds 1008000 bytes: 3000 tracks of 3 x 24 floats need 864000/,
    );
    assert.throws(
      () =>
        buildApproxIndex({
          ...opts,
          trackIds: new Int32Array(3500),
          settings: { ...SETTINGS, trainRows: 5000 },
        }),
      /needs at least 9984 of the 10500 vectors: got a sample of 5000/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("approximate index: searchAmong() is exact among the given tracks only (a rare genre), ignoring unknown ids", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { rows, vectors, approx } = clusteredIndex(dir);
    const among = new Set([1003, 1500, 2222, 3999, 4800, 77]); // 77 is not in the index
    const kept = [...among].filter((id) => id >= 1000 && id < 1000 + rows / 3);
    const subset = new Float32Array(kept.length * 3 * DIM);
    kept.forEach((id, i) =>
      subset.set(vectors.subarray((id - 1000) * 3 * DIM, (id - 999) * 3 * DIM), i * 3 * DIM)
    );
    const flat = buildVectorIndex({
      kind: "flat",
      metric: "l2",
      vectors: subset,
      dim: DIM,
      trackIds: kept.flatMap((id) => [id, id, id]),
      logger: silentLogger,
    });
    const queries = vectors.slice(30 * DIM, 33 * DIM);
    const got = approx.searchAmong(queries, 7, among);
    const want = flat.searchBatch(queries, 7);
    got.forEach((hits, q) => {
      assert.deepEqual(hits.map((h) => h.trackId), want[q]!.map((h) => h.trackId), `query ${q}`);
      hits.forEach((h, i) => assert.ok(Math.abs(h.distance - want[q]![i]!.distance) < 1e-3));
    });
    assert.equal(
      approx.searchAmong(queries, 100, among)[0]!.length,
      15,
      "every row of the 5 tracks, no more",
    );
    assert.deepEqual(approx.searchAmong(queries, 5, new Set([77])), [[], [], []]);
    approx.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

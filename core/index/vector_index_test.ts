import assert from "node:assert/strict";
import { isSoundalikeError } from "../errors.ts";
import { createMemoryLogger, silentLogger } from "../logger.ts";
import { buildApproxIndex } from "./approx_index.ts";
import { memoryRows, openRowFile, pickRows, RowWriter } from "./row_file.ts";
import { ErrorCode } from "../errors.ts";
import {
  buildClipIvfIndex,
  buildVectorIndex,
  buildWindowIndex,
  defaultNlist,
  defaultNprobe,
  flatIndexRows,
  IndexStore,
  ivfSupported,
  loadVectorIndex,
  MIN_IVF_VECTORS,
  saveVectorIndex,
  type VectorHit,
  type VectorIndex,
  windowIndexKindFor,
} from "./vector_index.ts";
import { mulberry32 } from "../util/random.ts";

function clustered(n: number, dim: number, clusters: number, seed: number): Float32Array {
  const r = mulberry32(seed);
  const centres = Array.from(
    { length: clusters },
    () => Float32Array.from({ length: dim }, () => r() * 4 - 2),
  );
  const out = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const c = centres[Math.floor(r() * clusters)]!;
    for (let j = 0; j < dim; j++) out[i * dim + j] = c[j]! + (r() - 0.5) * 0.8;
  }
  return out;
}

/** Track ids deliberately unlike faiss ids (0..n-1). */
function trackIdsFor(n: number): number[] {
  return Array.from({ length: n }, (_, i) => 100_000 + i * 7);
}

function bruteForce(
  base: Float32Array,
  ids: number[],
  q: Float32Array,
  dim: number,
  k: number,
  metric: "l2" | "cosine",
) {
  const norm = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  const qn = norm(q);
  const scored = ids.map((trackId, i) => {
    const row = base.subarray(i * dim, (i + 1) * dim);
    let d = 0;
    if (metric === "l2") {
      for (let j = 0; j < dim; j++) d += (row[j]! - q[j]!) ** 2;
    } else {
      let dot = 0;
      for (let j = 0; j < dim; j++) dot += row[j]! * q[j]!;
      d = 1 - dot / (norm(row) * qn); // cosine distance: same order as 2 - 2 cos
    }
    return { trackId, d };
  });
  scored.sort((a, b) => a.d - b.d || a.trackId - b.trackId);
  return scored.slice(0, k);
}

/** Same track ids in the same order, distances equal up to float rounding (faiss uses BLAS for batches). */
function assertSameHits(actual: VectorHit[][], expected: VectorHit[][], msg = ""): void {
  assert.deepEqual(
    actual.map((hits) => hits.map((h) => h.trackId)),
    expected.map((hits) => hits.map((h) => h.trackId)),
    msg,
  );
  actual.forEach((hits, q) =>
    hits.forEach((h, j) => {
      const want = expected[q]![j]!.distance;
      assert.ok(Math.abs(h.distance - want) <= 1e-4 * Math.max(1, want), `${msg}: ${h.distance} vs ${want}`);
    })
  );
}

const DIM = 24;
const N = 2000;

Deno.test("buildVectorIndex(flat) returns the exact neighbours as track ids, for l2 and cosine", () => {
  const base = clustered(N, DIM, 20, 1);
  const queries = clustered(20, DIM, 20, 2);
  const ids = trackIdsFor(N);
  for (const metric of ["l2", "cosine"] as const) {
    const index = buildVectorIndex({
      kind: "flat",
      metric,
      vectors: base,
      dim: DIM,
      trackIds: ids,
      logger: silentLogger,
    });
    assert.equal(index.size, N);
    assert.equal(index.dim, DIM);
    assert.equal(index.nlist, undefined);
    const batch = index.searchBatch(queries, 5);
    for (let q = 0; q < 20; q++) {
      const query = queries.subarray(q * DIM, (q + 1) * DIM);
      const truth = bruteForce(base, ids, query, DIM, 5, metric);
      const hits = index.search(query, 5);
      assert.deepEqual(hits.map((h) => h.trackId), truth.map((t) => t.trackId), `${metric} query ${q}`);
      assertSameHits([batch[q]!], [hits]);
      for (let j = 0; j < 5; j++) {
        const want = metric === "l2" ? truth[j]!.d : 2 * truth[j]!.d; // 2 - 2cos = 2 (1 - cos)
        assert.ok(
          Math.abs(hits[j]!.distance - want) < 1e-3 * Math.max(1, want),
          `${hits[j]!.distance} vs ${want}`,
        );
      }
    }
  }
});

Deno.test("buildVectorIndex(cosine) ignores vector length and gives 0 for the same direction", () => {
  const vectors = new Float32Array([1, 0, 0, 0, 1, 0, 3, 3, 0]);
  const index = buildVectorIndex({
    kind: "flat",
    metric: "cosine",
    vectors,
    dim: 3,
    trackIds: [1, 2, 3],
    logger: silentLogger,
  });
  const hits = index.search(new Float32Array([10, 0, 0]), 3);
  assert.equal(hits[0]!.trackId, 1);
  assert.ok(hits[0]!.distance < 1e-6);
  assert.equal(hits[1]!.trackId, 3);
  assert.ok(Math.abs(hits[1]!.distance - (2 - Math.SQRT2)) < 1e-5);
  assert.ok(Math.abs(hits[2]!.distance - 2) < 1e-5);
  assert.deepEqual([...vectors], [1, 0, 0, 0, 1, 0, 3, 3, 0], "input left unnormalised");
});

Deno.test("buildVectorIndex(ivf): recall@5 rises with nprobe and equals flat at nprobe = nlist", () => {
  const base = clustered(N, DIM, 40, 3);
  const queries = clustered(100, DIM, 40, 4);
  const ids = trackIdsFor(N);
  for (const metric of ["l2", "cosine"] as const) {
    const flat = buildVectorIndex({
      kind: "flat",
      metric,
      vectors: base,
      dim: DIM,
      trackIds: ids,
      logger: silentLogger,
    });
    const ivf = buildVectorIndex({
      kind: "ivf",
      metric,
      vectors: base,
      dim: DIM,
      trackIds: ids,
      nlist: 32,
      logger: silentLogger,
    });
    assert.equal(ivf.nlist, 32);
    assert.equal(ivf.defaultNprobe, defaultNprobe(32));
    const truth = flat.searchBatch(queries, 5);
    const recallAt = (nprobe: number) => {
      const got = ivf.searchBatch(queries, 5, { nprobe });
      let hit = 0;
      got.forEach((hits, q) => {
        const want = new Set(truth[q]!.map((h) => h.trackId));
        for (const h of hits) if (want.has(h.trackId)) hit++;
      });
      return hit / (queries.length / DIM) / 5;
    };
    const recalls = [1, 2, 4, 8, 16, 32].map(recallAt);
    for (let i = 1; i < recalls.length; i++) {
      assert.ok(recalls[i]! >= recalls[i - 1]!, `${metric}: ${recalls}`);
    }
    assert.ok(recalls[0]! < 0.95, `${metric}: nprobe 1 should lose some neighbours: ${recalls}`);
    assertSameHits(ivf.searchBatch(queries, 5, { nprobe: 32 }), truth, metric);
  }
});

Deno.test("defaultNlist() follows 4 sqrt(n) with >= 39 training points per list", () => {
  assert.equal(defaultNlist(1, 2304), 1);
  assert.equal(defaultNlist(100, 2304), 2);
  assert.equal(defaultNlist(8000, 2304), 205);
  assert.equal(defaultNlist(100_000, 2304), 1120);
  assert.equal(defaultNlist(1_000_000, 64), 4000);
  assert.equal(defaultNprobe(1), 1);
  assert.equal(defaultNprobe(4), 4);
  assert.equal(defaultNprobe(205), 8);
  assert.equal(defaultNprobe(1120), 35);
});

Deno.test("buildVectorIndex(ivf) refuses too few training vectors per list instead of letting faiss warn", () => {
  const { logger, records } = createMemoryLogger();
  const common = { kind: "ivf" as const, metric: "l2" as const, dim: DIM, logger };
  assert.throws(
    () => buildVectorIndex({ ...common, vectors: clustered(10, DIM, 2, 5), trackIds: trackIdsFor(10) }),
    /needs 39 training vectors per list: 10 vectors allow at most 0 lists/,
  );
  assert.throws(
    () =>
      buildVectorIndex({
        ...common,
        vectors: clustered(100, DIM, 2, 5),
        trackIds: trackIdsFor(100),
        nlist: 3,
      }),
    /100 vectors allow at most 2 lists/,
  );
  const ivf = buildVectorIndex({ ...common, vectors: clustered(78, DIM, 2, 5), trackIds: trackIdsFor(78) });
  assert.equal(ivf.nlist, 2);
  assert.equal(ivf.search(clustered(1, DIM, 2, 6), 500).length, 78, "k is capped at the catalog size");
  assert.ok(records.some((r) => r.msg === "Built vector index"));
  assert.ok(!records.some((r) => r.msg === "faiss output"), "faiss had nothing to warn about");
});

Deno.test("ivfSupported() asks for 16 lists of 39 training vectors", () => {
  assert.equal(MIN_IVF_VECTORS, 624);
  assert.equal(ivfSupported(623, 2304), false);
  assert.equal(ivfSupported(624, 2304), true);
  assert.equal(ivfSupported(8000, 2304), true);
  assert.equal(ivfSupported(4, 2304), false);
});

Deno.test("buildVectorIndex() rejects mismatched ids and dimensions", () => {
  assert.throws(
    () =>
      buildVectorIndex({
        kind: "flat",
        metric: "l2",
        vectors: new Float32Array(10),
        dim: 3,
        trackIds: [1, 2, 3],
        logger: silentLogger,
      }),
    RangeError,
  );
  const index = buildVectorIndex({
    kind: "flat",
    metric: "l2",
    vectors: new Float32Array(9),
    dim: 3,
    trackIds: [1, 2, 3],
    logger: silentLogger,
  });
  assert.throws(() => index.search(new Float32Array(2), 1), RangeError);
});

async function withTempDir(fn: (dir: string) => Promise<void> | void): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "vector_index_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function buildPair(n: number, seed: number): { flat: VectorIndex; ivf: VectorIndex; vectors: Float32Array } {
  const vectors = clustered(n, DIM, 8, seed);
  const ids = trackIdsFor(n);
  const common = { metric: "l2" as const, vectors, dim: DIM, trackIds: ids, logger: silentLogger };
  return {
    vectors,
    flat: buildVectorIndex({ kind: "flat", ...common }),
    ivf: buildVectorIndex({ kind: "ivf", nlist: 4, nprobe: 3, ...common }),
  };
}

function metaFor(n: number, modelsHash = "models-a") {
  return { modelsHash, metric: "l2" as const, dim: DIM, count: n, createdAt: "2026-01-01T00:00:00.000Z" };
}

Deno.test("saveVectorIndex()/loadVectorIndex() round trip keeps results, ids and nprobe", async () => {
  await withTempDir(async (dir) => {
    const { flat, ivf, vectors } = buildPair(300, 6);
    await saveVectorIndex(flat, dir, "flat");
    await saveVectorIndex(ivf, dir, "ivf");
    const flat2 = await loadVectorIndex(dir, "flat");
    const ivf2 = await loadVectorIndex(dir, "ivf");
    const queries = vectors.subarray(0, 10 * DIM);
    assert.deepEqual(flat2.searchBatch(queries, 5), flat.searchBatch(queries, 5));
    assert.deepEqual(ivf2.searchBatch(queries, 5), ivf.searchBatch(queries, 5));
    assert.deepEqual(ivf2.trackIds, ivf.trackIds);
    assert.equal(ivf2.defaultNprobe, 3);
    assert.equal(ivf2.nlist, 4);
    assert.equal((await loadVectorIndex(dir, "ivf", { defaultNprobe: 4 })).defaultNprobe, 4);
  });
});

Deno.test("IndexStore.loadCurrent() without any version is IndexMissing naming reindex", async () => {
  await withTempDir(async (dir) => {
    const store = new IndexStore(`${dir}/indexes`, { logger: silentLogger });
    await assert.rejects(store.loadCurrent(), (err: unknown) => {
      assert.ok(isSoundalikeError(err, "index_missing"));
      assert.match(err.message, /run `deno task reindex <catalog-dir>`/);
      return true;
    });
  });
});

Deno.test("IndexStore.writeVersion() swaps CURRENT, serves the new version and keeps the last 2", async () => {
  await withTempDir(async (dir) => {
    const store = new IndexStore(dir, { logger: silentLogger });
    const a = buildPair(200, 7);
    const b = buildPair(250, 8);
    const c = buildPair(300, 9);
    assert.equal(await store.writeVersion({ flat: a.flat, ivf: a.ivf, meta: metaFor(200) }), 1);
    assert.equal(await store.writeVersion({ flat: b.flat, ivf: b.ivf, meta: metaFor(250) }), 2);
    assert.equal(await store.writeVersion({ flat: c.flat, ivf: c.ivf, meta: metaFor(300, "models-b") }), 3);
    assert.equal((await Deno.readTextFile(`${dir}/CURRENT`)).trim(), "v3");
    assert.deepEqual(await store.listVersions(), [2, 3]);
    const loaded = await store.loadCurrent({ expectModelsHash: "models-b" });
    assert.equal(loaded.version, 3);
    assert.equal(loaded.meta.count, 300);
    assert.equal((await loaded.flat()).size, 300);
    assert.equal((await loaded.ivf()).defaultNprobe, 3);
    const q = c.vectors.subarray(5 * DIM, 6 * DIM);
    assert.equal((await loaded.flat()).search(q, 1)[0]!.trackId, trackIdsFor(300)[5]);
    await assert.rejects(
      store.loadCurrent({ expectModelsHash: "models-a" }),
      (err: unknown) =>
        isSoundalikeError(err, "index_missing") && /other models.*deno task reindex/.test(err.message),
    );
  });
});

Deno.test("IndexStore: a crash mid-build leaves the old version serving; the next build cleans up", async () => {
  await withTempDir(async (dir) => {
    const store = new IndexStore(dir, { logger: silentLogger });
    const a = buildPair(200, 10);
    const b = buildPair(220, 11);
    await store.writeVersion({ flat: a.flat, ivf: a.ivf, meta: metaFor(200) });
    await assert.rejects(
      store.writeVersion({ flat: b.flat, ivf: b.ivf, meta: metaFor(220) }, {
        afterFile: (path) => {
          if (path.endsWith("ivf.faiss")) throw new Error("simulated crash");
        },
      }),
      /simulated crash/,
    );
    // A failure the process sees removes the partial version at once (its space is freed)...
    await assert.rejects(Deno.stat(`${dir}/v2.tmp`), Deno.errors.NotFound);
    assert.equal((await Deno.readTextFile(`${dir}/CURRENT`)).trim(), "v1");
    // ...a crash (the process killed) leaves it to the next build.
    await Deno.mkdir(`${dir}/v2.tmp`);
    await Deno.writeTextFile(`${dir}/v2.tmp/flat.faiss`, "partial");
    const served = await store.loadCurrent();
    assert.equal(served.version, 1);
    assert.equal(served.meta.count, 200);

    const { logger, records } = createMemoryLogger();
    const store2 = new IndexStore(dir, { logger });
    assert.equal(await store2.writeVersion({ flat: b.flat, ivf: b.ivf, meta: metaFor(220) }), 2);
    assert.ok(records.some((r) => r.msg === "Removing an unfinished index build"));
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    assert.deepEqual(names.sort(), ["CURRENT", "v1", "v2"]);
    assert.equal((await store2.loadCurrent()).meta.count, 220);
  });
});

Deno.test("IndexStore reports a damaged version as IndexMissing: flat at load, IVF when first used", async () => {
  await withTempDir(async (dir) => {
    const store = new IndexStore(dir, { logger: silentLogger, reindexHint: "data/catalog" });
    const a = buildPair(200, 12);
    await store.writeVersion({ flat: a.flat, ivf: a.ivf, meta: metaFor(200) });
    const missing = (err: unknown) =>
      isSoundalikeError(err, "index_missing") && /deno task reindex data\/catalog/.test(err.message);
    await Deno.remove(`${dir}/v1/ivf.faiss`);
    const loaded = await store.loadCurrent();
    await assert.rejects(loaded.ivf(), missing);
    await Deno.remove(`${dir}/v1/flat.faiss`);
    await assert.rejects(store.loadCurrent(), missing);
  });
});

Deno.test("IndexStore.loadCurrent() reads no index until a search asks for it", async () => {
  await withTempDir(async (dir) => {
    const store = new IndexStore(dir, { logger: silentLogger });
    const a = buildPair(200, 14);
    await store.writeVersion({ flat: a.flat, ivf: a.ivf, meta: metaFor(200) });
    // Damaged vectors under intact metadata: opening the version does not notice, the first use does.
    await Deno.writeFile(`${dir}/v1/flat.faiss`, new Uint8Array(64));
    const loaded = await store.loadCurrent();
    assert.equal(loaded.meta.count, 200);
    assert.equal((await loaded.ivf()).size, 200, "the other indexes still serve");
    await assert.rejects(loaded.flat(), (err: unknown) => isSoundalikeError(err, "index_missing"));
  });
});

Deno.test("IndexStore.writeVersion() refuses indexes that disagree with each other or the metadata", async () => {
  await withTempDir(async (dir) => {
    const store = new IndexStore(dir, { logger: silentLogger });
    const a = buildPair(200, 13);
    const b = buildPair(200, 14);
    await assert.rejects(store.writeVersion({ flat: a.flat, ivf: a.ivf, meta: metaFor(201) }), /disagrees/);
    await assert.rejects(store.writeVersion({ flat: a.ivf, ivf: a.flat, meta: metaFor(200) }), TypeError);
    const shuffled = buildVectorIndex({
      kind: "ivf",
      metric: "l2",
      vectors: b.vectors,
      dim: DIM,
      trackIds: trackIdsFor(200).reverse(),
      nlist: 4,
      logger: silentLogger,
    });
    await assert.rejects(
      store.writeVersion({ flat: a.flat, ivf: shuffled, meta: metaFor(200) }),
      /different tracks/,
    );
    assert.equal(await store.currentVersion(), undefined);
  });
});

Deno.test("IndexStore: a version without an IVF index serves ivf from the flat index, said once at load", async () => {
  await withTempDir(async (dir) => {
    const { logger, records } = createMemoryLogger();
    const store = new IndexStore(dir, { logger });
    const a = buildPair(200, 15);
    assert.equal(await store.writeVersion({ flat: a.flat, ivf: undefined, meta: metaFor(200) }), 1);
    const names = [];
    for await (const e of Deno.readDir(`${dir}/v1`)) names.push(e.name);
    assert.deepEqual(names.sort(), ["flat.faiss", "flat.json", "meta.json"]);
    const loaded = await store.loadCurrent();
    assert.equal(await loaded.ivf(), await loaded.flat());
    assert.equal((await loaded.ivf()).kind, "flat");
    assert.deepEqual(loaded.meta.kinds, ["flat"]);
    const q = a.vectors.subarray(0, 3 * DIM);
    assert.deepEqual((await loaded.ivf()).searchBatch(q, 5, { nprobe: 1 }), a.flat.searchBatch(q, 5));
    const info = records.filter((r) => r.level === "info" && /too few for an IVF index/.test(r.msg));
    assert.equal(info.length, 1);
    assert.equal(
      info[0]!.msg,
      "The catalog's 200 tracks are too few for an IVF index (it needs 624): ivf searches use the exact index",
    );
    // A version with both says nothing of the kind.
    await store.writeVersion({ flat: a.flat, ivf: a.ivf, meta: metaFor(200) });
    const both = await store.loadCurrent();
    assert.equal((await both.ivf()).kind, "ivf");
    assert.deepEqual(both.meta.kinds, ["flat", "ivf"]);
    assert.equal(records.filter((r) => /too few for an IVF index/.test(r.msg)).length, 1);
  });
});

Deno.test("IndexStore keeps an optional window index, loaded only when asked for", async () => {
  await withTempDir(async (dir) => {
    const store = new IndexStore(dir, { logger: silentLogger });
    const a = buildPair(200, 12);
    const rows = clustered(600, 6, 8, 13);
    const rowIds = trackIdsFor(200).flatMap((id) => [id, id, id]);
    const windows = buildVectorIndex({
      kind: "flat",
      metric: "l2",
      vectors: rows,
      dim: 6,
      trackIds: rowIds,
      logger: silentLogger,
    });
    await store.writeVersion({ flat: a.flat, ivf: a.ivf, windows, meta: metaFor(200) });
    const loaded = await store.loadCurrent();
    assert.equal(loaded.meta.windows, true);
    const w = await loaded.windows();
    assert.equal(w?.size, 600);
    assert.equal(w!.search(rows.subarray(7 * 6, 8 * 6), 1)[0]!.trackId, rowIds[7]);
    assert.equal(await loaded.windows(), w, "loaded once");
    await store.writeVersion({ flat: a.flat, ivf: a.ivf, meta: metaFor(200) });
    assert.equal(await (await store.loadCurrent()).windows(), undefined, "a version without one");
    await assert.rejects(
      store.writeVersion({ flat: a.flat, ivf: a.ivf, windows: a.flat, meta: metaFor(200) }),
      /three rows per track/,
    );
  });
});

// Issue 13: the approximate window index (IVF-PQ + exact re-rank from windows.f32) in the store.

const APPROX_SETTINGS = { nlist: 32, m: 8, nprobe: 8, rerank: 64, trainRows: 9984 };

/** An approximate window index of `tracks` tracks (3 rows of DIM floats each), built in `dir`. */
function approxWindows(dir: string, tracks: number, seed: number) {
  const rows = clustered(3 * tracks, DIM, 40, seed);
  const writer = new RowWriter(`${dir}/build_windows.f32`, DIM);
  writer.write(rows);
  writer.close();
  const index = buildApproxIndex({
    vectorsPath: writer.path,
    dim: DIM,
    rowsPerTrack: 3,
    trackIds: Int32Array.from(trackIdsFor(tracks)),
    settings: APPROX_SETTINGS,
    logger: silentLogger,
  });
  return { index, rows };
}

Deno.test("windowIndexKindFor(): exact below 20,000 tracks, approximate above, flat when too few to train", () => {
  assert.equal(windowIndexKindFor(8000), "flat");
  assert.equal(windowIndexKindFor(19_999), "flat");
  assert.equal(windowIndexKindFor(20_000), "approx");
  assert.equal(windowIndexKindFor(106_574), "approx");
  assert.equal(windowIndexKindFor(1_000_000, "flat"), "flat");
  assert.equal(windowIndexKindFor(4000, "approx"), "approx");
  // 3,000 tracks are 9,000 window rows, fewer than PQ training needs: a forced approx falls back.
  assert.equal(windowIndexKindFor(3000, "approx"), "flat");
});

Deno.test("IndexStore: an approximate window index is written, served with exact distances, and said in the metadata", async () => {
  await withTempDir(async (dir) => {
    const store = new IndexStore(`${dir}/indexes`, { logger: silentLogger });
    const tracks = 3400;
    const a = buildPair(tracks, 21);
    const work = await store.prepareBuildDir();
    const { index, rows } = approxWindows(work, tracks, 22);
    await store.writeVersion({ flat: a.flat, ivf: a.ivf, windows: index, meta: metaFor(tracks) });
    const names = [];
    for await (const e of Deno.readDir(`${dir}/indexes`)) names.push(e.name);
    assert.deepEqual(names.sort(), ["CURRENT", "v1"], "the build folder is gone");
    const loaded = await store.loadCurrent({ windowNprobe: 32, windowRerank: 10_200 });
    assert.equal(loaded.meta.windowIndex?.kind, "approx");
    assert.match(loaded.meta.windowIndex!.detail, /^IVF32,PQ8 \+ exact re-rank of 64 \(nprobe 8\)$/);
    const w = (await loaded.windows())!;
    assert.equal(w.size, 3 * tracks);
    const flat = buildVectorIndex({
      kind: "flat",
      metric: "l2",
      vectors: rows,
      dim: DIM,
      trackIds: trackIdsFor(tracks).flatMap((id) => [id, id, id]),
      logger: silentLogger,
    });
    const q = rows.subarray(300 * DIM, 303 * DIM);
    assertSameHits(w.searchBatch(q, 9), flat.searchBatch(q, 9), "every row a candidate");
  });
});

Deno.test("IndexStore: a disk that fills while the window index is written leaves the old version serving, space freed", async () => {
  await withTempDir(async (dir) => {
    const store = new IndexStore(`${dir}/indexes`, { logger: silentLogger });
    const old = buildPair(200, 23);
    await store.writeVersion({ flat: old.flat, ivf: old.ivf, meta: metaFor(200) });
    const tracks = 3400;
    const a = buildPair(tracks, 24);
    const { index } = approxWindows(await store.prepareBuildDir(), tracks, 25);
    const full = Object.assign(new Error("No space left on device (os error 28)"), { code: "ENOSPC" });
    await assert.rejects(
      store.writeVersion({ flat: a.flat, ivf: a.ivf, windows: index, meta: metaFor(tracks) }, {
        afterFile: (path) => {
          if (path.endsWith("windows.faiss")) throw full;
        },
      }),
      /No space left on device/,
    );
    await assert.rejects(Deno.stat(`${dir}/indexes/v2.tmp`), Deno.errors.NotFound);
    const served = await store.loadCurrent();
    assert.equal(served.version, 1);
    assert.equal(served.meta.count, 200);
    // The next reindex repairs: a fresh build publishes.
    const again = approxWindows(await store.prepareBuildDir(), tracks, 25);
    assert.equal(
      await store.writeVersion({ flat: a.flat, ivf: a.ivf, windows: again.index, meta: metaFor(tracks) }),
      2,
    );
    assert.equal((await (await store.loadCurrent()).windows())?.size, 3 * tracks);
  });
});

Deno.test("IndexStore: a truncated window vector file is one clear error line, whole clips answer, a reindex repairs", async () => {
  await withTempDir(async (dir) => {
    const { logger, records } = createMemoryLogger();
    const store = new IndexStore(`${dir}/indexes`, { logger, reindexHint: "music/" });
    const tracks = 3400;
    const a = buildPair(tracks, 26);
    const { index } = approxWindows(await store.prepareBuildDir(), tracks, 27);
    await store.writeVersion({ flat: a.flat, ivf: a.ivf, windows: index, meta: metaFor(tracks) });
    index.close();
    await Deno.truncate(`${dir}/indexes/v1/windows.f32`, 4096);
    const loaded = await store.loadCurrent();
    assert.equal(await loaded.windows(), undefined);
    const line = records.find((r) => r.level === "error");
    assert.match(line!.msg, /windows\.f32 is truncated or damaged: 4096 bytes where 979200 were written/);
    assert.match(
      line!.msg,
      /whole clips answer segment searches until `deno task reindex music\/` rebuilds it/,
    );
    assert.equal((await loaded.flat()).size, tracks, "the whole-clip index still serves");

    // The catalog shrank below the approximate index's minimum: the next reindex writes a flat one.
    const small = buildPair(300, 28);
    const windows = buildVectorIndex({
      kind: windowIndexKindFor(300, "approx") === "flat" ? "flat" : "ivf",
      metric: "l2",
      vectors: clustered(900, DIM, 8, 29),
      dim: DIM,
      trackIds: trackIdsFor(300).flatMap((id) => [id, id, id]),
      logger: silentLogger,
    });
    await store.writeVersion({ flat: small.flat, ivf: small.ivf, windows, meta: metaFor(300) });
    const now = await store.loadCurrent();
    assert.deepEqual(now.meta.windowIndex, { kind: "flat", detail: "exact" });
    assert.equal((await now.windows())?.kind, "flat");
  });
});

Deno.test("IndexStore: a version from other models is refused with the reindex command, never served", async () => {
  await withTempDir(async (dir) => {
    const store = new IndexStore(`${dir}/indexes`, { logger: silentLogger });
    const tracks = 3400;
    const a = buildPair(tracks, 30);
    const { index } = approxWindows(await store.prepareBuildDir(), tracks, 31);
    await store.writeVersion({
      flat: a.flat,
      ivf: a.ivf,
      windows: index,
      meta: metaFor(tracks, "models-old"),
    });
    await assert.rejects(store.loadCurrent({ expectModelsHash: "models-new" }), (err) => {
      assert.ok(isSoundalikeError(err, ErrorCode.IndexMissing));
      assert.match(err.message, /built with other models: run `deno task reindex/);
      return true;
    });
  });
});

Deno.test("IndexStore: past its threshold the whole-clip IVF index is approximate, stored, loaded and exact after the re-rank", async () => {
  await withTempDir(async (dir) => {
    const store = new IndexStore(`${dir}/indexes`, { logger: silentLogger });
    const n = 10_000;
    const vectors = clustered(n, DIM, 40, 32);
    const common = {
      metric: "l2" as const,
      vectors,
      dim: DIM,
      trackIds: trackIdsFor(n),
      logger: silentLogger,
    };
    const flat = buildVectorIndex({ ...common, kind: "flat" });
    assert.equal(buildClipIvfIndex({ ...common, approxFrom: 20_000 })?.constructor.name, "FaissVectorIndex");
    const ivf = buildClipIvfIndex({ ...common, approxFrom: 5000, workDir: await store.prepareBuildDir() })!;
    await store.writeVersion({ flat, ivf, meta: metaFor(n) });
    const loaded = await store.loadCurrent();
    assert.match(loaded.meta.clipIvf ?? "", /^IVF64,PQ1 \+ exact re-rank of 256/);
    const served = await loaded.ivf();
    const q = vectors.subarray(40 * DIM, 45 * DIM);
    const want = flat.searchBatch(q, 5);
    const got = served.searchBatch(q, 5);
    let same = 0;
    got.forEach((hits, i) => (same += hits.filter((h, j) => h.trackId === want[i]![j]!.trackId).length));
    assert.ok(same >= 23, `${same} of 25 in place`);
    assert.ok(Math.abs(got[0]![0]!.distance - want[0]![0]!.distance) < 1e-4, "exact distances");
  });
});

Deno.test("flatIndexRows(): an exact index streamed from rows on disk is faiss's own file, for l2 and cosine", async () => {
  await withTempDir(async (dir) => {
    const n = 700;
    const vectors = clustered(n, DIM, 10, 41);
    const writer = new RowWriter(`${dir}/rows.f32`, DIM);
    // Written in reverse, read back in order through a view: what a reindex's run file looks like.
    for (let i = n - 1; i >= 0; i--) writer.write(vectors.subarray(i * DIM, (i + 1) * DIM));
    writer.close();
    const file = openRowFile(`${dir}/rows.f32`, DIM);
    try {
      const inOrder = pickRows(file, Int32Array.from({ length: n }, (_, i) => n - 1 - i));
      for (const metric of ["l2", "cosine"] as const) {
        const common = { metric, dim: DIM, trackIds: trackIdsFor(n), logger: silentLogger };
        const built = buildVectorIndex({ ...common, kind: "flat", vectors });
        await saveVectorIndex(built, dir, `built-${metric}`);
        await saveVectorIndex(flatIndexRows({ ...common, vectors: inOrder }), dir, `streamed-${metric}`);
        assert.deepEqual(
          Deno.readFileSync(`${dir}/streamed-${metric}.faiss`),
          Deno.readFileSync(`${dir}/built-${metric}.faiss`),
          `${metric}: byte for byte`,
        );
        const loaded = await loadVectorIndex(dir, `streamed-${metric}`);
        const q = vectors.subarray(3 * DIM, 8 * DIM);
        assert.deepEqual(loaded.searchBatch(q, 5), built.searchBatch(q, 5));
      }
    } finally {
      file.close();
    }
  });
});

Deno.test("the window and clip indexes built from rows on disk equal those built from memory", async () => {
  await withTempDir((dir) => {
    const n = 700; // enough for an IVF index (624)
    const dim = 2304;
    const vectors = clustered(n, dim, 8, 43);
    const writer = new RowWriter(`${dir}/clips.f32`, dim);
    writer.write(vectors);
    writer.close();
    const file = openRowFile(`${dir}/clips.f32`, dim);
    try {
      const common = { dim, trackIds: trackIdsFor(n), logger: silentLogger };
      const stages: string[] = [];
      const progress = { start: (_: number, label: string) => stages.push(label), update() {}, stop() {} };
      const fromMemory = buildWindowIndex({ ...common, vectors });
      const fromFile = buildWindowIndex({ ...common, vectors: file, progress });
      const q = clustered(4, 768, 8, 44);
      assert.deepEqual(fromFile.searchBatch(q, 7), fromMemory.searchBatch(q, 7));
      assert.deepEqual(stages, ["writing window rows"]);
      const ivfCommon = { ...common, metric: "l2" as const, nprobe: 2 };
      const ivfMemory = buildClipIvfIndex({ ...ivfCommon, vectors: memoryRows(vectors, dim) })!;
      const ivfFile = buildClipIvfIndex({ ...ivfCommon, vectors: file, progress })!;
      const cq = vectors.subarray(0, 3 * dim);
      assert.deepEqual(ivfFile.searchBatch(cq, 5), ivfMemory.searchBatch(cq, 5));
      assert.deepEqual(stages, ["writing window rows", "training the clip index"]);
    } finally {
      file.close();
    }
  });
});

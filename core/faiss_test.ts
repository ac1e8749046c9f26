import assert from "node:assert/strict";
import {
  createFlatIndex,
  createIvfFlatIndex,
  deserializeIndex,
  type FaissMetric,
  NPROBE_CACHE_SIZE,
  patchIvfNprobe,
  patchIvfNprobeFile,
  readFaissHeader,
  readIndexFile,
  readNlist,
  withNprobe,
} from "./faiss.ts";
import { mulberry32 } from "./random.ts";

/** `n` points around `clusters` seeded centres. */
function clustered(n: number, dim: number, clusters: number, seed: number): Float32Array {
  const r = mulberry32(seed);
  const centres = Array.from({ length: clusters }, () => Float32Array.from({ length: dim }, () => r() * 10));
  const out = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const c = centres[Math.floor(r() * clusters)]!;
    for (let j = 0; j < dim; j++) out[i * dim + j] = c[j]! + r() - 0.5;
  }
  return out;
}

function bruteForce(base: Float32Array, q: Float32Array, dim: number, k: number, metric: FaissMetric) {
  const n = base.length / dim;
  const scored: { id: number; score: number }[] = [];
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < dim; j++) {
      const a = base[i * dim + j]!, b = q[j]!;
      s += metric === "l2" ? (a - b) * (a - b) : a * b;
    }
    scored.push({ id: i, score: s });
  }
  scored.sort((x, y) => metric === "l2" ? x.score - y.score : y.score - x.score);
  return scored.slice(0, k);
}

function recall(got: Int32Array, truth: Int32Array, k: number): number {
  let hit = 0;
  for (let q = 0; q < truth.length / k; q++) {
    const want = new Set(truth.subarray(q * k, q * k + k));
    for (const id of got.subarray(q * k, q * k + k)) if (want.has(id)) hit++;
  }
  return hit / truth.length;
}

const DIM = 16;

for (const metric of ["l2", "ip"] as const) {
  Deno.test(`createFlatIndex(${metric}) returns the brute-force neighbours and scores`, () => {
    const base = clustered(400, DIM, 8, 1);
    const queries = clustered(10, DIM, 8, 2);
    const index = createFlatIndex(DIM, metric);
    index.add(base);
    assert.equal(index.size, 400);
    const k = 5;
    const res = index.search(queries, k);
    for (let q = 0; q < 10; q++) {
      const truth = bruteForce(base, queries.subarray(q * DIM, q * DIM + DIM), DIM, k, metric);
      assert.deepEqual([...res.labels.subarray(q * k, q * k + k)], truth.map((t) => t.id));
      for (let j = 0; j < k; j++) {
        const rel = Math.abs(res.distances[q * k + j]! - truth[j]!.score) /
          Math.max(1, Math.abs(truth[j]!.score));
        assert.ok(rel < 1e-4, `score ${res.distances[q * k + j]} vs ${truth[j]!.score}`);
      }
    }
  });

  Deno.test(`withNprobe() on IVF ${metric}: recall rises with nprobe and equals flat at nprobe = nlist`, () => {
    const base = clustered(3000, DIM, 40, 3);
    const queries = clustered(100, DIM, 40, 4);
    const k = 5;
    const flat = createFlatIndex(DIM, metric);
    flat.add(base);
    const truth = flat.search(queries, k).labels;
    const nlist = 32;
    const ivf = createIvfFlatIndex(DIM, metric, nlist);
    assert.equal(ivf.isTrained, false);
    ivf.train(base);
    ivf.add(base);
    assert.equal(readNlist(ivf), nlist);
    const recalls = [1, 2, 4, 8, 16, nlist].map((np) => {
      const idx = withNprobe(ivf, np);
      assert.equal(idx.nprobe, np);
      assert.equal(readFaissHeader(idx.serialize()).nprobe, np);
      return recall(idx.search(queries, k).labels, truth, k);
    });
    for (let i = 1; i < recalls.length; i++) assert.ok(recalls[i]! >= recalls[i - 1]!, `recalls ${recalls}`);
    assert.ok(recalls[0]! < 0.9, `nprobe 1 should miss neighbours on this data: ${recalls}`);
    assert.equal(recalls.at(-1), 1);
    // The exact same ids, in the same order, as the flat index at nprobe = nlist.
    assert.deepEqual([...withNprobe(ivf, nlist).search(queries, k).labels], [...truth]);
    // Cached per nprobe; clamped to nlist.
    assert.equal(ivf.withNprobe(4), ivf.withNprobe(4));
    assert.equal(ivf.withNprobe(nlist * 10), ivf.withNprobe(nlist));
  });

  Deno.test(`readFaissHeader() reads the IVF ${metric} layout (tag, metric, nlist, nprobe)`, () => {
    const ivf = createIvfFlatIndex(DIM, metric, 4);
    ivf.train(clustered(400, DIM, 4, 5));
    ivf.add(clustered(50, DIM, 4, 6));
    const header = readFaissHeader(ivf.serialize());
    assert.deepEqual(
      { ...header, nprobeOffset: undefined },
      {
        tag: "IwFl",
        kind: "ivf",
        metric,
        dim: DIM,
        ntotal: 50,
        isTrained: true,
        nlist: 4,
        nprobe: 1,
        nprobeOffset: undefined,
      },
    );
    const flatHeader = readFaissHeader(createFlatIndex(DIM, metric).serialize());
    assert.equal(flatHeader.tag, metric === "l2" ? "IxF2" : "IxFI");
    assert.equal(flatHeader.kind, "flat");
    assert.equal(flatHeader.nlist, undefined);
  });
}

Deno.test("serialize()/deserializeIndex() round trip keeps vectors, kind, metric and nprobe", () => {
  const base = clustered(500, DIM, 10, 7);
  const queries = clustered(5, DIM, 10, 8);
  const ivf = createIvfFlatIndex(DIM, "ip", 8);
  ivf.train(base);
  ivf.add(base);
  const tuned = ivf.withNprobe(3);
  const back = deserializeIndex(tuned.serialize());
  assert.equal(back.kind, "ivf");
  assert.equal(back.metric, "ip");
  assert.equal(back.size, 500);
  assert.equal(back.nlist, 8);
  assert.equal(back.nprobe, 3);
  assert.deepEqual(back.search(queries, 5), tuned.search(queries, 5));

  const flat = createFlatIndex(DIM, "l2");
  flat.add(base);
  const flatBack = deserializeIndex(flat.serialize());
  assert.equal(flatBack.kind, "flat");
  assert.deepEqual(flatBack.search(queries, 5), flat.search(queries, 5));
});

Deno.test("add() in several batches gives consecutive ids, at 2304 dims", () => {
  const dim = 2304;
  const base = clustered(600, dim, 5, 9);
  const index = createFlatIndex(dim, "l2");
  index.add(base.subarray(0, 250 * dim));
  index.add(base.subarray(250 * dim));
  assert.equal(index.size, 600);
  const res = index.search(base.subarray(599 * dim), 1);
  assert.equal(res.labels[0], 599);
  assert.equal(index.search(base.subarray(3 * dim, 4 * dim), 1).labels[0], 3);
});

Deno.test("train()/add()/search() read Float32Array subarrays at a non-zero byteOffset in place", () => {
  const n = 500, nq = 12, k = 4;
  const base = clustered(n, DIM, 10, 21);
  const queries = clustered(nq, DIM, 10, 22);
  // Views 7 floats into buffers of junk (not a multiple of DIM, so a wrong offset shifts every row).
  const junk = 1e6;
  const baseBuffer = new Float32Array(7 + base.length + 9).fill(junk);
  const baseView = baseBuffer.subarray(7, 7 + base.length);
  baseView.set(base);
  const queryBuffer = new Float32Array(7 + queries.length + 9).fill(-junk);
  const queryView = queryBuffer.subarray(7, 7 + queries.length);
  queryView.set(queries);
  assert.equal(baseView.byteOffset, 28);
  assert.equal(queryView.byteOffset, 28);

  const flat = createFlatIndex(DIM, "l2");
  flat.add(baseView);
  assert.equal(flat.size, n);
  const res = flat.search(queryView, k);
  assert.ok(res.distances instanceof Float32Array && res.labels instanceof Int32Array);
  assert.equal(res.distances.length, nq * k);
  assert.equal(res.labels.length, nq * k);
  for (let q = 0; q < nq; q++) {
    const truth = bruteForce(base, queries.subarray(q * DIM, q * DIM + DIM), DIM, k, "l2");
    assert.deepEqual([...res.labels.subarray(q * k, q * k + k)], truth.map((t) => t.id));
    for (let j = 0; j < k; j++) {
      const rel = Math.abs(res.distances[q * k + j]! - truth[j]!.score) / Math.max(1, truth[j]!.score);
      assert.ok(rel < 1e-4, `score ${res.distances[q * k + j]} vs ${truth[j]!.score}`);
    }
  }
  // The same search through a zero-offset copy agrees exactly.
  assert.deepEqual(flat.search(queries.slice(), k), res);

  // IVF: trained and filled from the view; at nprobe = nlist it is exact, so it matches flat.
  const nlist = 8;
  const ivf = createIvfFlatIndex(DIM, "l2", nlist);
  ivf.train(baseView);
  ivf.add(baseView);
  assert.equal(ivf.size, n);
  assert.deepEqual([...ivf.withNprobe(nlist).search(queryView, k).labels], [...res.labels]);
  // The inputs were only read.
  assert.deepEqual(baseView, base);
  assert.ok(baseBuffer.subarray(0, 7).every((v) => v === junk));
});

Deno.test("search() returns -1 labels where an IVF search finds fewer than k vectors", () => {
  // Two far-apart clusters of 40 in two lists: at nprobe 1 a query sees only its own cluster.
  const base = new Float32Array(80 * DIM);
  for (let i = 0; i < 80; i++) base.fill(i < 40 ? i * 0.01 : 100 + i * 0.01, i * DIM, (i + 1) * DIM);
  const ivf = createIvfFlatIndex(DIM, "l2", 2);
  ivf.train(base);
  ivf.add(base);
  const res = ivf.search(base.subarray(0, DIM), 42);
  assert.deepEqual([...res.labels], [...Array.from({ length: 40 }, (_, i) => i), -1, -1]);
  assert.ok(res.distances.subarray(0, 40).every(Number.isFinite));
});

Deno.test("patchIvfNprobe() rejects a flat index, garbage and an unexpected layout", () => {
  const flat = createFlatIndex(DIM, "l2");
  flat.add(clustered(10, DIM, 2, 10));
  assert.throws(() => patchIvfNprobe(flat.serialize(), 4), /not an IVF index/);
  assert.throws(
    () => patchIvfNprobe(new TextEncoder().encode("x".repeat(80)), 4),
    /Unexpected faiss index layout/,
  );
  assert.throws(() => patchIvfNprobe(new Uint8Array(10), 4), /too short/);

  const ivf = createIvfFlatIndex(DIM, "l2", 4);
  ivf.train(clustered(400, DIM, 4, 11));
  const good = ivf.serialize();
  assert.throws(() => patchIvfNprobe(good, 0), RangeError);
  // A metric type > 1 would shift the layout by a float metric_arg: refused.
  const withMetric = good.slice();
  new DataView(withMetric.buffer).setInt32(33, 2, true);
  assert.throws(() => patchIvfNprobe(withMetric, 4), /metric type 2/);
  // The quantizer must match the metric (IVF-IP has an IxFI quantizer).
  const wrongQuantizer = good.slice();
  wrongQuantizer.set(new TextEncoder().encode("IxFI"), 53);
  assert.throws(() => patchIvfNprobe(wrongQuantizer, 4), /quantizer tag/);
  const badReserved = good.slice();
  badReserved[16] = 7;
  assert.throws(() => patchIvfNprobe(badReserved, 4), /reserved/);
  // The original is untouched and the patch lands where faiss reads it.
  const patched = patchIvfNprobe(good, 3);
  assert.equal(readFaissHeader(good).nprobe, 1);
  assert.equal(deserializeIndex(patched).nprobe, 3);
});

Deno.test("patchIvfNprobeFile() patches a file in place and refuses a flat file", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const ivf = createIvfFlatIndex(DIM, "ip", 4);
    ivf.train(clustered(400, DIM, 4, 12));
    ivf.writeFile(`${dir}/ivf.faiss`);
    patchIvfNprobeFile(`${dir}/ivf.faiss`, 2);
    assert.equal(readIndexFile(`${dir}/ivf.faiss`).nprobe, 2);
    createFlatIndex(DIM, "ip").writeFile(`${dir}/flat.faiss`);
    assert.throws(() => patchIvfNprobeFile(`${dir}/flat.faiss`, 2), /not an IVF index/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("withNprobe() caches at most two copies, dropping the least recently used", () => {
  assert.equal(NPROBE_CACHE_SIZE, 2);
  const base = clustered(600, DIM, 8, 5);
  const ivf = createIvfFlatIndex(DIM, "l2", 8);
  ivf.train(base);
  ivf.add(base);
  const two = ivf.withNprobe(2);
  const three = ivf.withNprobe(3);
  assert.equal(ivf.withNprobe(2), two, "a cached copy is reused");
  // 2 was used last, so adding 4 drops 3.
  const four = ivf.withNprobe(4);
  assert.equal(ivf.withNprobe(2), two);
  assert.equal(ivf.withNprobe(4), four);
  const threeAgain = ivf.withNprobe(3);
  assert.notEqual(threeAgain, three, "the evicted copy is made afresh");
  assert.equal(threeAgain.nprobe, 3);
  // Now 3 and 4 are cached (2 was the least recently used).
  assert.equal(ivf.withNprobe(4), four);
  assert.notEqual(ivf.withNprobe(2), two);
  // A dropped copy its caller still holds keeps working.
  const queries = clustered(5, DIM, 8, 6);
  assert.deepEqual([...three.search(queries, 3).labels], [...threeAgain.search(queries, 3).labels]);
  // The index's own nprobe needs no copy.
  assert.equal(ivf.withNprobe(1), ivf);
});

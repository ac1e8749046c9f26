import assert from "node:assert/strict";
import {
  createFlatIndex,
  createIvfFlatIndex,
  FaissError,
  type FaissIndex,
  faissMessage,
  type FaissMetric,
  readFaissHeader,
  readIndexFile,
} from "./faiss.ts";
import { createMemoryLogger } from "../logger.ts";
import { mulberry32 } from "../util/random.ts";

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

function withTempDir<T>(fn: (dir: string) => T): T {
  const dir = Deno.makeTempDirSync({ prefix: "faiss_test_" });
  try {
    return fn(dir);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

/** The bytes faiss writes for an index. */
function fileBytes(index: FaissIndex): Uint8Array {
  return withTempDir((dir) => {
    index.writeFile(`${dir}/index.faiss`);
    return Deno.readFileSync(`${dir}/index.faiss`);
  });
}

/** The index written to a file and read back. */
function roundTrip(index: FaissIndex): FaissIndex {
  return withTempDir((dir) => {
    index.writeFile(`${dir}/index.faiss`);
    return readIndexFile(`${dir}/index.faiss`);
  });
}

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

  Deno.test(`search({ nprobe }) on IVF ${metric}: recall rises with nprobe and equals flat at nprobe = nlist`, () => {
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
    assert.equal(ivf.nlist, nlist);
    assert.equal(ivf.nprobe, 1, "faiss's default");
    const recalls = [1, 2, 4, 8, 16, nlist].map((np) => {
      const labels = ivf.search(queries, k, { nprobe: np }).labels;
      assert.equal(ivf.nprobe, np, "set on the index itself");
      return recall(labels, truth, k);
    });
    for (let i = 1; i < recalls.length; i++) assert.ok(recalls[i]! >= recalls[i - 1]!, `recalls ${recalls}`);
    assert.ok(recalls[0]! < 0.9, `nprobe 1 should miss neighbours on this data: ${recalls}`);
    assert.equal(recalls.at(-1), 1);
    // The exact same ids, in the same order, as the flat index at nprobe = nlist.
    assert.deepEqual([...ivf.search(queries, k, { nprobe: nlist }).labels], [...truth]);
    // A search without nprobe keeps the one set last.
    ivf.setNprobe(2);
    assert.deepEqual(ivf.search(queries, k), ivf.search(queries, k, { nprobe: 2 }));
  });

  Deno.test(`readFaissHeader() reads the IVF ${metric} layout (tag, metric, nlist, nprobe)`, () => {
    const ivf = createIvfFlatIndex(DIM, metric, 4);
    ivf.train(clustered(400, DIM, 4, 5));
    ivf.add(clustered(50, DIM, 4, 6));
    const header = readFaissHeader(fileBytes(ivf));
    assert.deepEqual(
      header,
      {
        tag: "IwFl",
        kind: "ivf",
        metric,
        dim: DIM,
        ntotal: 50,
        isTrained: true,
        nlist: 4,
        nprobe: 1,
      },
    );
    const flatHeader = readFaissHeader(fileBytes(createFlatIndex(DIM, metric)));
    assert.equal(flatHeader.tag, metric === "l2" ? "IxF2" : "IxFI");
    assert.equal(flatHeader.kind, "flat");
    assert.equal(flatHeader.nlist, undefined);
  });
}

Deno.test("writeFile()/readIndexFile() round trip keeps vectors, kind, metric and nprobe", () => {
  const base = clustered(500, DIM, 10, 7);
  const queries = clustered(5, DIM, 10, 8);
  const ivf = createIvfFlatIndex(DIM, "ip", 8);
  ivf.train(base);
  ivf.add(base);
  assert.equal(ivf.setNprobe(3), 3);
  const back = roundTrip(ivf);
  assert.equal(back.kind, "ivf");
  assert.equal(back.metric, "ip");
  assert.equal(back.size, 500);
  assert.equal(back.nlist, 8);
  assert.equal(back.nprobe, 3);
  assert.deepEqual(back.search(queries, 5), ivf.search(queries, 5));

  const flat = createFlatIndex(DIM, "l2");
  flat.add(base);
  const flatBack = roundTrip(flat);
  assert.equal(flatBack.kind, "flat");
  assert.equal(flatBack.nprobe, undefined);
  assert.deepEqual(flatBack.search(queries, 5), flat.search(queries, 5));
});

Deno.test("setNprobe() clamps to nlist, refuses bad values and flat indexes", () => {
  const ivf = createIvfFlatIndex(DIM, "l2", 4);
  ivf.train(clustered(400, DIM, 4, 13));
  assert.equal(ivf.setNprobe(3), 3);
  assert.equal(ivf.setNprobe(99), 4);
  assert.equal(ivf.nprobe, 4);
  assert.throws(() => ivf.setNprobe(0), RangeError);
  assert.throws(() => ivf.setNprobe(1.5), RangeError);
  assert.throws(() => createFlatIndex(DIM, "l2").setNprobe(2), /needs an IVF index/);
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
  assert.deepEqual([...ivf.search(queryView, k, { nprobe: nlist }).labels], [...res.labels]);
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

Deno.test("readFaissHeader() rejects garbage and an unexpected layout; readIndexFile() checks it first", () => {
  assert.throws(
    () => readFaissHeader(new TextEncoder().encode("x".repeat(80))),
    /Unexpected faiss index layout/,
  );
  assert.throws(() => readFaissHeader(new Uint8Array(10)), /too short/);
  const ivf = createIvfFlatIndex(DIM, "l2", 4);
  ivf.train(clustered(400, DIM, 4, 11));
  const good = fileBytes(ivf);
  // A metric type > 1 would shift the layout by a float metric_arg: refused.
  const withMetric = good.slice();
  new DataView(withMetric.buffer).setInt32(33, 2, true);
  assert.throws(() => readFaissHeader(withMetric), /metric type 2/);
  // The quantizer must match the metric (IVF-IP has an IxFI quantizer).
  const wrongQuantizer = good.slice();
  wrongQuantizer.set(new TextEncoder().encode("IxFI"), 53);
  assert.throws(() => readFaissHeader(wrongQuantizer), /quantizer tag/);
  const badReserved = good.slice();
  badReserved[16] = 7;
  assert.throws(() => readFaissHeader(badReserved), /reserved/);
  withTempDir((dir) => {
    Deno.writeFileSync(`${dir}/bad.faiss`, badReserved);
    assert.throws(() => readIndexFile(`${dir}/bad.faiss`), /reserved/);
  });
});

Deno.test("faiss's own failures are one-line FaissErrors, not crashes", () => {
  const flat = createFlatIndex(DIM, "l2");
  assert.throws(
    () => flat.writeFile("/nonexistent-dir/x.faiss"),
    (e) =>
      e instanceof FaissError &&
      e.message === "FAISS could not write /nonexistent-dir/x.faiss: could not open " +
          "/nonexistent-dir/x.faiss for writing: No such file or directory" &&
      /Error in .*io\.cpp/.test((e.cause as Error).message),
  );
  assert.equal(
    faissMessage(new Error("Error in void f() at a.cpp:1: Error: 'x' failed: Number of\n points (3)")),
    "Number of points (3)",
  );
});

Deno.test("what faiss prints goes to the logger at debug level, never to the process's standard error", async () => {
  // A child process trains an IVF index on too few points (faiss warns about that) and prints the
  // log records it got; its standard error must stay empty.
  const script = `
    import { createIvfFlatIndex } from ${JSON.stringify(new URL("./faiss.ts", import.meta.url).href)};
    import { createMemoryLogger } from ${JSON.stringify(new URL("../logger.ts", import.meta.url).href)};
    const { logger, records } = createMemoryLogger();
    const index = createIvfFlatIndex(4, "l2", 4, { logger });
    index.train(Float32Array.from({ length: 4 * 20 }, (_, i) => Math.sin(i)));
    index.add(Float32Array.from({ length: 4 * 20 }, (_, i) => Math.cos(i)));
    console.log(JSON.stringify(records));
  `;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", script],
    cwd: new URL("../..", import.meta.url).pathname,
    stdin: "null",
    env: { NO_COLOR: "1" },
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  assert.equal(stderr, "");
  const records = JSON.parse(new TextDecoder().decode(out.stdout));
  assert.deepEqual(records, [{
    level: "debug",
    msg: "faiss output",
    ctx: {
      op: "train",
      output: "WARNING clustering 20 points to 4 centroids: please provide at least 156 training points",
    },
  }]);

  // In this process too: the same warning reaches the memory logger.
  const { logger, records: mine } = createMemoryLogger();
  const index = createIvfFlatIndex(DIM, "l2", 2, { logger });
  index.train(clustered(30, DIM, 2, 14));
  assert.match(String(mine[0]?.ctx?.["output"]), /WARNING clustering 30 points to 2 centroids/);
});

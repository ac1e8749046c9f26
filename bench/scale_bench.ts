/**
 * The approximate window index at catalog sizes up to a million tracks (issue 13), on realistic
 * vectors (real embeddings of the shipped models, mixed and perturbed: `bench/_scale_data.ts`) or
 * clustered ones. Two steps, each its own process so the query step's resident memory is that of a
 * process serving the index:
 *
 *     deno run -A bench/_scale_seeds.ts                         # once: real embeddings -> .cache/scale/seeds.f32
 *     deno run -A bench/scale_bench.ts build --tracks 1000000 --data realistic --dir /big/disk/scale-1m
 *     deno run -A bench/scale_bench.ts query --dir /big/disk/scale-1m [--queries 200] [--grid]
 *
 * `build` generates the catalog's clip vectors (standing in for the embedding cache), streams their
 * window rows to `windows.f32` and builds the IVF-PQ index by chunks, timing "build from cached
 * embeddings" (rows written + quantizers trained + codes added + saved). `query` loads the saved
 * index, computes exact segment search for the queries (chunked flat scans; cached in `truth.json`),
 * then for each setting: ms per query for the whole window search (3 query windows, candidates,
 * re-rank, aggregation) and track-level recall@5 against the exact ranking. Queries are new tracks
 * from the same generator (not in the catalog). Targets at 1M tracks: <= 50 ms per query, resident
 * memory <= 2 GB, recall@5 >= 0.90, build <= 30 min; at 106,574: recall@5 >= 0.95, <= 1 GB.
 * @module
 */
import { buildApproxIndex, loadApproxIndex } from "../core/index/approx_index.ts";
import { RowWriter } from "../core/index/row_file.ts";
import { createFlatIndex } from "../core/index/faiss.ts";
import {
  aggregateWindowHits,
  WINDOW_VECTOR_SIZE,
  windowHitsFor,
  windowRows,
} from "../core/index/segment_search.ts";
import { searchWindows } from "../core/index/vector_index.ts";
import { createConsoleLogger } from "../core/logger.ts";
import { clusteredTrack, DIM, realisticTrack } from "./_scale_data.ts";
import { arg, loadAverage } from "./_util.ts";

const logger = createConsoleLogger("warn");
const step = Deno.args[0];
const dir = arg("dir");
if ((step !== "build" && step !== "query" && step !== "truth") || dir === undefined) {
  console.error("usage: scale_bench.ts build|query --dir <dir> [--tracks N] [--data realistic|clustered]");
  Deno.exit(2);
}
const rssMb = () => Math.round(Deno.memoryUsage().rss / 2 ** 20);
const K = 5;
const DEPTH = K + 5; // what `similar` asks of the search (recommend.ts: k + 5)

function generator(kind: string, tracks: number, seed: number): (out: Float32Array) => void {
  if (kind === "clustered") return clusteredTrack(tracks, seed);
  const path = new URL("../.cache/scale/seeds.f32", import.meta.url).pathname;
  const bytes = Deno.readFileSync(path);
  return realisticTrack(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4), seed);
}

async function build(dir: string): Promise<void> {
  const tracks = Number(arg("tracks") ?? 100_000);
  const data = arg("data") ?? "realistic";
  const queries = Number(arg("queries") ?? 200);
  await Deno.mkdir(`${dir}/index`, { recursive: true });
  console.log(`scale build: ${tracks} tracks, ${data} vectors; load average ${loadAverage()}`);
  const next = generator(data, tracks, 1);
  const clip = new Float32Array(DIM);
  const chunk = 4096;
  const clips = Array.from({ length: chunk }, () => new Float32Array(DIM));
  let genMs = 0;
  let writeMs = 0;
  const writer = new RowWriter(`${dir}/build_windows.f32`, WINDOW_VECTOR_SIZE);
  for (let from = 0; from < tracks; from += chunk) {
    const n = Math.min(chunk, tracks - from);
    const t0 = performance.now();
    for (let i = 0; i < n; i++) next(clips[i]!);
    const t1 = performance.now();
    writer.write(windowRows(clips.slice(0, n), Array.from({ length: n }, (_, i) => from + i)).vectors);
    writeMs += performance.now() - t1;
    genMs += t1 - t0;
  }
  writer.close();
  const qNext = generator(data, tracks, 99);
  const q = new Float32Array(queries * DIM);
  for (let i = 0; i < queries; i++) {
    qNext(clip);
    q.set(clip, i * DIM);
  }
  Deno.writeFileSync(`${dir}/queries.f32`, new Uint8Array(q.buffer));
  const t2 = performance.now();
  let lastShown = 0;
  const index = buildApproxIndex({
    vectorsPath: `${dir}/build_windows.f32`,
    dim: WINDOW_VECTOR_SIZE,
    rowsPerTrack: 3,
    trackIds: Int32Array.from({ length: tracks }, (_, i) => i),
    logger,
    onProgress: (added, rows) => {
      const now = performance.now();
      if (now - lastShown > 30_000 || added === rows) {
        lastShown = now;
        const s = (now - t2) / 1000;
        console.log(`  added ${added} / ${rows} rows, ${s.toFixed(0)} s`);
      }
    },
  });
  const t3 = performance.now();
  index.saveTo(`${dir}/index`, "windows");
  const t4 = performance.now();
  const sizes = ["faiss", "f32", "ids"].map((e) => Deno.statSync(`${dir}/index/windows.${e}`).size / 2 ** 20);
  const figures = {
    tracks,
    data,
    index: index.describe(),
    generateS: genMs / 1000,
    writeRowsS: writeMs / 1000,
    trainAddS: (t3 - t2) / 1000,
    saveS: (t4 - t3) / 1000,
    buildFromCacheS: (writeMs + t4 - t2) / 1000,
    faissMb: sizes[0],
    vectorsMb: sizes[1],
    peakRssMb: rssMb(),
  };
  Deno.writeTextFileSync(`${dir}/build.json`, JSON.stringify(figures, null, 2));
  console.log(JSON.stringify(figures));
  console.log(
    `build from cached embeddings: ${
      (figures.buildFromCacheS / 60).toFixed(1)
    } min (target at 1M: <= 30 min); ` +
      `index files ${sizes[0]!.toFixed(0)} MB in memory, ${sizes[1]!.toFixed(0)} MB of full vectors on disk`,
  );
}

/** Exact segment search for every query: chunked flat scans over the full vectors. */
function exactTruth(dir: string, q: Float32Array, rows: number): number[][] {
  const path = `${dir}/truth.json`;
  try {
    return JSON.parse(Deno.readTextFileSync(path));
  } catch {
    // computed below
  }
  const nq = q.length / DIM;
  const windows = windowRows(
    Array.from({ length: nq }, (_, i) => q.subarray(i * DIM, (i + 1) * DIM)),
    new Array(nq).fill(0),
  ).vectors;
  const kk = windowHitsFor(DEPTH, 0);
  const best: { row: number; d: number }[][] = Array.from({ length: nq * 3 }, () => []);
  const file = Deno.openSync(`${dir}/index/windows.f32`, { read: true });
  const chunkRows = 131_072;
  const buf = new Float32Array(chunkRows * WINDOW_VECTOR_SIZE);
  const started = performance.now();
  for (let from = 0; from < rows; from += chunkRows) {
    const n = Math.min(chunkRows, rows - from);
    const bytes = new Uint8Array(buf.buffer, 0, n * WINDOW_VECTOR_SIZE * 4);
    let got = 0;
    while (got < bytes.length) got += file.readSync(bytes.subarray(got)) ?? 0;
    const flat = createFlatIndex(WINDOW_VECTOR_SIZE, "l2");
    flat.add(buf.subarray(0, n * WINDOW_VECTOR_SIZE));
    const res = flat.search(windows, Math.min(kk, n));
    const kn = Math.min(kk, n);
    for (let w = 0; w < nq * 3; w++) {
      for (let j = 0; j < kn; j++) {
        best[w]!.push({ row: from + res.labels[w * kn + j]!, d: res.distances[w * kn + j]! });
      }
      best[w]!.sort((a, b) => a.d - b.d || a.row - b.row);
      best[w]!.length = Math.min(best[w]!.length, kk);
    }
  }
  file.close();
  const truth = Array.from({ length: nq }, (_, i) =>
    aggregateWindowHits(
      [0, 1, 2].map((w) => best[i * 3 + w]!.map((h) => ({ trackId: Math.floor(h.row / 3), distance: h.d }))),
      DEPTH,
    ).slice(0, K).map((h) => h.trackId));
  console.log(
    `  exact segment search for ${nq} queries by chunked flat scans: ${
      ((performance.now() - started) / 1000).toFixed(0)
    } s`,
  );
  Deno.writeTextFileSync(path, JSON.stringify(truth));
  return truth;
}

function query(dir: string): void {
  const build = JSON.parse(Deno.readTextFileSync(`${dir}/build.json`));
  const rss0 = rssMb();
  const index = loadApproxIndex(`${dir}/index`, "windows", { logger });
  const rssLoaded = rssMb();
  const qb = Deno.readFileSync(`${dir}/queries.f32`);
  const all = new Float32Array(qb.buffer, qb.byteOffset, qb.length / 4);
  const nq = Math.min(Number(arg("queries") ?? 200), all.length / DIM);
  const q = all.subarray(0, nq * DIM);
  console.log(
    `scale query: ${build.tracks} tracks (${build.data}), ${index.describe()}, ${nq} queries; load average ${loadAverage()}`,
  );
  // Exact search reads the full vectors by large chunks: done in a child process, so this one's
  // resident memory is that of a process serving the index.
  if (!existsSync(`${dir}/truth.json`)) {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL(import.meta.url).pathname, "truth", "--dir", dir, "--queries", String(nq)],
      stdout: "inherit",
      stderr: "inherit",
    }).outputSync();
    if (!child.success) throw new Error("the exact search failed");
  }
  const truth: number[][] = JSON.parse(Deno.readTextFileSync(`${dir}/truth.json`));
  // `--settings 16:512,8:1024`: nprobe:rerank pairs; `--grid`: the curve.
  const listed = arg("settings")?.split(",").map((p) => {
    const [nprobe, rerank] = p.split(":").map(Number);
    return { nprobe: nprobe!, rerank: rerank! };
  });
  const grid: { nprobe: number; rerank: number }[] = listed ??
    (Deno.args.includes("--grid")
      ? [8, 16, 24, 32, 64].flatMap((nprobe) => [32, 96, 256].map((rerank) => ({ nprobe, rerank })))
      : [{ nprobe: index.defaultNprobe, rerank: index.rerank }]);
  const rows: string[] = [];
  for (const { nprobe, rerank } of grid) {
    const searchOpts = { nprobe, rerank };
    const view = Object.create(index);
    view.searchBatch = (x: Float32Array, k: number) => index.searchBatch(x, k, searchOpts);
    const times: number[] = [];
    let hits = 0;
    // one warm-up query (pages the hot lists and rows in)
    searchWindows(view, q.subarray(0, DIM), DEPTH);
    for (let i = 0; i < nq; i++) {
      const t0 = performance.now();
      const got = searchWindows(view, q.subarray(i * DIM, (i + 1) * DIM), DEPTH).slice(0, K).map((h) =>
        h.trackId
      );
      times.push(performance.now() - t0);
      const want = new Set(truth[i]);
      hits += got.filter((t) => want.has(t)).length;
    }
    times.sort((a, b) => a - b);
    const mean = times.reduce((s, t) => s + t, 0) / times.length;
    const p95 = times[Math.floor(0.95 * (times.length - 1))]!;
    rows.push(
      `| ${nprobe} | ${rerank} | ${(hits / (nq * K)).toFixed(3)} | ${mean.toFixed(1)} | ${p95.toFixed(1)} |`,
    );
    console.log(rows.at(-1));
  }
  console.log(
    `\n| nprobe | re-ranked per window | recall@5 | ms/query | p95 ms |\n| --- | --- | --- | --- | --- |`,
  );
  for (const r of rows) console.log(r);
  console.log(
    `resident memory: ${rss0} MB at start, ${rssLoaded} MB with the index loaded, ${rssMb()} MB after the queries ` +
      `(targets: <= 1 GB at 106,574 tracks, <= 2 GB at 1M)`,
  );
}

function existsSync(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

if (step === "build") await build(dir);
else if (step === "truth") {
  const qb = Deno.readFileSync(`${dir}/queries.f32`);
  const all = new Float32Array(qb.buffer, qb.byteOffset, qb.length / 4);
  const nq = Math.min(Number(arg("queries") ?? 200), all.length / DIM);
  const rows = Deno.statSync(`${dir}/index/windows.f32`).size / (WINDOW_VECTOR_SIZE * 4);
  exactTruth(dir, all.subarray(0, nq * DIM), rows);
} else query(dir);

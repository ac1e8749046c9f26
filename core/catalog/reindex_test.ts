import assert from "node:assert/strict";
import { ErrorCode, isSoundalikeError, SoundalikeError } from "../errors.ts";
import { createMemoryLogger } from "../logger.ts";
import {
  CACHE_READ_CHUNK,
  describeFailure,
  noProgress,
  reindexCatalog,
  type ReindexDeps,
  type ReindexLeftOut,
  SAME_AUDIO_SQUARED_DISTANCE,
  sameAudio,
  summarizeUpdate,
} from "./reindex.ts";
import { mulberry32 } from "../util/random.ts";
import { memoryRows, type RowSource } from "../index/row_file.ts";

const DIM = 4;

/**
 * A fake catalog: file contents are strings; "bad" files fail to decode; a file's vector depends
 * only on its content's length (so two contents of one length are "the same audio").
 */
function fakeDeps(files: Record<string, string>, cache = new Map<string, Float32Array>()) {
  const embeddedPaths: string[] = [];
  const batches: number[] = [];
  const published: { vectors: Float32Array; ids: number[]; leftOut: ReindexLeftOut }[] = [];
  const hashesSet: { trackId: number; contentHash: string }[] = [];
  const deps: ReindexDeps = {
    hashFile: (path) => {
      const content = files[path];
      if (content === undefined) return Promise.reject(new Error(`No such file: ${path}`));
      return Promise.resolve(`h:${content}`);
    },
    getCached: (hashes) =>
      Promise.resolve(new Map(hashes.flatMap((h) => (cache.has(h) ? [[h, cache.get(h)!]] : [])))),
    putCached: (entries) => {
      for (const e of entries) cache.set(e.contentHash, e.vector);
      return Promise.resolve();
    },
    setHashes: (entries) => {
      hashesSet.push(...entries);
      return Promise.resolve();
    },
    embedFiles: (paths) => {
      batches.push(paths.length);
      return Promise.resolve(paths.map((path) => {
        embeddedPaths.push(path);
        const content = files[path] ?? "";
        if (content.startsWith("bad")) {
          return new SoundalikeError(ErrorCode.UnreadableAudio, "This file is not audio");
        }
        return Float32Array.from({ length: DIM }, (_, i) => content.length + i);
      }));
    },
    publish: (vectors, ids, leftOut) => {
      published.push({ vectors: readAll(vectors), ids, leftOut });
      return Promise.resolve({ version: published.length, ivf: false, removed: 0 });
    },
    logger: createMemoryLogger().logger,
    progress: noProgress,
    scratchDir: Deno.makeTempDirSync({ prefix: "soundalike-reindex-test-" }),
  };
  return { deps, cache, embeddedPaths, published, hashesSet, batches };
}

/** Every row of a source, copied into one array. */
function readAll(source: RowSource): Float32Array {
  const out = new Float32Array(source.rows * source.dim);
  source.read(0, out);
  return out;
}

/** Vectors of one length as rows in memory. */
function rowsOf(vectors: Float32Array[], dim: number): RowSource {
  const flat = new Float32Array(vectors.length * dim);
  vectors.forEach((v, i) => flat.set(v, i * dim));
  return memoryRows(flat, dim);
}

Deno.test("reindexCatalog() embeds each distinct file once, keeps the first of identical files and skips unreadable ones", async () => {
  const files = { "/a.mp3": "aaa", "/b.mp3": "bbbbb", "/copy-of-a.mp3": "aaa", "/c.mp3": "bad bytes" };
  const { deps, embeddedPaths, published, batches } = fakeDeps(files);
  const tracks = [
    { trackId: 1, path: "/a.mp3", item: "a.mp3" },
    { trackId: 2, path: "/b.mp3", item: "b.mp3" },
    { trackId: 3, path: "/copy-of-a.mp3", item: "copy-of-a.mp3" },
    { trackId: 4, path: "/c.mp3", item: "c.mp3" },
    { trackId: 5, path: "/missing.mp3", item: "missing.mp3" },
  ];
  const report = await reindexCatalog(deps, tracks, { dim: DIM, concurrency: 2, filesPerBatch: 2 });
  assert.equal(embeddedPaths.length, 3); // a (once for both copies), b, c
  assert.deepEqual(batches, [2, 1]);
  assert.equal(report.tracks, 5);
  assert.equal(report.embedded, 2);
  assert.equal(report.indexed, 2);
  assert.equal(report.indexed + report.skipped.length + report.duplicates.length, report.tracks);
  assert.deepEqual(report.skipped.map((s) => [s.trackId, s.item]), [[4, "c.mp3"], [5, "missing.mp3"]]);
  assert.match(report.skipped[0]!.reason, /not audio/);
  assert.equal(report.skipped[1]!.reason, "No such file: /missing.mp3");
  assert.deepEqual(report.duplicates, [{
    trackId: 3,
    item: "copy-of-a.mp3",
    path: "/copy-of-a.mp3",
    keptTrackId: 1,
    keptItem: "a.mp3",
    reason: "the same file as a.mp3",
  }]);
  assert.equal(published.length, 1);
  assert.deepEqual(published[0]!.ids, [1, 2]);
  assert.deepEqual(published[0]!.leftOut, { skipped: report.skipped, duplicates: report.duplicates });
});

Deno.test("reindexCatalog() keeps one of files that decode to the same audio (a copy with other tags)", async () => {
  // Same length of content: the fake embedder gives the same vector, as it would for re-tagged copies.
  const { deps, published } = fakeDeps({ "/x.mp3": "abc", "/y.mp3": "xyz", "/z.mp3": "zz" });
  const report = await reindexCatalog(deps, [
    { trackId: 7, path: "/x.mp3", item: "x.mp3" },
    { trackId: 8, path: "/y.mp3", item: "y.mp3" },
    { trackId: 9, path: "/z.mp3", item: "z.mp3" },
  ], { dim: DIM });
  assert.deepEqual(published[0]!.ids, [7, 9]);
  assert.deepEqual(report.duplicates.map((d) => [d.trackId, d.keptTrackId, d.reason]), [
    [8, 7, "the same audio as x.mp3 (only the tags or the container differ)"],
  ]);
});

Deno.test("reindexCatalog() resumes from the cache and embeds only changed files", async () => {
  const files: Record<string, string> = { "/a.mp3": "aaa", "/b.mp3": "bbbbb" };
  const first = fakeDeps(files);
  await reindexCatalog(first.deps, [{ trackId: 1, path: "/a.mp3" }, { trackId: 2, path: "/b.mp3" }], {
    dim: DIM,
  });
  files["/b.mp3"] = "changed!";
  const second = fakeDeps(files, first.cache);
  const report = await reindexCatalog(second.deps, [
    { trackId: 1, path: "/a.mp3" },
    { trackId: 2, path: "/b.mp3" },
  ], { dim: DIM });
  assert.deepEqual(second.embeddedPaths, ["/b.mp3"]);
  assert.equal(report.cached, 1);
  assert.equal(report.embedded, 1);
  assert.deepEqual(second.hashesSet, [{ trackId: 1, contentHash: "h:aaa" }, {
    trackId: 2,
    contentHash: "h:changed!",
  }]);
});

Deno.test("reindexCatalog() fails clearly when nothing can be embedded", async () => {
  const { deps, published } = fakeDeps({ "/x.mp3": "bad" });
  await assert.rejects(
    reindexCatalog(deps, [{ trackId: 1, path: "/x.mp3" }], { dim: DIM }),
    (err) => isSoundalikeError(err, "bad_dataset") && /\/x\.mp3: This file is not audio/.test(err.message),
  );
  assert.equal(published.length, 0);
});

Deno.test("reindexCatalog() rejects vectors of the wrong size instead of indexing them", async () => {
  const { deps } = fakeDeps({ "/a.mp3": "aaa" });
  await assert.rejects(
    reindexCatalog(deps, [{ trackId: 1, path: "/a.mp3" }], { dim: 8 }),
    /4 dims: expected 8/,
  );
});

Deno.test("reindexCatalog() turns a failed batch into skipped files and keeps the other batches", async () => {
  const { deps, published } = fakeDeps({ "/a.mp3": "aaa", "/b.mp3": "bbbbb", "/c.mp3": "cc" });
  const real = deps.embedFiles;
  deps.embedFiles = (paths) =>
    paths.includes("/a.mp3") ? Promise.reject(new Error("ffmpeg crashed")) : real(paths);
  const report = await reindexCatalog(deps, [
    { trackId: 1, path: "/a.mp3" },
    { trackId: 2, path: "/b.mp3" },
    { trackId: 3, path: "/c.mp3" },
  ], { dim: DIM, filesPerBatch: 2 });
  assert.deepEqual(report.skipped.map((s) => [s.trackId, s.reason]), [[1, "ffmpeg crashed"], [
    2,
    "ffmpeg crashed",
  ]]);
  assert.deepEqual(published[0]!.ids, [3]);
});

Deno.test("reindexCatalog() stops and publishes nothing when the embedder says the run cannot go on", async () => {
  const { deps, published } = fakeDeps({ "/a.mp3": "aaa", "/b.mp3": "bbbbb", "/c.mp3": "cc" });
  const real = deps.embedFiles;
  deps.embedFiles = (paths) =>
    paths.includes("/a.mp3")
      ? Promise.reject(new SoundalikeError(ErrorCode.IndexFailed, "The workers could not embed a batch"))
      : real(paths);
  await assert.rejects(
    reindexCatalog(deps, [
      { trackId: 1, path: "/a.mp3" },
      { trackId: 2, path: "/b.mp3" },
      { trackId: 3, path: "/c.mp3" },
    ], { dim: DIM, filesPerBatch: 2 }),
    (err) => isSoundalikeError(err, ErrorCode.IndexFailed),
  );
  assert.equal(published.length, 0, "no index without the batch's tracks");
});

Deno.test("reindexCatalog() reports every track that shares a file that failed", async () => {
  const { deps } = fakeDeps({ "/a.mp3": "bad", "/a-copy.mp3": "bad", "/b.mp3": "bbbbb" });
  const report = await reindexCatalog(deps, [
    { trackId: 1, path: "/a.mp3" },
    { trackId: 2, path: "/a-copy.mp3" },
    { trackId: 3, path: "/b.mp3" },
  ], { dim: DIM });
  assert.deepEqual(report.skipped.map((s) => s.trackId), [1, 2]);
  assert.deepEqual(report.duplicates, []);
  assert.equal(report.indexed, 1);
});

Deno.test("reindexCatalog() goes on when the embedding cache cannot be written", async () => {
  const { deps, published } = fakeDeps({ "/a.mp3": "aaa", "/b.mp3": "bb" });
  const { logger, records } = createMemoryLogger();
  deps.logger = logger;
  deps.putCached = () => Promise.reject(new Error("disk full"));
  const report = await reindexCatalog(
    deps,
    [{ trackId: 1, path: "/a.mp3" }, { trackId: 2, path: "/b.mp3" }],
    {
      dim: DIM,
    },
  );
  assert.equal(report.indexed, 2);
  assert.deepEqual(published[0]!.ids, [1, 2]);
  assert.ok(records.some((r) => r.level === "warn" && /embeddings to the cache/.test(r.msg)));
});

Deno.test("describeFailure() words the clip-length policy for a catalog and names file errors", () => {
  assert.equal(
    describeFailure(
      new SoundalikeError(ErrorCode.ClipTooShort, "The clip is 1.4 s long: send at least 3 s of audio"),
    ),
    "too short: 1.4 s of audio, at least 3 s are needed",
  );
  assert.equal(
    describeFailure(
      new SoundalikeError(
        ErrorCode.SilentClip,
        "The clip is silent (digital silence): send a clip with audible sound",
      ),
    ),
    "silent (digital silence): there is no sound to compare",
  );
  assert.equal(
    describeFailure(new Deno.errors.PermissionDenied("open")),
    "the file cannot be read (permission denied)",
  );
  assert.match(describeFailure(new Deno.errors.NotFound("x")), /moved or deleted/);
  assert.equal(describeFailure(new Error("plain")), "plain");
});

Deno.test("summarizeUpdate() merges both reports into counts that add up", () => {
  const reindex = {
    version: 4,
    tracks: 5,
    indexed: 3,
    embedded: 2,
    cached: 1,
    skipped: [{ trackId: 4, item: "short.wav", path: "/c/short.wav", reason: "too short" }],
    duplicates: [{
      trackId: 5,
      item: "copy.wav",
      path: "/c/copy.wav",
      reason: "the same file as a.wav",
      keptTrackId: 1,
      keptItem: "a.wav",
    }],
    removed: 2,
    ivf: false,
    seconds: 3,
  };
  const ingest = {
    skipped: [{ item: "link.mp3", reason: "a broken symbolic link" }],
    cleaned: [{ item: "a.wav", reason: "title: control characters removed" }],
    seconds: 1,
  };
  const summary = summarizeUpdate(ingest, reindex);
  assert.deepEqual(summary, {
    found: 6,
    stored: 3,
    skipped: [{ item: "link.mp3", reason: "a broken symbolic link" }, {
      item: "short.wav",
      reason: "too short",
    }],
    duplicates: [{ item: "copy.wav", reason: "the same file as a.wav", keptItem: "a.wav" }],
    removed: 2,
    cleaned: [{ item: "a.wav", reason: "title: control characters removed" }],
    indexVersion: 4,
    ivf: false,
    seconds: 4,
  });
  assert.equal(summary.found, summary.stored + summary.skipped.length + summary.duplicates.length);
  assert.equal(summarizeUpdate(undefined, reindex).found, 5);
});

Deno.test("sameAudio() groups vectors equal up to float noise under the lowest index, and nothing else", () => {
  const rand = mulberry32(11);
  const dim = 64;
  const random = () => Float32Array.from({ length: dim }, () => rand() - 0.5);
  const a = random();
  const b = random();
  const nearA = a.map((x) => x + 1e-5); // squared distance 64e-10: the same audio embedded in another batch
  const notA = a.map((x, i) => (i === 0 ? x + 0.01 : x)); // squared distance 1e-4: a different clip
  const c = random();
  const vectors = [b, a, c, nearA, notA, Float32Array.from(a)];
  assert.deepEqual(sameAudio(rowsOf(vectors, dim)), [undefined, undefined, undefined, 1, undefined, 1]);
  assert.ok(SAME_AUDIO_SQUARED_DISTANCE < 1e-4);
  assert.deepEqual(sameAudio(rowsOf([], dim)), []);
  // Brute force agrees on many random vectors with planted copies.
  const many = Array.from({ length: 400 }, random);
  for (const [copy, of] of [[100, 3], [250, 100], [399, 7]] as const) {
    many[copy] = many[of]!.map((x) => x + 1e-6);
  }
  const expected = many.map((_, i) => i === 100 ? 3 : i === 250 ? 3 : i === 399 ? 7 : undefined);
  assert.deepEqual(sameAudio(rowsOf(many, dim)), expected);
});

Deno.test("reindexCatalog() with file sizes puts small files many to a batch and large ones few", async () => {
  const files: Record<string, string> = {};
  const tracks = Array.from({ length: 10 }, (_, i) => {
    files[`/f${i}`] = "x".repeat(i + 1); // distinct lengths: distinct vectors
    return { trackId: i + 1, path: `/f${i}` };
  });
  const sizes = [1, 1, 1, 1, 1, 1, 1, 9, 9, 1];
  const { deps, batches } = fakeDeps(files);
  deps.fileSize = (path) => Promise.resolve(sizes[Number(path.slice(2))]!);
  await reindexCatalog(deps, tracks, { dim: DIM, concurrency: 1, batchBytes: 10, maxFilesPerBatch: 4 });
  assert.deepEqual(batches, [4, 3, 1, 2]);
});

Deno.test("reindexCatalog() streams vectors through a file: the cache is read by chunks, the run's file is gone afterwards", async () => {
  const files: Record<string, string> = {};
  const count = CACHE_READ_CHUNK * 2 + 5;
  const tracks = Array.from({ length: count }, (_, i) => {
    files[`/f${i}`] = "x".repeat(i + 1);
    return { trackId: count - i, path: `/f${i}` }; // track ids in reverse: publishing reorders
  });
  const { deps, cache, published } = fakeDeps(files);
  // Half the catalog is cached (other vectors than the embedder's, to tell them apart).
  for (let i = 0; i < count; i += 2) cache.set(`h:${"x".repeat(i + 1)}`, Float32Array.of(-i, 0, 0, 1));
  const asked: number[] = [];
  const getCached = deps.getCached;
  deps.getCached = (hashes) => {
    asked.push(hashes.length);
    return getCached(hashes);
  };
  let fileDuringPublish = 0;
  const publish = deps.publish;
  deps.publish = (vectors, ids, leftOut) => {
    fileDuringPublish = Deno.statSync(`${deps.scratchDir}/clips.f32`).size;
    return publish(vectors, ids, leftOut);
  };
  const report = await reindexCatalog(deps, tracks, { dim: DIM });
  assert.deepEqual(asked, [CACHE_READ_CHUNK, CACHE_READ_CHUNK, 5]);
  assert.equal(report.cached, Math.ceil(count / 2));
  assert.equal(report.embedded, Math.floor(count / 2));
  assert.equal(fileDuringPublish, count * DIM * 4, "every vector went to the run's file");
  assert.deepEqual([...Deno.readDirSync(deps.scratchDir)], [], "the run's file is removed");
  // Published in track id order: track id t is file count - t, cached when that is even.
  const { vectors, ids } = published[0]!;
  assert.deepEqual(ids, Array.from({ length: count }, (_, i) => i + 1));
  for (const [row, id] of ids.entries()) {
    const i = count - id;
    const expected = i % 2 === 0 ? [-i, 0, 0, 1] : [i + 1, i + 2, i + 3, i + 4];
    assert.deepEqual([...vectors.subarray(row * DIM, (row + 1) * DIM)], expected, `track ${id}`);
  }
});

Deno.test("reindexCatalog() removes the run's file when the run fails", async () => {
  const { deps } = fakeDeps({ "/x.mp3": "bad" });
  await assert.rejects(reindexCatalog(deps, [{ trackId: 1, path: "/x.mp3" }], { dim: DIM }));
  assert.deepEqual([...Deno.readDirSync(deps.scratchDir)], []);
});

Deno.test("reindexCatalog() on a full disk ends with one sentence naming the fix, and publishes nothing", async () => {
  const { deps, published, cache } = fakeDeps({ "/a.mp3": "aaa", "/b.mp3": "bb" });
  // The run's vector file is /dev/full: every write fails with "no space left on device".
  Deno.symlinkSync("/dev/full", `${deps.scratchDir}/clips.f32`);
  await assert.rejects(
    reindexCatalog(deps, [{ trackId: 1, path: "/a.mp3" }, { trackId: 2, path: "/b.mp3" }], { dim: DIM }),
    (err: unknown) => {
      assert.ok(isSoundalikeError(err, ErrorCode.IndexFailed), String(err));
      assert.match(
        err.message,
        /Could not write the catalog's vectors to .*clips\.f32: .*free disk space.*the current index keeps serving/,
      );
      return true;
    },
  );
  assert.equal(published.length, 0);
  assert.equal(cache.size, 2, "what was embedded is cached for the next run");
});

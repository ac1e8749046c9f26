import assert from "node:assert/strict";
import { ErrorCode, isSoundalikeError, SoundalikeError } from "./errors.ts";
import { createMemoryLogger } from "./logger.ts";
import { noProgress, reindexCatalog, type ReindexDeps } from "./reindex.ts";

const DIM = 4;

/** A fake catalog: file contents are strings; "bad" files fail to decode. */
function fakeDeps(files: Record<string, string>, cache = new Map<string, Float32Array>()) {
  const embeddedPaths: string[] = [];
  const batches: number[] = [];
  const published: { vectors: Float32Array; ids: number[] }[] = [];
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
    publish: (vectors, ids) => {
      published.push({ vectors, ids });
      return Promise.resolve(published.length);
    },
    logger: createMemoryLogger().logger,
    progress: noProgress,
  };
  return { deps, cache, embeddedPaths, published, hashesSet, batches };
}

Deno.test("reindexCatalog() embeds each distinct file once, skips unreadable ones and publishes the rest", async () => {
  const files = { "/a.mp3": "aaa", "/b.mp3": "bbbbb", "/copy-of-a.mp3": "aaa", "/c.mp3": "bad bytes" };
  const { deps, embeddedPaths, published, batches } = fakeDeps(files);
  const tracks = [
    { trackId: 1, path: "/a.mp3" },
    { trackId: 2, path: "/b.mp3" },
    { trackId: 3, path: "/copy-of-a.mp3" },
    { trackId: 4, path: "/c.mp3" },
    { trackId: 5, path: "/missing.mp3" },
  ];
  const report = await reindexCatalog(deps, tracks, { dim: DIM, concurrency: 2, filesPerBatch: 2 });
  assert.equal(embeddedPaths.length, 3); // a (once for both copies), b, c
  assert.deepEqual(batches, [2, 1]);
  assert.equal(report.embedded, 2);
  assert.equal(report.indexed, 3);
  assert.deepEqual(report.skipped.map((s) => s.trackId).sort(), [4, 5]);
  assert.match(report.skipped.find((s) => s.trackId === 4)!.reason, /not audio/);
  assert.equal(published.length, 1);
  assert.deepEqual(published[0]!.ids, [1, 2, 3]);
  assert.deepEqual([...published[0]!.vectors.slice(0, DIM)], [
    ...published[0]!.vectors.slice(2 * DIM, 3 * DIM),
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

Deno.test("reindexCatalog() reports every track that shares a file that failed", async () => {
  const { deps } = fakeDeps({ "/a.mp3": "bad", "/a-copy.mp3": "bad", "/b.mp3": "bbbbb" });
  const report = await reindexCatalog(deps, [
    { trackId: 1, path: "/a.mp3" },
    { trackId: 2, path: "/a-copy.mp3" },
    { trackId: 3, path: "/b.mp3" },
  ], { dim: DIM });
  assert.deepEqual(report.skipped.map((s) => s.trackId).sort(), [1, 2]);
  assert.equal(report.indexed, 1);
});

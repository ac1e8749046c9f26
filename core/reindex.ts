/**
 * Reindex: embed every catalog track and build the search indexes.
 *
 * Resumable by construction: embeddings are cached under (file content hash, models hash), so a
 * rerun after a crash, or after a few files changed, embeds only what is new. Files that cannot be
 * decoded are skipped and reported, never fatal. The caller holds the one-reindex-at-a-time lock.
 * @module
 */
import { ErrorCode, isSoundalikeError, SoundalikeError } from "./errors.ts";
import type { Logger } from "./logger.ts";
import { mapPool } from "./pool.ts";

/** A catalog track to index. */
export interface IndexableTrack {
  trackId: number;
  /** Absolute path of its audio file. */
  path: string;
}

/** Progress of a long job, drawn by the caller (a progress bar, a chat message). */
export interface ProgressReporter {
  start(total: number, label: string): void;
  /** `done` items out of the total, with the stage's rate and ETA left to the reporter. */
  update(done: number, detail?: Record<string, string | number>): void;
  stop(): void;
}

/** A reporter that draws nothing. */
export const noProgress: ProgressReporter = { start() {}, update() {}, stop() {} };

/** What {@linkcode reindexCatalog} needs. */
export interface ReindexDeps {
  /** Hex content hash of a file (sha256). */
  hashFile(path: string): Promise<string>;
  /** Cached clip vectors for these content hashes (under the current models). */
  getCached(hashes: string[]): Promise<Map<string, Float32Array>>;
  /** Stores freshly computed clip vectors. */
  putCached(entries: { contentHash: string; vector: Float32Array }[]): Promise<void>;
  /** Records each track's current content hash. */
  setHashes(entries: { trackId: number; contentHash: string }[]): Promise<void>;
  /**
   * Decodes, segments and embeds several files (one ffmpeg process and one batched model run per
   * call); a file that fails gets its error in its place.
   */
  embedFiles(paths: string[]): Promise<(Float32Array | Error)[]>;
  /** Builds the indexes over these vectors and makes them current; returns the new version. */
  publish(vectors: Float32Array, trackIds: number[]): Promise<number>;
  logger: Logger;
  progress: ProgressReporter;
}

/** Options of {@linkcode reindexCatalog}. */
export interface ReindexOptions {
  /** Batches decoded and embedded at once. @default 2 */
  concurrency?: number;
  /** Files per batch (one ffmpeg process, one model run). @default 16 */
  filesPerBatch?: number;
  /** Clip embedding size. @default 2304 */
  dim?: number;
  /** Cache writes are batched by this many vectors. @default 64 */
  cacheBatchSize?: number;
  signal?: AbortSignal;
}

/** What a reindex did. */
export interface ReindexReport {
  version: number;
  indexed: number;
  embedded: number;
  cached: number;
  skipped: { trackId: number; path: string; reason: string }[];
  seconds: number;
}

/**
 * Embeds every track (reusing cached vectors) and publishes new indexes.
 *
 * @param deps Storage, embedder and index publisher, see {@linkcode ReindexDeps}.
 * @param tracks The catalog's tracks.
 * @param options Concurrency and batching.
 * @returns Counts, the new index version and the skipped files with reasons.
 * @throws {SoundalikeError} `bad_dataset` when no track at all could be embedded, with examples.
 */
export async function reindexCatalog(
  deps: ReindexDeps,
  tracks: readonly IndexableTrack[],
  options: ReindexOptions = {},
): Promise<ReindexReport> {
  const started = performance.now();
  const concurrency = options.concurrency ?? 2;
  const dim = options.dim ?? 2304;
  const cacheBatchSize = options.cacheBatchSize ?? 64;
  const filesPerBatch = options.filesPerBatch ?? 16;
  const skipped: ReindexReport["skipped"] = [];
  const { logger, progress } = deps;

  // 1. Hash every file: cheap next to decoding, and it is what makes the cache and resume work.
  progress.start(tracks.length, "hashing");
  let hashedCount = 0;
  const hashes = await mapPool(tracks, Math.max(concurrency, 4), async (track) => {
    options.signal?.throwIfAborted();
    try {
      return await deps.hashFile(track.path);
    } catch (err) {
      skipped.push({ trackId: track.trackId, path: track.path, reason: describe(err) });
      return undefined;
    } finally {
      progress.update(++hashedCount);
    }
  });
  progress.stop();
  const hashed = tracks.flatMap((t, i) => {
    const hash = hashes[i];
    return hash === undefined ? [] : [{ ...t, hash }];
  });
  await deps.setHashes(hashed.map((t) => ({ trackId: t.trackId, contentHash: t.hash })));

  // 2. Reuse cached vectors; embed the rest with bounded concurrency, saving as we go so an
  //    interrupted run resumes where it stopped.
  const cached = await deps.getCached([...new Set(hashed.map((t) => t.hash))]);
  const vectors = new Map<string, Float32Array>(cached);
  const todo = uniqueBy(hashed.filter((t) => !vectors.has(t.hash)), (t) => t.hash);
  const byHash = new Map<string, typeof hashed>();
  for (const t of hashed) byHash.set(t.hash, [...(byHash.get(t.hash) ?? []), t]);
  logger.info("Reindex: embedding", { tracks: tracks.length, cached: cached.size, toEmbed: todo.length });
  progress.start(todo.length, "embedding");
  let done = 0;
  let embedded = 0;
  let pending: { contentHash: string; vector: Float32Array }[] = [];
  const flush = async () => {
    if (pending.length === 0) return;
    const batch = pending;
    pending = [];
    await deps.putCached(batch);
  };
  const batches: (typeof todo)[] = [];
  for (let i = 0; i < todo.length; i += filesPerBatch) batches.push(todo.slice(i, i + filesPerBatch));
  await mapPool(batches, concurrency, async (batch) => {
    options.signal?.throwIfAborted();
    let results: (Float32Array | Error)[];
    try {
      results = await deps.embedFiles(batch.map((t) => t.path));
    } catch (err) {
      if (isAbort(err)) throw err;
      results = batch.map(() => (err instanceof Error ? err : new Error(String(err))));
    }
    for (const [i, track] of batch.entries()) {
      let result = results[i] ?? new Error("No result for this file");
      if (!(result instanceof Error) && result.length !== dim) {
        result = new Error(`Embedding has ${result.length} dims: expected ${dim}`);
      }
      if (result instanceof Error) {
        if (!isSoundalikeError(result)) {
          logger.warn("Reindex: embedding failed", { path: track.path, err: result });
        }
        // Every track with these bytes is left out, and each is reported.
        for (const same of byHash.get(track.hash) ?? [track]) {
          skipped.push({ trackId: same.trackId, path: same.path, reason: result.message });
        }
      } else {
        vectors.set(track.hash, result);
        embedded++;
        pending.push({ contentHash: track.hash, vector: result });
      }
    }
    if (pending.length >= cacheBatchSize) await flush();
    done += batch.length;
    progress.update(done);
  });
  await flush();
  progress.stop();

  // 3. Every track whose file embedded goes in, duplicates of one file included.
  const indexed = hashed.filter((t) => vectors.has(t.hash));
  if (indexed.length === 0) {
    const examples = uniqueBy(skipped, (s) => s.trackId).slice(0, 3).map((s) => `${s.path}: ${s.reason}`);
    throw new SoundalikeError(
      ErrorCode.BadDataset,
      `None of the ${tracks.length} catalog tracks could be embedded` +
        (examples.length ? `, e.g. ${examples.join("; ")}` : ""),
    );
  }
  const matrix = new Float32Array(indexed.length * dim);
  indexed.forEach((t, i) => matrix.set(vectors.get(t.hash) as Float32Array, i * dim));
  const version = await deps.publish(matrix, indexed.map((t) => t.trackId));
  return {
    version,
    indexed: indexed.length,
    embedded,
    cached: cached.size,
    skipped: uniqueBy(skipped, (s) => s.trackId),
    seconds: (performance.now() - started) / 1000,
  };
}

function isAbort(err: unknown): boolean {
  return err instanceof DOMException && err.name === "AbortError";
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function uniqueBy<T>(items: readonly T[], key: (item: T) => string | number): T[] {
  const seen = new Set<string | number>();
  return items.filter((item) => {
    const k = key(item);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

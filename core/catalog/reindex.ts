/**
 * Reindex: embed every catalog track and build the search indexes.
 *
 * Resumable by construction: embeddings are cached under (file content hash, models hash), so a
 * rerun after a crash, or after a few files changed, embeds only what is new. Files that cannot be
 * decoded are skipped and reported, never fatal. Tracks whose files have the same content, or that
 * decode to the same audio, are one track: the first (lowest track id) is indexed, the others are
 * reported as its duplicates. So every track considered ends up in exactly one of `indexed`,
 * `skipped` and `duplicates`. The caller holds the one-reindex-at-a-time lock.
 * @module
 */
import { ErrorCode, isSoundalikeError, SoundalikeError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import type { StoredLabel } from "../model/embed.ts";
import { mapPool } from "../util/pool.ts";
import { mulberry32 } from "../util/random.ts";
import { MIN_CLIP_SECONDS } from "../audio/segments.ts";
import { forEachChunk, openRowFile, pickRows, type RowSource, RowWriter } from "../index/row_file.ts";

/** A catalog track to index. */
export interface IndexableTrack {
  trackId: number;
  /** Absolute path of its audio file. */
  path: string;
  /** What the user knows it by in reports (its path in the catalog). @default path */
  item?: string;
}

/** Progress of a long job, drawn by the caller (a progress bar, a chat message). */
export interface ProgressReporter {
  /** A stage begins: `total` items, named by `label` ("reading tags", "hashing", "embedding"). */
  start(total: number, label: string): void;
  /** `done` items out of the total, with the stage's rate and ETA left to the reporter. */
  update(done: number, detail?: Record<string, string | number>): void;
  stop(): void;
}

/** A reporter that draws nothing. */
export const noProgress: ProgressReporter = { start() {}, update() {}, stop() {} };

/** A track left out of the index, and why (one sentence the user can act on). */
export interface ReindexSkipped {
  trackId: number;
  /** The track's path in its catalog. */
  item: string;
  /** Absolute path of its file. */
  path: string;
  reason: string;
}

/** A track left out because another track has the same audio. */
export interface ReindexDuplicate extends ReindexSkipped {
  /** The indexed track it repeats. */
  keptTrackId: number;
  /** That track's path in its catalog. */
  keptItem: string;
}

/** The outcome handed to {@linkcode ReindexDeps.publish} along with the vectors. */
export interface ReindexLeftOut {
  skipped: readonly ReindexSkipped[];
  duplicates: readonly ReindexDuplicate[];
}

/** What {@linkcode ReindexDeps.publish} did. */
export interface Published {
  /** The new index version, now current. */
  version: number;
  /** Whether an IVF index was built (the catalog was large enough). */
  ivf: boolean;
  /** Tracks deleted because they had left their catalog. */
  removed: number;
}

/** A file's clip vector with what the models heard in it (kept beside the vector in the cache). */
export interface EmbeddedFile {
  vector: Float32Array;
  labels: StoredLabel[];
}

/** One entry of the embedding cache. */
export interface CacheEntry {
  contentHash: string;
  vector: Float32Array;
  labels?: EmbeddedFile["labels"];
}

/** What {@linkcode reindexCatalog} needs. */
export interface ReindexDeps {
  /** Hex content hash of a file (sha256). */
  hashFile(path: string): Promise<string>;
  /**
   * Hex content hashes of several files at once (one process for {@linkcode HASH_CHUNK} files);
   * when absent, {@linkcode ReindexDeps.hashFile} each.
   */
  hashFiles?(paths: string[]): Promise<(string | Error)[]>;
  /** A file's size in bytes; when given, small files are decoded many to a process (`batchBytes`). */
  fileSize?(path: string): Promise<number>;
  /**
   * Cached clip vectors for these content hashes (under the current models); asked for
   * {@linkcode CACHE_READ_CHUNK} hashes at a time.
   */
  getCached(hashes: string[]): Promise<Map<string, Float32Array>>;
  /** Stores freshly computed clip vectors (and what the models heard, when given). */
  putCached(entries: CacheEntry[]): Promise<void>;
  /** Records each track's current content hash. */
  setHashes(entries: { trackId: number; contentHash: string }[]): Promise<void>;
  /**
   * Decodes, segments and embeds several files (one ffmpeg process and one batched model run per
   * call); a file that fails gets its error in its place.
   */
  embedFiles(paths: string[]): Promise<(Float32Array | EmbeddedFile | Error)[]>;
  /**
   * Builds the indexes over these vectors (rows on disk, one per track, read by chunks), makes them
   * current and records the tracks left out; the old index serves until then.
   */
  publish(vectors: RowSource, trackIds: number[], leftOut: ReindexLeftOut): Promise<Published>;
  /**
   * A folder for the run's vectors: every clip vector (cached or new) is appended to
   * `clips.f32` there as it arrives, so the JS heap never holds the catalog's vectors; removed when
   * the run ends.
   */
  scratchDir: string;
  logger: Logger;
  progress: ProgressReporter;
}

/** Files hashed per {@linkcode ReindexDeps.hashFiles} call. */
export const HASH_CHUNK = 32;

/** Content hashes whose cached vectors are read at a time (2,304 floats each: 9 MB). */
export const CACHE_READ_CHUNK = 1024;

/** Options of {@linkcode reindexCatalog}. */
export interface ReindexOptions {
  /** Batches decoded and embedded at once. @default 2 */
  concurrency?: number;
  /** Files per batch (one ffmpeg process, one model run) when file sizes are unknown. @default 16 */
  filesPerBatch?: number;
  /**
   * With `deps.fileSize`: a batch takes files until they hold this many bytes (16 x a 30 s MP3)
   * or `maxFilesPerBatch` files, so a folder of short clips does not start a process per 16 of them.
   * @default 16 MiB
   */
  batchBytes?: number;
  /** With `deps.fileSize`: most files per batch (bounds the memory of one model run). @default 32 */
  maxFilesPerBatch?: number;
  /** Clip embedding size. @default 2304 */
  dim?: number;
  /** Cache writes are batched by this many vectors. @default 64 */
  cacheBatchSize?: number;
  signal?: AbortSignal;
}

/**
 * What a reindex did. `tracks` = `indexed` + `skipped.length` + `duplicates.length`.
 */
export interface ReindexReport {
  /** The index version now current. */
  version: number;
  /** Catalog tracks considered. */
  tracks: number;
  /** Tracks in the new index: the catalog's stored tracks. */
  indexed: number;
  /** Of those, embedded in this run. */
  embedded: number;
  /** Of those, taken from the embedding cache. */
  cached: number;
  /** Tracks left out because their file could not be embedded, with why. */
  skipped: ReindexSkipped[];
  /** Tracks left out because an indexed track has the same audio. */
  duplicates: ReindexDuplicate[];
  /** Tracks deleted because they had left their catalog (not counted in `tracks`). */
  removed: number;
  /** Whether an IVF index was built; without one, `ivf` searches use the exact index. */
  ivf: boolean;
  seconds: number;
}

/**
 * Embeds every track (reusing cached vectors), sets duplicates aside and publishes new indexes.
 *
 * @param deps Storage, embedder and index publisher, see {@linkcode ReindexDeps}.
 * @param tracks The catalog's tracks, in track id order (the first of duplicates is kept).
 * @param options Concurrency and batching.
 * @returns Counts, the new index version, the skipped tracks with reasons and the duplicates.
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
  const skipped: ReindexSkipped[] = [];
  const duplicates: ReindexDuplicate[] = [];
  const { logger, progress } = deps;
  const itemOf = (t: IndexableTrack) => t.item ?? t.path;
  const skip = (t: IndexableTrack, reason: string) =>
    skipped.push({ trackId: t.trackId, item: itemOf(t), path: t.path, reason });
  const duplicate = (t: IndexableTrack, kept: IndexableTrack, reason: string) =>
    duplicates.push({
      trackId: t.trackId,
      item: itemOf(t),
      path: t.path,
      reason,
      keptTrackId: kept.trackId,
      keptItem: itemOf(kept),
    });

  // 1. Hash every file: cheap next to decoding, and it is what makes the cache, resume and
  //    duplicate detection work.
  progress.start(tracks.length, "hashing");
  let hashedCount = 0;
  const hashes = new Array<string | undefined>(tracks.length);
  const sizes = new Map<string, number>();
  const hashChunk = deps.hashFiles ??
    ((paths: string[]) =>
      Promise.all(
        paths.map((p) => deps.hashFile(p).catch((e) => (e instanceof Error ? e : new Error(String(e))))),
      ));
  const chunks: number[][] = [];
  for (let i = 0; i < tracks.length; i += HASH_CHUNK) {
    chunks.push(Array.from({ length: Math.min(HASH_CHUNK, tracks.length - i) }, (_, k) => i + k));
  }
  try {
    await mapPool(chunks, Math.max(concurrency, 2), async (chunk) => {
      options.signal?.throwIfAborted();
      const got = await hashChunk(chunk.map((i) => tracks[i]!.path));
      await Promise.all(chunk.map(async (i, k) => {
        const track = tracks[i]!;
        try {
          const hash = got[k];
          if (hash === undefined || hash instanceof Error) throw hash ?? new Error("No hash for this file");
          if (deps.fileSize) sizes.set(hash, await deps.fileSize(track.path));
          hashes[i] = hash;
        } catch (err) {
          skip(track, describeFailure(err));
        }
      }));
      hashedCount += chunk.length;
      progress.update(hashedCount);
    });
  } finally {
    progress.stop();
  }
  const hashed = tracks.flatMap((t, i) => {
    const hash = hashes[i];
    return hash === undefined ? [] : [{ ...t, hash }];
  });
  await deps.setHashes(hashed.map((t) => ({ trackId: t.trackId, contentHash: t.hash })));

  // 2. One file per content: the first track with it stands for the others.
  const byHash = new Map<string, typeof hashed>();
  for (const t of hashed) byHash.set(t.hash, [...(byHash.get(t.hash) ?? []), t]);
  const firsts = [...byHash.values()].map((group) => group[0]!);

  // 3. Reuse cached vectors; embed the rest with bounded concurrency, saving as we go so an
  //    interrupted run resumes where it stopped. Every vector goes to `clips.f32` as it arrives;
  //    only its row number stays in memory.
  const spillPath = `${deps.scratchDir}/clips.f32`;
  // A full disk or a folder that cannot be written ends the run with one sentence; the index
  // serving now keeps serving, and the vectors embedded so far are in the cache for the next run.
  const spillFailed = (err: unknown) =>
    new SoundalikeError(
      ErrorCode.IndexFailed,
      `Could not write the catalog's vectors to ${spillPath}: ${
        err instanceof Error ? err.message : String(err)
      }: free disk space or fix the folder's permissions, then run the reindex again; the current index keeps serving`,
      { cause: err },
    );
  let spill: RowWriter;
  try {
    spill = new RowWriter(spillPath, dim);
  } catch (err) {
    throw spillFailed(err);
  }
  const append = (vector: Float32Array): number => {
    try {
      return spill.write(vector);
    } catch (err) {
      throw spillFailed(err);
    }
  };
  let spillOpen = true;
  const closeSpill = () => {
    if (!spillOpen) return;
    spillOpen = false;
    try {
      spill.close();
    } catch (err) {
      throw spillFailed(err);
    }
  };
  try {
    const rowOf = new Map<string, number>();
    const allHashes = [...byHash.keys()];
    progress.start(allHashes.length, "reading the cache");
    try {
      for (let i = 0; i < allHashes.length; i += CACHE_READ_CHUNK) {
        options.signal?.throwIfAborted();
        const cached = await deps.getCached(allHashes.slice(i, i + CACHE_READ_CHUNK));
        // A cached vector of another size (a cache written by other models) is embedded again.
        for (const [hash, vector] of cached) if (vector.length === dim) rowOf.set(hash, append(vector));
        progress.update(Math.min(allHashes.length, i + CACHE_READ_CHUNK));
      }
    } finally {
      progress.stop();
    }
    const fromCache = new Set(rowOf.keys());
    const todo = firsts.filter((t) => !rowOf.has(t.hash));
    logger.info("Reindex: embedding", {
      tracks: tracks.length,
      cached: fromCache.size,
      toEmbed: todo.length,
    });
    let done = 0;
    let embedded = 0;
    let pending: CacheEntry[] = [];
    const flush = async () => {
      if (pending.length === 0) return;
      const batch = pending;
      pending = [];
      try {
        await deps.putCached(batch);
      } catch (err) {
        // Only the cache is lost (the next run embeds these again): the reindex goes on.
        logger.warn("Reindex: could not save embeddings to the cache", { count: batch.length, err });
      }
    };
    const batches: (typeof todo)[] = [];
    if (deps.fileSize) {
      const maxBytes = options.batchBytes ?? 16 * 1024 * 1024;
      const maxFiles = options.maxFilesPerBatch ?? 32;
      let current: typeof todo = [];
      let bytes = 0;
      for (const t of todo) {
        const size = sizes.get(t.hash) ?? maxBytes;
        if (current.length > 0 && (bytes + size > maxBytes || current.length >= maxFiles)) {
          batches.push(current);
          current = [];
          bytes = 0;
        }
        current.push(t);
        bytes += size;
      }
      if (current.length > 0) batches.push(current);
    } else {
      for (let i = 0; i < todo.length; i += filesPerBatch) batches.push(todo.slice(i, i + filesPerBatch));
    }
    progress.start(todo.length, "embedding");
    try {
      await mapPool(batches, concurrency, async (batch) => {
        options.signal?.throwIfAborted();
        let results: (Float32Array | EmbeddedFile | Error)[];
        try {
          results = await deps.embedFiles(batch.map((t) => t.path));
        } catch (err) {
          // A stopped run, or an embedder that says the whole run cannot go on (the job queue is
          // down), ends the reindex: publishing without the batch would drop its tracks.
          if (isAbort(err) || isSoundalikeError(err, ErrorCode.IndexFailed)) throw err;
          results = batch.map(() => (err instanceof Error ? err : new Error(String(err))));
        }
        const good: { hash: string; vector: Float32Array }[] = [];
        for (const [i, track] of batch.entries()) {
          const raw = results[i] ?? new Error("No result for this file");
          const labels = raw instanceof Error || raw instanceof Float32Array ? undefined : raw.labels;
          let result = raw instanceof Error || raw instanceof Float32Array ? raw : raw.vector;
          if (!(result instanceof Error) && result.length !== dim) {
            result = new Error(`Embedding has ${result.length} dims: expected ${dim}`);
          }
          if (result instanceof Error) {
            if (!isSoundalikeError(result)) {
              logger.warn("Reindex: embedding failed", { path: track.path, err: result });
            }
            // Every track with these bytes is left out, and each is reported.
            const reason = describeFailure(result);
            for (const same of byHash.get(track.hash) ?? [track]) skip(same, reason);
          } else {
            good.push({ hash: track.hash, vector: result });
            pending.push({ contentHash: track.hash, vector: result, ...(labels ? { labels } : {}) });
          }
        }
        // Queued for the cache before the run's file is written: a run that stops on a full disk
        // keeps the whole batch for the next one.
        for (const { hash, vector } of good) {
          rowOf.set(hash, append(vector));
          embedded++;
        }
        if (pending.length >= cacheBatchSize) await flush();
        done += batch.length;
        progress.update(done);
      });
    } catch (err) {
      // A stopped or failed run still caches what it embedded: the next run resumes from there.
      await flush();
      throw err;
    } finally {
      progress.stop();
    }
    await flush();

    // 4. Duplicates: other files with the same content, then files that decode to the same audio
    //    (a copy with other tags): the first track stands for them.
    closeSpill();
    const file = openRowFile(spillPath, dim);
    try {
      const embeddedFirsts = firsts.filter((t) => rowOf.has(t.hash)).sort((a, b) => a.trackId - b.trackId);
      const keptIndex = sameAudio(pickRows(file, Int32Array.from(embeddedFirsts, (t) => rowOf.get(t.hash)!)));
      const indexed: (typeof hashed)[number][] = [];
      embeddedFirsts.forEach((first, i) => {
        const k = keptIndex[i];
        const kept = k === undefined ? undefined : embeddedFirsts[k]!;
        if (kept !== undefined) {
          duplicate(first, kept, `the same audio as ${itemOf(kept)} (only the tags or the container differ)`);
        } else {
          indexed.push(first);
        }
        for (const other of byHash.get(first.hash)!.slice(1)) {
          const keeper = kept ?? first;
          duplicate(other, keeper, `the same file as ${itemOf(keeper)}`);
        }
      });
      if (indexed.length === 0) {
        const examples = uniqueBy(skipped, (s) => s.trackId).slice(0, 3).map((s) => `${s.item}: ${s.reason}`);
        throw new SoundalikeError(
          ErrorCode.BadDataset,
          `None of the ${tracks.length} catalog tracks could be embedded` +
            (examples.length ? `, e.g. ${examples.join("; ")}` : ""),
        );
      }
      indexed.sort((a, b) => a.trackId - b.trackId);
      const skippedOnce = uniqueBy(skipped, (s) => s.trackId).sort((a, b) => a.trackId - b.trackId);
      duplicates.sort((a, b) => a.trackId - b.trackId);
      // The builders read the vectors by chunks, in track order, from the run's file.
      const published = await deps.publish(
        pickRows(file, Int32Array.from(indexed, (t) => rowOf.get(t.hash)!)),
        indexed.map((t) => t.trackId),
        { skipped: skippedOnce, duplicates },
      );
      return {
        version: published.version,
        tracks: tracks.length,
        indexed: indexed.length,
        embedded: indexed.filter((t) => !fromCache.has(t.hash)).length,
        cached: indexed.filter((t) => fromCache.has(t.hash)).length,
        skipped: skippedOnce,
        duplicates,
        removed: published.removed,
        ivf: published.ivf,
        seconds: (performance.now() - started) / 1000,
      };
    } finally {
      file.close();
    }
  } finally {
    // After a failure, closing must not hide it (a full disk also fails the final flush).
    try {
      closeSpill();
    } catch { /* the run's first error is the one reported */ }
    await Deno.remove(spillPath).catch(() => {});
  }
}

/** An entry of an {@linkcode UpdateSummary}: what was left out (a file's path, a CSV row) and why. */
export interface SummaryEntry {
  item: string;
  reason: string;
}

/**
 * One catalog update (read the catalog, then reindex) in the user's terms, ready for a chat
 * message or a terminal: `found` = `stored` + `skipped.length` + `duplicates.length`.
 */
export interface UpdateSummary {
  /** Catalog entries considered: the reindexed tracks plus what reading the catalog left out. */
  found: number;
  /** Tracks in the new index, searchable now. */
  stored: number;
  /** Files and rows left out, with why (when reading the catalog or when embedding), by item. */
  skipped: SummaryEntry[];
  /** Files left out as copies of a stored one (`keptItem`), by item. */
  duplicates: (SummaryEntry & { keptItem: string })[];
  /** Tracks deleted because they left the catalog (or are now refused). */
  removed: number;
  /** Values changed so they could be stored, e.g. `title: control characters removed`. */
  cleaned: SummaryEntry[];
  /** The index version now serving. */
  indexVersion: number;
  /** Whether an IVF index was built (else `ivf` searches use the exact index). */
  ivf: boolean;
  /** Seconds for the whole update. */
  seconds: number;
}

/**
 * Puts an update's two reports into one {@linkcode UpdateSummary}.
 *
 * @param ingest What reading the catalog reported (`undefined` for a reindex alone).
 * @param reindex What the reindex reported.
 * @returns The summary.
 */
export function summarizeUpdate(
  ingest: { skipped: readonly SummaryEntry[]; cleaned: readonly SummaryEntry[]; seconds: number } | undefined,
  reindex: ReindexReport,
): UpdateSummary {
  const byItem = (a: SummaryEntry, b: SummaryEntry) => (a.item < b.item ? -1 : a.item > b.item ? 1 : 0);
  const skipped = [
    ...(ingest?.skipped ?? []).map(({ item, reason }) => ({ item, reason })),
    ...reindex.skipped.map(({ item, reason }) => ({ item, reason })),
  ].sort(byItem);
  return {
    found: reindex.tracks + (ingest?.skipped.length ?? 0),
    stored: reindex.indexed,
    skipped,
    duplicates: reindex.duplicates.map(({ item, reason, keptItem }) => ({ item, reason, keptItem })).sort(
      byItem,
    ),
    removed: reindex.removed,
    cleaned: (ingest?.cleaned ?? []).map(({ item, reason }) => ({ item, reason })),
    indexVersion: reindex.version,
    ivf: reindex.ivf,
    seconds: (ingest?.seconds ?? 0) + reindex.seconds,
  };
}

/**
 * Why a catalog file could not be embedded, as a reason for the summary: the decoder's sentence,
 * with the clip-length policy's chat wording ("send at least 3 s") turned into a catalog's.
 *
 * @param err What hashing, decoding or embedding threw.
 * @returns One sentence.
 */
export function describeFailure(err: unknown): string {
  if (isSoundalikeError(err, ErrorCode.ClipTooShort)) {
    const seconds = /is ([\d.]+) s long/.exec(err.message)?.[1];
    return `too short: ${
      seconds ? `${seconds} s` : "less"
    } of audio, at least ${MIN_CLIP_SECONDS} s are needed`;
  }
  if (isSoundalikeError(err, ErrorCode.SilentClip)) {
    const level = /silent \(([^)]*)\)/.exec(err.message)?.[1];
    return `silent${level ? ` (${level})` : ""}: there is no sound to compare`;
  }
  if (err instanceof Deno.errors.NotFound) {
    return "the file is gone: it was moved or deleted after the catalog was read";
  }
  if (err instanceof Deno.errors.PermissionDenied) return "the file cannot be read (permission denied)";
  return err instanceof Error ? err.message : String(err);
}

/**
 * Squared L2 distance under which two clip vectors come from the same audio: identical samples
 * give vectors equal up to float rounding (which can differ with the batch a clip was embedded
 * in), while any two different recordings are orders of magnitude further apart (at most 18).
 */
export const SAME_AUDIO_SQUARED_DISTANCE = 1e-6;
/** Projections of same-audio vectors differ by far less than this. */
const PROJECTION_WINDOW = 1e-3;

/**
 * Which vectors repeat an earlier one (closer than {@linkcode SAME_AUDIO_SQUARED_DISTANCE}).
 * Vectors are sorted by their projection on a fixed direction and compared only with those whose
 * projections (on two directions) are within a small window, so the work stays near-linear; they
 * are read by chunks for the projections and one by one for the few comparisons, so a catalog's
 * vectors can stay on disk.
 *
 * @param vectors Clip vectors (rows of one length), in memory or on disk.
 * @returns For each vector, the index of the first vector it repeats, or `undefined`.
 */
export function sameAudio(vectors: RowSource): (number | undefined)[] {
  const n = vectors.rows;
  const dim = vectors.dim;
  const rand = mulberry32(7);
  const directions = [0, 1].map(() => Float32Array.from({ length: dim }, () => rand() - 0.5));
  const p0 = new Float64Array(n);
  const p1 = new Float64Array(n);
  forEachChunk(vectors, 1024, (chunk, from) => {
    for (let r = 0; r < chunk.length / dim; r++) {
      let a = 0;
      let b = 0;
      for (let j = 0; j < dim; j++) {
        const v = chunk[r * dim + j]!;
        a += v * directions[0]![j]!;
        b += v * directions[1]![j]!;
      }
      p0[from + r] = a;
      p1[from + r] = b;
    }
  });
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => p0[a]! - p0[b]!);
  // Each vector points at the lowest index known to have the same audio.
  const root = Array.from({ length: n }, (_, i) => i);
  const find = (i: number): number => (root[i] === i ? i : (root[i] = find(root[i]!)));
  const vi = new Float32Array(dim);
  const vj = new Float32Array(dim);
  for (let a = 0; a < n; a++) {
    const i = order[a]!;
    let loaded = false;
    for (let b = a + 1; b < n && p0[order[b]!]! - p0[i]! <= PROJECTION_WINDOW; b++) {
      const j = order[b]!;
      if (Math.abs(p1[j]! - p1[i]!) > PROJECTION_WINDOW) continue;
      if (!loaded) vectors.read(i, vi);
      loaded = true;
      vectors.read(j, vj);
      let d = 0;
      for (let k = 0; k < dim && d <= SAME_AUDIO_SQUARED_DISTANCE; k++) d += (vi[k]! - vj[k]!) ** 2;
      if (d <= SAME_AUDIO_SQUARED_DISTANCE) {
        const [ri, rj] = [find(i), find(j)];
        root[Math.max(ri, rj)] = Math.min(ri, rj);
      }
    }
  }
  return root.map((_, i) => (find(i) === i ? undefined : find(i)));
}

function isAbort(err: unknown): boolean {
  return err instanceof DOMException && err.name === "AbortError";
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

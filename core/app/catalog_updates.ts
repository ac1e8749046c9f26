/**
 * Changing the catalog: reading a folder or an FMA tree into the database (ingest), embedding every
 * track and publishing a new index version (reindex), one writer at a time under an advisory lock.
 * @module
 */
import { join, resolve } from "node:path";
import { decodeSegmentsMany, LONG_FILE_BYTES } from "../audio/long_files.ts";
import { cleanTrack } from "../catalog/clean_text.ts";
import { type FmaSubset, readFmaCatalog, readSkipList } from "../catalog/fma.ts";
import { readFolderCatalog } from "../catalog/folder.ts";
import {
  type EmbeddedFile,
  noProgress,
  type ProgressReporter,
  type Published,
  reindexCatalog,
  type ReindexLeftOut,
  type ReindexReport,
  summarizeUpdate,
} from "../catalog/reindex.ts";
import type { CatalogReadResult, SkippedEntry } from "../catalog/types.ts";
import type { Config } from "../config.ts";
import { type Db, lockKey, withAdvisoryLock } from "../db/client.ts";
import { databaseStep, rowFailureReason } from "../db/errors.ts";
import {
  finishReindex,
  getCachedEmbeddings,
  listTracksForIndexing,
  markTracksRemoved,
  putCachedEmbeddings,
  setContentHashes,
  storeTracks,
  upsertGenres,
} from "../db/repository.ts";
import { ErrorCode, SoundalikeError } from "../errors.ts";
import {
  buildClipIvfIndex,
  buildWindowIndex,
  flatIndexRows,
  type IndexStore,
} from "../index/vector_index.ts";
import type { RowSource } from "../index/row_file.ts";
import type { Logger } from "../logger.ts";
import { readTagsMany } from "../audio/ffmpeg.ts";
import { CLIP_EMBEDDING_SIZE, confidentClasses, type Embedder } from "../model/embed.ts";
import { modelsHash } from "../model/manifest.ts";
import { pathExists, sha256File, sha256Files } from "../util/files.ts";
import type { Resources } from "./resources.ts";
import type { App, EmbeddingPlace, IngestOptions, IngestReport, ReindexRunOptions } from "./types.ts";

const REINDEX_LOCK = "soundalike:reindex";

/** The catalog-changing half of {@linkcode App}. */
export type CatalogUpdates = Pick<App, "ingest" | "reindex" | "update" | "embedFiles">;

/**
 * The catalog updates over a configuration's resources.
 *
 * @param res The opened-on-first-use resources.
 * @param config The validated configuration (metric, nprobe, reindex concurrency).
 * @param logger The process's logger.
 * @param where Where batches are embedded (by default here).
 * @returns The {@linkcode CatalogUpdates}.
 */
export function createCatalogUpdates(
  res: Resources,
  config: Config,
  logger: Logger,
  where: EmbeddingPlace = {},
): CatalogUpdates {
  const { db, manifest, embedder, decodeOptions, store } = res;
  const embedHere = async (paths: string[]) =>
    // Full-length tracks are decoded only in the three windows the segment policy uses.
    embedFiles(await embedder(), await decodeSegmentsMany(paths, await decodeOptions()));
  const remote = where.embedFiles;
  // One writer at a time: ingest and reindex share one PostgreSQL advisory lock, so a second
  // `deno task reindex` is refused instead of changing the catalog under a running one.
  const locked = async <T>(fn: () => Promise<T>): Promise<T> =>
    withAdvisoryLock(await db(), lockKey(REINDEX_LOCK), fn);

  const ingestUnlocked = async (
    dir: string,
    options: IngestOptions & ReindexRunOptions = {},
  ): Promise<IngestReport> => {
    const started = performance.now();
    const root = resolve(dir);
    if (!(await pathExists(root))) {
      throw new SoundalikeError(ErrorCode.FileNotFound, `There is no catalog folder at ${dir}`);
    }
    const source = options.demo ? "demo" : options.fma ? "fma" : "folder";
    const signal = options.signal;
    const { audioRoot, result }: { audioRoot: string; result: CatalogReadResult } = options.fma
      ? await readFma(root, options.subset ?? "small", options.demo ?? false, logger)
      : {
        audioRoot: root,
        result: await readFolderCatalog({
          root,
          source: options.demo ? "demo" : "folder",
          readTags: (paths) => readTagsMany(paths, signal ? { signal } : {}),
          progress: options.progress ?? noProgress,
          ...(signal ? { signal } : {}),
          logger,
        }),
      };
    // Every text is made storable here, whatever the source; what changed is reported.
    const cleaned: SkippedEntry[] = [];
    const tracks = result.tracks.map((track) => {
      const c = cleanTrack(track);
      for (const note of c.notes) cleaned.push({ item: track.audioPath, reason: note });
      return c.track;
    });
    if (tracks.length === 0) {
      throw new SoundalikeError(
        ErrorCode.BadDataset,
        `No playable tracks found in ${dir}` +
          (result.skipped.length
            ? `: ${result.skipped.length} skipped, e.g. ` +
              result.skipped.slice(0, 3).map((s) => `${s.item} (${s.reason})`).join("; ")
            : ""),
      );
    }
    const database = await db();
    const genres = result.genres.length
      ? await databaseStep("store the genre tree", () => upsertGenres(database, result.genres))
      : 0;
    // One row the database refuses costs that row only; it is reported with the others skipped.
    const stored = await databaseStep(
      "store the catalog's tracks",
      () => storeTracks(database, audioRoot, tracks),
    );
    const skipped = [...result.skipped];
    for (const { index, error } of stored.failures) {
      skipped.push({ item: tracks[index]!.audioPath, reason: rowFailureReason(error) });
    }
    const kept = tracks.filter((_, i) => stored.ids[i] !== undefined).map((t) => t.sourceId);
    const removed = await databaseStep(
      "mark the tracks gone from the catalog",
      () => markTracksRemoved(database, source, kept),
    );
    return {
      found: kept.length + skipped.length,
      tracks: kept.length,
      genres,
      removed,
      skipped,
      cleaned,
      seconds: (performance.now() - started) / 1000,
    };
  };

  const reindexUnlocked = async (options: ReindexRunOptions = {}): Promise<ReindexReport> => {
    const database = await db();
    // With remote embedding (workers), this process never opens the models.
    const m = await manifest();
    const dims = remote ? CLIP_EMBEDDING_SIZE : (await embedder()).dims;
    const hash = modelsHash(m);
    const tracks = (await databaseStep("list the catalog's tracks", () => listTracksForIndexing(database)))
      .map((t) => ({ trackId: t.trackId, path: join(t.catalogRoot, t.audioPath), item: t.audioPath }));
    if (tracks.length === 0) {
      throw new SoundalikeError(
        ErrorCode.IndexMissing,
        "The catalog is empty: run `deno task reindex <catalog-dir>` with a folder of audio files",
      );
    }
    // The run's vectors go to the index store's build folder (its file system, so the approximate
    // indexes' files are moved into the version by renaming).
    const workDir = await store.prepareBuildDir();
    const progress = options.progress ?? noProgress;
    return await reindexCatalog(
      {
        scratchDir: workDir,
        hashFile: sha256File,
        hashFiles: sha256Files,
        // Batches are filled by bytes (16 MiB, about 16 x a 30 s MP3): a long file is decoded only
        // in its windows, about a 30 s clip's work, so it counts as 1 MiB (6 MB tracks would
        // otherwise make batches of two, each paying ffmpeg's start).
        fileSize: async (path) => {
          const size = (await Deno.stat(path)).size;
          return size > LONG_FILE_BYTES ? 512 * 1024 : size;
        },
        getCached: (hashes) =>
          databaseStep("read the embedding cache", () => getCachedEmbeddings(database, hashes, hash)),
        putCached: (entries) => putCachedEmbeddings(database, hash, entries),
        setHashes: (entries) =>
          databaseStep("record the files' content hashes", () => setContentHashes(database, entries)),
        embedFiles: remote ?? embedHere,
        publish: (vectors, trackIds, leftOut) =>
          publishVersion(
            { config, logger, store, database, dim: dims, modelsHash: hash, workDir, progress },
            {
              vectors,
              trackIds,
              leftOut,
            },
          ),
        logger,
        progress,
      },
      tracks,
      {
        concurrency: (remote && where.reindexConcurrency) || config.reindexConcurrency,
        dim: dims,
        ...(options.signal ? { signal: options.signal } : {}),
      },
    );
  };

  return {
    embedFiles: embedHere,
    ingest: (dir, options) => locked(() => ingestUnlocked(dir, options)),
    reindex: (options) => locked(() => reindexUnlocked(options)),
    update: (dir, options = {}) =>
      locked(async () => {
        const ingest = dir === undefined ? undefined : await ingestUnlocked(dir, options);
        const reindex = await reindexUnlocked(options);
        return { ingest, reindex, summary: summarizeUpdate(ingest, reindex) };
      }),
  };
}

/**
 * Cuts and embeds decoded files; a file that failed to decode or is refused by the clip policy
 * keeps its error in its slot.
 */
async function embedFiles(
  emb: Embedder,
  decoded: (Float32Array[] | Error)[],
): Promise<(EmbeddedFile | Error)[]> {
  const results: (EmbeddedFile | Error)[] = [];
  const clips: Float32Array[][] = [];
  const slots: number[] = [];
  for (const segments of decoded) {
    if (segments instanceof Error) {
      results.push(segments);
      continue;
    }
    clips.push(segments);
    slots.push(results.length);
    results.push(new Error("Not embedded"));
  }
  // What each model heard is kept beside the vector, for the labels shown with results: only the
  // labels the calibrated models are confident of, as for the query's own card.
  const analyses = clips.length ? await emb.analyzeMany(clips) : [];
  analyses.forEach((
    a,
    i,
  ) => (results[slots[i] as number] = { vector: a.vector, labels: confidentClasses(a.hearing) }));
  return results;
}

/** What publishing a new index version needs from the reindex run. */
interface PublishContext {
  config: Config;
  logger: Logger;
  store: IndexStore;
  database: Db;
  dim: number;
  modelsHash: string;
  /** The build folder ({@linkcode IndexStore.prepareBuildDir}): the approximate indexes' full vectors go there. */
  workDir: string;
  progress: ProgressReporter;
}

/**
 * Builds the flat, window and (for a large enough catalog) IVF indexes, writes them as a new
 * version and records it; a failure leaves the current version serving. The vectors are read by
 * chunks from disk: the exact index is streamed into its file when the version is written, the
 * window and IVF indexes keep compressed codes (or, for a small catalog, the vectors) in memory.
 */
async function publishVersion(
  { config, logger, store, database, dim, modelsHash: hash, workDir, progress }: PublishContext,
  { vectors, trackIds, leftOut }: {
    vectors: RowSource;
    trackIds: number[];
    leftOut: ReindexLeftOut;
  },
): Promise<Published> {
  const common = { metric: config.metric, vectors, dim: dim, trackIds, logger };
  let ivf, windows;
  // Written straight from the rows when the version is saved, never built in memory.
  const flat = flatIndexRows(common);
  try {
    // The window index for segment search: each track's three 768-d window vectors.
    // Exact below 20,000 tracks; approximate above (IVF-PQ + exact re-rank), its full vectors
    // written to the store's build folder and moved into the version when it is written.
    windows = buildWindowIndex({
      vectors,
      dim: dim,
      trackIds,
      logger,
      kind: config.windowIndex,
      workDir,
      progress,
    });
    // A small catalog gets no IVF index: `ivf` searches then use the flat one. Stored
    // with the configured nprobe, so serving needs no other value.
    // Past 100,000 tracks (l2) it is approximate too: IVF-PQ + exact re-rank from ivf.f32.
    ivf = buildClipIvfIndex({ ...common, nprobe: config.nprobe, workDir, progress });
  } catch (err) {
    // Its (possibly large) half-written vector files are ours: removed now, not at the next build.
    await Deno.remove(workDir, { recursive: true }).catch(() => {});
    throw new SoundalikeError(
      ErrorCode.IndexFailed,
      `Could not build the search index over ${trackIds.length} tracks: ${errorText(err)}: free ` +
        "some memory or disk space and run the reindex again; the current index keeps serving",
      { cause: err },
    );
  }
  const meta = {
    modelsHash: hash,
    metric: config.metric,
    dim: dim,
    count: trackIds.length,
    createdAt: new Date().toISOString(),
  };
  let version: number;
  progress.start(1, "writing the index files");
  try {
    version = await store.writeVersion({ flat, ivf, windows, meta });
    progress.update(1);
  } catch (err) {
    throw new SoundalikeError(
      ErrorCode.IndexFailed,
      `Could not write the search index to ${store.dir}: ${errorText(err)}: free disk space or fix ` +
        "the folder's permissions, then run the reindex again; the current index keeps serving",
      { cause: err },
    );
  } finally {
    progress.stop();
  }
  const kinds = ivf ? ["flat", "ivf"] : ["flat"];
  const removed = await databaseStep("record the new index", () =>
    finishReindex(database, {
      indexed: trackIds,
      skipped: leftOut.skipped,
      duplicates: leftOut.duplicates,
      versions: kinds.map((kind) => ({
        version,
        kind,
        metric: config.metric,
        modelsHash: hash,
        count: trackIds.length,
        path: join(store.dir, `v${version}`),
      })),
    }));
  return { version, ivf: ivf !== undefined, removed };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function readFma(
  root: string,
  subset: FmaSubset,
  demo: boolean,
  logger: Logger,
): Promise<{ audioRoot: string; result: CatalogReadResult }> {
  const metadataDir = join(root, "fma_metadata");
  if (!(await pathExists(join(metadataDir, "tracks.csv")))) {
    throw new SoundalikeError(
      ErrorCode.BadDataset,
      `An FMA catalog needs ${metadataDir}/tracks.csv and genres.csv (the fma_metadata folder)`,
    );
  }
  const candidates = [`fma_${subset}`, "fma_full", "fma_large", "fma_medium", "fma_small", "audio"];
  let audioRoot: string | undefined;
  for (const name of candidates) {
    if (await pathExists(join(root, name))) {
      audioRoot = join(root, name);
      break;
    }
  }
  if (audioRoot === undefined) {
    throw new SoundalikeError(
      ErrorCode.BadDataset,
      `No FMA audio tree in ${root}: expected one of ${candidates.join(", ")}`,
    );
  }
  const skipFiles: string[] = [];
  for (
    const list of [join(root, "corrupted_files.txt"), join(root, "fma_small_lists", "corrupted_files.txt")]
  ) {
    if (await pathExists(list)) skipFiles.push(...await readSkipList(list));
  }
  const result = await readFmaCatalog({
    metadataDir,
    subset,
    audioDir: audioRoot,
    skipFiles,
    source: demo ? "demo" : "fma",
    logger,
  });
  return { audioRoot, result };
}

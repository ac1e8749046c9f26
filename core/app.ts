/**
 * Wires the pipeline's plain functions to the real outside systems (ffmpeg, onnxruntime, FAISS,
 * PostgreSQL) from a validated {@linkcode Config}. The CLIs and the chat adapters open one
 * {@linkcode App} at start-up and call its methods; everything heavy is opened lazily, once.
 * @module
 */
import { join, resolve } from "node:path";
import { cleanTrack } from "./catalog/clean_text.ts";
import { type FmaSubset, readFmaCatalog, readSkipList } from "./catalog/fma.ts";
import { readFolderCatalog } from "./catalog/folder.ts";
import type { CatalogReadResult, SkippedEntry } from "./catalog/types.ts";
import { type Db, lockKey, openDatabase, withAdvisoryLock } from "./db/client.ts";
import { databaseStep, rowFailureReason } from "./db/errors.ts";
import {
  catalogTopGenres,
  type GenreCount,
  trackIdsWithTopGenre,
  trackLabels,
  trackVector,
} from "./db/lookup.ts";
import { createPartyStore } from "./db/party.ts";
import type { PartyStore, StoredLabel } from "./recommend/party.ts";
import {
  type DbStats,
  finishReindex,
  getCachedEmbeddings,
  getTrackCards,
  listTracksForIndexing,
  markTracksRemoved,
  putCachedEmbeddings,
  setContentHashes,
  stats,
  storeTracks,
  trackIdByContentHash,
  upsertGenres,
} from "./db/repository.ts";
import type { Config } from "./config.ts";
import { bestClasses, type ClipAnalysis, createEmbedder, type Embedder } from "./model/embed.ts";
import { ErrorCode, SoundalikeError } from "./errors.ts";
import { batchedDecoder } from "./audio/decode_batch.ts";
import { type DecodedAudio, decodeMany, readTagsMany } from "./audio/ffmpeg.ts";
import { pathExists, sha256File } from "./util/files.ts";
import type { Logger } from "./logger.ts";
import { loadManifest, type Manifest, modelsHash } from "./model/manifest.ts";
import {
  recommendForFile,
  recommendForVector,
  type RecommendResult,
  type SearchDeps,
  searchKeeping,
  type TrackCard,
  type VectorQueryResult,
} from "./recommend/recommend.ts";
import {
  type EmbeddedFile,
  noProgress,
  type ProgressReporter,
  reindexCatalog,
  type ReindexReport,
  summarizeUpdate,
  type UpdateSummary,
} from "./catalog/reindex.ts";
import { cutSegments } from "./audio/segments.ts";
import {
  buildVectorIndex,
  buildWindowIndex,
  type IndexKind,
  IndexStore,
  ivfSupported,
  searchWindows,
  type StoredIndexes,
  type VectorIndex,
} from "./index/vector_index.ts";

/** Options of {@linkcode App.similar}. */
export interface SimilarOptions {
  k?: number;
  /** @default config.indexKind */
  index?: IndexKind;
  /** IVF lists visited. @default config.nprobe */
  nprobe?: number;
  /** Only catalog tracks with this top genre (case-insensitive). */
  genre?: string;
  /** Where the clip begins in the file, in seconds. @default 0 */
  startSeconds?: number;
  /** Whole-clip or segment search. @default config.searchMethod */
  method?: SearchMethod;
}

/** Which index answered, and which version of it. */
export interface AnsweredBy {
  index: IndexKind;
  indexVersion: number;
  /** `clip`: whole 2304-d clip vectors (the paper's method); `segment`: window vectors matched across windows. */
  method: SearchMethod;
}

/** How clips are compared: see {@linkcode AnsweredBy.method}. */
export type SearchMethod = "clip" | "segment";

/** What {@linkcode App.analyze} heard in a clip. */
export interface ClipReport extends ClipAnalysis {
  /** Decoded length in seconds, and whether it was cut at the configured maximum. */
  seconds: number;
  truncated: boolean;
  /** The catalog track whose file has exactly these bytes, if any. */
  catalogTrackId: number | undefined;
}

/** What {@linkcode App.warm} opened. */
export interface WarmReport {
  /** Tracks in the served index, or `undefined` when there is no usable index yet. */
  indexedTracks: number | undefined;
  indexVersion: number | undefined;
  /** Why there is no usable index, when there is none. */
  indexProblem: string | undefined;
  provider: "cuda" | "cpu";
}

/** Options of {@linkcode App.ingest}. */
export interface IngestOptions {
  /** The folder is an FMA tree (`fma_metadata/` + an audio tree). */
  fma?: boolean;
  /** FMA subset to keep. @default "small" */
  subset?: FmaSubset;
  /** Mark the tracks as the demo catalog. */
  demo?: boolean;
}

/** Options of {@linkcode App.reindex}. */
export interface ReindexRunOptions {
  progress?: ProgressReporter;
  signal?: AbortSignal;
}

/**
 * What {@linkcode App.ingest} read and stored: `found` = `tracks` + `skipped.length`. Stored
 * tracks become searchable (and count as stored in {@linkcode UpdateSummary}) once a reindex has
 * embedded them.
 */
export interface IngestReport {
  /** Catalog entries read: audio files, and metadata rows naming no usable file. */
  found: number;
  /** Tracks whose metadata was stored (new or updated), waiting for the reindex. */
  tracks: number;
  /** Genres of the genre tree stored (FMA). */
  genres: number;
  /** Tracks gone from the catalog (or now refused), deleted once an index without them is current. */
  removed: number;
  /** Files and rows left out, with why: unreadable, not audio, broken links, refused by the database. */
  skipped: SkippedEntry[];
  /** Values changed so they can be stored, e.g. `title: control characters removed`. */
  cleaned: SkippedEntry[];
  seconds: number;
}

/** The wired application. */
export interface App {
  readonly config: Config;
  readonly logger: Logger;
  /** The metadata database, opened on first use. */
  db(): Promise<Db>;
  /** The verified model manifest, loaded on first use. */
  manifest(): Promise<Manifest>;
  /** The embedder (one ONNX session per model), opened on first use. */
  embedder(): Promise<Embedder>;
  /** Decodes a clip with the configured limits at the models' sample rate. */
  decode(path: string): Promise<DecodedAudio>;
  /** The k most similar catalog tracks of a clip. */
  similar(path: string, options?: SimilarOptions): Promise<RecommendResult & AnsweredBy>;
  /**
   * The k catalog tracks most similar to a catalog track, from its stored vector (nothing decoded).
   * @throws {SoundalikeError} `track_gone` when the track is no longer in the catalog or its index.
   */
  similarToTrack(
    trackId: number,
    options?: Omit<SimilarOptions, "startSeconds">,
  ): Promise<VectorQueryResult & AnsweredBy & { seed: TrackCard }>;
  /**
   * Decodes and embeds a clip without searching: its vector, what the models hear, its length, and
   * the catalog track with the same bytes, if any (a listening party keeps these).
   */
  analyze(path: string): Promise<ClipReport>;
  /** The k catalog tracks nearest a clip vector, with a track filter (a party leaves out what it had). */
  similarToVector(
    vector: Float32Array,
    options?: Omit<SimilarOptions, "startSeconds"> & { exclude?: ReadonlySet<number> },
  ): Promise<VectorQueryResult & AnsweredBy>;
  /** The catalog's top genres with their track counts, most common first. */
  genres(): Promise<GenreCount[]>;
  /** What the models heard in catalog tracks (each model's best class), where reindex stored it. */
  trackLabels(trackIds: readonly number[]): Promise<Map<number, StoredLabel[]>>;
  /** Listening parties, stored in the database. */
  parties(): Promise<PartyStore>;
  /**
   * Opens the database, models and current index now (a long-running bot does this at start so
   * the first answer is fast). A missing index is reported, not thrown.
   */
  warm(): Promise<WarmReport>;
  /** Reads a catalog folder (tags included) and stores its metadata; progress while reading tags. */
  ingest(dir: string, options?: IngestOptions & ReindexRunOptions): Promise<IngestReport>;
  /** Embeds every catalog track and publishes new indexes, one reindex at a time. */
  reindex(options?: ReindexRunOptions): Promise<ReindexReport>;
  /**
   * Ingest (when a folder is given) and reindex under one lock; `summary` is the whole run in the
   * user's terms (stored, skipped with reasons, duplicates, removed, index version, time).
   */
  update(
    dir: string | undefined,
    options?: IngestOptions & ReindexRunOptions,
  ): Promise<{ ingest: IngestReport | undefined; reindex: ReindexReport; summary: UpdateSummary }>;
  /**
   * Catalog and index figures: `tracks` counts the stored (indexed) tracks, so it equals
   * `indexedTracks` after a reindex; the others are counted by status.
   */
  stats(): Promise<DbStats & { indexVersion: number | undefined; indexedTracks: number | undefined }>;
  /** Releases sessions and connections. */
  close(): Promise<void>;
}

const REINDEX_LOCK = "soundalike:reindex";

/**
 * Creates the application over a validated configuration. Nothing is opened until first needed.
 *
 * @param config From `loadConfig()`.
 * @param logger The process's logger.
 * @returns The {@linkcode App}.
 */
export function createApp(config: Config, logger: Logger): App {
  const db = lazy(() => openDatabase({ url: config.databaseUrl, dataDir: config.dataDir, logger }));
  const manifest = lazy(() => loadManifest(config.modelsDir));
  const embedder = lazy(async () =>
    createEmbedder({
      manifest: await manifest(),
      modelsDir: config.modelsDir,
      provider: config.ortProvider,
      threads: config.ortThreads,
      logger,
    })
  );
  const store = new IndexStore(join(config.dataDir, "indexes"), { logger });
  let loaded: { key: string; indexes: StoredIndexes } | undefined;
  const indexes = async (): Promise<StoredIndexes> => {
    const hash = modelsHash(await manifest());
    const version = await store.currentVersion();
    const key = `${version}:${hash}`;
    if (loaded?.key !== key) {
      loaded = {
        key,
        indexes: await store.loadCurrent({ expectModelsHash: hash, defaultNprobe: config.nprobe }),
      };
    }
    return loaded.indexes;
  };
  const decodeOptions = async () => ({
    sampleRate: (await manifest()).models.genre.features.sampleRate,
    maxSeconds: config.maxClipSeconds,
    maxBytes: config.maxUploadBytes,
    logger,
  });
  // Query clips: concurrent requests share ffmpeg runs once `decodeProcesses` are busy.
  const decodeBatched = batchedDecoder(
    async (paths) => decodeMany(paths, await decodeOptions()),
    { processes: config.decodeProcesses, maxBatch: 8 },
  );
  const decode = (path: string) => decodeBatched(path);

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
    const [m, emb] = await Promise.all([manifest(), embedder()]);
    const hash = modelsHash(m);
    const tracks = (await databaseStep("list the catalog's tracks", () => listTracksForIndexing(database)))
      .map((t) => ({ trackId: t.trackId, path: join(t.catalogRoot, t.audioPath), item: t.audioPath }));
    if (tracks.length === 0) {
      throw new SoundalikeError(
        ErrorCode.IndexMissing,
        "The catalog is empty: run `deno task reindex <catalog-dir>` with a folder of audio files",
      );
    }
    return await reindexCatalog(
      {
        hashFile: sha256File,
        fileSize: async (path) => (await Deno.stat(path)).size,
        getCached: (hashes) =>
          databaseStep("read the embedding cache", () => getCachedEmbeddings(database, hashes, hash)),
        putCached: (entries) => putCachedEmbeddings(database, hash, entries),
        setHashes: (entries) =>
          databaseStep("record the files' content hashes", () => setContentHashes(database, entries)),
        embedFiles: async (paths) => {
          const decoded = await decodeMany(paths, await decodeOptions());
          const results: (EmbeddedFile | Error)[] = [];
          const clips: Float32Array[][] = [];
          const slots: number[] = [];
          for (const audio of decoded) {
            if (audio instanceof Error) {
              results.push(audio);
              continue;
            }
            try {
              clips.push(cutSegments(audio));
              slots.push(results.length);
              results.push(new Error("Not embedded"));
            } catch (err) {
              results.push(err instanceof Error ? err : new Error(String(err)));
            }
          }
          // What each model heard is kept beside the vector, for the labels shown with results.
          const analyses = clips.length ? await emb.analyzeMany(clips) : [];
          analyses.forEach((
            a,
            i,
          ) => (results[slots[i] as number] = { vector: a.vector, labels: bestClasses(a.hearing) }));
          return results;
        },
        publish: async (vectors, trackIds, leftOut) => {
          const common = { metric: config.metric, vectors, dim: emb.dims, trackIds, logger };
          let flat, ivf, windows;
          try {
            flat = buildVectorIndex({ ...common, kind: "flat" });
            // The window index for segment search: each track's three 768-d window vectors.
            windows = buildWindowIndex({ vectors, dim: emb.dims, trackIds, logger });
            // A small catalog gets no IVF index: `ivf` searches then use the flat one. Stored
            // with the configured nprobe, so serving needs no other value.
            ivf = ivfSupported(trackIds.length, emb.dims)
              ? buildVectorIndex({ ...common, nprobe: config.nprobe, kind: "ivf" })
              : undefined;
          } catch (err) {
            throw new SoundalikeError(
              ErrorCode.IndexFailed,
              `Could not build the search index over ${trackIds.length} tracks: ${errorText(err)}: free ` +
                "some memory and run the reindex again; the current index keeps serving",
              { cause: err },
            );
          }
          const meta = {
            modelsHash: hash,
            metric: config.metric,
            dim: emb.dims,
            count: trackIds.length,
            createdAt: new Date().toISOString(),
          };
          let version: number;
          try {
            version = await store.writeVersion({ flat, ivf, windows, meta });
          } catch (err) {
            throw new SoundalikeError(
              ErrorCode.IndexFailed,
              `Could not write the search index to ${store.dir}: ${errorText(err)}: free disk space or fix ` +
                "the folder's permissions, then run the reindex again; the current index keeps serving",
              { cause: err },
            );
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
        },
        logger,
        progress: options.progress ?? noProgress,
      },
      tracks,
      {
        concurrency: config.reindexConcurrency,
        dim: emb.dims,
        ...(options.signal ? { signal: options.signal } : {}),
      },
    );
  };

  /** The catalog track whose file has exactly these bytes, if any. */
  const trackIdForFile = async (file: string): Promise<number | undefined> => {
    const hash = await sha256File(file).catch(() => undefined);
    return hash === undefined ? undefined : trackIdByContentHash(await db(), hash);
  };

  /** The tracks of one top genre; an unknown genre is refused with the genres there are. */
  const genreTracks = async (genre: string): Promise<Set<number>> => {
    const database = await db();
    const ids = await trackIdsWithTopGenre(database, genre.trim());
    if (ids.length > 0) return new Set(ids);
    const known = (await catalogTopGenres(database)).map((g) => g.genre);
    throw new SoundalikeError(
      ErrorCode.BadRequest,
      known.length
        ? `The catalog has no ${JSON.stringify(genre.trim())} tracks: choose one of ${known.join(", ")}`
        : "The catalog has no genres to filter by: search without a genre",
    );
  };

  /**
   * The index a search of this kind and method reads: the window index for segment search (when the
   * version has one; else whole clips answer), else the flat or IVF clip index.
   */
  const searchedIndex = async (
    idx: StoredIndexes,
    kind: IndexKind,
    method: SearchMethod,
  ): Promise<{ index: VectorIndex; method: SearchMethod }> => {
    const windows = method === "segment" ? await idx.windows() : undefined;
    if (windows !== undefined) return { index: windows, method: "segment" };
    return { index: kind === "flat" ? await idx.flat() : await idx.ivf(), method: "clip" };
  };

  /**
   * Searching the current index as `options` (or the configuration) ask; `answered()` says which
   * version, kind and method answered (`ivf` is served by the exact index for a catalog too small
   * for IVF; segment search by the clip index of a version built before it).
   */
  const searchFor = (
    options: { index?: IndexKind; nprobe?: number; method?: SearchMethod },
  ): { deps: SearchDeps; answered: () => AnsweredBy } => {
    const kind = options.index ?? config.indexKind;
    const nprobe = options.nprobe ?? config.nprobe;
    const method = options.method ?? config.searchMethod;
    let answered: AnsweredBy = { index: kind, indexVersion: 0, method };
    const served = (v: AnsweredBy) => (answered = v);
    return { deps: searchDeps(kind, nprobe, method, served), answered: () => answered };
  };

  /** The search dependencies of {@linkcode searchFor}; `served` hears who answered. */
  const searchDeps = (
    kind: IndexKind,
    nprobe: number,
    method: SearchMethod,
    served: (v: AnsweredBy) => void,
  ): SearchDeps => ({
    search: async (vector, k, filter) => {
      const idx = await indexes();
      const searched = await searchedIndex(idx, kind, method);
      served({ index: searched.index.kind, indexVersion: idx.version, method: searched.method });
      if (searched.method === "segment") {
        const windows = searched.index;
        const neighbours = searchKeeping(
          (depth) => searchWindows(windows, vector, depth),
          idx.meta.count,
          k,
          filter,
        );
        return { neighbours, metric: "l2" };
      }
      const index = searched.index;
      const neighbours = searchKeeping(
        (depth) => index.search(vector, depth, { nprobe }),
        index.size,
        k,
        filter,
      );
      return { neighbours, metric: idx.meta.metric };
    },
    cards: async (ids) => getTrackCards(await db(), ids),
    logger,
  });

  const app: App = {
    config,
    logger,
    db,
    manifest,
    embedder,
    decode,

    async similar(path, options = {}) {
      // The genre is checked before anything is decoded: a typo costs nothing.
      const keep = options.genre === undefined ? undefined : await genreTracks(options.genre);
      const search = searchFor(options);
      // Everything else is opened lazily by recommendForFile's order (decode first), so a bad clip
      // loads no model or index and creates no database.
      const result = await recommendForFile(
        {
          decode,
          embed: async (segments) => (await (await embedder()).analyzeMany([segments]))[0]!,
          ...search.deps,
          trackIdForFile,
        },
        path,
        {
          ...(options.k === undefined ? {} : { k: options.k }),
          ...(options.startSeconds === undefined ? {} : { startSeconds: options.startSeconds }),
          ...(keep === undefined ? {} : { filter: { keep } }),
        },
      );
      return { ...result, ...search.answered() };
    },

    async similarToTrack(trackId, options = {}) {
      const keep = options.genre === undefined ? undefined : await genreTracks(options.genre);
      const [database, m, idx] = await Promise.all([db(), manifest(), indexes()]);
      const gone = () =>
        new SoundalikeError(
          ErrorCode.TrackGone,
          "That track is no longer in the catalog (a reindex removed it): send the clip again to search afresh",
        );
      // Is the track in the current version? Asked of the index this search reads, so no other is loaded.
      const searched = await searchedIndex(
        idx,
        options.index ?? config.indexKind,
        options.method ?? config.searchMethod,
      );
      if (!searched.index.trackIds.includes(trackId)) throw gone();
      const [lookup, seed] = await Promise.all([
        trackVector(database, trackId, modelsHash(m)),
        getTrackCards(database, [trackId]).then((c) => c[0]),
      ]);
      if (lookup.found !== "vector" || seed === undefined) throw gone();
      const search = searchFor(options);
      const result = await recommendForVector(
        search.deps,
        lookup.vector,
        {
          excludeTrackId: trackId,
          ...(options.k === undefined ? {} : { k: options.k }),
          ...(keep === undefined ? {} : { filter: { keep } }),
        },
      );
      return { ...result, seed, ...search.answered() };
    },

    async analyze(path) {
      const audio = await decode(path);
      const segments = cutSegments(audio);
      const analysis = (await (await embedder()).analyzeMany([segments]))[0]!;
      return {
        ...analysis,
        seconds: audio.seconds,
        truncated: audio.truncated,
        catalogTrackId: await trackIdForFile(path),
      };
    },

    async similarToVector(vector, options = {}) {
      const keep = options.genre === undefined ? undefined : await genreTracks(options.genre);
      const search = searchFor(options);
      const result = await recommendForVector(
        search.deps,
        vector,
        {
          ...(options.k === undefined ? {} : { k: options.k }),
          filter: { ...(keep ? { keep } : {}), ...(options.exclude ? { exclude: options.exclude } : {}) },
        },
      );
      return { ...result, ...search.answered() };
    },

    genres: async () => catalogTopGenres(await db()),

    trackLabels: async (ids) => trackLabels(await db(), ids, modelsHash(await manifest())),

    parties: async () => createPartyStore(await db()),

    async warm() {
      const [emb] = await Promise.all([embedder(), db()]);
      try {
        const idx = await indexes();
        // What the configured defaults search is loaded now, so the first answer does not wait for it.
        await searchedIndex(idx, config.indexKind, config.searchMethod);
        return {
          indexedTracks: idx.meta.count,
          indexVersion: idx.version,
          indexProblem: undefined,
          provider: emb.provider,
        };
      } catch (err) {
        if (!(err instanceof SoundalikeError)) throw err;
        return {
          indexedTracks: undefined,
          indexVersion: undefined,
          indexProblem: err.message,
          provider: emb.provider,
        };
      }
    },

    ingest: (dir, options) => locked(() => ingestUnlocked(dir, options)),
    reindex: (options) => locked(() => reindexUnlocked(options)),
    update: (dir, options = {}) =>
      locked(async () => {
        const ingest = dir === undefined ? undefined : await ingestUnlocked(dir, options);
        const reindex = await reindexUnlocked(options);
        return { ingest, reindex, summary: summarizeUpdate(ingest, reindex) };
      }),

    async stats() {
      const s = await stats(await db());
      // The index's own metadata file is enough: stats never loads the (large) index files.
      const meta = await store.currentMeta();
      return { ...s, indexVersion: meta?.version, indexedTracks: meta?.count };
    },

    async close() {
      // Only what was opened is closed: close() never opens anything.
      await Promise.allSettled([
        embedder.opened()?.then((e) => e.close()),
        db.opened()?.then((d) => d.close()),
      ]);
    },
  };
  return app;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A resource opened on first use; a failed open is retried on the next call. */
function lazy<T>(open: () => Promise<T>): (() => Promise<T>) & { opened(): Promise<T> | undefined } {
  let pending: Promise<T> | undefined;
  const get = () =>
    pending ??= open().catch((err) => {
      pending = undefined;
      throw err;
    });
  return Object.assign(get, { opened: () => pending });
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

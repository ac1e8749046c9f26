/**
 * The application's types: what {@linkcode App} offers and the options and reports of its methods.
 * @module
 */
import type { FmaSubset } from "../catalog/fma.ts";
import type { SkippedEntry } from "../catalog/types.ts";
import type { EmbeddedFile, ProgressReporter, ReindexReport, UpdateSummary } from "../catalog/reindex.ts";
import type { Config } from "../config.ts";
import type { Db } from "../db/client.ts";
import type { DatabaseState } from "../db/health.ts";

export type { DatabaseState } from "../db/health.ts";
import type { GenreCount } from "../db/lookup.ts";
import type { DbStats } from "../db/repository.ts";
import type { Logger } from "../logger.ts";
import type { ClipAnalysis, Embedder } from "../model/embed.ts";
import type { Manifest } from "../model/manifest.ts";
import type { DecodedAudio } from "../audio/ffmpeg.ts";
import type { IndexKind } from "../index/vector_index.ts";
import type { PartyStore, StoredLabel } from "../recommend/party.ts";
import type { RecommendResult, TrackCard, VectorQueryResult } from "../recommend/recommend.ts";

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
    options?: Omit<SimilarOptions, "startSeconds"> & {
      exclude?: ReadonlySet<number>;
      /**
       * Length of the clip the vector was heard from: a short clip's vector is searched as
       * {@linkcode App.similar} searches the clip (`core/recommend/block_weights.ts`). @default equal weights
       */
      clipSeconds?: number;
    },
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
   * Decodes and embeds catalog files here (one ffmpeg run, one batched model run); a file that
   * fails keeps its error in its place. A worker runs a reindex's batches with it.
   */
  embedFiles(paths: string[]): Promise<(EmbeddedFile | Error)[]>;
  /**
   * Ingest (when a folder is given) and reindex under one lock; `summary` is the whole run in the
   * user's terms (stored, skipped with reasons, duplicates, removed, index version, time).
   */
  update(
    dir: string | undefined,
    options?: IngestOptions & ReindexRunOptions,
  ): Promise<{ ingest: IngestReport | undefined; reindex: ReindexReport; summary: UpdateSummary }>;
  /** The version `CURRENT` names, from the index's own metadata: no database query, no index loaded. */
  indexVersion(): Promise<number | undefined>;
  /**
   * Catalog and index figures: `tracks` counts the stored (indexed) tracks, so it equals
   * `indexedTracks` after a reindex; the others are counted by status.
   */
  stats(): Promise<
    DbStats & {
      indexVersion: number | undefined;
      indexedTracks: number | undefined;
      /** The indexes serving: whole-clip kinds and the window index's structure (issue 13). */
      indexKinds?: { clip: string[]; windows: string | undefined };
    }
  >;
  /**
   * Whether the catalog's database answered the last requests: during an outage, when it began and
   * why (requests meanwhile fail with `catalog_unreachable`). Asks nothing of the database.
   */
  catalogState(): DatabaseState;
  /** Releases sessions and connections. */
  close(): Promise<void>;
}

/**
 * Where a reindex's batches are embedded (part of `createApp()`'s options). By default here; a chat
 * process with a job queue hands them to the workers, so N workers embed one catalog together.
 */
export interface EmbeddingPlace {
  /** Embeds a batch of catalog files elsewhere (the workers); the embedding cache and publishing stay here. */
  embedFiles?: (paths: string[]) => Promise<(EmbeddedFile | Error)[]>;
  /** Batches embedded at once with `embedFiles` (the workers' total concurrency). @default config.reindexConcurrency */
  reindexConcurrency?: number;
}

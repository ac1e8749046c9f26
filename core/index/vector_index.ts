/**
 * Vector indexes over the catalog's clip embeddings, and their versioned storage.
 *
 * - {@linkcode buildVectorIndex} builds an exact (`"flat"`) or approximate (`"ivf"`, IVF-Flat) index
 *   for the `"l2"` or `"cosine"` metric and keeps the faiss id -> track id mapping beside it.
 * - Distances returned are always "smaller is closer":
 *   - `"l2"`: the squared L2 distance `d²`.
 *   - `"cosine"`: vectors (and queries) are L2-normalised and searched by inner product; the
 *     returned distance is `2 - 2 cos`, which is the squared L2 distance between the normalised
 *     vectors (0 = same direction, 2 = orthogonal, 4 = opposite). A zero vector stays zero (distance 2
 *     to everything).
 * - {@linkcode IndexStore} keeps versions under one directory: `v<N>/` folders and a `CURRENT` file
 *   naming the one being served. A build writes `v<N>.tmp/`, renames it to `v<N>/` and then replaces
 *   `CURRENT` by writing `CURRENT.tmp` and renaming it, so readers always see a complete version and a
 *   crash mid-build leaves the old version serving. Leftover `*.tmp` folders are removed by the next
 *   build; only the newest {@linkcode DEFAULT_KEEP_VERSIONS} versions are kept.
 * - An IVF index is built only for catalogs large enough to train it ({@linkcode ivfSupported}:
 *   {@linkcode MIN_IVF_VECTORS} vectors); a version stored without one serves `ivf` searches from
 *   its flat index, saying so once in the log when it is loaded ({@linkcode IndexStore.loadCurrent}).
 * @module
 */

import {
  createFlatIndex,
  createIvfFlatIndex,
  type FaissIndex,
  type FaissMetric,
  type FaissSearchResult,
  readIndexFile,
  writeFlatIndexFile,
} from "./faiss.ts";
import { ErrorCode, SoundalikeError } from "../errors.ts";
import {
  APPROX_MIN_TRACKS,
  APPROX_MIN_TRAIN_ROWS,
  ApproxIndex,
  type ApproxSettings,
  buildApproxIndex,
  loadApproxIndex,
} from "./approx_index.ts";
import { forEachChunk, memoryRows, type RowSource, RowWriter } from "./row_file.ts";
import type { Logger } from "../logger.ts";
import type { ProgressReporter } from "../catalog/reindex.ts";
import { mulberry32 } from "../util/random.ts";
import {
  aggregateWindowHits,
  WINDOW_VECTOR_SIZE,
  windowHitsFor,
  windowRows,
  WINDOWS_PER_CLIP,
} from "./segment_search.ts";

/** `"flat"`: exact brute force. `"ivf"`: IVF-Flat, approximate, visits `nprobe` of `nlist` lists. */
export type IndexKind = "flat" | "ivf";

/** `"l2"`: squared L2. `"cosine"`: normalised vectors + inner product (see the module doc). */
export type Metric = "l2" | "cosine";

/** One search result. */
export interface VectorHit {
  /** The catalog track id given at build time. */
  trackId: number;
  /** Smaller is closer: `d²` for `"l2"`, `2 - 2 cos` for `"cosine"`. */
  distance: number;
}

/** Per-search options. */
export interface VectorSearchOptions {
  /** IVF only: lists visited per query (clamped to `nlist`); ignored by flat indexes. */
  nprobe?: number;
}

/** A searchable index with its id mapping. */
export interface VectorIndex {
  readonly kind: IndexKind;
  readonly metric: Metric;
  /** Vector dimension. */
  readonly dim: number;
  /** Number of vectors (tracks). */
  readonly size: number;
  /** IVF: number of lists; undefined for flat. */
  readonly nlist: number | undefined;
  /** IVF: `nprobe` used when a search does not give one; undefined for flat. */
  readonly defaultNprobe: number | undefined;
  /** Track id of each stored vector, in faiss id order. */
  readonly trackIds: readonly number[];
  /**
   * The `k` nearest tracks, closest first; ties in distance are ordered by track id.
   * IVF with a small `nprobe` can return fewer than `k`.
   *
   * @param query One vector of `dim` floats.
   * @param k Number of results (capped at `size`).
   * @param opts `nprobe` for IVF.
   */
  search(query: Float32Array, k: number, opts?: VectorSearchOptions): VectorHit[];
  /**
   * {@linkcode VectorIndex.search} for many queries at once (one native call per chunk).
   *
   * @param queries `n x dim` floats, row-major.
   * @param k Number of results per query.
   * @param opts `nprobe` for IVF.
   * @returns One hit list per query.
   */
  searchBatch(queries: Float32Array, k: number, opts?: VectorSearchOptions): VectorHit[][];
}

/** Training points per IVF list: faiss warns below 39 and gains little above ~256. */
export const TRAIN_POINTS_PER_LIST = 39;
/**
 * Fewest lists an IVF index is built with: with fewer, the default `nprobe` (at least 8) visits half
 * of the lists or more, so it is no faster than the exact index (which below
 * {@linkcode MIN_IVF_VECTORS} vectors answers in about a millisecond anyway).
 */
export const MIN_IVF_LISTS = 16;
/** Fewest vectors an IVF index is built for: {@linkcode MIN_IVF_LISTS} x {@linkcode TRAIN_POINTS_PER_LIST} = 624. */
export const MIN_IVF_VECTORS = MIN_IVF_LISTS * TRAIN_POINTS_PER_LIST;
/**
 * Upper bound on the floats in an IVF training sample (a Float32Array copy of sampled rows): 96 Mi
 * floats is 384 MB, about 42,000 vectors of 2304 dims, which bounds `nlist` near 1,100.
 */
export const MAX_TRAIN_FLOATS = 96 * 1024 * 1024;
/** Versions kept by {@linkcode IndexStore} (the current one and the one before). */
export const DEFAULT_KEEP_VERSIONS = 2;

/**
 * Default `nlist` for `n` vectors of `dim` floats: `round(4 * sqrt(n))`, clamped so the training
 * sample (at most `n`, and at most {@linkcode MAX_TRAIN_FLOATS} / `dim` vectors) has at least
 * {@linkcode TRAIN_POINTS_PER_LIST} points per list, and at least 1.
 * For 2304 dims: 8,000 -> 205, 100,000 -> 1,120.
 *
 * @param n Number of vectors.
 * @param dim Vector dimension.
 * @returns The number of lists.
 */
export function defaultNlist(n: number, dim: number): number {
  const trainable = Math.min(n, Math.floor(MAX_TRAIN_FLOATS / dim));
  return Math.max(1, Math.min(Math.round(4 * Math.sqrt(n)), Math.floor(trainable / TRAIN_POINTS_PER_LIST)));
}

/**
 * Whether `n` vectors are enough for an IVF index: its default `nlist` reaches
 * {@linkcode MIN_IVF_LISTS}, each list trained on {@linkcode TRAIN_POINTS_PER_LIST} points.
 *
 * @param n Number of vectors.
 * @param dim Vector dimension.
 * @returns `true` from {@linkcode MIN_IVF_VECTORS} vectors on.
 */
export function ivfSupported(n: number, dim: number): boolean {
  return defaultNlist(n, dim) >= MIN_IVF_LISTS;
}

/**
 * Default `nprobe` for `nlist` lists: `ceil(nlist / 32)`, at least 8 (and at most `nlist`).
 * For 2304 dims: 8,000 tracks (nlist 205) -> 8, 100,000 (nlist 1,120) -> 35, so a query scans 3-4 %
 * of the vectors. On the bench's clustered data recall@5 against flat is already 1.000 at nprobe 4
 * (8,000) and 0.999 at nprobe 2 (100,000); real embeddings are less tidy, hence the margin. Configurable per build, per load and per search;
 * `bench/search_bench.ts` prints the whole recall/QPS curve.
 *
 * @param nlist Number of lists.
 * @returns Lists visited per query.
 */
export function defaultNprobe(nlist: number): number {
  return Math.min(nlist, Math.max(8, Math.ceil(nlist / 32)));
}

/** Inputs of {@linkcode buildVectorIndex}. */
export interface BuildVectorIndexOptions {
  kind: IndexKind;
  metric: Metric;
  /**
   * `trackIds.length x dim` floats, row-major (not modified): in memory, or rows read by chunks
   * from a file ({@linkcode RowSource}).
   */
  vectors: Float32Array | RowSource;
  dim: number;
  /** The track id of each row. */
  trackIds: readonly number[];
  /** IVF lists, at most n / {@linkcode TRAIN_POINTS_PER_LIST}. @default defaultNlist(n, dim) */
  nlist?: number;
  /** IVF `nprobe` used when a search gives none. @default defaultNprobe(nlist) */
  nprobe?: number;
  /**
   * IVF training sample size (rows), at least {@linkcode TRAIN_POINTS_PER_LIST} x nlist.
   * @default TRAIN_POINTS_PER_LIST * nlist
   */
  trainSize?: number;
  /** Seed of the training sample. @default 1 */
  seed?: number;
  logger: Logger;
}

/** Rows normalised or added per step, so cosine copies stay small. */
const ROWS_PER_STEP = 4096;

class FaissVectorIndex implements VectorIndex {
  readonly kind: IndexKind;
  readonly metric: Metric;
  readonly dim: number;
  readonly nlist: number | undefined;
  readonly defaultNprobe: number | undefined;
  readonly trackIds: readonly number[];
  readonly faiss: FaissIndex;

  constructor(
    faiss: FaissIndex,
    metric: Metric,
    trackIds: readonly number[],
    defaultNprobe: number | undefined,
  ) {
    if (faiss.size !== trackIds.length) {
      throw new Error(`Index holds ${faiss.size} vectors but ${trackIds.length} track ids were given`);
    }
    this.faiss = faiss;
    this.kind = faiss.kind;
    this.metric = metric;
    this.dim = faiss.dim;
    this.nlist = faiss.nlist;
    this.defaultNprobe = faiss.kind === "ivf" ? defaultNprobe : undefined;
    this.trackIds = trackIds;
  }

  get size(): number {
    return this.trackIds.length;
  }

  search(query: Float32Array, k: number, opts?: VectorSearchOptions): VectorHit[] {
    if (query.length !== this.dim) {
      throw new RangeError(`Query has ${query.length} floats, expected ${this.dim}`);
    }
    return this.searchBatch(query, k, opts)[0]!;
  }

  searchBatch(queries: Float32Array, k: number, opts?: VectorSearchOptions): VectorHit[][] {
    if (queries.length % this.dim !== 0) {
      throw new RangeError(`Query data of length ${queries.length} is not a multiple of dim ${this.dim}`);
    }
    const n = queries.length / this.dim;
    const kk = Math.min(k, this.size);
    if (n === 0 || kk === 0) return Array.from({ length: n }, () => []);
    const q = this.metric === "cosine" ? normalizedCopy(queries, this.dim) : queries;
    // IVF: every search states its nprobe, so one caller's value never leaks into another's search.
    const nprobe = this.kind === "ivf" ? opts?.nprobe ?? this.defaultNprobe ?? 1 : undefined;
    return this.#toHits(this.faiss.search(q, kk, nprobe === undefined ? {} : { nprobe }), n, kk);
  }

  #toHits(res: FaissSearchResult, n: number, k: number): VectorHit[][] {
    const out: VectorHit[][] = [];
    for (let i = 0; i < n; i++) {
      const hits: VectorHit[] = [];
      for (let j = 0; j < k; j++) {
        const label = res.labels[i * k + j]!;
        if (label < 0) continue; // IVF found fewer than k
        const raw = res.distances[i * k + j]!;
        const distance = this.metric === "cosine" ? Math.max(0, 2 - 2 * raw) : Math.max(0, raw);
        hits.push({ trackId: this.trackIds[label]!, distance });
      }
      hits.sort((a, b) => a.distance - b.distance || a.trackId - b.trackId);
      out.push(hits);
    }
    return out;
  }
}

/** L2-normalises each row of a copy; zero rows stay zero. */
function normalizedCopy(vectors: Float32Array, dim: number): Float32Array {
  const out = new Float32Array(vectors);
  for (let off = 0; off < out.length; off += dim) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += out[off + j]! * out[off + j]!;
    if (s === 0) continue;
    const inv = 1 / Math.sqrt(s);
    for (let j = 0; j < dim; j++) out[off + j]! *= inv;
  }
  return out;
}

/** `m` distinct rows out of `n`, seeded, in increasing order. */
function sampleRows(n: number, m: number, seed: number): Uint32Array {
  if (m >= n) return Uint32Array.from({ length: n }, (_, i) => i);
  const rand = mulberry32(seed);
  const picked = new Set<number>();
  while (picked.size < m) picked.add(Math.floor(rand() * n));
  return Uint32Array.from(picked).sort();
}

/**
 * Builds an index over `vectors`. faiss's own output (if any) goes to `opts.logger` at debug level.
 *
 * @param opts See {@linkcode BuildVectorIndexOptions}.
 * @returns The index.
 * @throws RangeError for an IVF index with fewer than {@linkcode TRAIN_POINTS_PER_LIST} training
 *   vectors per list (check {@linkcode ivfSupported} first).
 * @throws {FaissError} When faiss itself fails (e.g. out of memory).
 * @example
 * ```ts
 * import { buildVectorIndex } from "./vector_index.ts";
 * import { silentLogger } from "../logger.ts";
 * const index = buildVectorIndex({
 *   kind: "flat", metric: "l2", dim: 2, logger: silentLogger,
 *   vectors: new Float32Array([0, 0, 1, 1, 5, 5]), trackIds: [10, 11, 12],
 * });
 * console.assert(index.search(new Float32Array([0.9, 0.9]), 1)[0]?.trackId === 11);
 * ```
 */
export function buildVectorIndex(opts: BuildVectorIndexOptions): VectorIndex {
  const { kind, metric, dim, trackIds, logger } = opts;
  const source = asRows(opts.vectors, dim, trackIds.length);
  const n = trackIds.length;
  const faissMetric: FaissMetric = metric === "l2" ? "l2" : "ip";
  const started = performance.now();
  let index: FaissIndex;
  let nprobe: number | undefined;
  if (kind === "flat") {
    index = createFlatIndex(dim, faissMetric, { logger });
  } else {
    const nlist = opts.nlist ?? defaultNlist(n, dim);
    const maxLists = Math.floor(n / TRAIN_POINTS_PER_LIST);
    if (!Number.isInteger(nlist) || nlist < 1 || nlist > maxLists) {
      // faiss would train anyway and print a warning; an index this small is refused instead.
      throw new RangeError(
        `An IVF index of ${nlist} lists needs ${TRAIN_POINTS_PER_LIST} training vectors per list: ` +
          `${n} vectors allow at most ${maxLists} lists`,
      );
    }
    const trainSize = Math.min(n, opts.trainSize ?? TRAIN_POINTS_PER_LIST * nlist);
    if (trainSize < TRAIN_POINTS_PER_LIST * nlist) {
      throw new RangeError(`trainSize ${trainSize} is below ${TRAIN_POINTS_PER_LIST} x nlist ${nlist}`);
    }
    nprobe = Math.min(nlist, opts.nprobe ?? defaultNprobe(nlist));
    index = createIvfFlatIndex(dim, faissMetric, nlist, { logger });
    const rows = sampleRows(n, trainSize, opts.seed ?? 1);
    const sample = new Float32Array(rows.length * dim);
    rows.forEach((r, i) => source.read(r, sample.subarray(i * dim, (i + 1) * dim)));
    const trainStarted = performance.now();
    index.train(metric === "cosine" ? normalizedCopy(sample, dim) : sample);
    logger.debug("Trained IVF quantizer", {
      nlist,
      trainSize,
      ms: Math.round(performance.now() - trainStarted),
    });
  }
  // faiss copies what it adds, so one chunk buffer serves every step.
  forEachChunk(
    source,
    ROWS_PER_STEP,
    (part) => index.add(metric === "cosine" ? normalizedCopy(part, dim) : part),
  );
  // Stored in the index file too, so a reader without its own default gets this one.
  if (nprobe !== undefined) index.setNprobe(nprobe);
  logger.info("Built vector index", {
    kind,
    metric,
    count: n,
    dim,
    nlist: index.nlist,
    nprobe,
    ms: Math.round(performance.now() - started),
  });
  return new FaissVectorIndex(index, metric, [...trackIds], nprobe);
}

/**
 * An exact index to be written straight from rows, for a build that never holds the catalog's vectors:
 * {@linkcode saveVectorIndex} streams them into faiss's flat file format (9 KB per track on disk, none
 * in memory); it is searched once the store loads the version back.
 */
export interface FlatRows {
  readonly kind: "flat";
  readonly metric: Metric;
  readonly dim: number;
  /** Rows (tracks). */
  readonly size: number;
  readonly trackIds: readonly number[];
  /** The vectors, read by chunks when saved. */
  readonly rows: RowSource;
}

/**
 * Describes an exact index over rows, to be written by {@linkcode saveVectorIndex} without building
 * it in memory.
 *
 * @param opts Metric, the vectors (in memory or a {@linkcode RowSource}), their dimension and track ids.
 * @returns The {@linkcode FlatRows}.
 */
export function flatIndexRows(
  opts: Pick<BuildVectorIndexOptions, "metric" | "vectors" | "dim" | "trackIds">,
): FlatRows {
  const rows = asRows(opts.vectors, opts.dim, opts.trackIds.length);
  return { kind: "flat", metric: opts.metric, dim: opts.dim, size: rows.rows, trackIds: opts.trackIds, rows };
}

function isFlatRows(index: VectorIndex | FlatRows): index is FlatRows {
  return "rows" in index && !("search" in index);
}

/** Which window index a build makes: `"auto"` chooses by catalog size ({@linkcode windowIndexKindFor}). */
export type WindowIndexChoice = "auto" | "flat" | "approx";

/**
 * The window index kind for a catalog of `tracks`: exact (`"flat"`) below {@linkcode APPROX_MIN_TRACKS}
 * tracks (8,000 tracks search exactly in ~25 ms), approximate (`"approx"`: IVF-PQ with an exact re-rank
 * from vectors on disk, `core/index/approx_index.ts`) from there on. A forced `"approx"` falls back
 * to flat when the rows are too few to train the quantizers ({@linkcode APPROX_MIN_TRAIN_ROWS}), so
 * a catalog that shrinks keeps a working index.
 *
 * @param tracks Tracks in the catalog.
 * @param choice The configured choice. @default "auto"
 * @returns `"flat"` or `"approx"`.
 */
export function windowIndexKindFor(tracks: number, choice: WindowIndexChoice = "auto"): "flat" | "approx" {
  const trainable = tracks * WINDOWS_PER_CLIP >= APPROX_MIN_TRAIN_ROWS;
  if (choice === "flat" || !trainable) return "flat";
  return choice === "approx" || tracks >= APPROX_MIN_TRACKS ? "approx" : "flat";
}

/** Options of {@linkcode buildWindowIndex}. */
export interface BuildWindowIndexOptions
  extends Pick<BuildVectorIndexOptions, "vectors" | "dim" | "trackIds" | "logger"> {
  /** Flat, approximate or by size. @default "auto" */
  kind?: WindowIndexChoice;
  /**
   * Approximate index: the folder its full vectors are written to (on the index store's file
   * system, so saving renames them: {@linkcode IndexStore.prepareBuildDir}). @default a new temporary folder
   */
  workDir?: string;
  /** Approximate index: overrides of the default settings. */
  settings?: Partial<ApproxSettings>;
}

/** Fewest tracks for which the whole-clip IVF index is approximate with compressed codes (see {@linkcode buildClipIvfIndex}). */
export const APPROX_CLIP_MIN_TRACKS = 100_000;

/** What the index builders report while they work (a reindex's progress reporter). */
export type BuildProgress = Pick<ProgressReporter, "start" | "update" | "stop">;

/**
 * The whole-clip `ivf` index: IVF-Flat (every vector in memory) up to
 * {@linkcode APPROX_CLIP_MIN_TRACKS} tracks; past that, for the `"l2"` metric, IVF-PQ with an exact
 * re-rank from the clip vectors on disk (`<workDir>/ivf.f32`, streamed by chunks), so a large
 * catalog's whole-clip search holds 144 bytes per track instead of 9 KB. `undefined` below
 * {@linkcode MIN_IVF_VECTORS} (`ivf` searches then use the flat index).
 *
 * @param opts The clip vectors (in memory or a {@linkcode RowSource}), their ids, metric, `nprobe`
 *   for IVF-Flat; `workDir` for the approximate index's vectors (a new temporary folder when
 *   absent); `progress` for its stages.
 * @returns The index, or `undefined` for a catalog too small for one.
 */
export function buildClipIvfIndex(
  opts: Omit<BuildVectorIndexOptions, "kind"> & {
    workDir?: string;
    approxFrom?: number;
    progress?: BuildProgress;
  },
): VectorIndex | undefined {
  const { dim, trackIds, logger } = opts;
  if (!ivfSupported(trackIds.length, dim)) return undefined;
  if (opts.metric !== "l2" || trackIds.length < (opts.approxFrom ?? APPROX_CLIP_MIN_TRACKS)) {
    return stage(
      opts.progress,
      1,
      "training the clip index",
      () => buildVectorIndex({ ...opts, kind: "ivf" }),
    );
  }
  const source = asRows(opts.vectors, dim, trackIds.length);
  const workDir = opts.workDir ?? Deno.makeTempDirSync({ prefix: "soundalike-clips-" });
  const writer = new RowWriter(`${workDir}/ivf.f32`, dim);
  try {
    forEachChunk(source, WINDOW_TRACKS_PER_STEP, (rows) => writer.write(rows));
  } finally {
    writer.close();
  }
  return buildApproxWithProgress(
    {
      vectorsPath: writer.path,
      dim,
      rowsPerTrack: 1,
      trackIds: Int32Array.from(trackIds),
      logger,
    },
    "clip",
    opts.progress,
  );
}

/** Tracks whose window rows are computed and written at a time. */
const WINDOW_TRACKS_PER_STEP = 1024;

/**
 * The window index that segment search reads (`core/index/segment_search.ts`): each track's three
 * 768-d window vectors (squared L2), three rows per track. Exact (flat) for a small catalog; from
 * {@linkcode APPROX_MIN_TRACKS} tracks approximate ({@linkcode windowIndexKindFor}): the window rows
 * are streamed to `<workDir>/windows.f32` by chunks and an IVF-PQ index is trained on a sample.
 *
 * @param opts The clip vectors (`trackIds.length x dim`, model-major 2304-d, in memory or a
 *   {@linkcode RowSource}) and their track ids; `progress` for the build's stages.
 * @returns The window index.
 */
export function buildWindowIndex(opts: BuildWindowIndexOptions & { progress?: BuildProgress }): VectorIndex {
  const { dim, trackIds, logger, progress } = opts;
  const source = asRows(opts.vectors, dim, trackIds.length);
  // Each chunk of clips becomes its window rows, handed to `emit` with the chunk's track ids.
  const eachWindowChunk = (emit: (rows: Float32Array) => void) =>
    stage(
      progress,
      trackIds.length,
      "writing window rows",
      (update) =>
        forEachChunk(source, WINDOW_TRACKS_PER_STEP, (chunk, from) => {
          const count = chunk.length / dim;
          const clips = Array.from({ length: count }, (_, i) => chunk.subarray(i * dim, (i + 1) * dim));
          emit(windowRows(clips, trackIds.slice(from, from + count)).vectors);
          update(from + count);
        }),
    );
  if (windowIndexKindFor(trackIds.length, opts.kind) === "flat") {
    // Below the approximate index's size: 3 x 768 floats per track in memory (20,000 tracks: 184 MB).
    const rows = new Float32Array(trackIds.length * WINDOWS_PER_CLIP * WINDOW_VECTOR_SIZE);
    let at = 0;
    eachWindowChunk((chunk) => {
      rows.set(chunk, at);
      at += chunk.length;
    });
    return buildVectorIndex({
      kind: "flat",
      metric: "l2",
      vectors: rows,
      dim: WINDOW_VECTOR_SIZE,
      trackIds: trackIds.flatMap((id) => Array<number>(WINDOWS_PER_CLIP).fill(id)),
      logger,
    });
  }
  const workDir = opts.workDir ?? Deno.makeTempDirSync({ prefix: "soundalike-windows-" });
  const writer = new RowWriter(`${workDir}/windows.f32`, WINDOW_VECTOR_SIZE);
  try {
    eachWindowChunk((chunk) => writer.write(chunk));
  } finally {
    writer.close();
  }
  return buildApproxWithProgress(
    {
      vectorsPath: writer.path,
      dim: WINDOW_VECTOR_SIZE,
      rowsPerTrack: WINDOWS_PER_CLIP,
      trackIds: Int32Array.from(trackIds),
      ...(opts.settings ? { settings: opts.settings } : {}),
      logger,
    },
    "window",
    progress,
  );
}

/**
 * {@linkcode buildApproxIndex} reporting two stages: training the quantisers (one step, no count)
 * and adding the rows (counted, so the reporter can give an ETA).
 */
function buildApproxWithProgress(
  opts: Parameters<typeof buildApproxIndex>[0],
  what: "window" | "clip",
  progress: BuildProgress | undefined,
): ApproxIndex {
  if (progress === undefined) return buildApproxIndex(opts);
  progress.start(1, `training the ${what} index`);
  let adding = false;
  try {
    return buildApproxIndex({
      ...opts,
      onProgress: (added, rows) => {
        if (!adding) {
          progress.update(1);
          progress.stop();
          progress.start(rows, `adding to the ${what} index`);
          adding = true;
        }
        progress.update(added);
      },
    });
  } finally {
    progress.stop();
  }
}

/** Runs `fn` as one reported stage of `total` items (`update` reports items done). */
function stage<T>(
  progress: BuildProgress | undefined,
  total: number,
  label: string,
  fn: (update: (done: number) => void) => T,
): T {
  if (progress === undefined) return fn(() => {});
  progress.start(total, label);
  try {
    const out = fn((done) => progress.update(done));
    if (total === 1) progress.update(1);
    return out;
  } finally {
    progress.stop();
  }
}

/** `vectors` as rows, checked against the track count. */
function asRows(vectors: Float32Array | RowSource, dim: number, tracks: number): RowSource {
  if (!Number.isInteger(dim) || dim < 1) throw new RangeError(`dim must be an integer >= 1: ${dim}`);
  if (vectors instanceof Float32Array && vectors.length !== tracks * dim) {
    throw new RangeError(`Expected ${tracks} x ${dim} floats, got ${vectors.length}`);
  }
  const source = vectors instanceof Float32Array ? memoryRows(vectors, dim) : vectors;
  if (source.dim !== dim || source.rows !== tracks) {
    throw new RangeError(`Expected ${tracks} x ${dim} floats, got ${source.rows} x ${source.dim}`);
  }
  return source;
}

/**
 * Segment search: a clip's three window vectors matched against a window index, tracks ranked by
 * the mean distance of their closest windows. Distances are scaled to the whole-clip scale (three
 * unit blocks per window, nine per clip), so similarity percentages and thresholds mean the same
 * for both methods.
 *
 * @param windows A window index ({@linkcode buildWindowIndex}).
 * @param clip The query's 2304-d clip vector.
 * @param depth Tracks wanted.
 * @param among Tracks the caller will keep (a genre filter): at most {@linkcode EXACT_AMONG_MAX_TRACKS}
 *   of them on an approximate index are searched exactly, alone; otherwise only a hint.
 * @returns Up to `depth` tracks, closest first.
 */
export function searchWindows(
  windows: VectorIndex,
  clip: Float32Array,
  depth: number,
  among?: ReadonlySet<number>,
): { trackId: number; distance: number }[] {
  const queries = windowRows([clip], [0]).vectors;
  const want = Math.min(windows.size, windowHitsFor(depth, 0));
  // A few tracks to choose from (a rare genre): an exact search among them, whatever the catalog's size.
  const hits = among !== undefined && windows instanceof ApproxIndex && among.size <= EXACT_AMONG_MAX_TRACKS
    ? windows.searchAmong(queries, want, among)
    : windows.searchBatch(queries, want);
  return aggregateWindowHits(hits, depth).map((h) => ({
    trackId: h.trackId,
    distance: h.distance * WINDOWS_PER_CLIP,
  }));
}

/**
 * Most tracks a filtered segment search on an approximate index searches exactly, alone (5,000 tracks:
 * 45 MB of window rows read, ~40 ms); a larger share of the catalog is found by searching deeper.
 */
export const EXACT_AMONG_MAX_TRACKS = 5000;

/** What is stored beside each `<name>.faiss` file. */
interface IndexSidecar {
  formatVersion: 1;
  kind: IndexKind;
  metric: Metric;
  dim: number;
  count: number;
  nlist?: number;
  defaultNprobe?: number;
  trackIds: number[];
}

function asFaissVectorIndex(index: VectorIndex): FaissVectorIndex {
  if (!(index instanceof FaissVectorIndex)) throw new TypeError("Not an index made by buildVectorIndex()");
  return index;
}

/**
 * Writes `<dir>/<name>.faiss` and `<dir>/<name>.json` (the track id mapping and settings), flushed to
 * disk.
 *
 * @param index An index from {@linkcode buildVectorIndex} or {@linkcode loadVectorIndex}.
 * @param dir An existing directory.
 * @param name File base name, such as `"flat"`.
 */
export async function saveVectorIndex(
  index: VectorIndex | FlatRows,
  dir: string,
  name: string,
): Promise<void> {
  if (index instanceof ApproxIndex) return index.saveTo(dir, name);
  if (isFlatRows(index)) return await saveFlatRows(index, dir, name);
  const idx = asFaissVectorIndex(index);
  const sidecar: IndexSidecar = {
    formatVersion: 1,
    kind: idx.kind,
    metric: idx.metric,
    dim: idx.dim,
    count: idx.size,
    trackIds: [...idx.trackIds],
  };
  if (idx.nlist !== undefined) sidecar.nlist = idx.nlist;
  if (idx.defaultNprobe !== undefined) {
    sidecar.defaultNprobe = idx.defaultNprobe;
    idx.faiss.setNprobe(idx.defaultNprobe);
  }
  idx.faiss.writeFile(`${dir}/${name}.faiss`);
  await syncFile(`${dir}/${name}.faiss`);
  await writeFileSynced(`${dir}/${name}.json`, JSON.stringify(sidecar));
}

/** Streams {@linkcode FlatRows} into `<name>.faiss` (normalised for cosine) and writes its sidecar. */
async function saveFlatRows(index: FlatRows, dir: string, name: string): Promise<void> {
  const { dim, metric } = index;
  writeFlatIndexFile(
    `${dir}/${name}.faiss`,
    dim,
    metric === "l2" ? "l2" : "ip",
    index.size,
    (write) =>
      forEachChunk(
        index.rows,
        ROWS_PER_STEP,
        (rows) => write(metric === "cosine" ? normalizedCopy(rows, dim) : rows),
      ),
  );
  const sidecar: IndexSidecar = {
    formatVersion: 1,
    kind: "flat",
    metric,
    dim,
    count: index.size,
    trackIds: [...index.trackIds],
  };
  await writeFileSynced(`${dir}/${name}.json`, JSON.stringify(sidecar));
}

/**
 * Reads an index written by {@linkcode saveVectorIndex}.
 *
 * @param dir The directory.
 * @param name File base name.
 * @param opts `defaultNprobe` overrides the stored one (IVF); `logger` receives faiss's output.
 * @returns The index.
 * @throws Error when the files are missing or inconsistent.
 */
export async function loadVectorIndex(
  dir: string,
  name: string,
  opts: { defaultNprobe?: number; logger?: Logger } = {},
): Promise<VectorIndex> {
  const sidecar = JSON.parse(await Deno.readTextFile(`${dir}/${name}.json`)) as IndexSidecar | {
    kind: "ivfpq";
  };
  // An approximate index (IVF-PQ + exact re-rank from `<name>.f32`) keeps its own nprobe.
  if (sidecar.kind === "ivfpq") return loadApproxIndex(dir, name, opts.logger ? { logger: opts.logger } : {});
  if (sidecar.formatVersion !== 1) throw new Error(`Unknown index format version: ${sidecar.formatVersion}`);
  const faiss = readIndexFile(`${dir}/${name}.faiss`, opts.logger ? { logger: opts.logger } : {});
  if (faiss.kind !== sidecar.kind || faiss.dim !== sidecar.dim || faiss.size !== sidecar.count) {
    throw new Error(`Index files disagree: ${dir}/${name}.faiss and ${name}.json`);
  }
  const nprobe = opts.defaultNprobe ?? sidecar.defaultNprobe;
  return new FaissVectorIndex(faiss, sidecar.metric, sidecar.trackIds, nprobe);
}

async function syncFile(path: string): Promise<void> {
  const file = await Deno.open(path, { read: true, write: true });
  try {
    await file.syncData();
  } finally {
    file.close();
  }
}

async function writeFileSynced(path: string, text: string): Promise<void> {
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  try {
    const bytes = new TextEncoder().encode(text);
    let written = 0;
    while (written < bytes.length) written += await file.write(bytes.subarray(written));
    await file.syncData();
  } finally {
    file.close();
  }
}

/** Facts recorded with each stored version. */
export interface IndexMeta {
  /** Hash of the models that produced the embeddings (a mismatch means reindexing). */
  modelsHash: string;
  metric: Metric;
  dim: number;
  /** Number of tracks. */
  count: number;
  /** ISO 8601 time of the build. */
  createdAt: string;
  /**
   * The indexes stored: `["flat"]` when the catalog was too small for an IVF index
   * ({@linkcode ivfSupported}), else `["flat", "ivf"]` (also assumed when absent).
   */
  kinds?: IndexKind[];
  /** Whether the version holds the window index for segment search (`windows.faiss`). */
  windows?: boolean;
  /** The whole-clip IVF index's structure when it is approximate (IVF-PQ + exact re-rank), in words. */
  clipIvf?: string;
  /**
   * The window index's structure: `"flat"` (exact; also when absent) or `"approx"` (IVF-PQ plus an
   * exact re-rank from `windows.f32`), and its settings in words.
   */
  windowIndex?: { kind: "flat" | "approx"; detail: string };
}

/** A loaded version. */
export interface StoredIndexes {
  version: number;
  /**
   * The exact whole-clip index, loaded on first use (a process serving segment search only never
   * holds it); its files are checked against the metadata when the version is loaded.
   */
  flat(): Promise<VectorIndex>;
  /**
   * The IVF index, loaded on first use; the flat index itself (`kind` `"flat"`) when the version has
   * none because the catalog was too small, so `ivf` searches are exact there.
   */
  ivf(): Promise<VectorIndex>;
  meta: IndexMeta;
  /**
   * The window index for segment search (flat, 768-d, three rows per track), loaded on first use;
   * `undefined` when the version was built without one.
   */
  windows(): Promise<VectorIndex | undefined>;
  /**
   * Closes the vector files the approximate indexes of this version hold open (a later search
   * reopens them): called when a newer version replaces it, so a pruned version's large files do
   * not keep their disk space for the life of the process.
   */
  close(): void;
}

/** Options of {@linkcode IndexStore}. */
export interface IndexStoreOptions {
  logger: Logger;
  /** Versions kept after a build. @default DEFAULT_KEEP_VERSIONS */
  keep?: number;
  /** Catalog argument shown in "run `deno task reindex ...`" messages. @default "<catalog-dir>" */
  reindexHint?: string;
}

const VERSION_DIR = /^v(\d+)$/;
const TMP_DIR = /^v\d+\.tmp$/;

/**
 * Versioned index storage in one directory (`<dataDir>/indexes`): `v<N>/` folders holding
 * `flat.faiss`, `flat.json`, `ivf.faiss`, `ivf.json`, `meta.json`, and a `CURRENT` file naming the
 * version served. Meant for a single writer at a time (reindex holds a database lock).
 */
export class IndexStore {
  /** The directory. */
  readonly dir: string;
  readonly #logger: Logger;
  readonly #keep: number;
  readonly #hint: string;

  /**
   * @param dir The directory (created on the first write).
   * @param opts Logger and pruning.
   */
  constructor(dir: string, opts: IndexStoreOptions) {
    this.dir = dir;
    this.#logger = opts.logger;
    this.#keep = Math.max(1, opts.keep ?? DEFAULT_KEEP_VERSIONS);
    this.#hint = opts.reindexHint ?? "<catalog-dir>";
  }

  /**
   * The version `CURRENT` names, or undefined when there is none.
   *
   * @returns The version number.
   */
  async currentVersion(): Promise<number | undefined> {
    let text: string;
    try {
      text = await Deno.readTextFile(`${this.dir}/CURRENT`);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return undefined;
      throw err;
    }
    const m = VERSION_DIR.exec(text.trim());
    if (m === null) throw this.#missing(`the pointer file ${this.dir}/CURRENT is unreadable`);
    return Number(m[1]);
  }

  /**
   * The metadata of the version `CURRENT` names, without loading its index files.
   *
   * @returns The version number and its {@linkcode IndexMeta}, or undefined when there is none or
   *   it cannot be read.
   */
  async currentMeta(): Promise<(IndexMeta & { version: number }) | undefined> {
    const version = await this.currentVersion().catch(() => undefined);
    if (version === undefined) return undefined;
    try {
      const meta = JSON.parse(await Deno.readTextFile(`${this.dir}/v${version}/meta.json`)) as IndexMeta;
      return { ...meta, version };
    } catch {
      return undefined;
    }
  }

  /**
   * The complete version folders present, ascending.
   *
   * @returns Version numbers.
   */
  async listVersions(): Promise<number[]> {
    const out: number[] = [];
    for (const name of await this.#entries()) {
      const m = VERSION_DIR.exec(name);
      if (m !== null) out.push(Number(m[1]));
    }
    return out.sort((a, b) => a - b);
  }

  /**
   * Writes a new version and makes it current: leftover `*.tmp` folders from a crashed build are
   * removed, the files go to `v<N>.tmp/`, which is renamed to `v<N>/`, then `CURRENT` is replaced
   * atomically and versions beyond the newest `keep` are deleted. If anything throws before the
   * swap, `CURRENT` still names the previous version.
   *
   * @param input The flat index, the IVF index when the catalog is large enough for one (same
   *   tracks, same order) and the metadata (its `kinds` are set here).
   * @param hooks Test seam: `afterFile` runs after each file is written (throw to simulate a crash).
   * @returns The new version number.
   */
  async writeVersion(
    input: {
      flat: VectorIndex | FlatRows;
      ivf: VectorIndex | undefined;
      windows?: VectorIndex;
      meta: IndexMeta;
    },
    hooks: { afterFile?: (path: string) => void } = {},
  ): Promise<number> {
    const { flat, ivf, windows } = input;
    if (flat.kind !== "flat" || (ivf !== undefined && ivf.kind !== "ivf")) {
      throw new TypeError("Expected a flat and an optional IVF index");
    }
    const approx = windows instanceof ApproxIndex ? windows : undefined;
    const clipApprox = ivf instanceof ApproxIndex ? ivf.describe() : undefined;
    const meta: IndexMeta = {
      ...input.meta,
      kinds: ivf === undefined ? ["flat"] : ["flat", "ivf"],
      ...(windows ? { windows: true } : {}),
      ...(clipApprox ? { clipIvf: clipApprox } : {}),
      ...(windows
        ? {
          windowIndex: approx
            ? { kind: "approx" as const, detail: approx.describe() }
            : { kind: "flat" as const, detail: "exact" },
        }
        : {}),
    };
    if (
      windows !== undefined &&
      ((windows.kind !== "flat" && approx === undefined) || windows.size !== 3 * meta.count)
    ) {
      throw new Error("The window index must be flat or approximate, with three rows per track");
    }
    for (const idx of ivf === undefined ? [flat] : [flat, ivf]) {
      if (idx.size !== meta.count || idx.dim !== meta.dim || idx.metric !== meta.metric) {
        throw new Error(`A ${idx.kind} index disagrees with the metadata (count, dim or metric)`);
      }
    }
    if (ivf !== undefined && !flat.trackIds.every((id, i) => ivf.trackIds[i] === id)) {
      throw new Error("The flat and IVF indexes map ids to different tracks");
    }
    await Deno.mkdir(this.dir, { recursive: true });
    for (const name of await this.#entries()) {
      if (TMP_DIR.test(name)) {
        this.#logger.warn("Removing an unfinished index build", { dir: `${this.dir}/${name}` });
        await Deno.remove(`${this.dir}/${name}`, { recursive: true });
      }
    }
    const versions = await this.listVersions();
    const version = Math.max(0, (await this.currentVersion()) ?? 0, ...versions) + 1;
    const tmp = `${this.dir}/v${version}.tmp`;
    const final = `${this.dir}/v${version}`;
    await Deno.mkdir(tmp);
    try {
      await this.#writeFiles(tmp, { flat, ivf, windows, meta: { ...meta } }, version, hooks);
    } catch (err) {
      // A full disk or a crash mid-write: the partial version goes now (its space is freed), CURRENT
      // still names the previous one.
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
      throw err;
    }
    await Deno.rename(tmp, final);
    await writeFileSynced(`${this.dir}/CURRENT.tmp`, `v${version}\n`);
    await Deno.rename(`${this.dir}/CURRENT.tmp`, `${this.dir}/CURRENT`);
    this.#logger.info("Index version is now current", { dir: this.dir, version, count: meta.count });
    for (const old of (await this.listVersions()).filter((v) => v <= version - this.#keep)) {
      await Deno.remove(`${this.dir}/v${old}`, { recursive: true });
      this.#logger.debug("Pruned index version", { version: old });
    }
    await Deno.remove(this.#buildDir, { recursive: true }).catch(() => {});
    return version;
  }

  /** The scratch folder of a build in progress (same file system as the versions). */
  get #buildDir(): string {
    return `${this.dir}/build.tmp`;
  }

  /**
   * An empty scratch folder for a build's large files (an approximate index's full vectors), on the
   * store's file system so {@linkcode IndexStore.writeVersion} moves them by renaming; what a crashed
   * build left there is removed first.
   *
   * @returns The folder's path.
   */
  async prepareBuildDir(): Promise<string> {
    await Deno.remove(this.#buildDir, { recursive: true }).catch(() => {});
    await Deno.mkdir(this.#buildDir, { recursive: true });
    return this.#buildDir;
  }

  async #writeFiles(
    tmp: string,
    input: {
      flat: VectorIndex | FlatRows;
      ivf: VectorIndex | undefined;
      windows?: VectorIndex | undefined;
      meta: IndexMeta;
    },
    version: number,
    hooks: { afterFile?: (path: string) => void },
  ): Promise<void> {
    const { flat, ivf, windows, meta } = input;
    const after = hooks.afterFile ?? (() => {});
    await saveVectorIndex(flat, tmp, "flat");
    after(`${tmp}/flat.faiss`);
    if (ivf !== undefined) {
      await saveVectorIndex(ivf, tmp, "ivf");
      after(`${tmp}/ivf.faiss`);
    }
    if (windows !== undefined) {
      await saveVectorIndex(windows, tmp, "windows");
      after(`${tmp}/windows.faiss`);
    }
    await writeFileSynced(
      `${tmp}/meta.json`,
      JSON.stringify({ formatVersion: 1, version, ...meta }, null, 2),
    );
    after(`${tmp}/meta.json`);
  }

  /**
   * Opens the version `CURRENT` names: its metadata and the flat index's files are checked now,
   * each index is read on first use. A version stored without an IVF index (a small catalog)
   * serves `ivf` from its flat index and says so in one info line.
   *
   * @param opts `expectModelsHash`: refuse indexes built from other models; `defaultNprobe`: override
   *   the stored IVF default.
   * @returns The indexes' loaders (see {@linkcode StoredIndexes}) and the metadata.
   * @throws SoundalikeError `IndexMissing` when there is no usable index or it was built with other
   *   models; the message names the reindex command.
   */
  async loadCurrent(
    opts: {
      expectModelsHash?: string;
      defaultNprobe?: number;
      windowNprobe?: number;
      windowRerank?: number;
    } = {},
  ): Promise<StoredIndexes> {
    const version = await this.currentVersion();
    if (version === undefined) throw this.#missing(`there is no search index in ${this.dir} yet`);
    const dir = `${this.dir}/v${version}`;
    let meta: IndexMeta;
    let flatCount: number;
    const logger = this.#logger;
    try {
      meta = JSON.parse(await Deno.readTextFile(`${dir}/meta.json`)) as IndexMeta;
      if (opts.expectModelsHash !== undefined && meta.modelsHash !== opts.expectModelsHash) {
        throw this.#missing("the search index was built with other models");
      }
      // The flat index's files are checked now (present, and of the catalog's size); its vectors
      // are read on first use.
      flatCount = (JSON.parse(await Deno.readTextFile(`${dir}/flat.json`)) as IndexSidecar).count;
      if (!(await Deno.stat(`${dir}/flat.faiss`)).isFile) throw new Error("flat.faiss is not a file");
    } catch (err) {
      if (err instanceof SoundalikeError) throw err;
      throw this.#missing(`the search index in ${dir} is missing or damaged`, err);
    }
    if (flatCount !== meta.count) {
      throw this.#missing(`the search index in ${dir} does not match its metadata`);
    }
    this.#logger.debug("Loaded index version", { version, count: meta.count });
    // Each index is read when a search first asks for it: a process serving one kind of search
    // holds only that one in memory.
    // One loader per index: read on first use, the promise kept; a failure is forgotten (the next
    // search tries again) and reported as a missing index naming the reindex command.
    const lazy = <T>(what: string, load: () => Promise<T>): () => Promise<T> => {
      let loading: Promise<T> | undefined;
      return () =>
        loading ??= load().catch((err) => {
          loading = undefined;
          throw err instanceof SoundalikeError
            ? err
            : this.#missing(`${what} in ${dir} is missing or damaged`, err);
        });
    };
    const openFiles: ApproxIndex[] = [];
    const holdsFiles = <T extends VectorIndex>(index: T): T => {
      if (index instanceof ApproxIndex) openFiles.push(index);
      return index;
    };
    const read = async (name: string, rows: number, extra: { defaultNprobe?: number } = {}) => {
      const index = holdsFiles(await loadVectorIndex(dir, name, { ...extra, logger }));
      if (index.size !== rows) throw new Error("size differs from the metadata");
      return index;
    };
    const loadFlat = lazy("the search index", () => read("flat", meta.count));
    const loadIvf = lazy("the IVF index", async () => {
      if (!(meta.kinds ?? ["flat", "ivf"]).includes("ivf")) {
        logger.info(
          `The catalog's ${meta.count} tracks are too few for an IVF index (it needs ${MIN_IVF_VECTORS}): ` +
            "ivf searches use the exact index",
          { version },
        );
        return await loadFlat();
      }
      return await read(
        "ivf",
        meta.count,
        opts.defaultNprobe === undefined ? {} : { defaultNprobe: opts.defaultNprobe },
      );
    });
    const loadWindows = lazy("the window index", async () => {
      if (meta.windows && meta.windowIndex?.kind === "approx") {
        // IVF-PQ codes in memory, full vectors read from windows.f32 per query; every file's size
        // is checked against windows.json first.
        // A damaged approximate index (a truncated file, a disk that filled after the swap) does
        // not stop search: whole clips answer, said in one error line naming the repair.
        try {
          const index = holdsFiles(loadApproxIndex(dir, "windows", {
            logger,
            ...(opts.windowNprobe === undefined ? {} : { nprobe: opts.windowNprobe }),
            ...(opts.windowRerank === undefined ? {} : { rerank: opts.windowRerank }),
          }));
          if (index.size !== 3 * meta.count) throw new Error("windows.json disagrees with the metadata");
          logger.debug("Window index is approximate", { version, index: index.describe() });
          return index;
        } catch (err) {
          logger.error(
            `The window index in ${dir} is damaged (${err instanceof Error ? err.message : String(err)}): ` +
              `whole clips answer segment searches until \`deno task reindex ${this.#hint}\` rebuilds it`,
            { version },
          );
          return undefined;
        }
      }
      if (meta.windows) return await read("windows", 3 * meta.count); // three windows per track
      logger.info(
        "This index version has no window index (built before segment search): whole clips answer " +
          "segment searches until the next reindex",
        { version },
      );
      return undefined;
    });
    return {
      version,
      flat: loadFlat,
      ivf: loadIvf,
      meta,
      windows: loadWindows,
      close: () => {
        for (const index of openFiles) index.close();
      },
    };
  }

  #missing(detail: string, cause?: unknown): SoundalikeError {
    const msg = `Cannot search: ${detail}: run \`deno task reindex ${this.#hint}\` to build it`;
    return new SoundalikeError(ErrorCode.IndexMissing, msg, cause === undefined ? {} : { cause });
  }

  async #entries(): Promise<string[]> {
    const names: string[] = [];
    try {
      for await (const e of Deno.readDir(this.dir)) if (e.isDirectory) names.push(e.name);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return [];
      throw err;
    }
    return names;
  }
}

/**
 * An approximate index for large catalogs: faiss IVF-PQ (compressed codes, a few dozen bytes per
 * row in memory) finds candidates, and an exact re-rank reads the candidates' full vectors from a
 * file on disk (`pread`, one read per candidate track: its rows are contiguous), so callers see exact
 * squared L2 distances, as from a flat index.
 *
 * Files of one index `<name>` in a version folder:
 * ```
 * <name>.faiss   faiss IVF-PQ (codes, coarse centroids, nprobe)
 * <name>.f32     full vectors, rows x dim float32 little endian, row r = track floor(r / rowsPerTrack)
 * <name>.ids     one int32 track id per track (little endian), in row order
 * <name>.json    settings and sizes ({@linkcode ApproxSidecar}); every size is checked when loading
 * ```
 * The full vectors never enter the JS heap: the build reads them by chunks (training sample, then
 * {@linkcode addChunkRows} rows per `add`), and a search reads only its candidates. The page cache
 * keeps hot rows in memory without counting towards the process's resident memory.
 *
 * Used for the window index of segment search (three 768-d rows per track) once a catalog has
 * {@linkcode APPROX_MIN_TRACKS} tracks (`core/index/vector_index.ts` chooses).
 * @module
 */
import { createIvfPqIndex, type FaissIndex, readIndexFile } from "./faiss.ts";
import type { Logger } from "../logger.ts";
import { mulberry32 } from "../util/random.ts";
import { readRows } from "./row_file.ts";
import type { VectorHit, VectorIndex, VectorSearchOptions } from "./vector_index.ts";

/** Fewest tracks for which the window index is approximate (below: exact, as small catalogs are fast). */
export const APPROX_MIN_TRACKS = 20_000;
/** Training points per coarse list (faiss warns below 39). */
export const APPROX_POINTS_PER_LIST = 39;
/** PQ codebooks have 256 centroids each; faiss warns below 39 training points per centroid. */
export const APPROX_MIN_TRAIN_ROWS = 256 * APPROX_POINTS_PER_LIST;
/** Most rows in the training sample (131,072 x 768 floats = 384 MB during the build). */
export const APPROX_MAX_TRAIN_ROWS = 131_072;
/** Memory a build's `add` call may use (the rows read, and faiss's encoding tables for them). */
export const ADD_CHUNK_BYTES = 256 * 1024 * 1024;

/**
 * Rows read from disk and added per faiss call during the build, so that one call stays within
 * {@linkcode ADD_CHUNK_BYTES}: faiss encodes a batch of rows by computing, for each row, its
 * distance to all 256 centroids of each of the `m` codebooks at once (a `rows x 256 x m` float
 * table: 147 KB per row for the whole-clip index's 144 codebooks). At 65,536 rows per call that table
 * alone was 4.8 GB for the whole-clip index and 1.6 GB for the window index, the build's peak memory.
 *
 * @param dim Floats per row.
 * @param m Codebooks.
 * @returns Rows per call: 1,618 for 2304-d rows and 144 codebooks, 4,854 for 768-d rows and 48.
 */
export function addChunkRows(dim: number, m: number): number {
  const perRow = 4 * (dim + 256 * m) + 4 * dim; // the row, its table, its residual
  return Math.max(256, Math.floor(ADD_CHUNK_BYTES / perRow));
}

/** Settings of an approximate index (chosen by {@linkcode approxSettings}, each overridable). */
export interface ApproxSettings {
  /** Coarse lists. */
  nlist: number;
  /** PQ sub-quantizers (bytes per row); divides `dim`. */
  m: number;
  /** Lists visited per query. */
  nprobe: number;
  /** Candidate rows per query that are re-ranked exactly (at least the `k` asked for). */
  rerank: number;
  /** Training sample (rows). */
  trainRows: number;
}

/** What is stored in `<name>.json`. */
export interface ApproxSidecar {
  formatVersion: 1;
  kind: "ivfpq";
  metric: "l2";
  dim: number;
  rows: number;
  tracks: number;
  rowsPerTrack: number;
  nlist: number;
  m: number;
  nprobe: number;
  rerank: number;
  trainRows: number;
}

/**
 * Default settings for `rows` vectors of `dim` floats: `nlist = clamp(round(sqrt(rows) / 2), 64, 512)`
 * (at most rows / 39): few, long lists, because assigning every row to its list is the build's
 * largest cost (rows x nlist x dim) and scanning compressed codes is cheap; `m = dim / 16` rounded
 * down to a divisor of `dim` (48 bytes for 768 dims); `nprobe = 8`; `rerank = 256` candidates per
 * query row (512 from 1,500,000 rows); a training sample of `max(39 nlist, 16,384)` rows (at most `rows`). With 256 centroids
 * per codebook, 16,384 rows give each 64 points. `bench/scale_bench.ts --grid` prints the
 * recall/speed curve these were chosen from.
 *
 * @param rows Vectors indexed.
 * @param dim Their dimension.
 * @returns The settings.
 * @throws RangeError when `rows` is below {@linkcode APPROX_MIN_TRAIN_ROWS} (too few to train).
 */
export function approxSettings(rows: number, dim: number): ApproxSettings {
  if (rows < APPROX_MIN_TRAIN_ROWS) {
    throw new RangeError(
      `An approximate index needs at least ${APPROX_MIN_TRAIN_ROWS} vectors to train its quantizers: got ${rows}`,
    );
  }
  const nlist = Math.max(
    1,
    Math.min(
      Math.floor(rows / APPROX_POINTS_PER_LIST),
      Math.max(64, Math.min(512, Math.round(Math.sqrt(rows) / 2))),
    ),
  );
  let m = Math.max(1, Math.floor(dim / 16));
  while (dim % m !== 0) m--;
  const trainRows = Math.min(rows, APPROX_MAX_TRAIN_ROWS, Math.max(APPROX_POINTS_PER_LIST * nlist, 16_384));
  // Recall is bought by the re-rank, hardly by nprobe (8 to 64 lists: within 0.002), and a larger
  // catalog needs more candidates: recall@5 0.977 at 320,000 rows with 256, 0.921 at 3,000,000 with 512.
  const rerank = rows >= 1_500_000 ? 512 : 256;
  return { nlist, m, nprobe: Math.min(nlist, 8), rerank, trainRows };
}

/** Inputs of {@linkcode buildApproxIndex}. */
export interface BuildApproxOptions {
  /** The full vectors, already written (`rows x dim` float32 LE); renamed into place by the save. */
  vectorsPath: string;
  dim: number;
  /** Rows per track (3 for windows, 1 for whole clips). */
  rowsPerTrack: number;
  /** One track id per track, in row order. */
  trackIds: Int32Array;
  /** Overrides of {@linkcode approxSettings}. */
  settings?: Partial<ApproxSettings>;
  /** Seed of the training sample. @default 1 */
  seed?: number;
  logger: Logger;
  /** Called after each added chunk (rows added so far, rows in all). */
  onProgress?: (added: number, rows: number) => void;
}

/** `m` distinct ids below `n`, seeded, ascending. */
function sample(n: number, m: number, seed: number): Uint32Array {
  if (m >= n) return Uint32Array.from({ length: n }, (_, i) => i);
  const rand = mulberry32(seed);
  const picked = new Set<number>();
  while (picked.size < m) picked.add(Math.floor(rand() * n));
  return Uint32Array.from(picked).sort();
}

/**
 * Trains an IVF-PQ index on a sample of the rows in `vectorsPath` and adds every row by chunks.
 *
 * @param opts See {@linkcode BuildApproxOptions}.
 * @returns The index, searching `vectorsPath` for its re-rank until {@linkcode ApproxIndex.saveTo}
 *   moves the file.
 * @throws RangeError when the file's size disagrees with the track ids, or the rows are too few to
 *   train (see {@linkcode approxSettings}).
 */
export function buildApproxIndex(opts: BuildApproxOptions): ApproxIndex {
  const { vectorsPath, dim, rowsPerTrack, trackIds, logger } = opts;
  const rows = trackIds.length * rowsPerTrack;
  const size = Deno.statSync(vectorsPath).size;
  if (size !== rows * dim * 4) {
    throw new RangeError(
      `${vectorsPath} holds ${size} bytes: ${trackIds.length} tracks of ${rowsPerTrack} x ${dim} floats need ${
        rows * dim * 4
      }`,
    );
  }
  const settings = { ...approxSettings(rows, dim), ...opts.settings };
  const { nlist, m, trainRows } = settings;
  if (trainRows < Math.max(APPROX_MIN_TRAIN_ROWS, APPROX_POINTS_PER_LIST * nlist) || trainRows > rows) {
    throw new RangeError(
      `Training ${nlist} lists and ${m} codebooks needs at least ${
        Math.max(APPROX_MIN_TRAIN_ROWS, APPROX_POINTS_PER_LIST * nlist)
      } of the ${rows} vectors: got a sample of ${trainRows}`,
    );
  }
  const started = performance.now();
  const index = createIvfPqIndex(dim, nlist, m, { logger });
  const file = Deno.openSync(vectorsPath, { read: true });
  try {
    const picked = sample(rows, trainRows, opts.seed ?? 1);
    const train = new Float32Array(picked.length * dim);
    const row = new Float32Array(dim);
    picked.forEach((r, i) => {
      readRows(file, dim, r, row);
      train.set(row, i * dim);
    });
    index.train(train);
    const trainedMs = Math.round(performance.now() - started);
    const step = addChunkRows(dim, m);
    const chunk = new Float32Array(Math.min(rows, step) * dim);
    for (let from = 0; from < rows; from += step) {
      const count = Math.min(step, rows - from);
      const part = chunk.subarray(0, count * dim);
      readRows(file, dim, from, part);
      index.add(part);
      opts.onProgress?.(from + count, rows);
    }
    index.setNprobe(settings.nprobe);
    logger.info("Built approximate index", {
      rows,
      dim,
      nlist,
      m,
      trainRows,
      trainMs: trainedMs,
      ms: Math.round(performance.now() - started),
    });
  } finally {
    file.close();
  }
  const sidecar: ApproxSidecar = {
    formatVersion: 1,
    kind: "ivfpq",
    metric: "l2",
    dim,
    rows,
    tracks: trackIds.length,
    rowsPerTrack,
    ...settings,
  };
  return new ApproxIndex(index, sidecar, trackIds, vectorsPath);
}

/**
 * Reads an index written by {@linkcode ApproxIndex.saveTo}, checking every file's size against the
 * sidecar.
 *
 * @param dir The version folder.
 * @param name The files' base name.
 * @param opts `nprobe`/`rerank` override the stored ones; `logger` receives faiss's output.
 * @returns The index.
 * @throws Error naming the file that is missing, truncated or inconsistent.
 */
export function loadApproxIndex(
  dir: string,
  name: string,
  opts: { nprobe?: number; rerank?: number; logger?: Logger } = {},
): ApproxIndex {
  const sidecar = JSON.parse(Deno.readTextFileSync(`${dir}/${name}.json`)) as ApproxSidecar;
  if (sidecar.formatVersion !== 1 || sidecar.kind !== "ivfpq") {
    throw new Error(`${dir}/${name}.json is not an approximate index of a known format`);
  }
  const { rows, dim, tracks, rowsPerTrack } = sidecar;
  if (rows !== tracks * rowsPerTrack) {
    throw new Error(`${dir}/${name}.json: rows differ from tracks x rows per track`);
  }
  const vectorsPath = `${dir}/${name}.f32`;
  const vectorBytes = Deno.statSync(vectorsPath).size;
  if (vectorBytes !== rows * dim * 4) {
    throw new Error(
      `${vectorsPath} is truncated or damaged: ${vectorBytes} bytes where ${rows * dim * 4} were written`,
    );
  }
  const idBytes = Deno.readFileSync(`${dir}/${name}.ids`);
  if (idBytes.length !== tracks * 4) {
    throw new Error(
      `${dir}/${name}.ids is truncated or damaged: ${idBytes.length} bytes for ${tracks} tracks`,
    );
  }
  const trackIds = new Int32Array(idBytes.buffer, idBytes.byteOffset, tracks).slice();
  const faiss = readIndexFile(`${dir}/${name}.faiss`, opts.logger ? { logger: opts.logger } : {});
  if (faiss.kind !== "ivf" || faiss.dim !== dim || faiss.size !== rows || faiss.nlist !== sidecar.nlist) {
    throw new Error(`${dir}/${name}.faiss disagrees with ${name}.json (kind, dimension, rows or lists)`);
  }
  const settings = { ...sidecar };
  if (opts.nprobe !== undefined) settings.nprobe = opts.nprobe;
  if (opts.rerank !== undefined) settings.rerank = opts.rerank;
  return new ApproxIndex(faiss, settings, trackIds, vectorsPath);
}

/**
 * IVF-PQ candidates re-ranked with exact distances from the full vectors on disk. Implements
 * {@linkcode VectorIndex} for the `"l2"` metric (kind `"ivf"`): searches return squared L2 distances
 * computed from the full vectors, as a flat index does.
 */
export class ApproxIndex implements VectorIndex {
  readonly kind = "ivf" as const;
  readonly metric = "l2" as const;
  readonly dim: number;
  readonly nlist: number;
  readonly defaultNprobe: number;
  /** Candidate rows re-ranked per query when a search gives no `rerank`. */
  readonly rerank: number;
  readonly rowsPerTrack: number;
  /** The settings and sizes stored with the index. */
  readonly sidecar: ApproxSidecar;
  readonly #faiss: FaissIndex;
  readonly #trackIdsPerTrack: Int32Array;
  #vectorsPath: string;
  #file: Deno.FsFile | undefined;
  #trackIds: number[] | undefined;

  /** @internal Use {@linkcode buildApproxIndex} or {@linkcode loadApproxIndex}. */
  constructor(faiss: FaissIndex, sidecar: ApproxSidecar, trackIds: Int32Array, vectorsPath: string) {
    this.#faiss = faiss;
    this.sidecar = sidecar;
    this.dim = sidecar.dim;
    this.nlist = sidecar.nlist;
    this.defaultNprobe = sidecar.nprobe;
    this.rerank = sidecar.rerank;
    this.rowsPerTrack = sidecar.rowsPerTrack;
    this.#trackIdsPerTrack = trackIds;
    this.#vectorsPath = vectorsPath;
  }

  /** Rows indexed. */
  get size(): number {
    return this.sidecar.rows;
  }

  /** The track id of every row (built on first use: a large catalog's array is big). */
  get trackIds(): readonly number[] {
    if (this.#trackIds === undefined) {
      const ids: number[] = new Array(this.size);
      for (let r = 0; r < this.size; r++) ids[r] = this.#trackIdsPerTrack[Math.floor(r / this.rowsPerTrack)]!;
      this.#trackIds = ids;
    }
    return this.#trackIds;
  }

  /** Whether a track is in the index (without building {@linkcode ApproxIndex.trackIds}). */
  hasTrack(trackId: number): boolean {
    return this.#trackIdsPerTrack.includes(trackId);
  }

  /**
   * Exact search among some tracks only (a genre's few hundred): every row of those tracks is read
   * and compared, so a rare genre needs neither a deeper and deeper approximate search nor luck.
   *
   * @param queries `n x dim` floats, searched as one group (one clip's windows).
   * @param k Rows per query.
   * @param among The track ids to search (ids not in the index are ignored).
   * @returns One hit list per query, closest first, only rows of `among`.
   */
  searchAmong(queries: Float32Array, k: number, among: ReadonlySet<number>): VectorHit[][] {
    if (queries.length % this.dim !== 0) {
      throw new RangeError(`Query data of length ${queries.length} is not a multiple of dim ${this.dim}`);
    }
    const tracks: number[] = [];
    const ids = this.#trackIdsPerTrack;
    for (let t = 0; t < ids.length; t++) if (among.has(ids[t]!)) tracks.push(t);
    const n = queries.length / this.dim;
    if (tracks.length === 0 || k < 1) return Array.from({ length: n }, () => []);
    return this.#rerank(queries, tracks, Math.min(k, tracks.length * this.rowsPerTrack));
  }

  /** One line for logs and `stats`: structure and settings. */
  describe(): string {
    const s = this.sidecar;
    return `IVF${s.nlist},PQ${s.m} + exact re-rank of ${this.rerank} (nprobe ${this.defaultNprobe})`;
  }

  search(query: Float32Array, k: number, opts?: VectorSearchOptions & { rerank?: number }): VectorHit[] {
    if (query.length !== this.dim) {
      throw new RangeError(`Query has ${query.length} floats, expected ${this.dim}`);
    }
    return this.searchBatch(query, k, opts)[0]!;
  }

  /**
   * Searches queries in groups of `rowsPerTrack` (one clip's windows): the group's candidates are
   * pooled, each candidate track's rows read once, and every query gets its `k` closest rows among
   * them by exact distance.
   *
   * @param queries `n x dim` floats.
   * @param k Rows per query.
   * @param opts `nprobe`, and `rerank` candidates per query.
   * @returns One hit list per query, closest first.
   */
  searchBatch(
    queries: Float32Array,
    k: number,
    opts: VectorSearchOptions & { rerank?: number } = {},
  ): VectorHit[][] {
    const { dim } = this;
    if (queries.length % dim !== 0) {
      throw new RangeError(`Query data of length ${queries.length} is not a multiple of dim ${dim}`);
    }
    const n = queries.length / dim;
    const kk = Math.min(k, this.size);
    if (n === 0 || kk === 0) return Array.from({ length: n }, () => []);
    const candidates = Math.min(this.size, Math.max(kk, opts.rerank ?? this.rerank));
    const nprobe = opts.nprobe ?? this.defaultNprobe;
    const found = this.#faiss.search(queries, candidates, { nprobe });
    const out: VectorHit[][] = [];
    const group = Math.max(1, this.rowsPerTrack);
    for (let g = 0; g < n; g += group) {
      const end = Math.min(n, g + group);
      const tracks = new Set<number>();
      for (let i = g * candidates; i < end * candidates; i++) {
        const label = found.labels[i]!;
        if (label >= 0) tracks.add(Math.floor(label / this.rowsPerTrack));
      }
      out.push(...this.#rerank(queries.subarray(g * dim, end * dim), [...tracks].sort((a, b) => a - b), kk));
    }
    return out;
  }

  /** Exact distances from the queries to every row of the candidate tracks; the `k` closest per query. */
  #rerank(queries: Float32Array, tracks: number[], k: number): VectorHit[][] {
    const { dim, rowsPerTrack } = this;
    const nq = queries.length / dim;
    const file = this.#open();
    const block = new Float32Array(rowsPerTrack * dim);
    const rows = tracks.length * rowsPerTrack;
    const dist = Array.from({ length: nq }, () => new Float64Array(rows));
    tracks.forEach((t, ti) => {
      readRows(file, dim, t * rowsPerTrack, block);
      for (let w = 0; w < rowsPerTrack; w++) {
        const off = w * dim;
        for (let q = 0; q < nq; q++) {
          const qo = q * dim;
          let s = 0;
          for (let j = 0; j < dim; j++) {
            const d = block[off + j]! - queries[qo + j]!;
            s += d * d;
          }
          dist[q]![ti * rowsPerTrack + w] = s;
        }
      }
    });
    return dist.map((d) => {
      const order = Array.from({ length: rows }, (_, i) => i);
      order.sort((a, b) => d[a]! - d[b]! || a - b);
      return order.slice(0, k).map((i) => ({
        trackId: this.#trackIdsPerTrack[tracks[Math.floor(i / rowsPerTrack)]!]!,
        distance: d[i]!,
      })).sort((a, b) => a.distance - b.distance || a.trackId - b.trackId);
    });
  }

  #open(): Deno.FsFile {
    return this.#file ??= Deno.openSync(this.#vectorsPath, { read: true });
  }

  /**
   * Writes `<name>.faiss`, `<name>.ids` and `<name>.json` into `dir` and moves the full vectors
   * there as `<name>.f32` (a rename: the build wrote them on the same file system); everything is
   * flushed to disk.
   *
   * @param dir The (temporary) version folder.
   * @param name The files' base name.
   */
  saveTo(dir: string, name: string): void {
    const target = `${dir}/${name}.f32`;
    if (this.#vectorsPath !== target) {
      this.#file?.close();
      this.#file = undefined;
      try {
        Deno.renameSync(this.#vectorsPath, target);
      } catch (err) {
        // Another file system (a build folder in /tmp): copied, then the original removed.
        if (!(err instanceof Error && /cross-device|EXDEV|os error 18/i.test(err.message))) throw err;
        Deno.copyFileSync(this.#vectorsPath, target);
        Deno.removeSync(this.#vectorsPath);
      }
      this.#vectorsPath = target;
    }
    syncPath(target);
    this.#faiss.setNprobe(this.defaultNprobe);
    this.#faiss.writeFile(`${dir}/${name}.faiss`);
    syncPath(`${dir}/${name}.faiss`);
    const ids = this.#trackIdsPerTrack;
    writeSynced(`${dir}/${name}.ids`, new Uint8Array(ids.buffer, ids.byteOffset, ids.byteLength));
    writeSynced(`${dir}/${name}.json`, new TextEncoder().encode(JSON.stringify(this.sidecar)));
  }

  /** Closes the vector file (searches reopen it). */
  close(): void {
    this.#file?.close();
    this.#file = undefined;
  }
}

function syncPath(path: string): void {
  const file = Deno.openSync(path, { read: true, write: true });
  try {
    file.syncDataSync();
  } finally {
    file.close();
  }
}

function writeSynced(path: string, bytes: Uint8Array): void {
  const file = Deno.openSync(path, { write: true, create: true, truncate: true });
  try {
    let written = 0;
    while (written < bytes.length) written += file.writeSync(bytes.subarray(written));
    file.syncDataSync();
  } finally {
    file.close();
  }
}

/**
 * The one module that talks to faiss-node (built against Debian's libfaiss 1.7.3).
 *
 * faiss-node 0.5.1 only takes `number[]`, cannot set `nprobe`, lets faiss print to the process's
 * standard error and lets faiss's C++ exceptions abort the process, so scripts/build_faiss.sh
 * rebuilds it with a source patch (scripts/faiss_shim/faiss_node.patch):
 * - `train`/`add`/`search` also take a `Float32Array`, read in place; a search with a
 *   `Float32Array` query returns `{ distances: Float32Array, labels: BigInt64Array }`. This wrapper
 *   passes `Float32Array`s only (subarrays included: the native side respects `byteOffset`),
 * - IVF indexes get `setNprobe`/`getNprobe`: a search sets the `nprobe` it needs on the one index
 *   (no copy of the index per value),
 * - what faiss prints during `train`/`add`/`search`/`read` (e.g. "WARNING clustering 4 points to 1
 *   centroids") is captured per index and handed to the logger here at debug level, never shown,
 * - faiss's exceptions become JS errors, rethrown here as one line ({@linkcode FaissError}).
 * The wrapper fails with a pointer to the build script when the loaded addon lacks the patch.
 *
 * Searches return typed arrays (labels narrowed to `Int32Array`). Indexes are serialised through
 * files only (`writeFile`/{@linkcode readIndexFile}), never `toBuffer`/`fromBuffer`: faiss-node
 * 0.5.1 never frees the `VectorIOWriter`/`VectorIOReader` those allocate, leaking a full copy of
 * the index per call (920 MB for 100,000 x 2304 floats).
 *
 * Memory: an index's native memory is freed only when its JS wrapper is garbage collected, and Deno
 * runs N-API finalizers from the event loop, so code that drops many indexes in one synchronous loop
 * holds them all until it yields.
 *
 * Serialised layout checked before a file is read (faiss/impl/index_write.cpp, little endian):
 * ```
 * fourcc  u32   "IxF2" flat L2 | "IxFI" flat IP | "IwFl" IVF-Flat | "IwPQ" IVF-PQ
 * d       i32
 * ntotal  i64
 * dummy   i64   1 << 20
 * dummy   i64   1 << 20
 * trained u8
 * metric  i32   0 = inner product, 1 = L2
 * (metric_arg f32, only when metric > 1: never for the indexes made here)
 * IVF only: nlist u64, nprobe u64, then the quantizer ("IxF2" for L2, "IxFI" for IP, same d), ...
 * ```
 * @module
 */

import faiss from "faiss-node";
import { type Logger, silentLogger } from "../logger.ts";

/** Distance used by a faiss index: squared L2 or inner product (larger is closer). */
export type FaissMetric = "l2" | "ip";

/** The index structures made here. */
export type FaissKind = "flat" | "ivf";

/** Results of a search for `n` queries and `k` neighbours, row-major `n x k`. */
export interface FaissSearchResult {
  /** Raw faiss scores: squared L2 distances, or inner products for `"ip"` (larger is closer). */
  distances: Float32Array;
  /** Index ids (insertion order); `-1` where fewer than `k` results were found. */
  labels: Int32Array;
}

/** What the serialised header says about an index. */
export interface FaissHeader {
  /** The 4-character type tag. */
  tag: string;
  kind: FaissKind;
  metric: FaissMetric;
  dim: number;
  ntotal: number;
  isTrained: boolean;
  /** IVF only. */
  nlist?: number;
  /** IVF only. */
  nprobe?: number;
}

/** Options shared by the functions that create or read an index. */
export interface FaissOptions {
  /** Receives what faiss prints (at debug level). @default silentLogger */
  logger?: Logger;
}

/** Options of {@linkcode FaissIndex.search}. */
export interface FaissSearchOptions {
  /** IVF only: inverted lists visited (clamped to `nlist`). @default the index's own `nprobe` */
  nprobe?: number;
}

/** A failure inside faiss, as one line (faiss's own message, without its source location). */
export class FaissError extends Error {
  /**
   * @param message One line.
   * @param options `cause`: the native error with faiss's full message.
   */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "FaissError";
  }
}

// deno-lint-ignore no-explicit-any
type NativeIndex = any;

const TAGS: Record<string, { kind: FaissKind; metric?: FaissMetric }> = {
  IxF2: { kind: "flat", metric: "l2" },
  IxFI: { kind: "flat", metric: "ip" },
  IwFl: { kind: "ivf" },
  IwPQ: { kind: "ivf" },
};
const METRIC_IP = 0;
const METRIC_L2 = 1;
const HEADER_DUMMY = 1n << 20n;
/** Labels are narrowed to `Int32Array`, so an index holds at most this many vectors. */
const MAX_VECTORS = 2 ** 31 - 1;
const PATCH = "scripts/faiss_shim/faiss_node.patch";

/** The error for an addon built without (this version of) scripts/faiss_shim/faiss_node.patch. */
function unpatchedAddon(cause?: unknown): Error {
  return new Error(`faiss-node was built without the current ${PATCH}: run scripts/build_faiss.sh`, {
    cause,
  });
}

/** The native index, after checking that the addon has the patch's methods. */
function checked(native: NativeIndex): NativeIndex {
  if (typeof native?.takeOutput !== "function") throw unpatchedAddon();
  return native;
}

/**
 * faiss's message without its "Error in <function> at <file>:<line>: Error: '<check>' failed:"
 * preamble, on one line.
 */
export function faissMessage(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const failed = /failed: ([\s\S]*)$/.exec(text)?.[1] ?? /Error: ([\s\S]*)$/.exec(text)?.[1] ?? text;
  return failed.replace(/\s+/g, " ").trim();
}

/** Runs a native call, rethrowing faiss's failures as one-line {@linkcode FaissError}s. */
function native<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof TypeError && err.message.includes("must be an Array.")) throw unpatchedAddon(err);
    if (err instanceof RangeError) throw err;
    throw new FaissError(`FAISS could not ${what}: ${faissMessage(err)}`, { cause: err });
  }
}

function headerError(detail: string): Error {
  return new Error(`Unexpected faiss index layout: ${detail}`);
}

/**
 * Parses and validates the header of a serialised flat or IVF-Flat index.
 *
 * @param bytes The serialised index.
 * @returns The header fields.
 * @throws Error when the bytes are not a flat or IVF-Flat index in faiss 1.7.3's layout.
 */
export function readFaissHeader(bytes: Uint8Array): FaissHeader {
  if (bytes.length < 37) throw headerError(`${bytes.length} bytes is too short for a header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = String.fromCharCode(bytes[0]!, bytes[1]!, bytes[2]!, bytes[3]!);
  const known = TAGS[tag];
  if (known === undefined) throw headerError(`tag "${tag}" is not IxF2, IxFI, IwFl or IwPQ`);
  const dim = view.getInt32(4, true);
  const ntotal = view.getBigInt64(8, true);
  if (dim <= 0) throw headerError(`dimension ${dim}`);
  if (ntotal < 0n || ntotal > BigInt(Number.MAX_SAFE_INTEGER)) throw headerError(`ntotal ${ntotal}`);
  if (view.getBigInt64(16, true) !== HEADER_DUMMY || view.getBigInt64(24, true) !== HEADER_DUMMY) {
    throw headerError("the reserved header fields are not 1 << 20");
  }
  const trained = bytes[32]!;
  if (trained > 1) throw headerError(`is_trained byte ${trained}`);
  const metricType = view.getInt32(33, true);
  if (metricType !== METRIC_IP && metricType !== METRIC_L2) {
    // A metric > 1 would be followed by a float metric_arg; no index made here uses one.
    throw headerError(`metric type ${metricType} (only inner product and L2 are supported)`);
  }
  const metric: FaissMetric = metricType === METRIC_L2 ? "l2" : "ip";
  if (known.metric !== undefined && known.metric !== metric) {
    throw headerError(`tag ${tag} with metric type ${metricType}`);
  }
  const header: FaissHeader = {
    tag,
    kind: known.kind,
    metric,
    dim,
    ntotal: Number(ntotal),
    isTrained: trained === 1,
  };
  if (known.kind === "flat") return header;

  const nlistOffset = 37;
  const nprobeOffset = nlistOffset + 8;
  const quantizerOffset = nprobeOffset + 8;
  if (bytes.length < quantizerOffset + 8) throw headerError("IVF header truncated");
  const nlist = view.getBigUint64(nlistOffset, true);
  const nprobe = view.getBigUint64(nprobeOffset, true);
  if (nlist < 1n || nlist > 1n << 31n) throw headerError(`nlist ${nlist}`);
  if (nprobe < 1n || nprobe > 1n << 31n) throw headerError(`nprobe ${nprobe}`);
  const qTag = String.fromCharCode(...bytes.subarray(quantizerOffset, quantizerOffset + 4));
  const expectedQTag = metric === "l2" ? "IxF2" : "IxFI";
  if (qTag !== expectedQTag) {
    throw headerError(`IVF quantizer tag "${qTag}" where ${expectedQTag} was expected (metric ${metric})`);
  }
  const qDim = view.getInt32(quantizerOffset + 4, true);
  if (qDim !== dim) throw headerError(`quantizer dimension ${qDim} differs from ${dim}`);
  return { ...header, nlist: Number(nlist), nprobe: Number(nprobe) };
}

/**
 * A typed handle on one faiss index. Create with {@linkcode createFlatIndex},
 * {@linkcode createIvfFlatIndex} or {@linkcode readIndexFile}.
 */
export class FaissIndex {
  readonly #native: NativeIndex;
  readonly #logger: Logger;
  /** `"flat"` or `"ivf"`. */
  readonly kind: FaissKind;
  /** `"l2"` or `"ip"`. */
  readonly metric: FaissMetric;
  /** Vector dimension. */
  readonly dim: number;
  /** IVF: the number of inverted lists; undefined for flat. */
  readonly nlist: number | undefined;

  /** @internal Use the factory functions. */
  constructor(
    nativeIndex: NativeIndex,
    info: { kind: FaissKind; metric: FaissMetric; dim: number; nlist?: number },
    logger: Logger = silentLogger,
  ) {
    this.#native = checked(nativeIndex);
    this.#logger = logger;
    this.kind = info.kind;
    this.metric = info.metric;
    this.dim = info.dim;
    this.nlist = info.nlist;
    this.#drain("read");
  }

  /** The number of vectors stored. */
  get size(): number {
    return this.#native.ntotal();
  }

  /** Whether the index can accept vectors (flat: always; IVF: after {@linkcode FaissIndex.train}). */
  get isTrained(): boolean {
    return this.#native.isTrained();
  }

  /** IVF: inverted lists visited per query (stored by {@linkcode FaissIndex.writeFile}); undefined for flat. */
  get nprobe(): number | undefined {
    return this.kind === "ivf" ? this.#native.getNprobe() : undefined;
  }

  /**
   * Sets an IVF index's `nprobe` in place (no copy of the index). Values above `nlist` are clamped
   * to `nlist`, as faiss itself does.
   *
   * @param nprobe Lists visited per query, an integer >= 1.
   * @returns The value set.
   */
  setNprobe(nprobe: number): number {
    if (this.kind !== "ivf") throw new Error("setNprobe() needs an IVF index");
    if (!Number.isInteger(nprobe) || nprobe < 1) {
      throw new RangeError(`nprobe must be an integer >= 1: ${nprobe}`);
    }
    return this.#native.setNprobe(nprobe);
  }

  /**
   * Trains an IVF index's coarse quantizer (k-means). Flat indexes need no training.
   *
   * @param vectors Row-major training vectors, `n x dim`, with `n >= nlist`.
   */
  train(vectors: Float32Array): void {
    const n = this.#rows(vectors);
    if (this.nlist !== undefined && n < this.nlist) {
      throw new RangeError(`IVF training needs at least nlist = ${this.nlist} vectors: got ${n}`);
    }
    try {
      native("train the index", () => this.#native.train(vectors));
    } finally {
      this.#drain("train");
    }
  }

  /**
   * Appends vectors; they get ids `size .. size + n - 1`. The native side reads `vectors` in place.
   *
   * @param vectors Row-major vectors, `n x dim`.
   * @throws RangeError when the index would exceed 2^31 - 1 vectors (labels are `Int32Array`).
   */
  add(vectors: Float32Array): void {
    const n = this.#rows(vectors);
    if (!this.isTrained) throw new Error("Index is not trained: call train() before add()");
    if (n === 0) return;
    if (this.size + n > MAX_VECTORS) {
      throw new RangeError(`Adding ${n} vectors to ${this.size} would exceed ${MAX_VECTORS} vectors`);
    }
    try {
      native("add vectors", () => this.#native.add(vectors));
    } finally {
      this.#drain("add");
    }
  }

  /**
   * Searches `n` queries at once.
   *
   * @param queries Row-major queries, `n x dim`.
   * @param k Neighbours per query, 1..size.
   * @param opts `nprobe` for an IVF index (set on the index, so later searches without it keep it).
   * @returns Raw scores and ids, `n x k` row-major.
   */
  search(queries: Float32Array, k: number, opts: FaissSearchOptions = {}): FaissSearchResult {
    const n = this.#rows(queries);
    if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be an integer >= 1: ${k}`);
    if (!this.isTrained) throw new Error("Index is not trained: call train() before search()");
    if (k > this.size) throw new RangeError(`k = ${k} exceeds the ${this.size} vectors in the index`);
    if (opts.nprobe !== undefined && this.kind === "ivf") this.setNprobe(opts.nprobe);
    if (n === 0) return { distances: new Float32Array(0), labels: new Int32Array(0) };
    let res;
    try {
      res = native("search", () => this.#native.search(queries, k));
    } finally {
      this.#drain("search");
    }
    if (!(res.distances instanceof Float32Array) || !(res.labels instanceof BigInt64Array)) {
      throw unpatchedAddon();
    }
    const wide: BigInt64Array = res.labels;
    const labels = new Int32Array(wide.length);
    // Ids are < size <= MAX_VECTORS (checked in add()), and -1 for missing results.
    for (let i = 0; i < wide.length; i++) labels[i] = Number(wide[i]!);
    return { distances: res.distances, labels };
  }

  /**
   * Writes the index to a file (faiss's own format), IVF `nprobe` included.
   *
   * @param path Destination; overwritten.
   * @throws {FaissError} When the file cannot be written.
   */
  writeFile(path: string): void {
    native(`write ${path}`, () => this.#native.write(path));
  }

  /** Hands what faiss printed during the last native call to the logger (debug). */
  #drain(op: string): void {
    const output: string = this.#native.takeOutput();
    if (output.trim() !== "") this.#logger.debug("faiss output", { op, output: output.trim() });
  }

  #rows(vectors: Float32Array): number {
    if (vectors.length % this.dim !== 0) {
      throw new RangeError(`Vector data of length ${vectors.length} is not a multiple of dim ${this.dim}`);
    }
    return vectors.length / this.dim;
  }
}

function metricType(metric: FaissMetric): number {
  return metric === "l2" ? METRIC_L2 : METRIC_IP;
}

function checkDim(dim: number): void {
  if (!Number.isInteger(dim) || dim < 1) throw new RangeError(`dim must be an integer >= 1: ${dim}`);
}

/**
 * Creates an exact (brute-force) index.
 *
 * @param dim Vector dimension.
 * @param metric `"l2"` (squared L2) or `"ip"` (inner product).
 * @param opts Where faiss's output goes.
 * @returns An empty, trained index.
 */
export function createFlatIndex(dim: number, metric: FaissMetric, opts: FaissOptions = {}): FaissIndex {
  checkDim(dim);
  const nativeIndex = metric === "l2" ? new faiss.IndexFlatL2(dim) : new faiss.IndexFlatIP(dim);
  return new FaissIndex(nativeIndex, { kind: "flat", metric, dim }, opts.logger);
}

/** Bytes of an empty flat index file in faiss 1.7.3's layout: the header, then the row data's length. */
const FLAT_HEADER_BYTES = 37 + 8;

/**
 * Writes an exact (flat) index file straight from rows, never holding them all in memory: faiss
 * writes an empty index of this dimension and metric, whose header is checked
 * ({@linkcode readFaissHeader}), given the row count and the data's length, and followed by the
 * rows as `fill` hands them over. {@linkcode readIndexFile} reads the result as faiss's own.
 *
 * @param path Destination; overwritten.
 * @param dim Vector dimension.
 * @param metric `"l2"` or `"ip"` (rows already normalised for cosine).
 * @param rows Rows `fill` will write.
 * @param fill Calls `write` with consecutive chunks of rows, `rows` in all.
 * @throws Error when the header is not the expected layout or `fill` wrote another number of rows.
 */
export function writeFlatIndexFile(
  path: string,
  dim: number,
  metric: FaissMetric,
  rows: number,
  fill: (write: (chunk: Float32Array) => void) => void,
): void {
  const headerPath = `${path}.header`;
  createFlatIndex(dim, metric).writeFile(headerPath);
  let header: Uint8Array;
  try {
    header = Deno.readFileSync(headerPath);
  } finally {
    Deno.removeSync(headerPath);
  }
  const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
  const parsed = readFaissHeader(header);
  if (
    header.length !== FLAT_HEADER_BYTES || parsed.kind !== "flat" || parsed.ntotal !== 0 ||
    view.getBigUint64(37, true) !== 0n
  ) {
    throw new Error(
      `faiss wrote an empty flat index of ${header.length} bytes: not the layout this writer knows`,
    );
  }
  view.setBigInt64(8, BigInt(rows), true);
  view.setBigUint64(37, BigInt(rows) * BigInt(dim), true);
  const file = Deno.openSync(path, { write: true, create: true, truncate: true });
  try {
    const writeAll = (bytes: Uint8Array) => {
      let written = 0;
      while (written < bytes.length) written += file.writeSync(bytes.subarray(written));
    };
    writeAll(header);
    let floats = 0;
    fill((chunk) => {
      if (chunk.length % dim !== 0) throw new RangeError(`${chunk.length} floats are not rows of ${dim}`);
      floats += chunk.length;
      if (floats > rows * dim) throw new RangeError(`More than the ${rows} rows announced`);
      writeAll(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    });
    if (floats !== rows * dim) throw new RangeError(`${floats / dim} rows written of the ${rows} announced`);
    file.syncDataSync();
  } finally {
    file.close();
  }
}

/**
 * Creates an IVF-Flat index (a flat coarse quantizer with `nlist` centroids, vectors stored
 * uncompressed), with faiss's default `nprobe` of 1. Train it before adding vectors.
 *
 * @param dim Vector dimension.
 * @param metric `"l2"` or `"ip"`.
 * @param nlist Number of inverted lists, an integer >= 1.
 * @param opts Where faiss's output goes.
 * @returns An empty, untrained index.
 */
export function createIvfFlatIndex(
  dim: number,
  metric: FaissMetric,
  nlist: number,
  opts: FaissOptions = {},
): FaissIndex {
  checkDim(dim);
  if (!Number.isInteger(nlist) || nlist < 1) throw new RangeError(`nlist must be an integer >= 1: ${nlist}`);
  const nativeIndex = native(
    `create an IVF index of ${nlist} lists`,
    () => faiss.Index.fromFactory(dim, `IVF${nlist},Flat`, metricType(metric)),
  );
  return new FaissIndex(nativeIndex, { kind: "ivf", metric, dim, nlist }, opts.logger);
}

/**
 * Creates an IVF-PQ index for squared L2: a flat coarse quantizer with `nlist` centroids, residuals
 * stored as `m` bytes per vector (8-bit product quantizer codes). Distances it returns are
 * approximate; callers re-rank (`core/index/approx_index.ts`). Train it before adding vectors.
 *
 * @param dim Vector dimension, a multiple of `m`.
 * @param nlist Inverted lists, an integer >= 1.
 * @param m Sub-quantizers (code bytes per vector), dividing `dim`.
 * @param opts Where faiss's output goes.
 * @returns An empty, untrained index.
 */
export function createIvfPqIndex(dim: number, nlist: number, m: number, opts: FaissOptions = {}): FaissIndex {
  checkDim(dim);
  if (!Number.isInteger(nlist) || nlist < 1) throw new RangeError(`nlist must be an integer >= 1: ${nlist}`);
  if (!Number.isInteger(m) || m < 1 || dim % m !== 0) {
    throw new RangeError(`m must be an integer >= 1 dividing dim ${dim}: ${m}`);
  }
  const nativeIndex = native(
    `create an IVF-PQ index of ${nlist} lists and ${m} codes`,
    // "np": no polysemous training (a simulated annealing of ~12 s per codebook whatever the data
    // size, for Hamming-distance filtering that is not used here).
    () => faiss.Index.fromFactory(dim, `IVF${nlist},PQ${m}np`, METRIC_L2),
  );
  return new FaissIndex(nativeIndex, { kind: "ivf", metric: "l2", dim, nlist }, opts.logger);
}

/**
 * Reads an index file written by {@linkcode FaissIndex.writeFile}, after validating its header.
 *
 * @param path The file.
 * @param opts Where faiss's output goes.
 * @returns The index (an IVF index keeps the `nprobe` it was written with).
 * @throws Error when the file is not a flat or IVF-Flat index in the expected layout.
 */
export function readIndexFile(path: string, opts: FaissOptions = {}): FaissIndex {
  const header = readFaissHeader(readHead(path));
  const nativeIndex = native(`read ${path}`, () => faiss.Index.read(path));
  const info: { kind: FaissKind; metric: FaissMetric; dim: number; nlist?: number } = {
    kind: header.kind,
    metric: header.metric,
    dim: header.dim,
  };
  if (header.nlist !== undefined) info.nlist = header.nlist;
  return new FaissIndex(nativeIndex, info, opts.logger);
}

/** The header plus the quantizer's tag and dimension fit in this many bytes. */
const HEAD_BYTES = 64;

function readHead(path: string): Uint8Array {
  const file = Deno.openSync(path, { read: true });
  try {
    const head = new Uint8Array(HEAD_BYTES);
    let got = 0;
    while (got < HEAD_BYTES) {
      const n = file.readSync(head.subarray(got));
      if (n === null) break;
      got += n;
    }
    return head.subarray(0, got);
  } finally {
    file.close();
  }
}

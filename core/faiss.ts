/**
 * The one module that talks to faiss-node (built against Debian's libfaiss 1.7.3).
 *
 * faiss-node 0.5.1 only takes `number[]` and has no way to set `nprobe`, so:
 * - scripts/build_faiss.sh patches its `train`/`add`/`search` to also take a `Float32Array`, read in
 *   place (scripts/faiss_shim/faiss_node_typed_arrays.patch); a search with a `Float32Array` query
 *   returns `{ distances: Float32Array, labels: BigInt64Array }`. This wrapper passes `Float32Array`s
 *   only (subarrays included: the native side respects `byteOffset`), and fails with a pointer to the
 *   build script when the loaded addon lacks the patch,
 * - returns typed arrays from searches (labels narrowed to `Int32Array`),
 * - sets `nprobe` by patching the serialised IVF header and reading the index back
 *   ({@linkcode withNprobe}), after checking that the header has exactly the layout faiss 1.7.3 writes,
 * - serialises through files (`write`/`read`), never `toBuffer`/`fromBuffer`: faiss-node 0.5.1 never
 *   frees the `VectorIOWriter`/`VectorIOReader` those allocate, leaking a full copy of the index per
 *   call (920 MB for 100,000 x 2304 floats).
 *
 * Memory: an index's native memory is freed only when its JS wrapper is garbage collected, and Deno
 * runs N-API finalizers from the event loop, so code that drops many indexes (or `withNprobe` copies)
 * in one synchronous loop holds them all until it yields.
 *
 * Serialised layout (faiss/impl/index_write.cpp, all little endian):
 * ```
 * fourcc  u32   "IxF2" flat L2 | "IxFI" flat IP | "IwFl" IVF-Flat
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
  /** IVF only: byte offset of the `nprobe` field. */
  nprobeOffset?: number;
}

// deno-lint-ignore no-explicit-any
type NativeIndex = any;

const TAGS: Record<string, { kind: FaissKind; metric?: FaissMetric }> = {
  IxF2: { kind: "flat", metric: "l2" },
  IxFI: { kind: "flat", metric: "ip" },
  IwFl: { kind: "ivf" },
};
const METRIC_IP = 0;
const METRIC_L2 = 1;
const HEADER_DUMMY = 1n << 20n;
/** Labels are narrowed to `Int32Array`, so an index holds at most this many vectors. */
const MAX_VECTORS = 2 ** 31 - 1;

/** The error for an addon built without scripts/faiss_shim/faiss_node_typed_arrays.patch. */
function unpatchedAddon(cause?: unknown): Error {
  return new Error(
    "faiss-node was built without the typed-array patch (scripts/faiss_shim/faiss_node_typed_arrays.patch): " +
      "run scripts/build_faiss.sh",
    { cause },
  );
}

/** Calls faiss-node with a `Float32Array` argument, translating an unpatched addon's refusal. */
function callTyped<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof TypeError && err.message.includes("must be an Array.")) throw unpatchedAddon(err);
    throw err;
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
  if (known === undefined) throw headerError(`tag "${tag}" is not IxF2, IxFI or IwFl`);
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
  return { ...header, nlist: Number(nlist), nprobe: Number(nprobe), nprobeOffset };
}

/**
 * Returns a copy of a serialised IVF-Flat index with `nprobe` replaced.
 *
 * @param bytes The serialised IVF index (left unchanged).
 * @param nprobe Inverted lists visited per query, an integer >= 1.
 * @returns The patched copy.
 * @throws Error when the bytes are not an IVF-Flat index in the expected layout.
 */
export function patchIvfNprobe(bytes: Uint8Array, nprobe: number): Uint8Array {
  if (!Number.isInteger(nprobe) || nprobe < 1) {
    throw new RangeError(`nprobe must be an integer >= 1: ${nprobe}`);
  }
  const header = readFaissHeader(bytes);
  if (header.kind !== "ivf" || header.nprobeOffset === undefined) {
    throw headerError(`tag "${header.tag}" is not an IVF index, so it has no nprobe`);
  }
  const out = bytes.slice();
  new DataView(out.buffer, out.byteOffset, out.byteLength).setBigUint64(
    header.nprobeOffset,
    BigInt(nprobe),
    true,
  );
  return out;
}

/**
 * How many `nprobe` copies one IVF index keeps ({@linkcode FaissIndex.withNprobe}): the serving
 * value and one more (e.g. a benchmark's or an evaluation's), as each copy holds all vectors again.
 */
export const NPROBE_CACHE_SIZE = 2;

/**
 * A typed handle on one faiss index. Create with {@linkcode createFlatIndex},
 * {@linkcode createIvfFlatIndex} or {@linkcode deserializeIndex}.
 */
export class FaissIndex {
  readonly #native: NativeIndex;
  readonly #nprobeCache = new Map<number, FaissIndex>();
  /** `"flat"` or `"ivf"`. */
  readonly kind: FaissKind;
  /** `"l2"` or `"ip"`. */
  readonly metric: FaissMetric;
  /** Vector dimension. */
  readonly dim: number;
  /** IVF: the number of inverted lists; undefined for flat. */
  readonly nlist: number | undefined;
  /** IVF: lists visited per query; undefined for flat. */
  readonly nprobe: number | undefined;

  /** @internal Use the factory functions. */
  constructor(
    native: NativeIndex,
    info: { kind: FaissKind; metric: FaissMetric; dim: number; nlist?: number; nprobe?: number },
  ) {
    this.#native = native;
    this.kind = info.kind;
    this.metric = info.metric;
    this.dim = info.dim;
    this.nlist = info.nlist;
    this.nprobe = info.nprobe;
  }

  /** The number of vectors stored. */
  get size(): number {
    return this.#native.ntotal();
  }

  /** Whether the index can accept vectors (flat: always; IVF: after {@linkcode FaissIndex.train}). */
  get isTrained(): boolean {
    return this.#native.isTrained();
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
    callTyped(() => this.#native.train(vectors));
    this.#nprobeCache.clear();
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
    callTyped(() => this.#native.add(vectors));
    this.#nprobeCache.clear();
  }

  /**
   * Searches `n` queries at once.
   *
   * @param queries Row-major queries, `n x dim`.
   * @param k Neighbours per query, 1..size.
   * @returns Raw scores and ids, `n x k` row-major.
   */
  search(queries: Float32Array, k: number): FaissSearchResult {
    const n = this.#rows(queries);
    if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be an integer >= 1: ${k}`);
    if (!this.isTrained) throw new Error("Index is not trained: call train() before search()");
    if (k > this.size) throw new RangeError(`k = ${k} exceeds the ${this.size} vectors in the index`);
    if (n === 0) return { distances: new Float32Array(0), labels: new Int32Array(0) };
    const res = callTyped(() => this.#native.search(queries, k));
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
   * Writes the index to a file (faiss's own format).
   *
   * @param path Destination; overwritten.
   */
  writeFile(path: string): void {
    this.#native.write(path);
  }

  /**
   * Serialises the index (faiss's own format), through a temporary file (see the module doc).
   *
   * @returns The bytes; {@linkcode deserializeIndex} reads them back.
   */
  serialize(): Uint8Array {
    return withTempFile((path) => {
      this.writeFile(path);
      return Deno.readFileSync(path);
    });
  }

  /**
   * An IVF index searching `nprobe` lists per query. The copy is made by writing the index to a
   * temporary file, patching `nprobe` in its validated header and reading it back. Each copy holds
   * all vectors again, so at most {@linkcode NPROBE_CACHE_SIZE} copies are cached, the least
   * recently used dropped first (faiss-node has no way to free an index: a dropped copy's memory
   * is freed when it is garbage collected, once no caller holds it either).
   * `nprobe` above `nlist` is clamped to `nlist`, as faiss itself does.
   *
   * @param nprobe Lists visited per query, an integer >= 1.
   * @returns This index when `nprobe` already matches, otherwise the cached or new copy.
   */
  withNprobe(nprobe: number): FaissIndex {
    if (this.kind !== "ivf" || this.nlist === undefined) throw new Error("withNprobe() needs an IVF index");
    if (!Number.isInteger(nprobe) || nprobe < 1) {
      throw new RangeError(`nprobe must be an integer >= 1: ${nprobe}`);
    }
    const effective = Math.min(nprobe, this.nlist);
    if (effective === this.nprobe) return this;
    let copy = this.#nprobeCache.get(effective);
    if (copy !== undefined) {
      // A Map iterates in insertion order: re-inserting marks the copy most recently used.
      this.#nprobeCache.delete(effective);
    } else {
      copy = withTempFile((path) => {
        this.writeFile(path);
        patchIvfNprobeFile(path, effective);
        return readIndexFile(path);
      });
    }
    this.#nprobeCache.set(effective, copy);
    for (const key of this.#nprobeCache.keys()) {
      if (this.#nprobeCache.size <= NPROBE_CACHE_SIZE) break;
      this.#nprobeCache.delete(key);
    }
    return copy;
  }

  /** Drops the cached `nprobe` copies (their memory is freed when they are garbage collected). */
  clearNprobeCache(): void {
    this.#nprobeCache.clear();
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
 * @returns An empty, trained index.
 */
export function createFlatIndex(dim: number, metric: FaissMetric): FaissIndex {
  checkDim(dim);
  const native = metric === "l2" ? new faiss.IndexFlatL2(dim) : new faiss.IndexFlatIP(dim);
  return new FaissIndex(native, { kind: "flat", metric, dim });
}

/**
 * Creates an IVF-Flat index (a flat coarse quantizer with `nlist` centroids, vectors stored
 * uncompressed), with faiss's default `nprobe` of 1. Train it before adding vectors.
 *
 * @param dim Vector dimension.
 * @param metric `"l2"` or `"ip"`.
 * @param nlist Number of inverted lists, an integer >= 1.
 * @returns An empty, untrained index.
 */
export function createIvfFlatIndex(dim: number, metric: FaissMetric, nlist: number): FaissIndex {
  checkDim(dim);
  if (!Number.isInteger(nlist) || nlist < 1) throw new RangeError(`nlist must be an integer >= 1: ${nlist}`);
  const native = faiss.Index.fromFactory(dim, `IVF${nlist},Flat`, metricType(metric));
  return new FaissIndex(native, { kind: "ivf", metric, dim, nlist, nprobe: 1 });
}

/**
 * Reads an index serialised by {@linkcode FaissIndex.serialize}, after validating its header.
 *
 * @param bytes The serialised index.
 * @returns The index.
 * @throws Error when the bytes are not a flat or IVF-Flat index in the expected layout.
 */
export function deserializeIndex(bytes: Uint8Array): FaissIndex {
  readFaissHeader(bytes);
  return withTempFile((path) => {
    Deno.writeFileSync(path, bytes);
    return readIndexFile(path);
  });
}

/**
 * Reads an index file written by {@linkcode FaissIndex.writeFile}, after validating its header.
 *
 * @param path The file.
 * @returns The index.
 * @throws Error when the file is not a flat or IVF-Flat index in the expected layout.
 */
export function readIndexFile(path: string): FaissIndex {
  const header = readFaissHeader(readHead(path));
  const native = faiss.Index.read(path);
  const info: { kind: FaissKind; metric: FaissMetric; dim: number; nlist?: number; nprobe?: number } = {
    kind: header.kind,
    metric: header.metric,
    dim: header.dim,
  };
  if (header.nlist !== undefined) info.nlist = header.nlist;
  if (header.nprobe !== undefined) info.nprobe = header.nprobe;
  return new FaissIndex(native, info);
}

/**
 * Sets `nprobe` in an IVF-Flat index file in place (8 bytes), after validating its header.
 *
 * @param path The index file.
 * @param nprobe Lists visited per query, an integer >= 1.
 * @throws Error when the file is not an IVF-Flat index in the expected layout.
 */
export function patchIvfNprobeFile(path: string, nprobe: number): void {
  const head = readHead(path);
  const patched = patchIvfNprobe(head, nprobe);
  const offset = readFaissHeader(head).nprobeOffset!;
  const file = Deno.openSync(path, { write: true });
  try {
    file.seekSync(offset, Deno.SeekMode.Start);
    const field = patched.subarray(offset, offset + 8);
    let written = 0;
    while (written < field.length) written += file.writeSync(field.subarray(written));
  } finally {
    file.close();
  }
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

function withTempFile<T>(fn: (path: string) => T): T {
  const dir = Deno.makeTempDirSync({ prefix: "soundalike_faiss_" });
  try {
    return fn(`${dir}/index.faiss`);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

/**
 * Functional form of {@linkcode FaissIndex.withNprobe}.
 *
 * @param index An IVF index.
 * @param nprobe Lists visited per query.
 * @returns An index with that `nprobe`.
 */
export function withNprobe(index: FaissIndex, nprobe: number): FaissIndex {
  return index.withNprobe(nprobe);
}

/**
 * The number of inverted lists of an IVF index, or undefined for a flat one.
 *
 * @param index The index.
 * @returns `nlist`.
 */
export function readNlist(index: FaissIndex): number | undefined {
  return index.nlist;
}

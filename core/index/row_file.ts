/**
 * Float32 rows (vectors of `dim` floats, little endian, back to back) in memory or on disk, read by
 * position: how a catalog's vectors reach the index builders without sitting in the JS heap whole.
 *
 * A reindex appends every clip vector to a file as it arrives ({@linkcode RowWriter}), then hands the
 * builders a {@linkcode RowSource} over it, in track order ({@linkcode pickRows}), which they read by
 * chunks ({@linkcode forEachChunk}): memory stays a few chunks whatever the catalog's size.
 * @module
 */

/** Rows readable by position. */
export interface RowSource {
  /** Rows available. */
  readonly rows: number;
  /** Floats per row. */
  readonly dim: number;
  /**
   * Copies rows `[from, from + out.length / dim)` into `out`.
   *
   * @throws RangeError when the rows are past the end.
   */
  read(from: number, out: Float32Array): void;
}

/**
 * Rows held in memory (tests, small builds).
 *
 * @param vectors `rows x dim` floats.
 * @param dim Floats per row.
 * @returns A source over them (no copy).
 */
export function memoryRows(vectors: Float32Array, dim: number): RowSource {
  if (!Number.isInteger(dim) || dim < 1) throw new RangeError(`dim must be an integer >= 1: ${dim}`);
  if (vectors.length % dim !== 0) throw new RangeError(`${vectors.length} floats are not rows of ${dim}`);
  return {
    rows: vectors.length / dim,
    dim,
    read(from, out) {
      checkRange(from, out, dim, this.rows);
      out.set(vectors.subarray(from * dim, from * dim + out.length));
    },
  };
}

/**
 * Reads rows `[from, from + out.length / dim)` of an open row file into `out` (positioned reads, no
 * copy into the JS heap beyond `out`).
 *
 * @param file The open file.
 * @param dim Floats per row.
 * @param from First row.
 * @param out Where the rows go; its length is a multiple of `dim`.
 * @throws RangeError when the file ends first.
 */
export function readRows(file: Deno.FsFile, dim: number, from: number, out: Float32Array): void {
  const bytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  file.seekSync(from * dim * 4, Deno.SeekMode.Start);
  let got = 0;
  while (got < bytes.length) {
    const n = file.readSync(bytes.subarray(got));
    if (n === null || n === 0) {
      throw new RangeError(`The vector file ends before row ${from + Math.floor(got / (dim * 4))}`);
    }
    got += n;
  }
}

/** A row file opened for reading; close it when done. */
export interface RowFile extends RowSource {
  readonly path: string;
  close(): void;
}

/**
 * Opens a file of float32 rows.
 *
 * @param path The file ({@linkcode RowWriter}'s output).
 * @param dim Floats per row.
 * @returns The rows; {@linkcode RowFile.close} releases the file.
 * @throws RangeError when the file's size is not a whole number of rows (truncated).
 */
export function openRowFile(path: string, dim: number): RowFile {
  const size = Deno.statSync(path).size;
  if (size % (dim * 4) !== 0) {
    throw new RangeError(`${path} holds ${size} bytes, not a whole number of ${dim}-float rows: truncated`);
  }
  const file = Deno.openSync(path, { read: true });
  const rows = size / (dim * 4);
  return {
    path,
    rows,
    dim,
    read(from, out) {
      checkRange(from, out, dim, rows);
      readRows(file, dim, from, out);
    },
    close: () => file.close(),
  };
}

/**
 * Some rows of a source, in a given order (a catalog's vectors in track order, duplicates left
 * out), without copying them: each read gathers its rows one by one.
 *
 * @param source The rows.
 * @param order Source row of each row of the view.
 * @returns The view.
 */
export function pickRows(source: RowSource, order: Int32Array): RowSource {
  const { dim } = source;
  for (const r of order) {
    if (r < 0 || r >= source.rows) throw new RangeError(`Row ${r} is outside the ${source.rows} rows`);
  }
  return {
    rows: order.length,
    dim,
    read(from, out) {
      checkRange(from, out, dim, order.length);
      // Runs of consecutive source rows are read at once.
      const n = out.length / dim;
      let i = 0;
      while (i < n) {
        let j = i + 1;
        while (j < n && order[from + j]! === order[from + j - 1]! + 1) j++;
        source.read(order[from + i]!, out.subarray(i * dim, j * dim));
        i = j;
      }
    },
  };
}

/**
 * Calls `fn` on consecutive chunks of the rows (one buffer, reused: copy what must outlive the call).
 *
 * @param source The rows.
 * @param rowsPerChunk Rows per call (the last may be fewer).
 * @param fn Receives the chunk's rows and the index of its first row.
 */
export function forEachChunk(
  source: RowSource,
  rowsPerChunk: number,
  fn: (rows: Float32Array, from: number) => void,
): void {
  const buffer = new Float32Array(Math.max(1, Math.min(rowsPerChunk, source.rows)) * source.dim);
  for (let from = 0; from < source.rows; from += rowsPerChunk) {
    const count = Math.min(rowsPerChunk, source.rows - from);
    const chunk = buffer.subarray(0, count * source.dim);
    source.read(from, chunk);
    fn(chunk, from);
  }
}

/**
 * Streams float32 rows to a file by chunks (a catalog's vectors, an approximate index's full
 * vectors), so a large catalog's vectors never sit in memory whole.
 */
export class RowWriter {
  readonly path: string;
  readonly dim: number;
  #file: Deno.FsFile;
  #rows = 0;

  /**
   * @param path Created or truncated.
   * @param dim Floats per row.
   */
  constructor(path: string, dim: number) {
    this.path = path;
    this.dim = dim;
    this.#file = Deno.openSync(path, { write: true, create: true, truncate: true });
  }

  /** Rows written so far. */
  get rows(): number {
    return this.#rows;
  }

  /**
   * Appends rows.
   *
   * @param rows `n x dim` floats.
   * @returns The index of the first row written.
   * @throws The file system's error (e.g. the disk is full); the file is then incomplete.
   */
  write(rows: Float32Array): number {
    if (rows.length % this.dim !== 0) {
      throw new RangeError(`${rows.length} floats are not rows of ${this.dim}`);
    }
    const first = this.#rows;
    const bytes = new Uint8Array(rows.buffer, rows.byteOffset, rows.byteLength);
    let written = 0;
    while (written < bytes.length) written += this.#file.writeSync(bytes.subarray(written));
    this.#rows += rows.length / this.dim;
    return first;
  }

  /** Flushes and closes the file. */
  close(): void {
    try {
      this.#file.syncDataSync();
    } finally {
      this.#file.close();
    }
  }
}

function checkRange(from: number, out: Float32Array, dim: number, rows: number): void {
  if (out.length % dim !== 0) throw new RangeError(`${out.length} floats are not rows of ${dim}`);
  if (!Number.isInteger(from) || from < 0 || from + out.length / dim > rows) {
    throw new RangeError(`Rows ${from}..${from + out.length / dim} are outside the ${rows} rows`);
  }
}

/**
 * Reads the Free Music Archive metadata in its true format: `tracks.csv` with its three header rows
 * (top level, field, then `track_id`) and Python-literal list columns, `genres.csv`, and an
 * fma_small-style audio tree (`000/000002.mp3`). `tracks.csv` is streamed in slices of whole records,
 * so the full file (~106,000 rows, ~250 MB) never sits in memory as one parsed table.
 * @module
 */

import { parseCsv } from "./csv.ts";
import { ErrorCode, SoundalikeError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import type { CatalogGenre, CatalogReadResult, CatalogTrack, SkippedEntry } from "./types.ts";

/** FMA subsets, each contained in the next: small ⊂ medium ⊂ large (the full dataset). */
export type FmaSubset = "small" | "medium" | "large";

/** Options for {@linkcode readFmaCatalog}. */
export interface ReadFmaOptions {
  /** Folder holding `tracks.csv` and `genres.csv`. */
  metadataDir: string;
  /**
   * Keep only tracks of this subset (`set.subset`); `large` keeps every row.
   * @default "large"
   */
  subset?: FmaSubset;
  /** The audio tree (`000/000002.mp3`); when given, tracks without a file there are skipped. */
  audioDir?: string;
  /**
   * Files known to be unreadable (`098565.mp3`, `000/000002.mp3` or a bare track id): skipped and
   * reported.
   */
  skipFiles?: Iterable<string>;
  /**
   * `demo` marks the records as the demo catalog (FMA-shaped files from the corpus generator).
   * @default "fma"
   */
  source?: "fma" | "demo";
  logger: Logger;
}

const SUBSET_RANK: Record<FmaSubset, number> = { small: 0, medium: 1, large: 2 };

const FMA_SITE = "https://freemusicarchive.org/music";

/** The relative audio path of an FMA track: track 2 is `000/000002.mp3`. */
export function fmaAudioPath(trackId: number): string {
  if (!Number.isInteger(trackId) || trackId < 0) throw new RangeError(`Not an FMA track id: ${trackId}`);
  const name = String(trackId).padStart(6, "0");
  return `${name.slice(0, 3)}/${name}.mp3`;
}

/**
 * Parses a Python literal list of integers and strings, as FMA writes its list columns
 * (`[21, 45]`, `['awol']`, `[]`). Nothing is evaluated.
 *
 * @param text The cell.
 * @returns The items; an empty cell gives `[]`.
 * @throws SyntaxError when the cell is not such a list.
 * @example
 * ```ts
 * import { parsePythonList } from "./fma.ts";
 * console.assert(parsePythonList("[21, 45]").join() === "21,45");
 * ```
 */
export function parsePythonList(text: string): (number | string)[] {
  const s = text.trim();
  if (s === "") return [];
  let i = 0;
  const fail = (what: string): never => {
    throw new SyntaxError(`Bad list literal at ${i}: ${what}: ${JSON.stringify(s.slice(0, 80))}`);
  };
  const skipSpace = () => {
    while (i < s.length && /\s/.test(s[i]!)) i++;
  };
  skipSpace();
  if (s[i] !== "[") fail("expected [");
  i++;
  const out: (number | string)[] = [];
  skipSpace();
  while (s[i] !== "]") {
    if (i >= s.length) fail("unterminated list");
    const c = s[i]!;
    if (c === "'" || c === '"') {
      out.push(readString(c));
    } else {
      const m = /^[+-]?\d+/.exec(s.slice(i));
      if (!m) fail("expected an integer or a string");
      out.push(Number(m![0]));
      i += m![0].length;
    }
    skipSpace();
    if (s[i] === ",") {
      i++;
      skipSpace();
    } else if (s[i] !== "]") {
      fail("expected , or ]");
    }
  }
  i++;
  skipSpace();
  if (i !== s.length) fail("text after the list");
  return out;

  function readString(quote: string): string {
    i++;
    let value = "";
    while (true) {
      if (i >= s.length) fail("unterminated string");
      const c = s[i]!;
      if (c === quote) {
        i++;
        return value;
      }
      if (c !== "\\") {
        value += c;
        i++;
        continue;
      }
      const e = s[i + 1];
      const simple: Record<string, string> = {
        "\\": "\\",
        "'": "'",
        '"': '"',
        n: "\n",
        t: "\t",
        r: "\r",
        "0": "\0",
      };
      if (e !== undefined && e in simple) {
        value += simple[e];
        i += 2;
      } else if (e === "x" || e === "u" || e === "U") {
        const len = e === "x" ? 2 : e === "u" ? 4 : 8;
        const hex = s.slice(i + 2, i + 2 + len);
        if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(hex)) fail("bad escape");
        value += String.fromCodePoint(parseInt(hex, 16));
        i += 2 + len;
      } else {
        // Python keeps unknown escapes as written.
        value += "\\";
        i++;
      }
    }
  }
}

/**
 * Parses FMA's `genres.csv` (`genre_id,#tracks,parent,title,top_level`); parent 0 means none.
 *
 * @param text The file's content.
 * @returns The genres.
 * @throws SoundalikeError `BadDataset` when the header or a row is malformed.
 */
export function parseGenresCsv(text: string): CatalogGenre[] {
  const rows = parseCsv(text, { columns: true, skipEmptyLines: true });
  const need = ["genre_id", "#tracks", "parent", "title", "top_level"];
  const header = rows[0] ? Object.keys(rows[0]) : [];
  const missing = need.filter((c) => !header.includes(c));
  if (rows.length > 0 && missing.length > 0) {
    throw new SoundalikeError(ErrorCode.BadDataset, `genres.csv lacks the columns: ${missing.join(", ")}`);
  }
  return rows.map((r, n) => {
    const id = toInt(r["genre_id"]);
    const parent = toInt(r["parent"]);
    const top = toInt(r["top_level"]);
    if (id === null || id <= 0) {
      throw new SoundalikeError(ErrorCode.BadDataset, `genres.csv row ${n + 1} has no valid genre_id`);
    }
    return {
      id,
      title: (r["title"] ?? "").trim() || `Genre ${id}`,
      parentId: parent === null || parent === 0 ? null : parent,
      topLevelId: top ?? id,
      trackCount: toInt(r["#tracks"]) ?? 0,
    };
  });
}

/** Reads a skip list (one file name or track id per line; `#` comments and blank lines ignored). */
export async function readSkipList(path: string): Promise<string[]> {
  const text = await readText(path);
  return text.split(/\r?\n/).map((l) => l.replace(/#.*/, "").trim()).filter((l) => l !== "");
}

/** Column positions in tracks.csv by `top.field` (`track.title`, `set.subset`). */
type Columns = Map<string, number>;

/**
 * Streams `tracks.csv` records (header rows excluded) in slices of whole records.
 *
 * @param path The tracks.csv file.
 * @returns The column map (from the header) and an iterator of raw records with their number.
 */
async function* streamRecords(path: string): AsyncGenerator<string[]> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path);
  } catch (err) {
    throw new SoundalikeError(ErrorCode.BadDataset, `Cannot read ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const decoder = new TextDecoder();
  let pending = "";
  let scanned = 0;
  let inQuotes = false;
  let lastBoundary = -1;
  const flush = (upTo: number): string[][] => {
    const text = pending.slice(0, upTo);
    pending = pending.slice(upTo);
    scanned -= upTo;
    lastBoundary = -1;
    return parseCsv(text, { relaxColumnCount: true });
  };
  // file.readable closes the file when the stream ends or is cancelled.
  for await (const chunk of file.readable) {
    pending += decoder.decode(chunk, { stream: true });
    // Find the last newline outside quotes: everything before it is whole records. Doubled quotes
    // inside a quoted field toggle twice, so counting quotes is enough.
    for (; scanned < pending.length; scanned++) {
      const c = pending.charCodeAt(scanned);
      if (c === 34) inQuotes = !inQuotes;
      else if (c === 10 && !inQuotes) lastBoundary = scanned;
    }
    if (lastBoundary >= 0 && lastBoundary > 1 << 20) yield* flush(lastBoundary + 1);
  }
  pending += decoder.decode();
  if (pending.trim() !== "") yield* flush(pending.length);
}

/**
 * Reads FMA `genres.csv` and `tracks.csv` (three header rows), keeps one subset, checks the audio tree
 * and skip list, and reports every row or file left out with its reason.
 *
 * @param opts Where the files are, which subset, the audio tree and skip list.
 * @returns Genres, track records (audio paths like `000/000002.mp3`) and the skipped entries.
 * @throws SoundalikeError `BadDataset` when a file is missing or its header is not FMA's.
 */
export async function readFmaCatalog(opts: ReadFmaOptions): Promise<CatalogReadResult> {
  const { logger } = opts;
  const subset = opts.subset ?? "large";
  const source = opts.source ?? "fma";
  const dir = opts.metadataDir.replace(/\/+$/, "");
  const genres = parseGenresCsv(await readText(`${dir}/genres.csv`));
  const genreTitle = new Map(genres.map((g) => [g.id, g.title]));

  const skipNames = new Set<string>();
  for (const entry of opts.skipFiles ?? []) {
    const base = entry.trim().split("/").pop() ?? "";
    const id = /^(\d+)(\.mp3)?$/.exec(base)?.[1];
    if (id !== undefined) skipNames.add(String(Number(id)));
  }
  const audioFiles = opts.audioDir === undefined ? null : await listFiles(opts.audioDir);

  const tracks: CatalogTrack[] = [];
  const skipped: SkippedEntry[] = [];
  let columns: Columns | null = null;
  const header: string[][] = [];
  let recordNo = 0;
  let outOfSubset = 0;

  for await (const record of streamRecords(`${dir}/tracks.csv`)) {
    if (columns === null) {
      header.push(record);
      if (header.length === 3) columns = headerColumns(header, `${dir}/tracks.csv`);
      continue;
    }
    recordNo++;
    const cell = (name: string): string => {
      const at = columns!.get(name);
      return at === undefined ? "" : (record[at] ?? "").trim();
    };
    const item = `tracks.csv record ${recordNo}`;
    const trackId = toInt(record[0]);
    if (trackId === null || trackId < 0) {
      skipped.push({ item, reason: `bad track_id ${JSON.stringify(record[0] ?? "")}` });
      continue;
    }
    if (record.length !== columns.size + 1) {
      skipped.push({
        item: `track ${trackId}`,
        reason: `${record.length} columns instead of ${columns.size + 1}`,
      });
      continue;
    }
    const rowSubset = cell("set.subset") as FmaSubset | "";
    const rank = rowSubset in SUBSET_RANK ? SUBSET_RANK[rowSubset as FmaSubset] : SUBSET_RANK.large;
    if (rank > SUBSET_RANK[subset]) {
      outOfSubset++;
      continue;
    }
    const audioPath = fmaAudioPath(trackId);
    if (skipNames.has(String(trackId))) {
      skipped.push({ item: audioPath, reason: "listed as unreadable in the skip list" });
      continue;
    }
    if (audioFiles !== null && !audioFiles.has(audioPath)) {
      skipped.push({ item: audioPath, reason: "audio file missing from the audio folder" });
      continue;
    }
    let genreIds: number[];
    try {
      genreIds = parsePythonList(cell("track.genres")).filter((g): g is number => typeof g === "number");
    } catch (err) {
      skipped.push({ item: `track ${trackId}`, reason: `track.genres: ${(err as Error).message}` });
      continue;
    }
    const title = cell("track.title") || `Track ${trackId}`;
    const artistId = cell("artist.id");
    const artistName = cell("artist.name");
    const albumId = cell("album.id");
    const albumTitle = cell("album.title");
    const artistUrl = cell("artist.artist_url") || cell("artist.url") ||
      (artistName ? `${FMA_SITE}/${fmaSlug(artistName)}` : "");
    const albumUrl = cell("album.album_url") || cell("album.url") ||
      (artistName && albumTitle ? `${FMA_SITE}/${fmaSlug(artistName)}/${fmaSlug(albumTitle)}` : "");
    const trackUrl = cell("track.track_url") || cell("track.url") ||
      (artistName
        ? [FMA_SITE, fmaSlug(artistName), ...(albumTitle ? [fmaSlug(albumTitle)] : []), fmaSlug(title)].join(
          "/",
        )
        : "");
    const topGenre = cell("track.genre_top") ||
      (genreIds[0] === undefined
        ? ""
        : genreTitle.get(genres.find((g) => g.id === genreIds[0])?.topLevelId ?? -1)) ||
      null;
    tracks.push({
      source,
      sourceId: String(trackId),
      title,
      artist: artistName
        ? { sourceId: artistId || artistName.toLowerCase(), name: artistName, url: artistUrl || null }
        : null,
      album: albumTitle
        ? { sourceId: albumId || albumTitle.toLowerCase(), title: albumTitle, url: albumUrl || null }
        : null,
      topGenre,
      genreIds,
      trackNumber: toInt(cell("track.number")),
      year: toYear(cell("album.date_released")) ?? toYear(cell("track.date_recorded")),
      durationSeconds: toNumber(cell("track.duration")),
      license: cell("track.license") || null,
      bitRate: toInt(cell("track.bit_rate")),
      dateCreated: toTimestamp(cell("track.date_created")),
      url: trackUrl || null,
      audioPath,
      isDemo: source === "demo",
    });
  }
  if (columns === null) {
    throw new SoundalikeError(ErrorCode.BadDataset, `${dir}/tracks.csv lacks FMA's three header rows`);
  }
  logger.info("Read FMA metadata", {
    subset,
    tracks: tracks.length,
    skipped: skipped.length,
    outOfSubset,
    genres: genres.length,
  });
  return { genres, tracks, skipped };
}

/** Maps the three header rows to `top.field` column positions (column 0 is `track_id`). */
function headerColumns(header: string[][], path: string): Columns {
  const [top, field, third] = header as [string[], string[], string[]];
  if ((third[0] ?? "").trim() !== "track_id" || !field.includes("title") || !top.includes("track")) {
    throw new SoundalikeError(
      ErrorCode.BadDataset,
      `${path} is not FMA's tracks.csv: expected three header rows (top level, field, track_id)`,
    );
  }
  const columns: Columns = new Map();
  for (let i = 1; i < field.length; i++) columns.set(`${top[i]?.trim()}.${field[i]?.trim()}`, i);
  for (const need of ["track.title", "set.subset"]) {
    if (!columns.has(need)) {
      throw new SoundalikeError(ErrorCode.BadDataset, `${path} lacks the column ${need}`);
    }
  }
  return columns;
}

/** FMA's page-name style: spaces become underscores, the rest is percent-encoded. */
function fmaSlug(name: string): string {
  return encodeURIComponent(name.trim().replace(/\s+/g, "_")).replace(/%2C/g, ",");
}

async function readText(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    throw new SoundalikeError(ErrorCode.BadDataset, `Cannot read ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** Every file under `root`, as `/`-separated relative paths. */
async function listFiles(root: string): Promise<Set<string>> {
  const out = new Set<string>();
  const walk = async (rel: string) => {
    for await (const e of Deno.readDir(rel ? `${root}/${rel}` : root)) {
      const path = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory) await walk(path);
      else if (e.isFile) out.add(path);
    }
  };
  try {
    await walk("");
  } catch (err) {
    throw new SoundalikeError(
      ErrorCode.BadDataset,
      `Cannot read the audio folder ${root}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  return out;
}

function toInt(v: string | undefined): number | null {
  if (v === undefined) return null;
  const s = v.trim();
  if (!/^[+-]?\d+(\.0+)?$/.test(s)) return null;
  const n = Number.parseInt(s, 10);
  return Number.isSafeInteger(n) ? n : null;
}

function toNumber(v: string): number | null {
  if (v === "") return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

function toYear(v: string): number | null {
  const m = /^(\d{4})-/.exec(v);
  return m ? Number(m[1]) : null;
}

function toTimestamp(v: string): string | null {
  return /^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}:\d{2})?$/.test(v) ? v : null;
}

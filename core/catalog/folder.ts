/**
 * A generic catalog: any folder of audio files (searched recursively, following symbolic links),
 * described by, in order of precedence for each field:
 * 1. an optional metadata CSV at its root
 *    (`path,title,artist,album,album_artist,genre,year,track,license,url`; every column but `path`
 *    optional, `genre` may list several names separated by `;`),
 * 2. the file's own tags (ID3, Vorbis/Opus comments, FLAC, MP4, RIFF INFO), read by the injected
 *    `readTags` (core/audio/ffmpeg.ts's `readTagsMany`),
 * 3. its name: `Artist - Title.mp3`, or just the title.
 *
 * Every file or CSV row left out is reported with the reason: broken symbolic links, files whose
 * name is not valid UTF-8, unreadable folders, and what `readTags` refuses (empty, unreadable,
 * corrupt, not audio, no audio track).
 * @module
 */

import { parseCsv } from "./csv.ts";
import { ErrorCode, SoundalikeError } from "../errors.ts";
import type { AudioTags } from "../audio/ffmpeg.ts";
import type { Logger } from "../logger.ts";
import { mapPool } from "../util/pool.ts";
import type { ProgressReporter } from "./reindex.ts";
import { parseGenres, type TagInfo, tagInfo } from "./tags.ts";
import type { CatalogReadResult, CatalogTrack, SkippedEntry } from "./types.ts";

/** File extensions taken as audio (lower case, without the dot). */
export const AUDIO_EXTENSIONS: readonly string[] = ["mp3", "ogg", "wav", "flac", "m4a", "opus", "aac"];

/** The metadata file looked for at the folder's root when none is named. */
export const DEFAULT_METADATA_FILE = "metadata.csv";

/** The metadata CSV's columns (`path` required, the others optional). */
export const METADATA_COLUMNS: readonly string[] = [
  "path",
  "title",
  "artist",
  "album",
  "album_artist",
  "genre",
  "year",
  "track",
  "license",
  "url",
];

/** Reads the tags of a batch of files, one result or error per path, in order. */
export type ReadTags = (paths: string[]) => Promise<(AudioTags | Error)[]>;

/** Options for {@linkcode readFolderCatalog}. */
export interface ReadFolderOptions {
  /** The catalog root. */
  root: string;
  /**
   * The metadata CSV; relative paths in it are relative to `root`.
   * @default `<root>/metadata.csv` when it exists
   */
  metadataCsv?: string;
  /**
   * `demo` marks the records as the demo catalog.
   * @default "folder"
   */
  source?: "folder" | "demo";
  /**
   * Reads file tags (absolute paths); a file it fails on is skipped with the error's message.
   * Without it no tags are read and the files are not checked.
   */
  readTags?: ReadTags;
  /** Files per `readTags` call. @default 128 */
  tagBatchSize?: number;
  /** `readTags` calls at once. @default 2 */
  concurrency?: number;
  /** Told about the tag reading (`reading tags`, files done). */
  progress?: ProgressReporter;
  signal?: AbortSignal;
  logger: Logger;
}

/** One row of the metadata CSV (empty strings for empty cells). */
type MetaRow = Record<(typeof METADATA_COLUMNS)[number], string>;

/**
 * Lists the audio files under `root` and describes each from the metadata CSV, its tags and its
 * name (in that order of precedence, field by field). CSV rows naming missing or non-audio files,
 * and files that cannot be read, are reported.
 *
 * @param opts The folder, the metadata file, the source and the tag reader.
 * @returns Track records (`sourceId` = `audioPath` = the path relative to `root`) and skipped entries.
 * @throws SoundalikeError `BadDataset` when the folder cannot be read or the CSV lacks a `path` column.
 */
export async function readFolderCatalog(opts: ReadFolderOptions): Promise<CatalogReadResult> {
  const root = opts.root.replace(/\/+$/, "") || "/";
  const source = opts.source ?? "folder";
  const skipped: SkippedEntry[] = [];
  const listed = await listAudio(root, skipped);

  const metaPath = opts.metadataCsv ?? `${root}/${DEFAULT_METADATA_FILE}`;
  const meta = await readMetadata(metaPath, opts.metadataCsv !== undefined, skipped);
  const fileSet = new Set(listed);
  const reported = new Set(skipped.map((s) => s.item));
  for (const path of meta.keys()) {
    if (!fileSet.has(path) && !reported.has(path)) {
      const reason = isAudioName(path) ? "listed in the metadata CSV but not found" : "not an audio file";
      skipped.push({ item: path, reason });
    }
  }

  const tags = await readAllTags(root, listed, opts, skipped);
  const files = listed.filter((path) => tags.get(path) !== null);
  const tracks: CatalogTrack[] = files.map((path) => {
    const probed = tags.get(path);
    return describe(path, meta.get(path), probed?.info, probed?.durationSeconds ?? null, source);
  });
  opts.logger.info("Read folder catalog", { root, tracks: tracks.length, skipped: skipped.length });
  return { genres: [], tracks, skipped };
}

/** One track from its CSV row, its tags and its name, field by field in that order. */
function describe(
  path: string,
  row: MetaRow | undefined,
  tags: TagInfo | undefined,
  durationSeconds: number | null,
  source: "folder" | "demo",
): CatalogTrack {
  const fallback = fromFileName(path);
  const pick = <T>(...values: (T | undefined | null | "")[]): T | null => {
    for (const v of values) if (v !== undefined && v !== null && v !== "") return v;
    return null;
  };
  const artistName = pick(row?.artist, tags?.artist, fallback.artist);
  const albumTitle = pick(row?.album, tags?.album);
  const albumArtistName = pick(row?.album_artist, tags?.albumArtist);
  const genres = row?.genre ? parseGenres(row.genre) : tags?.genres ?? [];
  const artist = (name: string | null) => name ? { sourceId: name.toLowerCase(), name, url: null } : null;
  const albumOwner = albumArtistName ?? artistName ?? "";
  return {
    source,
    sourceId: path,
    title: pick(row?.title, tags?.title, fallback.title) ?? path,
    artist: artist(artistName),
    album: albumTitle
      ? {
        // JSON, not a separator character: NUL (the old separator) is refused by PostgreSQL text.
        sourceId: JSON.stringify([albumOwner.toLowerCase(), albumTitle.toLowerCase()]),
        title: albumTitle,
        url: null,
        ...(albumArtistName ? { artist: artist(albumArtistName) } : {}),
      }
      : null,
    topGenre: genres[0] ?? null,
    genreIds: [],
    genres,
    year: pick(toYear(row?.year), tags?.year),
    trackNumber: pick(toTrackNumber(row?.track), tags?.trackNumber),
    durationSeconds,
    license: pick(row?.license, tags?.license),
    bitRate: null,
    dateCreated: null,
    url: pick(row?.url),
    audioPath: path,
    isDemo: source === "demo",
  };
}

/**
 * Tags of every listed file by relative path; `null` for a file `readTags` refused (reported in
 * `skipped`). Without a reader, every file maps to `undefined` (no tags).
 */
async function readAllTags(
  root: string,
  files: readonly string[],
  opts: ReadFolderOptions,
  skipped: SkippedEntry[],
): Promise<Map<string, { info: TagInfo; durationSeconds: number | null } | null | undefined>> {
  const out = new Map<string, { info: TagInfo; durationSeconds: number | null } | null | undefined>();
  const readTags = opts.readTags;
  if (readTags === undefined || files.length === 0) return out;
  const size = opts.tagBatchSize ?? 128;
  const batches: string[][] = [];
  for (let i = 0; i < files.length; i += size) batches.push(files.slice(i, i + size));
  const progress = opts.progress;
  progress?.start(files.length, "reading tags");
  let done = 0;
  try {
    await mapPool(batches, opts.concurrency ?? 2, async (batch) => {
      opts.signal?.throwIfAborted();
      const results = await readTags(batch.map((p) => `${root}/${p}`));
      batch.forEach((path, k) => {
        const r = results[k];
        if (r === undefined || r instanceof Error) {
          skipped.push({ item: path, reason: r?.message ?? "its tags could not be read" });
          out.set(path, null);
        } else {
          out.set(path, { info: tagInfo(r.tags), durationSeconds: r.durationSeconds });
        }
      });
      done += batch.length;
      progress?.update(done);
    });
  } finally {
    progress?.stop();
  }
  return out;
}

/** Title and artist from `Artist - Title.ext`, or the bare name as the title. */
export function fromFileName(path: string): { title: string; artist: string | null } {
  const base = (path.split("/").pop() ?? path).replace(/\.[^.]+$/, "").replace(/_/g, " ").trim();
  const m = /^(.+?)\s+-\s+(.+)$/.exec(base);
  if (m) return { artist: m[1]!.trim(), title: m[2]!.trim() };
  return { title: base || path, artist: null };
}

function isAudioName(path: string): boolean {
  const ext = /\.([^./]+)$/.exec(path)?.[1]?.toLowerCase();
  return ext !== undefined && AUDIO_EXTENSIONS.includes(ext);
}

/**
 * Audio files under `root`, relative, `/`-separated, sorted; hidden entries are ignored. Symbolic
 * links are followed (except to a folder that contains them); broken links, names that are not
 * valid UTF-8 and folders that cannot be read are reported in `skipped`.
 */
async function listAudio(root: string, skipped: SkippedEntry[]): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string, ancestors: ReadonlySet<string>) => {
    const dir = rel ? `${root}/${rel}` : root;
    const real = await Deno.realPath(dir);
    // A link to a folder that contains it would list it forever. Other linked folders are listed
    // (their files are then duplicates, which the reindex sets aside).
    if (ancestors.has(real)) return;
    const inside = new Set(ancestors).add(real);
    const entries: Deno.DirEntry[] = [];
    for await (const e of Deno.readDir(dir)) entries.push(e);
    for (const e of entries) {
      if (e.name.startsWith(".")) continue;
      const path = rel ? `${rel}/${e.name}` : e.name;
      let isDirectory = e.isDirectory;
      let isFile = e.isFile;
      if (e.isSymlink || e.name.includes("\uFFFD")) {
        try {
          const target = await Deno.stat(`${root}/${path}`);
          isDirectory = target.isDirectory;
          isFile = target.isFile;
        } catch (err) {
          if (isAudioName(path)) skipped.push({ item: path, reason: unlistable(e, err) });
          continue;
        }
      }
      if (isDirectory) {
        try {
          await walk(path, inside);
        } catch (err) {
          skipped.push({ item: `${path}/`, reason: `the folder cannot be read: ${(err as Error).message}` });
        }
      } else if (isFile && isAudioName(path)) {
        out.push(path);
      }
    }
  };
  try {
    await walk("", new Set());
  } catch (err) {
    throw new SoundalikeError(
      ErrorCode.BadDataset,
      `Cannot read the catalog folder ${root}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  return out.sort();
}

/** Why an entry whose target cannot be found is left out. */
function unlistable(entry: Deno.DirEntry, err: unknown): string {
  if (entry.name.includes("\uFFFD") && !entry.isSymlink) {
    return "its name is not valid UTF-8, so it cannot be opened: rename it";
  }
  if (err instanceof Deno.errors.NotFound) {
    return "a broken symbolic link: the file it points to does not exist";
  }
  if (err instanceof Deno.errors.FilesystemLoop) return "a symbolic link that points to itself (a loop)";
  return `cannot be opened: ${(err as Error).message}`;
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });
const WINDOWS_1252 = new TextDecoder("windows-1252");

/** The metadata CSV by normalised relative path; an absent optional file gives an empty map. */
async function readMetadata(
  path: string,
  required: boolean,
  skipped: SkippedEntry[],
): Promise<Map<string, MetaRow>> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (err) {
    if (!required && err instanceof Deno.errors.NotFound) return new Map();
    throw new SoundalikeError(
      ErrorCode.BadDataset,
      `Cannot read the metadata CSV ${path}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  // Spreadsheets on Windows save CSV in their code page: read it as that rather than losing letters.
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    text = WINDOWS_1252.decode(bytes);
  }
  let rows: Record<string, string>[];
  try {
    rows = parseCsv(text, {
      columns: (h) => h.map((c) => c.trim().toLowerCase().replace(/[\s-]+/g, "_")),
      skipEmptyLines: true,
      relaxColumnCount: true,
    });
  } catch (err) {
    throw new SoundalikeError(
      ErrorCode.BadDataset,
      `The metadata CSV ${path} is malformed: ${(err as Error).message}`,
      { cause: err },
    );
  }
  const out = new Map<string, MetaRow>();
  if (rows.length > 0 && !("path" in rows[0]!)) {
    throw new SoundalikeError(ErrorCode.BadDataset, `The metadata CSV ${path} has no path column`);
  }
  rows.forEach((r, i) => {
    const rel = normalisePath(r["path"] ?? "");
    if (rel === null) {
      skipped.push({
        item: `metadata CSV row ${i + 1}`,
        reason: `bad path ${JSON.stringify(r["path"] ?? "")}`,
      });
      return;
    }
    const row = Object.fromEntries(METADATA_COLUMNS.map((c) => [c, (r[c] ?? "").trim()])) as MetaRow;
    out.set(rel, row);
  });
  return out;
}

function toYear(cell: string | undefined): number | undefined {
  const m = /^\s*(\d{4})\b/.exec(cell ?? "");
  return m ? Number(m[1]) : undefined;
}

function toTrackNumber(cell: string | undefined): number | undefined {
  const m = /^\s*0*(\d{1,5})\b/.exec(cell ?? "");
  return m && Number(m[1]) > 0 ? Number(m[1]) : undefined;
}

/** `./a\\b.mp3` -> `a/b.mp3`; absolute paths and `..` are refused (`null`). */
function normalisePath(p: string): string | null {
  const parts = p.trim().replace(/\\/g, "/").split("/").filter((s) => s !== "" && s !== ".");
  if (p.trim().startsWith("/") || parts.length === 0 || parts.includes("..")) return null;
  return parts.join("/");
}

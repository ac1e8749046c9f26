/**
 * A generic catalog: any folder of audio files (searched recursively), with an optional metadata CSV
 * (`path,title,artist,album,genre,license,url`); files it does not describe fall back to their names
 * (`Artist - Title.mp3`, or just the title).
 * @module
 */

import { parseCsv } from "../csv.ts";
import { ErrorCode, SoundalikeError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import type { CatalogReadResult, CatalogTrack, SkippedEntry } from "./types.ts";

/** File extensions taken as audio (lower case, without the dot). */
export const AUDIO_EXTENSIONS: readonly string[] = ["mp3", "ogg", "wav", "flac", "m4a", "opus", "aac"];

/** The metadata file looked for at the folder's root when none is named. */
export const DEFAULT_METADATA_FILE = "metadata.csv";

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
  logger: Logger;
}

/** One row of the metadata CSV. */
interface MetaRow {
  title: string;
  artist: string;
  album: string;
  genre: string;
  license: string;
  url: string;
}

/**
 * Lists the audio files under `root` and describes each, from the metadata CSV when it has a row for
 * the file, otherwise from the file name. CSV rows naming missing or non-audio files are reported.
 *
 * @param opts The folder, the metadata file and the source.
 * @returns Track records (`sourceId` = `audioPath` = the path relative to `root`) and skipped entries.
 * @throws SoundalikeError `BadDataset` when the folder cannot be read or the CSV lacks a `path` column.
 */
export async function readFolderCatalog(opts: ReadFolderOptions): Promise<CatalogReadResult> {
  const root = opts.root.replace(/\/+$/, "") || "/";
  const source = opts.source ?? "folder";
  const skipped: SkippedEntry[] = [];
  const files = await listAudio(root);

  const metaPath = opts.metadataCsv ?? `${root}/${DEFAULT_METADATA_FILE}`;
  const meta = await readMetadata(metaPath, opts.metadataCsv !== undefined, skipped);
  const fileSet = new Set(files);
  for (const path of meta.keys()) {
    if (!fileSet.has(path)) {
      const reason = isAudioName(path) ? "listed in the metadata CSV but not found" : "not an audio file";
      skipped.push({ item: path, reason });
    }
  }

  const tracks: CatalogTrack[] = files.map((path) => {
    const m = meta.get(path);
    const fallback = fromFileName(path);
    const artistName = m?.artist || fallback.artist;
    const albumTitle = m?.album || "";
    return {
      source,
      sourceId: path,
      title: m?.title || fallback.title,
      artist: artistName ? { sourceId: artistName.toLowerCase(), name: artistName, url: null } : null,
      album: albumTitle
        ? {
          sourceId: `${(artistName ?? "").toLowerCase()}\u0000${albumTitle.toLowerCase()}`,
          title: albumTitle,
          url: null,
        }
        : null,
      topGenre: m?.genre || null,
      genreIds: [],
      durationSeconds: null,
      license: m?.license || null,
      bitRate: null,
      dateCreated: null,
      url: m?.url || null,
      audioPath: path,
      isDemo: source === "demo",
    };
  });
  opts.logger.info("Read folder catalog", { root, tracks: tracks.length, skipped: skipped.length });
  return { genres: [], tracks, skipped };
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

/** Audio files under `root`, relative, `/`-separated, sorted; hidden entries are ignored. */
async function listAudio(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    for await (const e of Deno.readDir(rel ? `${root}/${rel}` : root)) {
      if (e.name.startsWith(".")) continue;
      const path = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory) await walk(path);
      else if (e.isFile && isAudioName(path)) out.push(path);
    }
  };
  try {
    await walk("");
  } catch (err) {
    throw new SoundalikeError(
      ErrorCode.BadDataset,
      `Cannot read the catalog folder ${root}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  return out.sort();
}

/** The metadata CSV by normalised relative path; an absent optional file gives an empty map. */
async function readMetadata(
  path: string,
  required: boolean,
  skipped: SkippedEntry[],
): Promise<Map<string, MetaRow>> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (!required && err instanceof Deno.errors.NotFound) return new Map();
    throw new SoundalikeError(
      ErrorCode.BadDataset,
      `Cannot read the metadata CSV ${path}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  let rows: Record<string, string>[];
  try {
    rows = parseCsv(text, {
      columns: (h) => h.map((c) => c.trim().toLowerCase()),
      skipEmptyLines: true,
      relaxColumnCount: true,
    });
  } catch (err) {
    throw new SoundalikeError(
      ErrorCode.BadDataset,
      `The metadata CSV ${path} is malformed: ${(err as Error).message}`,
      {
        cause: err,
      },
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
    const cell = (k: string) => (r[k] ?? "").trim();
    out.set(rel, {
      title: cell("title"),
      artist: cell("artist"),
      album: cell("album"),
      genre: cell("genre"),
      license: cell("license"),
      url: cell("url"),
    });
  });
  return out;
}

/** `./a\\b.mp3` -> `a/b.mp3`; absolute paths and `..` are refused (`null`). */
function normalisePath(p: string): string | null {
  const parts = p.trim().replace(/\\/g, "/").split("/").filter((s) => s !== "" && s !== ".");
  if (p.trim().startsWith("/") || parts.length === 0 || parts.includes("..")) return null;
  return parts.join("/");
}

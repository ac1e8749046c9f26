/**
 * The MIREX-like Mood Dataset's metadata and rules: `dataset info.csv` (UTF-16 with a byte-order mark,
 * `;`-separated, one row per clip naming its file, title and artist), the artist key that groups a
 * split, and the clips reserved for an outside check.
 *
 * The published file is not strictly CSV: one title (`World's a Mess; It's in My Kiss`, row 782)
 * holds the separator unquoted. Every column after the title has a fixed format, so a row with
 * surplus fields gives the surplus back to the title.
 * @module
 */
import { badDataset } from "./_util.ts";

/** One row of `dataset info.csv`. */
export interface MoodInfoRow {
  /** 1-based data row (the header is row 0). */
  row: number;
  title: string;
  artist: string;
  /** The audio file name the row describes, e.g. `001.mp3`. */
  file: string;
}

/**
 * Decodes text with a byte-order mark (UTF-16 LE/BE, UTF-8) or, without one, as UTF-8.
 *
 * @param bytes The file's bytes.
 * @returns The text without its byte-order mark.
 */
export function decodeText(bytes: Uint8Array): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return new TextDecoder("utf-16le").decode(bytes.subarray(2));
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return new TextDecoder("utf-16be").decode(bytes.subarray(2));
  const text = new TextDecoder("utf-8").decode(bytes);
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/**
 * Parses `dataset info.csv`.
 *
 * @param bytes The file (UTF-16 or UTF-8).
 * @param name The file's name, for messages. @default "dataset info.csv"
 * @returns One entry per data row, in file order.
 * @throws {SoundalikeError} `bad_dataset` when the header lacks Title, Artist or Filename, or a row
 *   has too few fields.
 * @example
 * ```ts
 * import { parseMoodInfo } from "./mood_info.ts";
 * const csv = "Title;Artist;Album;Filename;\nA; B;Me;X;001.mp3;\n";
 * const rows = parseMoodInfo(new TextEncoder().encode(csv));
 * console.assert(rows[0]!.title === "A; B" && rows[0]!.artist === "Me" && rows[0]!.file === "001.mp3");
 * ```
 */
export function parseMoodInfo(bytes: Uint8Array, name = "dataset info.csv"): MoodInfoRow[] {
  const lines = decodeText(bytes).split(/\r?\n/).filter((l) => l.trim() !== "");
  const header = (lines[0] ?? "").split(";").map((h) => h.trim().toLowerCase());
  const col = (h: string) => header.indexOf(h);
  const [title, artist, file] = [col("title"), col("artist"), col("filename")];
  if (title < 0 || artist < 0 || file < 0) {
    badDataset(`${name} needs Title, Artist and Filename columns in its first line`);
  }
  return lines.slice(1).map((line, i) => {
    let fields = line.split(";");
    const surplus = fields.length - header.length;
    if (surplus < 0) {
      badDataset(`${name} row ${i + 1} has ${fields.length} fields, the header ${header.length}: "${line}"`);
    }
    if (surplus > 0 && title === 0) {
      fields = [fields.slice(0, surplus + 1).join(";"), ...fields.slice(surplus + 1)];
    }
    return {
      row: i + 1,
      title: fields[title]!.trim(),
      artist: fields[artist]!.trim(),
      file: fields[file]!.trim(),
    };
  });
}

/**
 * A key that is equal for two spellings of one artist: case, punctuation, bracketed disambiguators
 * (`Jones, George [1]`), a leading "the" and the `Last, First` order do not matter.
 *
 * @param artist The artist as published.
 * @returns The key; `undefined` for an empty or unknown artist.
 * @example
 * ```ts
 * import { artistKey } from "./mood_info.ts";
 * console.assert(artistKey("Dylan, Bob") === artistKey("Bob Dylan"));
 * console.assert(artistKey("The Coasters") === artistKey("Coasters"));
 * console.assert(artistKey("") === undefined);
 * ```
 */
export function artistKey(artist: string): string | undefined {
  let a = artist.toLowerCase().normalize("NFKD").replace(/[\u0300-\u036f]/g, "");
  a = a.replace(/\[[^\]]*\]|\([^)]*\)/g, " ").replace(/[^a-z0-9,& ]+/g, " ");
  const parts = a.split(",");
  if (parts.length === 2) a = `${parts[1]} ${parts[0]}`;
  a = a.replace(/,/g, " ").replace(/\s+/g, " ").trim().replace(/^the /, "");
  return a === "" || a === "unknown" || a === "various artists" ? undefined : a;
}

/**
 * Whether a mood clip is one of those reserved for an outside check (issue 9): the files numbered
 * 010, 020, …, 900 (every tenth, 90 clips). They are never trained, validated, tuned or tested on.
 *
 * @param fileName A file name or path such as `Audio/010.mp3`.
 * @returns `true` for a numbered file whose number is a multiple of ten.
 * @example
 * ```ts
 * import { isReservedMoodClip } from "./mood_info.ts";
 * console.assert(isReservedMoodClip("Audio/010.mp3") && isReservedMoodClip("900.mp3"));
 * console.assert(!isReservedMoodClip("011.mp3") && !isReservedMoodClip("notes.txt"));
 * ```
 */
export function isReservedMoodClip(fileName: string): boolean {
  const base = fileName.slice(fileName.lastIndexOf("/") + 1);
  const m = /^0*(\d+)\.[A-Za-z0-9]+$/.exec(base);
  return m !== null && Number(m[1]) > 0 && Number(m[1]) % 10 === 0;
}

/** The published cluster sizes of the 903 clips (Panda et al. 2013), clusters 1 to 5. */
export const PUBLISHED_CLUSTER_COUNTS: readonly number[] = [170, 164, 215, 191, 163];

/**
 * Catalog text made safe for PostgreSQL and tidy for chat messages, wherever it came from (a CSV,
 * file tags, FMA's metadata): NUL and other control characters removed (PostgreSQL refuses NUL in
 * text, and the rest garble a chat message), UTF-8 that was decoded as Latin-1 or Windows-1252
 * ("CafÃ©") repaired, Unicode NFC, whitespace collapsed, and lengths bounded so names stay under
 * PostgreSQL's index entry limit. Every change that alters what the user wrote is reported.
 * @module
 */

import type { CatalogTrack } from "./types.ts";

/** Longest title kept, in characters. */
export const MAX_TITLE_CHARS = 500;
/** Longest artist, album or genre name kept (they are keys of unique indexes). */
export const MAX_NAME_CHARS = 200;
/** Longest license name or URL kept. */
export const MAX_TEXT_CHARS = 2000;

/** Text after {@linkcode cleanText}, with what was changed. */
export interface CleanedText {
  text: string;
  /** Phrases such as "control characters removed"; empty when only whitespace was tidied. */
  changes: string[];
}

/** Windows-1252's characters for the bytes 0x80-0x9F (the rest of the byte range is Latin-1). */
const CP1252_HIGH = "€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008DŽ\u008F\u0090‘’“”•–—˜™š›œ\u009DžŸ";
const BYTE_OF = new Map<string, number>([...CP1252_HIGH].map((c, i) => [c, 0x80 + i]));
const UTF8 = new TextDecoder("utf-8", { fatal: true });
/** A UTF-8 lead byte followed by a continuation byte, as Latin-1/Windows-1252 shows them. */
const MOJIBAKE = new RegExp(`[\u00C2-\u00F4][\u00A0-\u00BF${CP1252_HIGH}]`);

/**
 * Undoes UTF-8 text decoded as Latin-1 or Windows-1252 ("CafÃ©" -> "Café"), up to twice; text
 * that is not such a mis-decoding is returned unchanged.
 *
 * @param text Any text.
 * @returns The repaired text.
 * @example
 * ```ts
 * import { repairMojibake } from "./clean_text.ts";
 * console.assert(repairMojibake("CafÃ© â€“ BjÃ¶rk") === "Café – Björk");
 * console.assert(repairMojibake("Ã la carte") === "Ã la carte");
 * ```
 */
export function repairMojibake(text: string): string {
  let current = text;
  for (let round = 0; round < 2 && MOJIBAKE.test(current); round++) {
    const bytes: number[] = [];
    for (const c of current) {
      const code = c.codePointAt(0)!;
      const byte = code < 0x80 || (code >= 0xa0 && code <= 0xff) ? code : BYTE_OF.get(c);
      if (byte === undefined) return current;
      bytes.push(byte);
    }
    try {
      current = UTF8.decode(new Uint8Array(bytes));
    } catch {
      return current; // not UTF-8 underneath: the text really is Latin-1
    }
  }
  return current;
}

/**
 * Cleans one value: mojibake repaired, NFC, control characters (NUL included), byte-order marks,
 * non-characters and lone surrogates removed (tabs and line breaks become spaces), whitespace
 * collapsed and trimmed, then cut to `maxLength` characters.
 *
 * @param value The text.
 * @param maxLength Most characters (code points) kept.
 * @returns The text and the changes worth telling the user.
 * @example
 * ```ts
 * import { cleanText } from "./clean_text.ts";
 * const { text, changes } = cleanText("Night\u0000 Drive\u0007", 100);
 * console.assert(text === "Night Drive" && changes[0] === "control characters removed");
 * ```
 */
export function cleanText(value: string, maxLength: number): CleanedText {
  const changes: string[] = [];
  let text = repairMojibake(value);
  if (text !== value) changes.push("mis-decoded characters repaired");
  text = text.replace(/[\t\n\r\v\f\u2028\u2029]/g, " ");
  // Lone surrogates first (they have no NFC form), then the characters no catalog name needs.
  const stripped = text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "")
    .normalize("NFC")
    // deno-lint-ignore no-control-regex
    .replace(/[\u0000-\u001F\u007F-\u009F\uFEFF\uFFFE\uFFFF]/g, "");
  if (stripped !== text.normalize("NFC")) changes.push("control characters removed");
  text = stripped.replace(/\s+/g, " ").trim();
  const chars = [...text];
  if (chars.length > maxLength) {
    text = chars.slice(0, maxLength).join("").trim();
    changes.push(`cut to ${maxLength} characters`);
  }
  return { text, changes };
}

/** A track after {@linkcode cleanTrack}, with one note per changed field. */
export interface CleanedTrack {
  track: CatalogTrack;
  /** `title: control characters removed`, ... */
  notes: string[];
}

/**
 * Cleans every text of a track with {@linkcode cleanText}: title, artist, album (and album
 * artist), genres, license and URL, and the artist and album keys. The track's own id and audio
 * path are kept as they are (they name a file); a title that cleans to nothing falls back to the
 * file's name.
 *
 * @param track A catalog record.
 * @returns The cleaned record and the notes.
 */
export function cleanTrack(track: CatalogTrack): CleanedTrack {
  const notes: string[] = [];
  const clean = (field: string, value: string, max: number): string => {
    const r = cleanText(value, max);
    for (const change of r.changes) notes.push(`${field}: ${change}`);
    return r.text;
  };
  const key = (value: string) => cleanText(value, MAX_TEXT_CHARS).text;
  const optional = (field: string, value: string | null, max: number) => {
    if (value === null) return null;
    return clean(field, value, max) || null;
  };
  const artist = (field: string, a: CatalogTrack["artist"]): CatalogTrack["artist"] => {
    if (a === null) return null;
    const name = clean(field, a.name, MAX_NAME_CHARS);
    return name
      ? { sourceId: key(a.sourceId) || name, name, url: optional(`${field} URL`, a.url, MAX_TEXT_CHARS) }
      : null;
  };
  const fileName = track.audioPath.split("/").pop() ?? track.audioPath;
  const title = clean("title", track.title, MAX_TITLE_CHARS) || cleanText(fileName, MAX_TITLE_CHARS).text ||
    track.sourceId;
  const trackArtist = artist("artist", track.artist);
  let album: CatalogTrack["album"] = null;
  if (track.album !== null) {
    const albumTitle = clean("album", track.album.title, MAX_NAME_CHARS);
    if (albumTitle) {
      album = {
        sourceId: key(track.album.sourceId) || albumTitle,
        title: albumTitle,
        url: optional("album URL", track.album.url, MAX_TEXT_CHARS),
      };
      if (track.album.artist !== undefined) album.artist = artist("album artist", track.album.artist);
    }
  }
  const genres = track.genres?.map((g) => clean("genre", g, MAX_NAME_CHARS)).filter((g) => g !== "");
  const cleaned: CatalogTrack = {
    ...track,
    title,
    artist: trackArtist,
    album,
    topGenre: optional("genre", track.topGenre, MAX_NAME_CHARS),
    license: optional("license", track.license, MAX_TEXT_CHARS),
    url: optional("URL", track.url, MAX_TEXT_CHARS),
  };
  if (genres !== undefined) cleaned.genres = [...new Set(genres)];
  return { track: cleaned, notes: [...new Set(notes)] };
}

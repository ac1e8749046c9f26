/**
 * What a file's own tags say about its track, from the tag dictionary ffmpeg reads
 * (`readTagsMany` in core/audio/ffmpeg.ts): ID3 frames, Vorbis and Opus comments, FLAC comments, MP4
 * atoms and RIFF INFO all arrive under ffmpeg's common names (`title`, `artist`, `album`,
 * `album_artist`, `genre`, `date`, `track`), with a few other spellings seen in the wild.
 * @module
 */

/** The catalog fields found in a file's tags; absent when the tags do not say. */
export interface TagInfo {
  title?: string;
  artist?: string;
  album?: string;
  albumArtist?: string;
  /** Genre names, in the tag's order (several separated by `;` or `\0`). */
  genres: string[];
  year?: number;
  trackNumber?: number;
  license?: string;
}

const KEYS = {
  title: ["title", "tit2"],
  artist: ["artist", "performer", "tpe1"],
  album: ["album", "talb"],
  albumArtist: ["album_artist", "albumartist", "album artist", "tpe2"],
  genre: ["genre", "tcon"],
  year: ["date", "year", "originaldate", "original_date", "tdrc", "tyer", "tory"],
  track: ["track", "tracknumber", "trck"],
  license: ["license", "copyright"],
} as const;

/**
 * Maps a tag dictionary to catalog fields. Keys are matched case-insensitively; empty values
 * count as absent; the artist falls back to the album artist; ID3v1 genre numbers that ffmpeg
 * left as `(17)` are dropped (a name after them is kept).
 *
 * @param tags Tag names to values, as `readTagsMany` returns them.
 * @returns The fields found.
 * @example
 * ```ts
 * import { tagInfo } from "./tags.ts";
 * const info = tagInfo({ TITLE: "Food", artist: "AWOL", genre: "Hip-Hop; Rap", date: "2008-11-26", track: "3/12" });
 * console.assert(info.title === "Food" && info.genres.length === 2 && info.year === 2008 && info.trackNumber === 3);
 * ```
 */
export function tagInfo(tags: Readonly<Record<string, string>>): TagInfo {
  const lower = new Map(Object.entries(tags).map(([k, v]) => [k.toLowerCase(), v]));
  const first = (keys: readonly string[]): string | undefined => {
    for (const k of keys) {
      const v = lower.get(k)?.trim();
      if (v) return v;
    }
    return undefined;
  };
  const info: TagInfo = { genres: parseGenres(first(KEYS.genre) ?? "") };
  const title = first(KEYS.title);
  const albumArtist = first(KEYS.albumArtist);
  const artist = first(KEYS.artist) ?? albumArtist;
  const album = first(KEYS.album);
  const license = first(KEYS.license);
  const year = parseYear(first(KEYS.year) ?? "");
  const track = /^\s*0*(\d{1,5})\b/.exec(first(KEYS.track) ?? "")?.[1];
  if (title !== undefined) info.title = title;
  if (artist !== undefined) info.artist = artist;
  if (album !== undefined) info.album = album;
  if (albumArtist !== undefined) info.albumArtist = albumArtist;
  if (license !== undefined) info.license = license;
  if (year !== undefined) info.year = year;
  if (track !== undefined && Number(track) > 0) info.trackNumber = Number(track);
  return info;
}

/**
 * Genre names from a genre field: several may be separated by `;`, `\0` or a line break; numeric
 * ID3v1 references (`(17)`, `17`) are dropped.
 *
 * @param value The field.
 * @returns Distinct names (case-insensitively), in order.
 */
export function parseGenres(value: string): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const part of value.split(/[;\0\n\r]/)) {
    const name = part.replace(/^\s*(\(\d+\)\s*)+/, "").trim();
    if (name === "" || /^\(?\d+\)?$/.test(name) || seen.has(name.toLowerCase())) continue;
    seen.add(name.toLowerCase());
    out.push(name);
  }
  return out;
}

/** The first plausible year (1000-2999) in a date field (`2008`, `2008-11-26`, `26/11/2008`). */
function parseYear(value: string): number | undefined {
  const m = /(?:^|\D)(1\d{3}|2\d{3})(?!\d)/.exec(value);
  return m === null ? undefined : Number(m[1]);
}

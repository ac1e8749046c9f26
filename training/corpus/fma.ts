/**
 * FMA-shaped metadata for the demo catalog: `tracks.csv` in the real three-header-row layout with
 * 52 columns and Python-literal lists, and `genres.csv` in the real format, for generated demo tracks.
 * @module
 */
import { createRng } from "./prng.ts";
import { type Emotion, EMOTIONS, type Genre, GENRES } from "./styles.ts";

/** The real tracks.csv columns after `track_id`: [top level, field]. */
export const FMA_TRACK_COLUMNS: readonly (readonly [string, string])[] = [
  ...[
    "comments",
    "date_created",
    "date_released",
    "engineer",
    "favorites",
    "id",
    "information",
    "listens",
    "producer",
    "tags",
    "title",
    "tracks",
    "type",
  ].map((f) => ["album", f] as const),
  ...[
    "active_year_begin",
    "active_year_end",
    "associated_labels",
    "bio",
    "comments",
    "date_created",
    "favorites",
    "id",
    "latitude",
    "location",
    "longitude",
    "members",
    "name",
    "related_projects",
    "tags",
    "website",
    "wikipedia_page",
  ].map((f) => ["artist", f] as const),
  ["set", "split"],
  ["set", "subset"],
  ...[
    "bit_rate",
    "comments",
    "composer",
    "date_created",
    "date_recorded",
    "duration",
    "favorites",
    "genre_top",
    "genres",
    "genres_all",
    "information",
    "interest",
    "language_code",
    "license",
    "listens",
    "lyricist",
    "number",
    "publisher",
    "tags",
    "title",
  ].map((f) => ["track", f] as const),
];

/** A genre row of FMA's genres.csv. */
export interface FmaGenre {
  id: number;
  parent: number;
  title: string;
  topLevel: number;
}

/** Real FMA genres used by the demo catalog (ids and titles as in FMA's genres.csv). */
export const FMA_GENRES: readonly FmaGenre[] = [
  { id: 2, parent: 0, title: "International", topLevel: 2 },
  { id: 3, parent: 0, title: "Blues", topLevel: 3 },
  { id: 4, parent: 0, title: "Jazz", topLevel: 4 },
  { id: 5, parent: 0, title: "Classical", topLevel: 5 },
  { id: 9, parent: 0, title: "Country", topLevel: 9 },
  { id: 10, parent: 0, title: "Pop", topLevel: 10 },
  { id: 11, parent: 14, title: "Disco", topLevel: 14 },
  { id: 12, parent: 0, title: "Rock", topLevel: 12 },
  { id: 14, parent: 0, title: "Soul-RnB", topLevel: 14 },
  { id: 21, parent: 0, title: "Hip-Hop", topLevel: 21 },
  { id: 31, parent: 12, title: "Metal", topLevel: 12 },
  { id: 79, parent: 2, title: "Reggae - Dub", topLevel: 2 },
];

/** Each corpus genre style's FMA genre id. */
export const STYLE_TO_FMA_GENRE: Readonly<Record<Genre, number>> = {
  blues: 3,
  classical: 5,
  country: 9,
  disco: 11,
  hiphop: 21,
  jazz: 4,
  metal: 31,
  pop: 10,
  reggae: 79,
  rock: 12,
};

/** Words describing each mood cluster, written into the track's tags. */
export const MOOD_TAGS: Readonly<Record<Emotion, string>> = {
  cluster1: "rousing",
  cluster2: "cheerful",
  cluster3: "wistful",
  cluster4: "whimsical",
  cluster5: "aggressive",
};

/** The license written on every demo track. */
export const DEMO_LICENSE = "Attribution-NonCommercial-ShareAlike 3.0 International";

/** One generated demo track. */
export interface DemoTrack {
  trackId: number;
  title: string;
  artistId: number;
  artistName: string;
  albumId: number;
  albumTitle: string;
  /** 1-based position on its album. */
  number: number;
  genre: Genre;
  emotion: Emotion;
  split: "training" | "validation" | "test";
  durationSeconds: number;
  /** Path relative to the audio root, e.g. `900/900001.mp3`. */
  audioPath: string;
  /** The seed its audio is composed from. */
  seed: number;
}

const ADJ = [
  "Amber",
  "Blue",
  "Copper",
  "Velvet",
  "Neon",
  "Quiet",
  "Wild",
  "Silver",
  "Paper",
  "Electric",
  "Hollow",
  "Golden",
  "Midnight",
  "Rusty",
  "Crimson",
  "Lucky",
];
const NOUN = [
  "Foxes",
  "Rivers",
  "Engines",
  "Lanterns",
  "Comets",
  "Harbors",
  "Orchards",
  "Machines",
  "Sparrows",
  "Tides",
  "Canyons",
  "Satellites",
  "Owls",
  "Streets",
];
const TITLE_A = [
  "Morning",
  "Long",
  "Broken",
  "Sunny",
  "Last",
  "Little",
  "Heavy",
  "Slow",
  "Bright",
  "Falling",
  "Restless",
  "Open",
  "Crooked",
  "Distant",
];
const TITLE_B = [
  "Road",
  "Light",
  "Dance",
  "Letter",
  "Storm",
  "Garden",
  "Train",
  "Window",
  "Fire",
  "Waltz",
  "Echo",
  "Stairs",
  "Bridge",
  "Parade",
];

/**
 * Lays out a demo catalog: artists that each lean to one genre and two moods, albums titled
 * "Soundalike demo", tracks mixing genres and moods. Deterministic from the seed.
 *
 * @param count Number of tracks.
 * @param seed Corpus seed.
 * @param firstTrackId Id of the first track (demo ids start far above real FMA ids, which end near 156000).
 * @param durationSeconds Length of every track.
 * @returns The tracks in id order.
 */
export function planDemoTracks(
  count: number,
  seed: number,
  firstTrackId = 900001,
  durationSeconds = 30,
): DemoTrack[] {
  const rng = createRng(seed).fork("demo-catalog");
  const perArtist = 8;
  const artists = Array.from({ length: Math.max(1, Math.ceil(count / perArtist)) }, (_, k) => ({
    id: 90001 + k,
    name: `Demo ${ADJ[k % ADJ.length]} ${NOUN[(k * 5 + Math.floor(k / ADJ.length)) % NOUN.length]}`,
    genre: GENRES[k % GENRES.length] as Genre,
    moods: [rng.pick(EMOTIONS), rng.pick(EMOTIONS)] as const,
    tracks: 0,
  }));
  const tracks: DemoTrack[] = [];
  for (let i = 0; i < count; i++) {
    const artist = artists[Math.floor(i / perArtist)]!;
    artist.tracks++;
    const genre = rng.chance(0.8) ? artist.genre : rng.pick(GENRES);
    const emotion = rng.chance(0.75) ? rng.pick(artist.moods) : rng.pick(EMOTIONS);
    const trackId = firstTrackId + i;
    const r = rng.next();
    tracks.push({
      trackId,
      title: `${rng.pick(TITLE_A)} ${rng.pick(TITLE_B)}`,
      artistId: artist.id,
      artistName: artist.name,
      albumId: artist.id,
      albumTitle: `Soundalike demo: ${artist.name.slice(5)}`,
      number: artist.tracks,
      genre,
      emotion,
      split: r < 0.8 ? "training" : r < 0.9 ? "validation" : "test",
      durationSeconds,
      audioPath: fmaAudioPath(trackId),
      seed: rng.int(0, 2 ** 31),
    });
  }
  return tracks;
}

/**
 * fma_small's path for a track id: a 3-digit folder of `id / 1000` and a 6-digit file name.
 *
 * @example
 * ```ts
 * import { fmaAudioPath } from "./fma.ts";
 * console.assert(fmaAudioPath(2) === "000/000002.mp3");
 * ```
 */
export function fmaAudioPath(trackId: number): string {
  const id = String(trackId).padStart(6, "0");
  return `${id.slice(0, 3)}/${id}.mp3`;
}

/** A CSV field, quoted when it holds a comma, quote or line break (as pandas writes). */
function csvField(value: string | number): string {
  const s = String(value);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** A Python list literal of ints or strings, as pandas wrote FMA's list columns. */
export function pyList(items: readonly (number | string)[]): string {
  return `[${
    items.map((x) => typeof x === "number" ? String(x) : `'${x.replaceAll("'", "\\'")}'`).join(", ")
  }]`;
}

function genreById(id: number): FmaGenre {
  const g = FMA_GENRES.find((x) => x.id === id);
  if (!g) throw new RangeError(`Unknown FMA genre id ${id}`);
  return g;
}

/** The genre and its ancestors, root first (FMA's `genres_all`). */
function genreLineage(id: number): number[] {
  const out: number[] = [];
  for (let g: FmaGenre | undefined = genreById(id); g; g = g.parent ? genreById(g.parent) : undefined) {
    out.unshift(g.id);
  }
  return out;
}

/**
 * Writes FMA's tracks.csv for demo tracks: three header rows (top level, field, `track_id`), 52
 * columns, Python-literal lists, `set.subset` = `small`.
 *
 * @param tracks From {@linkcode planDemoTracks}.
 * @returns The file's text.
 */
export function fmaTracksCsv(tracks: readonly DemoTrack[]): string {
  const lines = [
    ["", ...FMA_TRACK_COLUMNS.map(([top]) => top)].join(","),
    ["", ...FMA_TRACK_COLUMNS.map(([, field]) => field)].join(","),
    ["track_id", ...FMA_TRACK_COLUMNS.map(() => "")].join(","),
  ];
  const albumSizes = new Map<number, number>();
  for (const t of tracks) albumSizes.set(t.albumId, (albumSizes.get(t.albumId) ?? 0) + 1);
  for (const t of tracks) {
    const genreId = STYLE_TO_FMA_GENRE[t.genre];
    const top = genreById(genreById(genreId).topLevel);
    const created = "2026-01-01 00:00:00";
    const values: Record<string, string | number> = {
      "album.comments": 0,
      "album.date_created": created,
      "album.date_released": created,
      "album.favorites": 0,
      "album.id": t.albumId,
      "album.information":
        "<p>Synthetic demo tracks generated by Soundalike's corpus generator (not real music).</p>",
      "album.listens": 0,
      "album.tags": pyList(["soundalike demo"]),
      "album.title": t.albumTitle,
      "album.tracks": albumSizes.get(t.albumId) ?? 1,
      "album.type": "Album",
      "artist.bio":
        "<p>A synthetic demo artist: its music is procedurally composed MIDI rendered with FluidSynth.</p>",
      "artist.comments": 0,
      "artist.date_created": created,
      "artist.favorites": 0,
      "artist.id": t.artistId,
      "artist.name": t.artistName,
      "artist.tags": pyList(["demo"]),
      "set.split": t.split,
      "set.subset": "small",
      "track.bit_rate": 256000,
      "track.comments": 0,
      "track.date_created": created,
      "track.duration": t.durationSeconds,
      "track.favorites": 0,
      "track.genre_top": top.title,
      "track.genres": pyList([genreId]),
      "track.genres_all": pyList(genreLineage(genreId)),
      "track.interest": 0,
      "track.language_code": "",
      "track.license": DEMO_LICENSE,
      "track.listens": 0,
      "track.number": t.number,
      "track.tags": pyList(["demo", t.genre, MOOD_TAGS[t.emotion]]),
      "track.title": t.title,
    };
    lines.push(
      [t.trackId, ...FMA_TRACK_COLUMNS.map(([a, b]) => values[`${a}.${b}`] ?? "")].map(csvField).join(","),
    );
  }
  return lines.join("\n") + "\n";
}

/**
 * Writes FMA's genres.csv (`genre_id,#tracks,parent,title,top_level`) for the demo genres, counting
 * each track under its genre and every ancestor, as FMA does.
 *
 * @param tracks The demo tracks.
 * @returns The file's text.
 */
export function fmaGenresCsv(tracks: readonly DemoTrack[]): string {
  const counts = new Map<number, number>();
  for (const t of tracks) {
    for (const id of genreLineage(STYLE_TO_FMA_GENRE[t.genre])) counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  const rows = FMA_GENRES.map((g) =>
    [g.id, counts.get(g.id) ?? 0, g.parent, g.title, g.topLevel].map(csvField).join(",")
  );
  return ["genre_id,#tracks,parent,title,top_level", ...rows].join("\n") + "\n";
}

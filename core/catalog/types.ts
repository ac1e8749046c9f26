/**
 * What catalog readers (FMA metadata, a plain folder, the demo corpus) return, and what the
 * repository stores.
 * @module
 */

/** Where a catalog record came from (the `tracks.source` column). */
export type CatalogSource = "fma" | "folder" | "demo";

/** An artist as the source names it. */
export interface CatalogArtist {
  /** The source's own id (FMA `artist.id`), or a normalised name for folder catalogs. */
  sourceId: string;
  name: string;
  url: string | null;
}

/** An album as the source names it. */
export interface CatalogAlbum {
  /**
   * The source's own id (FMA `album.id`), or for folders a key made of the album artist's and the
   * album's lower-cased names (`["ann","lp"]`, JSON, so no separator character can clash).
   */
  sourceId: string;
  title: string;
  url: string | null;
  /** The album's artist when the source names one apart from the track's (an album artist tag). */
  artist?: CatalogArtist | null;
}

/** One genre of a genre tree (FMA's genres.csv). */
export interface CatalogGenre {
  /** FMA `genre_id`. */
  id: number;
  title: string;
  /** The parent genre, `null` at the top. */
  parentId: number | null;
  /** The top-level genre of this genre's tree (itself at the top). */
  topLevelId: number;
  /** `#tracks` over the whole dataset. */
  trackCount: number;
}

/** One track of a catalog, ready for `upsertTracks`. */
export interface CatalogTrack {
  source: CatalogSource;
  /** The source's own id: FMA `track_id` as text, or the relative path in a folder catalog. */
  sourceId: string;
  title: string;
  artist: CatalogArtist | null;
  album: CatalogAlbum | null;
  /** The top genre's title (FMA `track.genre_top`), `null` when unknown. */
  topGenre: string | null;
  /** Genre ids from the genre tree (FMA `track.genres`); empty for folder catalogs. */
  genreIds: number[];
  /**
   * Genre titles, the top genre first (folder catalogs: from the CSV or the tags); genres missing
   * from the catalog are created. @default [topGenre]
   */
  genres?: string[];
  /** Release year. @default null */
  year?: number | null;
  /** Position on the album. @default null */
  trackNumber?: number | null;
  durationSeconds: number | null;
  /** License name as written by the source. */
  license: string | null;
  bitRate: number | null;
  /** `YYYY-MM-DD HH:MM:SS`, `null` when unknown. */
  dateCreated: string | null;
  /** The track's public page. */
  url: string | null;
  /** The audio file relative to the catalog root, `/`-separated (`000/000002.mp3`). */
  audioPath: string;
  isDemo: boolean;
}

/** A row or file a reader left out, and why. */
export interface SkippedEntry {
  /** What was skipped: `tracks.csv row 5`, `track 98565`, `000/000002.mp3`. */
  item: string;
  reason: string;
}

/** What a catalog reader returns. */
export interface CatalogReadResult {
  /** Genres to store before the tracks (empty for folder catalogs). */
  genres: CatalogGenre[];
  tracks: CatalogTrack[];
  skipped: SkippedEntry[];
}

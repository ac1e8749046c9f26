/**
 * The metadata schema: the single source of truth for `migrations/` (run `drizzle-kit generate` after
 * editing it). Catalog rows (tracks, artists, albums, genres, licenses), the index versions written by
 * reindex, and the embedding cache keyed by file content and model hashes.
 *
 * Imports use bare package names only, so drizzle-kit (under Node) and Deno both resolve them.
 * @module
 */

import type { StoredLabel } from "../model/embed.ts";
import { sql } from "drizzle-orm";
import {
  type AnyPgColumn,
  boolean,
  customType,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  real,
  serial,
  text,
  timestamp,
  uniqueIndex,
} from "drizzle-orm/pg-core";

/** Where a catalog row came from. */
export const TRACK_SOURCES = ["fma", "folder", "demo"] as const;
/** One of {@linkcode TRACK_SOURCES}. */
export type TrackSource = typeof TRACK_SOURCES[number];

/**
 * Where a track stands: `pending` (stored, not yet through a reindex), `indexed` (in the current
 * index), `skipped` (its file could not be embedded; `status_reason` says why), `duplicate` (same
 * audio as an indexed track; `status_reason` names it), `removed` (gone from its catalog; deleted
 * by the next reindex, once the index without it is current).
 */
export const TRACK_STATUSES = ["pending", "indexed", "skipped", "duplicate", "removed"] as const;
/** One of {@linkcode TRACK_STATUSES}. */
export type TrackStatus = typeof TRACK_STATUSES[number];

/**
 * `bytea` holding raw bytes. Drivers differ (postgres.js returns a Node `Buffer`, PGlite a
 * `Uint8Array`), so reads are normalised to a plain `Uint8Array` view.
 */
export const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({
  dataType: () => "bytea",
  toDriver: (value) => value,
  fromDriver: (value) => new Uint8Array(value.buffer, value.byteOffset, value.byteLength),
});

/** Licenses by their full name as the source writes it ("Attribution-NonCommercial 3.0 ..."). */
export const licenses = pgTable("licenses", {
  id: serial("id").primaryKey(),
  name: text("name").notNull().unique(),
  url: text("url"),
});

/** Artists, unique per source and the source's own id (FMA artist id, or a folder's name key). */
export const artists = pgTable("artists", {
  id: serial("id").primaryKey(),
  source: text("source").$type<TrackSource>().notNull(),
  sourceId: text("source_id").notNull(),
  name: text("name").notNull(),
  url: text("url"),
}, (t) => [uniqueIndex("artists_source_uq").on(t.source, t.sourceId)]);

/** Albums, unique per source and the source's own id. */
export const albums = pgTable("albums", {
  id: serial("id").primaryKey(),
  source: text("source").$type<TrackSource>().notNull(),
  sourceId: text("source_id").notNull(),
  title: text("title").notNull(),
  artistId: integer("artist_id").references(() => artists.id, { onDelete: "set null" }),
  url: text("url"),
}, (t) => [uniqueIndex("albums_source_uq").on(t.source, t.sourceId)]);

/**
 * Genres with their hierarchy. FMA genres keep their own `genre_id` as `id`; genres met only in a
 * folder catalog get generated ids from 1,000,000 on, clear of FMA's range.
 */
export const genres = pgTable("genres", {
  id: integer("id").primaryKey().generatedByDefaultAsIdentity({ startWith: 1_000_000 }),
  title: text("title").notNull(),
  parentId: integer("parent_id").references((): AnyPgColumn => genres.id, { onDelete: "set null" }),
  /** The root of this genre's tree (itself for a top-level genre). */
  topLevelId: integer("top_level_id"),
  /** `#tracks` from FMA's genres.csv (over the full dataset), 0 for others. */
  trackCount: integer("track_count").notNull().default(0),
}, (t) => [uniqueIndex("genres_title_uq").on(sql`lower(${t.title})`)]);

/** Catalog tracks: one row per audio file, unique per source and the source's id. */
export const tracks = pgTable("tracks", {
  id: serial("id").primaryKey(),
  source: text("source").$type<TrackSource>().notNull(),
  sourceId: text("source_id").notNull(),
  title: text("title").notNull(),
  artistId: integer("artist_id").references(() => artists.id, { onDelete: "set null" }),
  albumId: integer("album_id").references(() => albums.id, { onDelete: "set null" }),
  topGenreId: integer("top_genre_id").references(() => genres.id, { onDelete: "set null" }),
  durationSeconds: real("duration_seconds"),
  licenseId: integer("license_id").references(() => licenses.id, { onDelete: "set null" }),
  bitRate: integer("bit_rate"),
  dateCreated: timestamp("date_created", { mode: "string" }),
  /** The track's public page (for FMA `https://freemusicarchive.org/music/<artist>/<album>/<track>`). */
  pageUrl: text("page_url"),
  /** Path of the audio file relative to `catalog_root`, with `/` separators. */
  audioPath: text("audio_path").notNull(),
  catalogRoot: text("catalog_root").notNull(),
  /** SHA-256 (hex) of the audio file, set by reindex; keys the embedding cache. */
  contentHash: text("content_hash"),
  isDemo: boolean("is_demo").notNull().default(false),
  /** Release year (folder catalogs: from the CSV or the tags). */
  year: integer("year"),
  /** Position on its album. */
  trackNumber: integer("track_number"),
  /** See {@linkcode TRACK_STATUSES}; only `indexed` tracks are in the index and counted as stored. */
  status: text("status").$type<TrackStatus>().notNull().default("pending"),
  /** Why a track is `skipped`, or which track a `duplicate` repeats. */
  statusReason: text("status_reason"),
  updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
}, (t) => [
  uniqueIndex("tracks_source_uq").on(t.source, t.sourceId),
  index("tracks_top_genre_idx").on(t.topGenreId),
  index("tracks_status_idx").on(t.status),
  index("tracks_content_hash_idx").on(t.contentHash),
]);

/** All genres of a track (FMA's `track.genres`; the top genre for folder tracks). */
export const trackGenres = pgTable("track_genres", {
  trackId: integer("track_id").notNull().references(() => tracks.id, { onDelete: "cascade" }),
  genreId: integer("genre_id").notNull().references(() => genres.id, { onDelete: "cascade" }),
}, (t) => [primaryKey({ columns: [t.trackId, t.genreId] }), index("track_genres_genre_idx").on(t.genreId)]);

/** Index builds written by reindex; one current row per (kind, metric). */
export const indexVersions = pgTable("index_versions", {
  id: serial("id").primaryKey(),
  version: integer("version").notNull(),
  /** `flat` or `ivf`. */
  kind: text("kind").notNull(),
  /** `l2` or `cosine`. */
  metric: text("metric").notNull(),
  modelsHash: text("models_hash").notNull(),
  count: integer("count").notNull(),
  /** Where the index file lives (relative to the data directory or absolute). */
  path: text("path").notNull(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  isCurrent: boolean("is_current").notNull().default(false),
}, (t) => [
  uniqueIndex("index_versions_uq").on(t.version, t.kind, t.metric),
  uniqueIndex("index_versions_current_uq").on(t.kind, t.metric).where(sql`${t.isCurrent}`),
]);

/**
 * Clip embeddings cached by audio content and model hashes: float32 little-endian in `vector`, and
 * what each model heard (its best class and probability) in `labels`, shown beside results.
 */
export const embeddings = pgTable("embeddings", {
  contentHash: text("content_hash").notNull(),
  modelsHash: text("models_hash").notNull(),
  dims: integer("dims").notNull(),
  vector: bytea("vector").notNull(),
  /** `[{ task, className, probability }]`, one per model; `null` for entries cached before labels were kept. */
  labels: jsonb("labels").$type<StoredLabel[]>(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
}, (t) => [primaryKey({ columns: [t.contentHash, t.modelsHash] })]);

/** Listening parties: at most one on (`ended_at` null) per platform channel. */
export const parties = pgTable("parties", {
  id: serial("id").primaryKey(),
  platform: text("platform").notNull(),
  channelId: text("channel_id").notNull(),
  name: text("name").notNull(),
  startedBy: text("started_by").notNull(),
  startedAt: timestamp("started_at", { withTimezone: true }).notNull().defaultNow(),
  lastActivityAt: timestamp("last_activity_at", { withTimezone: true }).notNull().defaultNow(),
  endedAt: timestamp("ended_at", { withTimezone: true }),
}, (t) => [
  uniqueIndex("parties_active_channel_uq").on(t.platform, t.channelId).where(sql`${t.endedAt} is null`),
  index("parties_active_idx").on(t.lastActivityAt).where(sql`${t.endedAt} is null`),
]);

/**
 * What happened in a party, in order: clips shared (with their vectors, so the vibe survives a
 * restart), tracks suggested in threads and tracks picked by `next`. Track ids are kept as plain
 * numbers: a later reindex may remove a track without rewriting a party's history.
 */
export const partyItems = pgTable("party_items", {
  id: serial("id").primaryKey(),
  partyId: integer("party_id").notNull().references(() => parties.id, { onDelete: "cascade" }),
  /** `shared`, `suggested` or `next`. */
  kind: text("kind").notNull(),
  trackId: integer("track_id"),
  title: text("title").notNull(),
  artist: text("artist"),
  url: text("url"),
  durationSeconds: real("duration_seconds"),
  sharedBy: text("shared_by"),
  vector: bytea("vector"),
  /** `[{ task, className, probability }]`. */
  labels: jsonb("labels").$type<StoredLabel[]>().notNull()
    .default(sql`'[]'::jsonb`),
  similarity: real("similarity"),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
}, (t) => [index("party_items_party_idx").on(t.partyId, t.id)]);

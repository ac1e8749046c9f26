/**
 * Queries over the metadata schema: plain functions taking the open {@linkcode Db} first. Bulk writes
 * are batched and idempotent (a rerun updates the same rows), so ingest and reindex can be repeated.
 * @module
 */

import { and, asc, count, countDistinct, desc, eq, inArray, max, ne, sql } from "drizzle-orm";
import type { PgTable } from "drizzle-orm/pg-core";
import type { CatalogGenre, CatalogSource, CatalogTrack } from "../catalog/types.ts";
import type { Db } from "./client.ts";
import { isRowFailure } from "./errors.ts";
import type { StoredLabel } from "../model/embed.ts";
import {
  albums,
  artists,
  embeddings,
  genres,
  indexVersions,
  licenses,
  trackGenres,
  tracks,
} from "./schema.ts";

/** What the recommender shows for one track (defined with the recommender). */
export type { TrackCard } from "../recommend/recommend.ts";
import type { TrackCard } from "../recommend/recommend.ts";

/** A track as reindex needs it. */
export interface IndexableTrack {
  trackId: number;
  source: CatalogSource;
  /** FMA track id or folder path: what the user knows the track by. */
  sourceId: string;
  /** Relative to `catalogRoot`, `/`-separated. */
  audioPath: string;
  catalogRoot: string;
  /** SHA-256 of the file at the last reindex, `null` before. */
  contentHash: string | null;
}

/** One row of `index_versions`. */
export interface IndexVersion {
  version: number;
  kind: string;
  metric: string;
  modelsHash: string;
  count: number;
  path: string;
  createdAt: Date;
  isCurrent: boolean;
}

/**
 * Counts for `deno task stats`. Track figures count stored tracks only: those in the current index
 * (status `indexed`); the others are counted by status.
 */
export interface DbStats {
  /** Tracks in the current index. */
  tracks: number;
  demoTracks: number;
  realTracks: number;
  /** Stored but not yet through a reindex. */
  pendingTracks: number;
  /** Left out of the index: their file could not be embedded. */
  skippedTracks: number;
  /** Left out of the index: the same audio as a stored track. */
  duplicateTracks: number;
  /** Gone from their catalog, deleted by the next reindex. */
  removedTracks: number;
  /** Artists of stored tracks. */
  artists: number;
  /** Albums of stored tracks. */
  albums: number;
  /** Genres in the catalog (FMA's whole tree, or those met in a folder catalog). */
  genres: number;
  licenses: number;
  /** Genre links of stored tracks. */
  trackGenres: number;
  embeddings: number;
  indexVersions: number;
  /** Stored tracks per source (`fma`, `folder`, `demo`). */
  bySource: { source: string; count: number }[];
  /** Stored tracks per top genre, most first, ties by title; tracks without one under `null`. */
  byTopGenre: { genre: string | null; count: number }[];
}

/** Options for {@linkcode upsertTracks}. */
export interface UpsertTracksOptions {
  /**
   * Tracks written per transaction.
   * @default 500
   */
  batchSize?: number;
}

const DEFAULT_BATCH = 500;

function chunks<T>(items: readonly T[], size: number): T[][] {
  if (size < 1) throw new RangeError(`Batch size must be positive: ${size}`);
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Inserts or updates genres by id (FMA `genre_id`), parents before children.
 *
 * @param db The open database.
 * @param list The genre tree.
 * @returns How many genres were written.
 */
export async function upsertGenres(db: Db, list: readonly CatalogGenre[]): Promise<number> {
  if (list.length === 0) return 0;
  const ordered = parentsFirst(list);
  const known = new Set(ordered.map((g) => g.id));
  await db.orm.transaction(async (tx) => {
    // A genre created earlier by title (a folder catalog's "Rock") would clash with the tree's own
    // "Rock" on the unique title: free its title now and fold it into the tree's genre below.
    const incomingByTitle = new Map(ordered.map((g) => [g.title.toLowerCase(), g.id]));
    const clashes: { oldId: number; newId: number }[] = [];
    for (const batch of chunks([...incomingByTitle.keys()], 1000)) {
      const rows = await tx.select({ id: genres.id, title: genres.title }).from(genres)
        .where(inArray(sql`lower(${genres.title})`, batch));
      for (const r of rows) {
        const newId = incomingByTitle.get(r.title.toLowerCase());
        if (newId !== undefined && newId !== r.id) clashes.push({ oldId: r.id, newId });
      }
    }
    for (const c of clashes) {
      await tx.update(genres).set({ title: sql`${genres.title} || ' #' || ${genres.id}` })
        .where(eq(genres.id, c.oldId));
    }
    for (const batch of chunks(ordered, 1000)) {
      await tx.insert(genres).values(batch.map((g) => ({
        id: g.id,
        title: g.title,
        // A parent missing from the file would break the foreign key: keep the genre, drop the link.
        parentId: g.parentId !== null && known.has(g.parentId) ? g.parentId : null,
        topLevelId: g.topLevelId,
        trackCount: g.trackCount,
      }))).onConflictDoUpdate({
        target: genres.id,
        set: {
          title: sql`excluded.title`,
          parentId: sql`excluded.parent_id`,
          topLevelId: sql`excluded.top_level_id`,
          trackCount: sql`excluded.track_count`,
        },
      });
    }
    for (const { oldId, newId } of clashes) {
      await tx.update(tracks).set({ topGenreId: newId }).where(eq(tracks.topGenreId, oldId));
      await tx.execute(sql`insert into ${trackGenres} (track_id, genre_id)
        select track_id, ${newId}::int from ${trackGenres} where genre_id = ${oldId}::int
        on conflict do nothing`);
      await tx.delete(genres).where(eq(genres.id, oldId));
    }
  });
  return ordered.length;
}

/** Orders genres so that every parent comes before its children (cycles are cut). */
function parentsFirst(list: readonly CatalogGenre[]): CatalogGenre[] {
  const byId = new Map(list.map((g) => [g.id, g]));
  const out: CatalogGenre[] = [];
  const state = new Map<number, "visiting" | "done">();
  const visit = (g: CatalogGenre) => {
    if (state.has(g.id)) return;
    state.set(g.id, "visiting");
    const parent = g.parentId === null ? undefined : byId.get(g.parentId);
    if (parent && !state.has(parent.id)) visit(parent);
    state.set(g.id, "done");
    out.push(g);
  };
  for (const g of list) visit(g);
  return out;
}

/**
 * Inserts or updates tracks with their artists, albums, licenses and genre links, in batches, one
 * transaction each. Rows are matched by `(source, sourceId)`, so a rerun updates them in place; the
 * cached content hash is kept unless the audio path moved. Unknown top genres (folder catalogs) are
 * created; genre ids missing from `genres` are ignored.
 *
 * @param db The open database.
 * @param catalogRoot The folder `audioPath`s are relative to.
 * @param list The catalog's tracks.
 * @param opts Batch size.
 * @returns The track ids, in the order of `list`.
 */
export async function upsertTracks(
  db: Db,
  catalogRoot: string,
  list: readonly CatalogTrack[],
  opts: UpsertTracksOptions = {},
): Promise<number[]> {
  const ids: number[] = [];
  for (const batch of chunks(list, opts.batchSize ?? DEFAULT_BATCH)) {
    ids.push(...await db.orm.transaction((tx) => upsertBatch(tx, catalogRoot, batch)));
  }
  return ids;
}

/** What {@linkcode storeTracks} stored and what the database refused. */
export interface StoreTracksResult {
  /** Track ids in the order of the list; `undefined` for a refused row. */
  ids: (number | undefined)[];
  /** Refused rows: their position in the list and the database's error. */
  failures: { index: number; error: unknown }[];
}

/**
 * {@linkcode upsertTracks} that survives bad rows: a batch the database refuses because of its data
 * ({@linkcode isRowFailure}) is written again one row per transaction, so one row the database
 * cannot take (a path too long for its index) costs only that row. Other failures (a lost
 * connection) are thrown.
 *
 * @param db The open database.
 * @param catalogRoot The folder `audioPath`s are relative to.
 * @param list The catalog's tracks.
 * @param opts Batch size.
 * @returns The ids and the refused rows.
 */
export async function storeTracks(
  db: Db,
  catalogRoot: string,
  list: readonly CatalogTrack[],
  opts: UpsertTracksOptions = {},
): Promise<StoreTracksResult> {
  const ids: (number | undefined)[] = [];
  const failures: StoreTracksResult["failures"] = [];
  for (const batch of chunks(list, opts.batchSize ?? DEFAULT_BATCH)) {
    const offset = ids.length;
    try {
      ids.push(...await db.orm.transaction((tx) => upsertBatch(tx, catalogRoot, batch)));
    } catch (err) {
      if (!isRowFailure(err)) throw err;
      for (const [i, track] of batch.entries()) {
        try {
          ids.push(...await db.orm.transaction((tx) => upsertBatch(tx, catalogRoot, [track])));
        } catch (error) {
          if (!isRowFailure(error)) throw error;
          ids.push(undefined);
          failures.push({ index: offset + i, error });
        }
      }
    }
  }
  return { ids, failures };
}

type Tx = Parameters<Parameters<Db["orm"]["transaction"]>[0]>[0];

function keyOf(source: CatalogSource, sourceId: string): string {
  return `${source}\u0000${sourceId}`;
}

async function upsertBatch(tx: Tx, catalogRoot: string, batch: CatalogTrack[]): Promise<number[]> {
  // Licenses by name.
  const licenseNames = [...new Set(batch.map((t) => t.license).filter((n): n is string => !!n))];
  const licenseIds = new Map<string, number>();
  if (licenseNames.length > 0) {
    const rows = await tx.insert(licenses).values(licenseNames.map((name) => ({ name })))
      .onConflictDoUpdate({ target: licenses.name, set: { name: sql`excluded.name` } })
      .returning({ id: licenses.id, name: licenses.name });
    for (const r of rows) licenseIds.set(r.name, r.id);
  }

  // Artists (of tracks and of albums) by (source, sourceId); the last spelling in the batch wins.
  const artistRows = new Map<string, typeof artists.$inferInsert>();
  for (const t of batch) {
    for (const a of [t.artist, t.album?.artist]) {
      if (a) artistRows.set(keyOf(t.source, a.sourceId), { source: t.source, ...a });
    }
  }
  const artistIds = new Map<string, number>();
  if (artistRows.size > 0) {
    const rows = await tx.insert(artists).values([...artistRows.values()])
      .onConflictDoUpdate({
        target: [artists.source, artists.sourceId],
        set: { name: sql`excluded.name`, url: sql`excluded.url` },
      })
      .returning({ id: artists.id, source: artists.source, sourceId: artists.sourceId });
    for (const r of rows) artistIds.set(keyOf(r.source, r.sourceId), r.id);
  }

  // Albums by (source, sourceId), linked to their album artist, else to the artist of a track on them.
  const albumRows = new Map<string, typeof albums.$inferInsert>();
  for (const t of batch) {
    if (t.album) {
      const owner = t.album.artist ?? t.artist;
      albumRows.set(keyOf(t.source, t.album.sourceId), {
        source: t.source,
        sourceId: t.album.sourceId,
        title: t.album.title,
        url: t.album.url,
        artistId: owner ? artistIds.get(keyOf(t.source, owner.sourceId)) ?? null : null,
      });
    }
  }
  const albumIds = new Map<string, number>();
  if (albumRows.size > 0) {
    const rows = await tx.insert(albums).values([...albumRows.values()])
      .onConflictDoUpdate({
        target: [albums.source, albums.sourceId],
        set: { title: sql`excluded.title`, url: sql`excluded.url`, artistId: sql`excluded.artist_id` },
      })
      .returning({ id: albums.id, source: albums.source, sourceId: albums.sourceId });
    for (const r of rows) albumIds.set(keyOf(r.source, r.sourceId), r.id);
  }

  // Genres: titles (top genre and a folder track's others) created when new, ids checked against the table.
  const titlesOf = (t: CatalogTrack) =>
    [t.topGenre, ...(t.genres ?? [])].map((g) => g?.trim()).filter((g): g is string => !!g);
  const titles = [...new Set(batch.flatMap(titlesOf))];
  const genreByTitle = new Map<string, number>();
  if (titles.length > 0) {
    const lowered = titles.map((t) => t.toLowerCase());
    const found = await tx.select({ id: genres.id, title: genres.title }).from(genres)
      .where(inArray(sql`lower(${genres.title})`, lowered));
    for (const r of found) genreByTitle.set(r.title.toLowerCase(), r.id);
    const missing = titles.filter((t) => !genreByTitle.has(t.toLowerCase()));
    const uniqueMissing = [...new Map(missing.map((t) => [t.toLowerCase(), t])).values()];
    if (uniqueMissing.length > 0) {
      const created = await tx.insert(genres).values(uniqueMissing.map((title) => ({ title })))
        .onConflictDoNothing()
        .returning({ id: genres.id, title: genres.title });
      for (const r of created) {
        genreByTitle.set(r.title.toLowerCase(), r.id);
        await tx.update(genres).set({ topLevelId: r.id }).where(eq(genres.id, r.id));
      }
    }
  }
  const wantedIds = [...new Set(batch.flatMap((t) => t.genreIds))];
  const topOf = new Map<number, number | null>();
  if (wantedIds.length > 0) {
    const rows = await tx.select({ id: genres.id, top: genres.topLevelId }).from(genres)
      .where(inArray(genres.id, wantedIds));
    for (const r of rows) topOf.set(r.id, r.top);
  }

  const values = batch.map((t) => {
    const titled = t.topGenre ? genreByTitle.get(t.topGenre.trim().toLowerCase()) : undefined;
    const firstKnown = t.genreIds.find((g) => topOf.has(g));
    const topGenreId = titled ?? (firstKnown === undefined ? null : topOf.get(firstKnown) ?? null);
    return {
      source: t.source,
      sourceId: t.sourceId,
      title: t.title,
      artistId: t.artist ? artistIds.get(keyOf(t.source, t.artist.sourceId)) ?? null : null,
      albumId: t.album ? albumIds.get(keyOf(t.source, t.album.sourceId)) ?? null : null,
      topGenreId,
      durationSeconds: t.durationSeconds,
      licenseId: t.license ? licenseIds.get(t.license) ?? null : null,
      bitRate: t.bitRate,
      dateCreated: t.dateCreated,
      year: t.year ?? null,
      trackNumber: t.trackNumber ?? null,
      pageUrl: t.url,
      audioPath: t.audioPath,
      catalogRoot,
      isDemo: t.isDemo,
    };
  });
  // A source id given twice in one batch would make ON CONFLICT touch a row twice: keep the last.
  const lastByKey = new Map(values.map((v, i) => [keyOf(v.source, v.sourceId), i]));
  const unique = values.filter((v, i) => lastByKey.get(keyOf(v.source, v.sourceId)) === i);
  const written = await tx.insert(tracks).values(unique)
    .onConflictDoUpdate({
      target: [tracks.source, tracks.sourceId],
      set: {
        title: sql`excluded.title`,
        artistId: sql`excluded.artist_id`,
        albumId: sql`excluded.album_id`,
        topGenreId: sql`excluded.top_genre_id`,
        durationSeconds: sql`excluded.duration_seconds`,
        licenseId: sql`excluded.license_id`,
        bitRate: sql`excluded.bit_rate`,
        dateCreated: sql`excluded.date_created`,
        year: sql`excluded.year`,
        trackNumber: sql`excluded.track_number`,
        pageUrl: sql`excluded.page_url`,
        // A track back in its catalog waits for the next reindex; others keep their status.
        status: sql`case when ${tracks.status} = 'removed' then 'pending' else ${tracks.status} end`,
        isDemo: sql`excluded.is_demo`,
        // The cached hash stays valid only while the row still points at the same file.
        contentHash: sql`case when ${tracks.audioPath} = excluded.audio_path
          and ${tracks.catalogRoot} = excluded.catalog_root then ${tracks.contentHash} else null end`,
        audioPath: sql`excluded.audio_path`,
        catalogRoot: sql`excluded.catalog_root`,
        updatedAt: sql`now()`,
      },
    })
    .returning({ id: tracks.id, source: tracks.source, sourceId: tracks.sourceId });
  const idByKey = new Map(written.map((r) => [keyOf(r.source, r.sourceId), r.id]));
  const trackIds = batch.map((t) => {
    const id = idByKey.get(keyOf(t.source, t.sourceId));
    if (id === undefined) throw new Error(`Track ${t.source}:${t.sourceId} was not written`);
    return id;
  });

  // Genre links: replace what the batch's tracks had.
  await tx.delete(trackGenres).where(inArray(trackGenres.trackId, [...idByKey.values()]));
  const links = new Map<string, { trackId: number; genreId: number }>();
  const lastTrack = new Map(batch.map((t) => [keyOf(t.source, t.sourceId), t]));
  unique.forEach((v) => {
    const key = keyOf(v.source, v.sourceId);
    const trackId = idByKey.get(key)!;
    const track = lastTrack.get(key);
    const genreIds = [...(track?.genreIds.filter((g) => topOf.has(g)) ?? [])];
    if (v.topGenreId !== null && genreIds.length === 0) genreIds.push(v.topGenreId);
    for (const title of track?.genres ?? []) {
      const id = genreByTitle.get(title.toLowerCase());
      if (id !== undefined && !genreIds.includes(id)) genreIds.push(id);
    }
    for (const genreId of genreIds) links.set(`${trackId}:${genreId}`, { trackId, genreId });
  });
  if (links.size > 0) await tx.insert(trackGenres).values([...links.values()]).onConflictDoNothing();
  return trackIds;
}

/**
 * Marks the tracks of a source that are no longer in its catalog as `removed`. They stay (and keep
 * being served by the current index) until {@linkcode finishReindex} deletes them, once an index
 * without them is current.
 *
 * @param db The open database.
 * @param source The catalog's source.
 * @param keepSourceIds The source ids still present.
 * @returns How many tracks were newly marked.
 */
export async function markTracksRemoved(
  db: Db,
  source: CatalogSource,
  keepSourceIds: Iterable<string>,
): Promise<number> {
  const keep = new Set(keepSourceIds);
  const rows = await db.orm.select({ id: tracks.id, sourceId: tracks.sourceId }).from(tracks)
    .where(and(eq(tracks.source, source), ne(tracks.status, "removed")));
  const gone = rows.filter((r) => !keep.has(r.sourceId)).map((r) => r.id);
  for (const batch of chunks(gone, 5000)) {
    await db.orm.update(tracks).set({ status: "removed", statusReason: null }).where(
      inArray(tracks.id, batch),
    );
  }
  return gone.length;
}

/** How a reindex ended, for {@linkcode finishReindex}. */
export interface ReindexOutcome {
  /** Tracks in the new index. */
  indexed: readonly number[];
  /** Tracks left out, with why. */
  skipped: readonly { trackId: number; reason: string }[];
  /** Tracks left out as copies of an indexed track, with which. */
  duplicates: readonly { trackId: number; reason: string }[];
  /** The index builds to record as current. */
  versions: readonly Omit<IndexVersion, "createdAt" | "isCurrent">[];
}

/**
 * Records a published reindex in one transaction: every track's status, the new index versions as
 * current, and the deletion of `removed` tracks (no longer in the index now current).
 *
 * @param db The open database.
 * @param outcome The statuses and index builds.
 * @returns How many removed tracks were deleted.
 */
export async function finishReindex(db: Db, outcome: ReindexOutcome): Promise<number> {
  return await db.orm.transaction(async (tx) => {
    for (const batch of chunks(outcome.indexed, 5000)) {
      await tx.update(tracks).set({ status: "indexed", statusReason: null }).where(inArray(tracks.id, batch));
    }
    const left = [
      ...outcome.skipped.map((e) => ({ ...e, status: "skipped" })),
      ...outcome.duplicates.map((e) => ({ ...e, status: "duplicate" })),
    ];
    for (const batch of chunks(left, 1000)) {
      const ids = sql.join(batch.map((e) => sql`${e.trackId}::int`), sql`, `);
      const statuses = sql.join(batch.map((e) => sql`${e.status}::text`), sql`, `);
      const reasons = sql.join(batch.map((e) => sql`${e.reason}::text`), sql`, `);
      await tx.execute(sql`update ${tracks} set status = v.s, status_reason = v.r
        from (select unnest(array[${ids}]) as id, unnest(array[${statuses}]) as s,
          unnest(array[${reasons}]) as r) as v
        where ${tracks.id} = v.id`);
    }
    for (const entry of outcome.versions) await recordVersion(tx, entry);
    const deleted = await tx.delete(tracks).where(eq(tracks.status, "removed")).returning({ id: tracks.id });
    return deleted.length;
  });
}

/**
 * The cards for some track ids, in the order of `ids`; ids not in the catalog are left out.
 *
 * @param db The open database.
 * @param ids Track ids (duplicates give duplicate cards).
 * @returns One {@linkcode TrackCard} per known id.
 */
export async function getTrackCards(db: Db, ids: readonly number[]): Promise<TrackCard[]> {
  if (ids.length === 0) return [];
  const rows = await db.orm.select({
    trackId: tracks.id,
    source: tracks.source,
    sourceId: tracks.sourceId,
    title: tracks.title,
    artist: artists.name,
    album: albums.title,
    genre: genres.title,
    durationSeconds: tracks.durationSeconds,
    license: licenses.name,
    url: tracks.pageUrl,
    isDemo: tracks.isDemo,
  }).from(tracks)
    .leftJoin(artists, eq(tracks.artistId, artists.id))
    .leftJoin(albums, eq(tracks.albumId, albums.id))
    .leftJoin(genres, eq(tracks.topGenreId, genres.id))
    .leftJoin(licenses, eq(tracks.licenseId, licenses.id))
    .where(inArray(tracks.id, [...new Set(ids)]));
  const byId = new Map(rows.map((r) => [r.trackId, r]));
  return ids.flatMap((id) => {
    const r = byId.get(id);
    return r ? [{ ...r }] : [];
  });
}

/**
 * Maps source ids (FMA track ids as text, folder paths) to track ids.
 *
 * @param db The open database.
 * @param source Which source the ids belong to.
 * @param sourceIds The source's ids.
 * @returns Source id to track id, for those present.
 */
export async function trackIdsBySourceIds(
  db: Db,
  source: CatalogSource,
  sourceIds: readonly string[],
): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const batch of chunks([...new Set(sourceIds)], 5000)) {
    const rows = await db.orm.select({ id: tracks.id, sourceId: tracks.sourceId }).from(tracks)
      .where(and(eq(tracks.source, source), inArray(tracks.sourceId, batch)));
    for (const r of rows) out.set(r.sourceId, r.id);
  }
  return out;
}

/**
 * Every track with where its audio is and its last content hash, by track id.
 *
 * @param db The open database.
 * @returns The tracks reindex has to embed (or find in the cache).
 */
export async function listTracksForIndexing(db: Db): Promise<IndexableTrack[]> {
  return await db.orm.select({
    trackId: tracks.id,
    source: tracks.source,
    sourceId: tracks.sourceId,
    audioPath: tracks.audioPath,
    catalogRoot: tracks.catalogRoot,
    contentHash: tracks.contentHash,
  }).from(tracks).where(ne(tracks.status, "removed")).orderBy(asc(tracks.id));
}

/**
 * The lowest-id track whose audio file had exactly this content at the last reindex (the one kept
 * in the index when several files have it), leaving out tracks gone from their catalog.
 *
 * @param db The open database.
 * @param contentHash SHA-256 (hex) of a file.
 * @returns The track id, or `undefined` when no catalog file has that content.
 */
export async function trackIdByContentHash(db: Db, contentHash: string): Promise<number | undefined> {
  const rows = await db.orm.select({ id: tracks.id }).from(tracks)
    .where(and(eq(tracks.contentHash, contentHash), ne(tracks.status, "removed")))
    .orderBy(asc(tracks.id)).limit(1);
  return rows[0]?.id;
}

/**
 * Records the content hash of a track's audio file.
 *
 * @param db The open database.
 * @param trackId The track.
 * @param contentHash SHA-256 (hex) of the file, or `null` to forget it.
 */
export async function setContentHash(db: Db, trackId: number, contentHash: string | null): Promise<void> {
  await db.orm.update(tracks).set({ contentHash }).where(eq(tracks.id, trackId));
}

/**
 * Records many content hashes in one statement per 1,000.
 *
 * @param db The open database.
 * @param entries Track ids and their hashes.
 */
export async function setContentHashes(
  db: Db,
  entries: readonly { trackId: number; contentHash: string }[],
): Promise<void> {
  for (const batch of chunks(entries, 1000)) {
    const ids = sql.join(batch.map((e) => sql`${e.trackId}::int`), sql`, `);
    const hashes = sql.join(batch.map((e) => sql`${e.contentHash}::text`), sql`, `);
    await db.orm.execute(sql`update ${tracks} set content_hash = v.h
      from (select unnest(array[${ids}]) as id, unnest(array[${hashes}]) as h) as v
      where ${tracks.id} = v.id`);
  }
}

/** Encodes a vector as float32 little-endian bytes (the `embeddings.vector` format). */
export function encodeVector(vector: Float32Array): Uint8Array {
  const bytes = new Uint8Array(vector.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < vector.length; i++) view.setFloat32(i * 4, vector[i]!, true);
  return bytes;
}

/** Decodes float32 little-endian bytes into a vector. */
export function decodeVector(bytes: Uint8Array): Float32Array {
  if (bytes.byteLength % 4 !== 0) {
    throw new RangeError(`Vector bytes not a multiple of 4: ${bytes.byteLength}`);
  }
  const out = new Float32Array(bytes.byteLength / 4);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

/**
 * Cached embeddings for some content hashes under one models hash.
 *
 * @param db The open database.
 * @param contentHashes File content hashes.
 * @param modelsHash The hash of the models that produced the embeddings.
 * @returns Content hash to vector, for those cached.
 */
export async function getCachedEmbeddings(
  db: Db,
  contentHashes: readonly string[],
  modelsHash: string,
): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const batch of chunks([...new Set(contentHashes)], 1000)) {
    const rows = await db.orm.select({ hash: embeddings.contentHash, vector: embeddings.vector })
      .from(embeddings)
      .where(and(eq(embeddings.modelsHash, modelsHash), inArray(embeddings.contentHash, batch)));
    for (const r of rows) out.set(r.hash, decodeVector(r.vector));
  }
  return out;
}

/**
 * Stores embeddings in the cache (replacing any under the same hashes).
 *
 * @param db The open database.
 * @param modelsHash The hash of the models that produced them.
 * @param entries Content hashes and their vectors.
 */
export async function putCachedEmbeddings(
  db: Db,
  modelsHash: string,
  entries: readonly {
    contentHash: string;
    vector: Float32Array;
    labels?: StoredLabel[];
  }[],
): Promise<void> {
  for (const batch of chunks(entries, 200)) {
    const rows = new Map(batch.map((e) => [e.contentHash, {
      contentHash: e.contentHash,
      modelsHash,
      dims: e.vector.length,
      vector: encodeVector(e.vector),
      labels: e.labels ?? null,
    }]));
    await db.orm.insert(embeddings).values([...rows.values()]).onConflictDoUpdate({
      target: [embeddings.contentHash, embeddings.modelsHash],
      set: {
        dims: sql`excluded.dims`,
        vector: sql`excluded.vector`,
        labels: sql`excluded.labels`,
        createdAt: sql`now()`,
      },
    });
  }
}

/**
 * The next free index version (1 for an empty table); flat and IVF builds of one reindex share it.
 *
 * @param db The open database.
 * @returns One more than the highest recorded version.
 */
export async function nextIndexVersion(db: Db): Promise<number> {
  const [row] = await db.orm.select({ v: max(indexVersions.version) }).from(indexVersions);
  return (row?.v ?? 0) + 1;
}

/**
 * Records a built index and makes it the current one of its kind and metric (in one transaction,
 * so readers see either the old or the new current row).
 *
 * @param db The open database.
 * @param entry The build.
 */
export async function recordIndexVersion(
  db: Db,
  entry: Omit<IndexVersion, "createdAt" | "isCurrent">,
): Promise<void> {
  await db.orm.transaction((tx) => recordVersion(tx, entry));
}

async function recordVersion(tx: Tx, entry: Omit<IndexVersion, "createdAt" | "isCurrent">): Promise<void> {
  await tx.update(indexVersions).set({ isCurrent: false }).where(and(
    eq(indexVersions.kind, entry.kind),
    eq(indexVersions.metric, entry.metric),
    eq(indexVersions.isCurrent, true),
  ));
  await tx.insert(indexVersions).values({ ...entry, isCurrent: true }).onConflictDoUpdate({
    target: [indexVersions.version, indexVersions.kind, indexVersions.metric],
    set: {
      modelsHash: entry.modelsHash,
      count: entry.count,
      path: entry.path,
      isCurrent: true,
      createdAt: sql`now()`,
    },
  });
}

/**
 * The current index of a kind (and metric), if any.
 *
 * @param db The open database.
 * @param kind `flat` or `ivf`.
 * @param metric `l2` or `cosine`; any when left out (the newest current one).
 * @returns The row, or `null` when none was recorded.
 */
export async function currentIndexVersion(
  db: Db,
  kind: string,
  metric?: string,
): Promise<IndexVersion | null> {
  const [row] = await db.orm.select({
    version: indexVersions.version,
    kind: indexVersions.kind,
    metric: indexVersions.metric,
    modelsHash: indexVersions.modelsHash,
    count: indexVersions.count,
    path: indexVersions.path,
    createdAt: indexVersions.createdAt,
    isCurrent: indexVersions.isCurrent,
  }).from(indexVersions)
    .where(and(
      eq(indexVersions.kind, kind),
      eq(indexVersions.isCurrent, true),
      metric === undefined ? undefined : eq(indexVersions.metric, metric),
    ))
    .orderBy(desc(indexVersions.version))
    .limit(1);
  return row ?? null;
}

/**
 * Counts of stored (indexed) tracks per source and top genre, of tracks per status, and per table.
 *
 * @param db The open database.
 * @returns The figures.
 */
export async function stats(db: Db): Promise<DbStats> {
  const n = async (table: PgTable) => {
    const [row] = await db.orm.select({ n: count() }).from(table);
    return row?.n ?? 0;
  };
  const stored = eq(tracks.status, "indexed");
  const byStatus = new Map(
    (await db.orm.select({ status: tracks.status, n: count() }).from(tracks).groupBy(tracks.status))
      .map((r) => [r.status, r.n]),
  );
  const [demo] = await db.orm.select({ n: count() }).from(tracks).where(and(stored, eq(tracks.isDemo, true)));
  const bySource = await db.orm.select({ source: tracks.source, count: count() }).from(tracks).where(stored)
    .groupBy(tracks.source).orderBy(asc(tracks.source));
  const byTopGenre = await db.orm.select({ genre: genres.title, count: count() }).from(tracks)
    .leftJoin(genres, eq(tracks.topGenreId, genres.id))
    .where(stored)
    .groupBy(genres.title)
    .orderBy(desc(count()), asc(genres.title));
  const [linked] = await db.orm.select({
    artists: countDistinct(tracks.artistId),
    albums: countDistinct(tracks.albumId),
  }).from(tracks).where(stored);
  const [links] = await db.orm.select({ n: count() }).from(trackGenres)
    .innerJoin(tracks, eq(trackGenres.trackId, tracks.id)).where(stored);
  const total = byStatus.get("indexed") ?? 0;
  const demoTracks = demo?.n ?? 0;
  return {
    tracks: total,
    demoTracks,
    realTracks: total - demoTracks,
    pendingTracks: byStatus.get("pending") ?? 0,
    skippedTracks: byStatus.get("skipped") ?? 0,
    duplicateTracks: byStatus.get("duplicate") ?? 0,
    removedTracks: byStatus.get("removed") ?? 0,
    artists: linked?.artists ?? 0,
    albums: linked?.albums ?? 0,
    genres: await n(genres),
    licenses: await n(licenses),
    trackGenres: links?.n ?? 0,
    embeddings: await n(embeddings),
    indexVersions: await n(indexVersions),
    bySource,
    byTopGenre,
  };
}

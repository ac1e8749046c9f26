/**
 * Read-only lookups the chat bots need beside the catalog queries of `repository.ts`: the genres a
 * user can filter by, the tracks of one genre, and a catalog track's stored clip vector (for
 * "More like #n", which searches again without downloading anything).
 * @module
 */

import { and, asc, count, eq, inArray, sql } from "drizzle-orm";
import type { StoredLabel } from "../recommend/party.ts";
import type { Db } from "./client.ts";
import { decodeVector } from "./repository.ts";
import { embeddings, genres, tracks } from "./schema.ts";

/** A top-level genre present in the catalog, with how many catalog tracks have it. */
export interface GenreCount {
  genre: string;
  tracks: number;
}

/**
 * The top genres of the catalog's tracks, most common first (ties by name).
 *
 * @param db The open database.
 * @returns Genre titles with their track counts.
 */
export async function catalogTopGenres(db: Db): Promise<GenreCount[]> {
  const rows = await db.orm.select({ genre: genres.title, tracks: count(tracks.id) })
    .from(tracks)
    .innerJoin(genres, eq(tracks.topGenreId, genres.id))
    .groupBy(genres.title);
  return rows.map((r) => ({ genre: r.genre, tracks: Number(r.tracks) }))
    .sort((a, b) => b.tracks - a.tracks || a.genre.localeCompare(b.genre));
}

/**
 * The tracks whose top genre has this title (case-insensitive).
 *
 * @param db The open database.
 * @param genre A genre title, e.g. `Hip-Hop`.
 * @returns Track ids, ascending.
 */
export async function trackIdsWithTopGenre(db: Db, genre: string): Promise<number[]> {
  const rows = await db.orm.select({ id: tracks.id }).from(tracks)
    .innerJoin(genres, eq(tracks.topGenreId, genres.id))
    .where(sql`lower(${genres.title}) = lower(${genre})`)
    .orderBy(asc(tracks.id));
  return rows.map((r) => r.id);
}

/** What {@linkcode trackVector} found. */
export type TrackVectorLookup =
  | { found: "vector"; vector: Float32Array }
  | { found: "no-track" }
  | { found: "no-vector" };

/**
 * A catalog track's clip vector under the given models, from the embedding cache reindex fills.
 *
 * @param db The open database.
 * @param trackId The catalog track.
 * @param modelsHash The hash of the models in use.
 * @returns The vector, or why there is none (the track is gone, or was never embedded by these models).
 */
export async function trackVector(db: Db, trackId: number, modelsHash: string): Promise<TrackVectorLookup> {
  const rows = await db.orm.select({ hash: tracks.contentHash, vector: embeddings.vector })
    .from(tracks)
    .leftJoin(
      embeddings,
      and(eq(embeddings.contentHash, tracks.contentHash), eq(embeddings.modelsHash, modelsHash)),
    )
    .where(eq(tracks.id, trackId))
    .limit(1);
  const row = rows[0];
  if (row === undefined) return { found: "no-track" };
  if (row.vector === null) return { found: "no-vector" };
  return { found: "vector", vector: decodeVector(row.vector) };
}

/**
 * What the models heard in catalog tracks (each model's best class), as stored by reindex.
 *
 * @param db The open database.
 * @param trackIds The tracks.
 * @param modelsHash The hash of the models in use.
 * @returns Track id to labels, for tracks whose labels are stored.
 */
export async function trackLabels(
  db: Db,
  trackIds: readonly number[],
  modelsHash: string,
): Promise<Map<number, StoredLabel[]>> {
  const out = new Map<number, StoredLabel[]>();
  if (trackIds.length === 0) return out;
  const rows = await db.orm.select({ id: tracks.id, labels: embeddings.labels })
    .from(tracks)
    .innerJoin(
      embeddings,
      and(eq(embeddings.contentHash, tracks.contentHash), eq(embeddings.modelsHash, modelsHash)),
    )
    .where(inArray(tracks.id, [...new Set(trackIds)]));
  for (const r of rows) if (r.labels) out.set(r.id, r.labels as StoredLabel[]);
  return out;
}

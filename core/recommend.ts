/**
 * From a clip to the k most similar catalog tracks. Plain functions over injected dependencies:
 * the CLI and the chat adapters wire in the real decoder, embedder, index and database.
 *
 * Similarity: every clip embedding is nine L2-normalised 256-d blocks (3 models x 3 segments), so
 * the squared L2 distance between two clips is `d² = Σ (2 - 2 cos_b) = 18 - 2 Σ cos_b`, and the
 * mean per-block cosine similarity is `1 - d² / 18`. The similarity shown to users is that mean
 * cosine as a percentage, clipped to [0, 100]. With the cosine metric the index compares whole
 * normalised vectors, whose cosine is the same mean of block cosines.
 * @module
 */
import type { DecodedAudio } from "./ffmpeg.ts";
import type { Logger } from "./logger.ts";
import { cutSegments } from "./segments.ts";

/** Squared L2 distance of two clip embeddings whose nine blocks are unit vectors, at most. */
export const MAX_SQUARED_DISTANCE = 18;

/** Below this squared distance a neighbour is the query itself (an exact duplicate). */
export const DUPLICATE_SQUARED_DISTANCE = 1e-4;

/** One neighbour found by an index: smaller distance is closer. */
export interface Neighbour {
  trackId: number;
  /** Squared L2 distance (metric `l2`) or `2 - 2 cos` (metric `cosine`); smaller is closer. */
  distance: number;
}

/** What the catalog knows about a track, as shown on a card. */
export interface TrackCard {
  /** The catalog's own id (database key; also what the indexes store). */
  trackId: number;
  /** Where the track comes from: `fma`, `folder` or `demo`. */
  source: string;
  /** The source's id: the FMA `track_id` as text, or the file's path in a folder catalog. */
  sourceId: string;
  title: string;
  artist: string | null;
  album: string | null;
  genre: string | null;
  durationSeconds: number | null;
  license: string | null;
  url: string | null;
  isDemo: boolean;
}

/** One result: a card plus its rank, similarity (0-100 %) and raw distance. */
export interface Recommendation extends TrackCard {
  rank: number;
  similarity: number;
  distance: number;
}

/** Milliseconds spent in each stage of {@linkcode recommendForFile}. */
export interface StageTimings {
  decode: number;
  embed: number;
  search: number;
  metadata: number;
  total: number;
}

/** What an index answers: neighbours, and the metric that gives their distances meaning. */
export interface SearchAnswer {
  neighbours: Neighbour[];
  metric: "l2" | "cosine";
}

/** What {@linkcode recommendForFile} needs, already configured. */
export interface RecommendDeps {
  /** Decodes a file to mono float32 at the models' sample rate (limits already bound). */
  decode(path: string): Promise<DecodedAudio>;
  /** Embeds three equal-length segments into one clip vector. */
  embed(segments: Float32Array[]): Promise<Float32Array>;
  /** Finds the `k` nearest catalog tracks of a clip vector, with the metric of the index searched. */
  search(vector: Float32Array, k: number): Promise<SearchAnswer> | SearchAnswer;
  /** Metadata of tracks, in the order of `ids` (missing ids are left out). */
  cards(ids: number[]): Promise<TrackCard[]>;
  /** The catalog track whose file has exactly these bytes, if any (asked only for decodable clips). */
  trackIdForFile?(path: string): Promise<number | undefined>;
  logger: Logger;
}

/** Options of {@linkcode recommendForFile}. */
export interface RecommendOptions {
  /** How many tracks to return. @default 5 */
  k?: number;
  /** A catalog track to leave out (the clip's own track), besides exact duplicates. */
  excludeTrackId?: number;
}

/** The answer to one query. */
export interface RecommendResult {
  recommendations: Recommendation[];
  /** Length of the decoded clip in seconds, and whether it was cut at the configured maximum. */
  clip: { seconds: number; truncated: boolean };
  /** The query's own catalog track, when it was recognised and left out. */
  excludedTrackId: number | undefined;
  timings: StageTimings;
}

/**
 * Converts a raw index distance to the similarity percentage described in the module doc.
 *
 * @param distance Squared L2 distance between two clip embeddings (or `2 - 2 cos` for cosine).
 * @param metric The index metric.
 * @returns Similarity in [0, 100], rounded to one decimal.
 * @example
 * ```ts
 * import { similarityPercent } from "./recommend.ts";
 * console.assert(similarityPercent(0, "l2") === 100);
 * console.assert(similarityPercent(9, "l2") === 50);
 * ```
 */
export function similarityPercent(distance: number, metric: "l2" | "cosine"): number {
  const cosine = metric === "l2" ? 1 - distance / MAX_SQUARED_DISTANCE : 1 - distance / 2;
  const pct = Math.min(100, Math.max(0, cosine * 100));
  return Math.round(pct * 10) / 10;
}

/**
 * Orders neighbours by distance, then track id (a stable order on ties), and drops the query's
 * own track and exact duplicates.
 *
 * @param neighbours As returned by an index.
 * @param k How many to keep.
 * @param excludeTrackId The query's own track, if known.
 * @returns At most `k` neighbours.
 */
export function rankNeighbours(
  neighbours: readonly Neighbour[],
  k: number,
  excludeTrackId?: number,
): Neighbour[] {
  return neighbours
    .filter((n) => n.trackId >= 0 && n.trackId !== excludeTrackId)
    .filter((n) => n.distance > DUPLICATE_SQUARED_DISTANCE)
    .sort((a, b) => a.distance - b.distance || a.trackId - b.trackId)
    .slice(0, k);
}

/**
 * Recommends the `k` catalog tracks most similar to an audio file.
 *
 * @param deps Decoder, embedder, index and metadata, see {@linkcode RecommendDeps}.
 * The clip is decoded first, so a bad file is refused before any index, model or database is
 * opened: nothing is loaded or written for it.
 *
 * @param path The clip.
 * @param options `k` and an optional track to exclude.
 * @returns Recommendations, best first, with stage timings.
 * @throws {SoundalikeError} For unreadable, too short, silent or too large clips.
 */
export async function recommendForFile(
  deps: RecommendDeps,
  path: string,
  options: RecommendOptions = {},
): Promise<RecommendResult> {
  const k = options.k ?? 5;
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be a positive integer: got ${k}`);
  const t0 = performance.now();
  const audio = await deps.decode(path);
  const segments = cutSegments(audio);
  const t1 = performance.now();
  const vector = await deps.embed(segments);
  const t2 = performance.now();
  // Ask for a few more than k: the query's own track and duplicates are dropped afterwards.
  const { neighbours, metric } = await deps.search(vector, k + 5);
  const ownTrack = options.excludeTrackId ?? await deps.trackIdForFile?.(path);
  const ranked = rankNeighbours(neighbours, k, ownTrack);
  const t3 = performance.now();
  const cards = new Map((await deps.cards(ranked.map((n) => n.trackId))).map((c) => [c.trackId, c]));
  const t4 = performance.now();
  const recommendations: Recommendation[] = [];
  for (const n of ranked) {
    const card = cards.get(n.trackId);
    if (card === undefined) {
      deps.logger.warn("Index refers to a track missing from the database", { trackId: n.trackId });
      continue;
    }
    recommendations.push({
      ...card,
      rank: recommendations.length + 1,
      similarity: similarityPercent(n.distance, metric),
      distance: n.distance,
    });
  }
  return {
    recommendations,
    clip: { seconds: audio.seconds, truncated: audio.truncated },
    excludedTrackId: ownTrack,
    timings: { decode: t1 - t0, embed: t2 - t1, search: t3 - t2, metadata: t4 - t3, total: t4 - t0 },
  };
}

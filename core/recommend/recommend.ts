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
import type { ClipAnalysis, ModelHearing } from "../model/embed.ts";
import { ErrorCode, SoundalikeError } from "../errors.ts";
import { SAME_AUDIO_SQUARED_DISTANCE } from "../catalog/reindex.ts";
import type { DecodedAudio } from "../audio/ffmpeg.ts";
import type { Logger } from "../logger.ts";
import { cutSegments, MIN_CLIP_SECONDS } from "../audio/segments.ts";
import { queryBlockWeights, weightBlocks, weightedDistance } from "./block_weights.ts";

/** Squared L2 distance of two clip embeddings whose nine blocks are unit vectors, at most. */
export const MAX_SQUARED_DISTANCE = 18;

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

/** What {@linkcode recommendForVector} needs, already configured. */
export interface SearchDeps {
  /**
   * Finds the `k` nearest catalog tracks of a clip vector, with the metric of the index searched.
   * With a filter, only allowed tracks count: the search goes as deep as it must to find `k` of them.
   */
  search(vector: Float32Array, k: number, filter?: TrackFilter): Promise<SearchAnswer> | SearchAnswer;
  /** Metadata of tracks, in the order of `ids` (missing ids are left out). */
  cards(ids: number[]): Promise<TrackCard[]>;
  logger: Logger;
}

/** What {@linkcode recommendForFile} needs, already configured. */
export interface RecommendDeps extends SearchDeps {
  /** Decodes a file to mono float32 at the models' sample rate (limits already bound). */
  decode(path: string): Promise<DecodedAudio>;
  /**
   * A long clip (a full-length track) decoded only in its three policy windows from `startSeconds`
   * on; `undefined` when the clip is not long, so {@linkcode RecommendDeps.decode} decodes it whole.
   */
  decodeLong?(path: string, startSeconds: number): Promise<
    { segments: Float32Array[]; seconds: number; truncated: boolean } | undefined
  >;
  /** Embeds three equal-length segments into one clip vector, with what each model hears. */
  embed(segments: Float32Array[]): Promise<ClipAnalysis>;
  /** The catalog track whose file has exactly these bytes, if any (asked only for decodable clips). */
  trackIdForFile?(path: string): Promise<number | undefined>;
}

/** Options of {@linkcode recommendForVector}. */
export interface VectorQueryOptions {
  /** How many tracks to return. @default 5 */
  k?: number;
  /** A catalog track to leave out (the clip's own track), besides exact duplicates. */
  excludeTrackId?: number;
  /** Which catalog tracks may be returned (a genre, tracks not suggested yet). */
  filter?: TrackFilter;
  /**
   * How much each model's blocks count (genre, emotion, instrument; `block_weights.ts`).
   * @default equal
   */
  blockWeights?: readonly number[];
}

/** Which catalog tracks a search may return. */
export interface TrackFilter {
  /** Only these (a genre's tracks, say). */
  keep?: ReadonlySet<number>;
  /** Never these (tracks already suggested in a listening party, say). */
  exclude?: ReadonlySet<number>;
}

/** Options of {@linkcode recommendForFile}. */
export interface RecommendOptions extends VectorQueryOptions {
  /** Seconds from the start of the file where the clip begins. @default 0 */
  startSeconds?: number;
}

/** The neighbours of one vector, with their cards. */
export interface VectorQueryResult {
  recommendations: Recommendation[];
  /** The query's own catalog track, when it was recognised and left out. */
  excludedTrackId: number | undefined;
  /** Milliseconds spent searching and reading metadata. */
  timings: { search: number; metadata: number };
}

/** The answer to one query. */
export interface RecommendResult {
  recommendations: Recommendation[];
  /** Length of the decoded clip in seconds (after `startSeconds`), and whether it was cut at the maximum. */
  clip: { seconds: number; truncated: boolean; startSeconds: number };
  /** What each model hears in the clip. */
  hearing: ModelHearing[];
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
 * own track. When the clip is a catalog file, its copies (the same audio: a re-tagged file set
 * aside as a duplicate, closer than {@linkcode SAME_AUDIO_SQUARED_DISTANCE}) go too; the same
 * music from outside the catalog (another encoding, a quieter copy) stays, as the best answer
 * there is, at about 100 %.
 *
 * @param neighbours As returned by an index.
 * @param k How many to keep.
 * @param excludeTrackId The query's own track, when the clip is a catalog file.
 * @returns At most `k` neighbours.
 */
export function rankNeighbours(
  neighbours: readonly Neighbour[],
  k: number,
  excludeTrackId?: number,
): Neighbour[] {
  const ownAudio = (n: Neighbour) =>
    excludeTrackId !== undefined && n.distance <= SAME_AUDIO_SQUARED_DISTANCE;
  return neighbours
    .filter((n) => n.trackId >= 0 && n.trackId !== excludeTrackId && !ownAudio(n))
    .sort((a, b) => a.distance - b.distance || a.trackId - b.trackId)
    .slice(0, k);
}

/**
 * Searches an index for the `k` nearest tracks the filter allows, going deeper (4x each time) until
 * `k` allowed tracks are found or the whole index has been searched.
 *
 * @param search One index search for the `depth` nearest tracks.
 * @param size How many vectors the index holds.
 * @param k How many allowed tracks are wanted.
 * @param filter Tracks to keep only, and tracks to leave out; `undefined` allows all.
 * @returns Up to `k` allowed neighbours, nearest first.
 * @example
 * ```ts
 * import { searchKeeping } from "./recommend.ts";
 * const all = Array.from({ length: 100 }, (_, i) => ({ trackId: i, distance: i }));
 * const hits = searchKeeping((depth) => all.slice(0, depth), 100, 2, { keep: new Set([90, 95, 99]) });
 * console.assert(hits.map((h) => h.trackId).join() === "90,95");
 * ```
 */
export function searchKeeping(
  search: (depth: number) => Neighbour[],
  size: number,
  k: number,
  filter: TrackFilter | undefined,
): Neighbour[] {
  const keep = filter?.keep;
  const exclude = filter?.exclude;
  if (keep === undefined && !exclude?.size) return search(Math.min(k, size));
  if (keep?.size === 0 || size === 0) return [];
  const allowed = (id: number) => (keep === undefined || keep.has(id)) && !exclude?.has(id);
  let depth = Math.min(size, Math.max(k * 8, 64, k + (exclude?.size ?? 0)));
  for (;;) {
    const hits = search(depth).filter((n) => allowed(n.trackId));
    if (hits.length >= k || depth >= size) return hits.slice(0, k);
    depth = Math.min(size, depth * 4);
  }
}

/**
 * The part of a decoded clip from `startSeconds` on.
 *
 * @param audio A decoded clip.
 * @param startSeconds Where the clip should begin; 0 keeps it whole.
 * @returns The same audio from that point (sharing the samples).
 * @throws {SoundalikeError} `clip_too_short` when less than the minimum clip length is left.
 * @example
 * ```ts
 * import { clipFrom } from "./recommend.ts";
 * const audio = { samples: new Float32Array(16000 * 30), sampleRate: 16000, seconds: 30, truncated: false };
 * console.assert(clipFrom(audio, 10).seconds === 20);
 * ```
 */
export function clipFrom(audio: DecodedAudio, startSeconds: number): DecodedAudio {
  if (!(startSeconds >= 0)) throw new RangeError(`startSeconds must be >= 0: got ${startSeconds}`);
  if (startSeconds === 0) return audio;
  const from = Math.round(startSeconds * audio.sampleRate);
  const left = (audio.samples.length - from) / audio.sampleRate;
  if (left < MIN_CLIP_SECONDS) {
    const latest = Math.max(0, audio.seconds - MIN_CLIP_SECONDS);
    throw new SoundalikeError(
      ErrorCode.ClipTooShort,
      `The clip is ${formatClock(audio.seconds)} long, so starting at ${formatClock(startSeconds)} leaves ` +
        `less than ${MIN_CLIP_SECONDS} s: choose a start at or before ${formatClock(latest)}`,
    );
  }
  const samples = audio.samples.subarray(from);
  return { ...audio, samples, seconds: samples.length / audio.sampleRate };
}

/**
 * `m:ss` (or `h:mm:ss`) for a number of seconds: a position (a start offset) is rounded down, a
 * length to the nearest second, before splitting, so 59.6 s reads 1:00, never 0:60.
 *
 * @param seconds A position or a length.
 * @param rounding `down` for positions, `nearest` for lengths. @default "down"
 * @returns The clock text.
 * @example
 * ```ts
 * import { formatClock } from "./recommend.ts";
 * console.assert(formatClock(75.9) === "1:15");
 * console.assert(formatClock(59.6, "nearest") === "1:00");
 * ```
 */
export function formatClock(seconds: number, rounding: "down" | "nearest" = "down"): string {
  const total = Math.max(0, rounding === "down" ? Math.floor(seconds) : Math.round(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const ss = String(total % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/**
 * The `k` catalog tracks nearest a clip vector, with their cards.
 *
 * @param deps Index and metadata, see {@linkcode SearchDeps}.
 * @param vector A clip vector (from the embedder, or a catalog track's stored one).
 * @param options `k`, a track to leave out, which tracks may be returned and the block weights.
 * @returns Recommendations, best first (with block weights, by the weighted distance, and each
 * similarity the weighted mean block cosine).
 */
export async function recommendForVector(
  deps: SearchDeps,
  vector: Float32Array,
  options: VectorQueryOptions = {},
): Promise<VectorQueryResult> {
  const k = options.k ?? 5;
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be a positive integer: got ${k}`);
  const t0 = performance.now();
  const weights = options.blockWeights;
  // weightBlocks() gives the vector itself back for equal weights: then distances need no mending
  const query = weights === undefined ? vector : weightBlocks(vector, weights);
  // Ask for a few more than k: the query's own track and duplicates are dropped afterwards.
  const answer = await deps.search(query, k + 5, options.filter);
  const { metric } = answer;
  const neighbours = query === vector ? answer.neighbours : answer.neighbours.map((n) => ({
    ...n,
    distance: weightedDistance(n.distance, weights!, metric),
  }));
  const ranked = rankNeighbours(neighbours, k, options.excludeTrackId);
  const t1 = performance.now();
  const cards = new Map((await deps.cards(ranked.map((n) => n.trackId))).map((c) => [c.trackId, c]));
  const t2 = performance.now();
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
    excludedTrackId: options.excludeTrackId,
    timings: { search: t1 - t0, metadata: t2 - t1 },
  };
}

/**
 * Recommends the `k` catalog tracks most similar to an audio file.
 *
 * @param deps Decoder, embedder, index and metadata, see {@linkcode RecommendDeps}.
 * The clip is decoded first, so a bad file is refused before any index, model or database is
 * opened: nothing is loaded or written for it.
 *
 * @param path The clip.
 * @param options `k`, a start offset, an optional track to exclude and a track filter.
 * @returns Recommendations, best first, with what the models hear and stage timings.
 * @throws {SoundalikeError} For unreadable, too short, silent or too large clips.
 */
export async function recommendForFile(
  deps: RecommendDeps,
  path: string,
  options: RecommendOptions = {},
): Promise<RecommendResult> {
  const k = options.k ?? 5;
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be a positive integer: got ${k}`);
  const startSeconds = options.startSeconds ?? 0;
  const t0 = performance.now();
  // A full-length track is decoded in its windows only; anything else whole, then cut.
  const long = await deps.decodeLong?.(path, startSeconds);
  let clip: { seconds: number; truncated: boolean };
  let segments: Float32Array[];
  if (long !== undefined) {
    ({ segments } = long);
    clip = long;
  } else {
    const audio = clipFrom(await deps.decode(path), startSeconds);
    segments = cutSegments(audio);
    clip = audio;
  }
  const t1 = performance.now();
  const analysis = await deps.embed(segments);
  const t2 = performance.now();
  // A clip cut from a catalog file is not that file: only whole files are recognised as their track.
  const ownTrack = options.excludeTrackId ??
    (startSeconds === 0 ? await deps.trackIdForFile?.(path) : undefined);
  const found = await recommendForVector(deps, analysis.vector, {
    k,
    // a clip of one window's audio weighs the emotion blocks less (block_weights.ts)
    blockWeights: queryBlockWeights(clip.seconds),
    ...(ownTrack === undefined ? {} : { excludeTrackId: ownTrack }),
    ...(options.filter ? { filter: options.filter } : {}),
  });
  const t3 = performance.now();
  return {
    recommendations: found.recommendations,
    clip: { seconds: clip.seconds, truncated: clip.truncated, startSeconds },
    hearing: analysis.hearing,
    excludedTrackId: ownTrack,
    timings: {
      decode: t1 - t0,
      embed: t2 - t1,
      search: found.timings.search,
      metadata: found.timings.metadata,
      total: t3 - t0,
    },
  };
}

/**
 * Searching: a clip, a catalog track or a vector against the served index version, with the
 * search method and index kind the options (or the configuration) ask for, and who answered.
 * @module
 */
import { decodeLongClip } from "../audio/long_files.ts";
import { cutSegments } from "../audio/segments.ts";
import type { Config } from "../config.ts";
import { catalogTopGenres, trackIdsWithTopGenre, trackVector } from "../db/lookup.ts";
import { getTrackCards, trackIdByContentHash } from "../db/repository.ts";
import { ErrorCode, SoundalikeError } from "../errors.ts";
import {
  EXACT_AMONG_MAX_TRACKS,
  type IndexKind,
  searchWindows,
  type StoredIndexes,
  type VectorIndex,
} from "../index/vector_index.ts";
import { ApproxIndex } from "../index/approx_index.ts";
import type { Logger } from "../logger.ts";
import { modelsHash } from "../model/manifest.ts";
import { queryBlockWeights } from "../recommend/block_weights.ts";
import {
  recommendForFile,
  recommendForVector,
  type SearchDeps,
  searchKeeping,
} from "../recommend/recommend.ts";
import { sha256File } from "../util/files.ts";
import type { Resources } from "./resources.ts";
import type { AnsweredBy, App, SearchMethod } from "./types.ts";

/** The search half of {@linkcode App}, and the index choice its warm start shares. */
export type Search = Pick<App, "similar" | "similarToTrack" | "similarToVector" | "analyze"> & {
  /**
   * The index a search of this kind and method reads: the window index for segment search (when the
   * version has one; else whole clips answer), else the flat or IVF clip index.
   */
  searchedIndex(
    idx: StoredIndexes,
    kind: IndexKind,
    method: SearchMethod,
  ): Promise<{ index: VectorIndex; method: SearchMethod }>;
};

/**
 * The searches over a configuration's resources.
 *
 * @param res The opened-on-first-use resources.
 * @param config The validated configuration (default index kind, nprobe, search method).
 * @param logger The process's logger.
 * @returns The {@linkcode Search}.
 */
export function createSearch(res: Resources, config: Config, logger: Logger): Search {
  const { db, manifest, embedder, decode, decodeOptions, indexes } = res;
  /** The catalog track whose file has exactly these bytes, if any. */
  const trackIdForFile = async (file: string): Promise<number | undefined> => {
    const hash = await sha256File(file).catch(() => undefined);
    return hash === undefined ? undefined : trackIdByContentHash(await db(), hash);
  };

  /** The tracks of one top genre; an unknown genre is refused with the genres there are. */
  const genreTracks = async (genre: string): Promise<Set<number>> => {
    const database = await db();
    const ids = await trackIdsWithTopGenre(database, genre.trim());
    if (ids.length > 0) return new Set(ids);
    const known = (await catalogTopGenres(database)).map((g) => g.genre);
    throw new SoundalikeError(
      ErrorCode.BadRequest,
      known.length
        ? `The catalog has no ${JSON.stringify(genre.trim())} tracks: choose one of ${known.join(", ")}`
        : "The catalog has no genres to filter by: search without a genre",
    );
  };

  const searchedIndex = async (
    idx: StoredIndexes,
    kind: IndexKind,
    method: SearchMethod,
  ): Promise<{ index: VectorIndex; method: SearchMethod }> => {
    const windows = method === "segment" ? await idx.windows() : undefined;
    if (windows !== undefined) return { index: windows, method: "segment" };
    return { index: kind === "flat" ? await idx.flat() : await idx.ivf(), method: "clip" };
  };

  /**
   * Searching the current index as `options` (or the configuration) ask; `answered()` says which
   * version, kind and method answered (`ivf` is served by the exact index for a catalog too small
   * for IVF; segment search by the clip index of a version built before it).
   */
  const searchFor = (
    options: { index?: IndexKind; nprobe?: number; method?: SearchMethod },
  ): { deps: SearchDeps; answered: () => AnsweredBy } => {
    const kind = options.index ?? config.indexKind;
    // An explicit nprobe applies to every index; the configured one (meant for IVF-Flat) not to an
    // approximate index, which keeps the nprobe it was built with.
    const nprobe = options.nprobe;
    const method = options.method ?? config.searchMethod;
    let answered: AnsweredBy = { index: kind, indexVersion: 0, method };
    const served = (v: AnsweredBy) => (answered = v);
    return { deps: searchDeps(kind, nprobe, method, served), answered: () => answered };
  };

  /** The search dependencies of {@linkcode searchFor}; `served` hears who answered. */
  const searchDeps = (
    kind: IndexKind,
    nprobe: number | undefined,
    method: SearchMethod,
    served: (v: AnsweredBy) => void,
  ): SearchDeps => ({
    search: async (vector, k, filter) => {
      const idx = await indexes();
      const searched = await searchedIndex(idx, kind, method);
      served({ index: searched.index.kind, indexVersion: idx.version, method: searched.method });
      if (searched.method === "segment") {
        const windows = searched.index;
        // A rare genre on an approximate index is searched exactly among its own tracks.
        const keep = filter?.keep;
        const among = keep !== undefined && windows instanceof ApproxIndex &&
          keep.size <= EXACT_AMONG_MAX_TRACKS;
        const neighbours = searchKeeping(
          (depth) => searchWindows(windows, vector, depth, keep),
          among ? keep.size : idx.meta.count,
          k,
          filter,
        );
        return { neighbours, metric: "l2" };
      }
      const index = searched.index;
      const neighbours = searchKeeping(
        (depth) =>
          index.search(vector, depth, {
            nprobe: nprobe ?? (index instanceof ApproxIndex ? index.defaultNprobe : config.nprobe),
          }),
        index.size,
        k,
        filter,
      );
      return { neighbours, metric: idx.meta.metric };
    },
    cards: async (ids) => getTrackCards(await db(), ids),
    logger,
  });

  return {
    searchedIndex,
    async similar(path, options = {}) {
      // The genre is checked before anything is decoded: a typo costs nothing.
      const keep = options.genre === undefined ? undefined : await genreTracks(options.genre);
      const search = searchFor(options);
      // Everything else is opened lazily by recommendForFile's order (decode first), so a bad clip
      // loads no model or index and creates no database.
      const result = await recommendForFile(
        {
          decode,
          decodeLong: async (clip, start) => decodeLongClip(clip, start, await decodeOptions()),
          embed: async (segments) => (await (await embedder()).analyzeMany([segments]))[0]!,
          ...search.deps,
          trackIdForFile,
        },
        path,
        {
          ...(options.k === undefined ? {} : { k: options.k }),
          ...(options.startSeconds === undefined ? {} : { startSeconds: options.startSeconds }),
          ...(keep === undefined ? {} : { filter: { keep } }),
        },
      );
      return { ...result, ...search.answered() };
    },

    async similarToTrack(trackId, options = {}) {
      const keep = options.genre === undefined ? undefined : await genreTracks(options.genre);
      const [database, m, idx] = await Promise.all([db(), manifest(), indexes()]);
      const gone = () =>
        new SoundalikeError(
          ErrorCode.TrackGone,
          "That track is no longer in the catalog (a reindex removed it): send the clip again to search afresh",
        );
      // Is the track in the current version? Asked of the index this search reads, so no other is loaded.
      const searched = await searchedIndex(
        idx,
        options.index ?? config.indexKind,
        options.method ?? config.searchMethod,
      );
      const index = searched.index;
      // An approximate index answers from its id table; `trackIds` would build a 3-row-per-track array.
      if (!(index instanceof ApproxIndex ? index.hasTrack(trackId) : index.trackIds.includes(trackId))) {
        throw gone();
      }
      const [lookup, seed] = await Promise.all([
        trackVector(database, trackId, modelsHash(m)),
        getTrackCards(database, [trackId]).then((c) => c[0]),
      ]);
      if (lookup.found !== "vector" || seed === undefined) throw gone();
      const search = searchFor(options);
      const result = await recommendForVector(
        search.deps,
        lookup.vector,
        {
          excludeTrackId: trackId,
          ...(options.k === undefined ? {} : { k: options.k }),
          ...(keep === undefined ? {} : { filter: { keep } }),
        },
      );
      return { ...result, seed, ...search.answered() };
    },

    async analyze(path) {
      const audio = await decode(path);
      const segments = cutSegments(audio);
      const analysis = (await (await embedder()).analyzeMany([segments]))[0]!;
      return {
        ...analysis,
        seconds: audio.seconds,
        truncated: audio.truncated,
        catalogTrackId: await trackIdForFile(path),
      };
    },

    async similarToVector(vector, options = {}) {
      const keep = options.genre === undefined ? undefined : await genreTracks(options.genre);
      const search = searchFor(options);
      const result = await recommendForVector(
        search.deps,
        vector,
        {
          ...(options.k === undefined ? {} : { k: options.k }),
          filter: { ...(keep ? { keep } : {}), ...(options.exclude ? { exclude: options.exclude } : {}) },
          ...(options.clipSeconds === undefined
            ? {}
            : { blockWeights: queryBlockWeights(options.clipSeconds) }),
        },
      );
      return { ...result, ...search.answered() };
    },
  };
}

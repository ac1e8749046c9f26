/**
 * Wires the pipeline's plain functions to the real outside systems (ffmpeg, onnxruntime, FAISS,
 * PostgreSQL) from a validated {@linkcode Config}. The CLIs and the chat adapters open one
 * {@linkcode App} at start-up and call its methods; everything heavy is opened lazily, once.
 * @module
 */
import type { Config } from "./config.ts";
import { catalogTopGenres, trackLabels } from "./db/lookup.ts";
import { createPartyStore } from "./db/party.ts";
import { stats } from "./db/repository.ts";
import { SoundalikeError } from "./errors.ts";
import type { Logger } from "./logger.ts";
import { modelsHash } from "./model/manifest.ts";
import { createCatalogUpdates } from "./app/catalog_updates.ts";
import { perVersion } from "./app/per_version.ts";
import { openResources } from "./app/resources.ts";
import { createSearch } from "./app/search.ts";
import type { App } from "./app/types.ts";

export type * from "./app/types.ts";

/**
 * Creates the application over a validated configuration. Nothing is opened until first needed.
 * It wires three parts: the resources (`app/resources.ts`), the searches (`app/search.ts`) and the
 * catalog updates (`app/catalog_updates.ts`); the catalog queries below are one call each.
 *
 * @param config From `loadConfig()`.
 * @param logger The process's logger.
 * @returns The {@linkcode App}.
 */
export function createApp(config: Config, logger: Logger): App {
  const res = openResources(config, logger);
  const { db, manifest, embedder, indexes, store } = res;
  const search = createSearch(res, config, logger);
  const updates = createCatalogUpdates(res, config, logger);
  return {
    config,
    logger,
    db,
    manifest,
    embedder,
    decode: res.decode,
    similar: search.similar,
    similarToTrack: search.similarToTrack,
    similarToVector: search.similarToVector,
    analyze: search.analyze,
    ingest: updates.ingest,
    reindex: updates.reindex,
    update: updates.update,

    // asked on every autocomplete keystroke; the list changes only with a new index version
    genres: perVersion(() => store.currentVersion(), async () => catalogTopGenres(await db())),

    trackLabels: async (ids) => trackLabels(await db(), ids, modelsHash(await manifest())),

    parties: async () => createPartyStore(await db()),

    async warm() {
      const [emb] = await Promise.all([embedder(), db()]);
      try {
        const idx = await indexes();
        // What the configured defaults search is loaded now, so the first answer does not wait for it.
        await search.searchedIndex(idx, config.indexKind, config.searchMethod);
        return {
          indexedTracks: idx.meta.count,
          indexVersion: idx.version,
          indexProblem: undefined,
          provider: emb.provider,
        };
      } catch (err) {
        if (!(err instanceof SoundalikeError)) throw err;
        return {
          indexedTracks: undefined,
          indexVersion: undefined,
          indexProblem: err.message,
          provider: emb.provider,
        };
      }
    },

    async stats() {
      const s = await stats(await db());
      // The index's own metadata file is enough: stats never loads the (large) index files.
      const meta = await store.currentMeta();
      return { ...s, indexVersion: meta?.version, indexedTracks: meta?.count };
    },

    // Only what was opened is closed: close() never opens anything.
    close: res.close,
  };
}

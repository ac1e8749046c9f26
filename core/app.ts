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

/** Options of {@linkcode createApp}. */
export interface CreateAppOptions {
  /**
   * Log the database going away (once per outage, its host and error code) and coming back: what a
   * long-running process's log needs. A CLI says it in its one failure sentence instead.
   * @default true
   */
  logOutages?: boolean;
}

/**
 * Creates the application over a validated configuration. Nothing is opened until first needed.
 * It wires three parts: the resources (`app/resources.ts`), the searches (`app/search.ts`) and the
 * catalog updates (`app/catalog_updates.ts`); the catalog queries below are one call each.
 *
 * @param config From `loadConfig()`.
 * @param logger The process's logger.
 * @param options Whether a database outage is logged.
 * @returns The {@linkcode App}.
 */
export function createApp(config: Config, logger: Logger, options: CreateAppOptions = {}): App {
  const res = openResources(config, logger, { logOutages: options.logOutages ?? true });
  const { db, manifest, embedder, indexes, store } = res;
  const search = createSearch(res, config, logger);
  const updates = createCatalogUpdates(res, config, logger);
  // Every method that uses the database: a server that stops answering is one kind error
  // (catalog_unreachable) and one log line per outage, not an internal error per request.
  const { guard } = res.health;
  const genres = perVersion(() => store.currentVersion(), async () => catalogTopGenres(await db()));
  return {
    config,
    logger,
    db: () => guard(db),
    manifest,
    embedder,
    decode: res.decode,
    similar: (path, options) => guard(() => search.similar(path, options)),
    similarToTrack: (trackId, options) => guard(() => search.similarToTrack(trackId, options)),
    similarToVector: (vector, options) => guard(() => search.similarToVector(vector, options)),
    analyze: (path) => guard(() => search.analyze(path)),
    ingest: (dir, options) => guard(() => updates.ingest(dir, options)),
    reindex: (options) => guard(() => updates.reindex(options)),
    update: (dir, options) => guard(() => updates.update(dir, options)),

    // asked on every autocomplete keystroke; the list changes only with a new index version
    genres: () => guard(genres),

    trackLabels: (ids) => guard(async () => trackLabels(await db(), ids, modelsHash(await manifest()))),

    parties: () => guard(async () => guardMethods(createPartyStore(await db()), guard)),

    catalogState: res.health.state,

    warm: () =>
      guard(async () => {
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
      }),

    stats: () =>
      guard(async () => {
        const s = await stats(await db());
        // The index's own metadata file is enough: stats never loads the (large) index files.
        const meta = await store.currentMeta();
        return { ...s, indexVersion: meta?.version, indexedTracks: meta?.count };
      }),

    // Only what was opened is closed: close() never opens anything.
    close: res.close,
  };
}

/** The same object with each method run through `guard` (a party store's queries, say). */
function guardMethods<T extends object>(target: T, guard: <R>(fn: () => Promise<R>) => Promise<R>): T {
  const guarded = {} as Record<string, unknown>;
  for (const [name, value] of Object.entries(target)) {
    guarded[name] = typeof value === "function"
      ? (...args: unknown[]) =>
        guard(() => (value as (...a: unknown[]) => Promise<unknown>).apply(target, args))
      : value;
  }
  return guarded as T;
}

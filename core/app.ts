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
import type { App, EmbeddingPlace } from "./app/types.ts";

export type * from "./app/types.ts";

/** Options of {@linkcode createApp}; {@linkcode EmbeddingPlace} says where a reindex's batches are embedded. */
export interface CreateAppOptions extends EmbeddingPlace {
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
 * @param options Whether a database outage is logged; where a reindex's batches are embedded (by
 *   default in this process).
 * @returns The {@linkcode App}.
 */
export function createApp(config: Config, logger: Logger, options: CreateAppOptions = {}): App {
  const res = openResources(config, logger, { logOutages: options.logOutages ?? true });
  const { db, manifest, embedder, indexes, store } = res;
  const search = createSearch(res, config, logger);
  const updates = createCatalogUpdates(res, config, logger, options);
  const app: App = {
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
    embedFiles: updates.embedFiles,

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

    indexVersion: async () => (await store.currentMeta())?.version,

    async stats() {
      const s = await stats(await db());
      // The index's own metadata file is enough: stats never loads the (large) index files.
      const meta = await store.currentMeta();
      return {
        ...s,
        indexVersion: meta?.version,
        indexedTracks: meta?.count,
        ...(meta
          ? {
            indexKinds: {
              clip: (meta.kinds ?? ["flat", "ivf"]).map((k) =>
                k === "ivf" && meta.clipIvf ? `ivf (approximate: ${meta.clipIvf})` : k
              ),
              windows: meta.windows
                ? (meta.windowIndex?.kind === "approx"
                  ? `approximate: ${meta.windowIndex.detail}`
                  : "exact (flat)")
                : undefined,
            },
          }
          : {}),
      };
    },

    catalogState: res.health.state,

    // Only what was opened is closed: close() never opens anything.
    close: res.close,
  };
  return guardDatabaseUse(app, res.health.guard);
}

/** The methods that use the database (a party store's methods are guarded where it is made). */
const USES_DATABASE = [
  "db",
  "similar",
  "similarToTrack",
  "similarToVector",
  "analyze",
  "ingest",
  "reindex",
  "update",
  "genres",
  "trackLabels",
  "warm",
  "stats",
] as const satisfies readonly (keyof App)[];

/**
 * The app with every method that uses the database run through the health's guard: a server that
 * stops answering is one kind error (`catalog_unreachable`) and one log line per outage, not an
 * internal error per request.
 */
function guardDatabaseUse(app: App, guard: Guard): App {
  const guarded: Record<string, unknown> = { ...app };
  for (const name of USES_DATABASE) {
    const method = app[name] as (...args: unknown[]) => Promise<unknown>;
    guarded[name] = (...args: unknown[]) => guard(() => method(...args));
  }
  guarded.parties = () => guard(async () => guardMethods(await app.parties(), guard));
  return guarded as unknown as App;
}

type Guard = <R>(fn: () => Promise<R>) => Promise<R>;

/** The same object with each method run through `guard` (a party store's queries). */
function guardMethods<T extends object>(target: T, guard: Guard): T {
  const guarded: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(target)) {
    guarded[name] = typeof value === "function"
      ? (...args: unknown[]) =>
        guard(() => (value as (...a: unknown[]) => Promise<unknown>).apply(target, args))
      : value;
  }
  return guarded as T;
}

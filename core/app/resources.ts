/**
 * What the application opens, each lazily and once: the database (and the watch on its health),
 * the verified manifest, the embedder, the batched query decoder and the served index version.
 * @module
 */
import { join } from "node:path";
import { batchedDecoder } from "../audio/decode_batch.ts";
import { type DecodedAudio, decodeMany, type DecodeOptions } from "../audio/ffmpeg.ts";
import type { Config } from "../config.ts";
import { sql } from "drizzle-orm";
import { databaseHost, type Db, openDatabase } from "../db/client.ts";
import { createDatabaseHealth, type DatabaseHealth } from "../db/health.ts";
import { IndexStore, type StoredIndexes } from "../index/vector_index.ts";
import { type Logger, silentLogger } from "../logger.ts";
import { createEmbedder, type Embedder } from "../model/embed.ts";
import { loadManifest, type Manifest, modelsHash } from "../model/manifest.ts";

/** A resource opened on first use; a failed open is retried on the next call. */
export type Lazy<T> = (() => Promise<T>) & { opened(): Promise<T> | undefined };

/**
 * Wraps an opener so it runs on first use only; a failed open is forgotten, so the next call
 * tries again (a database that was down is reached once it is back).
 *
 * @param open Opens the resource.
 * @returns The getter, with `opened()` telling whether (and what) it opened.
 * @example
 * ```ts
 * import { lazy } from "./resources.ts";
 * let opens = 0;
 * const get = lazy(async () => ++opens);
 * await get();
 * await get();
 * if (opens !== 1) throw new Error("opened twice");
 * ```
 */
export function lazy<T>(open: () => Promise<T>): Lazy<T> {
  let pending: Promise<T> | undefined;
  const get = () =>
    pending ??= open().catch((err) => {
      pending = undefined;
      throw err;
    });
  return Object.assign(get, { opened: () => pending });
}

/** The application's opened-on-first-use resources. */
export interface Resources {
  db: Lazy<Db>;
  /** Whether the database answers; requests that use it run through its `guard`. */
  health: DatabaseHealth;
  manifest: Lazy<Manifest>;
  embedder: Lazy<Embedder>;
  /** Decode options for this configuration at the models' sample rate. */
  decodeOptions(): Promise<DecodeOptions>;
  /** Decodes a query clip; concurrent clips share ffmpeg runs once `decodeProcesses` are busy. */
  decode(path: string): Promise<DecodedAudio>;
  /** The versioned index folder. */
  store: IndexStore;
  /** The current index version for the current models, reloaded when `CURRENT` or the models change. */
  indexes(): Promise<StoredIndexes>;
  /** Releases what was opened (and only that). */
  close(): Promise<void>;
}

/**
 * The resources of a configuration. Nothing is opened here.
 *
 * @param config The validated configuration.
 * @param logger The process's logger.
 * @param options `logOutages`: log the database going away and coming back. @default true
 * @returns The {@linkcode Resources}.
 */
export function openResources(
  config: Config,
  logger: Logger,
  options: { logOutages?: boolean } = {},
): Resources {
  const db = lazy(() => openDatabase({ url: config.databaseUrl, dataDir: config.dataDir, logger }));
  const health = createDatabaseHealth({
    host: config.databaseUrl ? databaseHost(config.databaseUrl) : "the embedded database",
    logger: options.logOutages ?? true ? logger : silentLogger,
    ping: async () => void await (await db()).orm.execute(sql`select 1`),
  });
  const manifest = lazy(() => loadManifest(config.modelsDir));
  const embedder = lazy(async () =>
    createEmbedder({
      manifest: await manifest(),
      modelsDir: config.modelsDir,
      provider: config.ortProvider,
      threads: config.ortThreads,
      logger,
    })
  );
  const store = new IndexStore(join(config.dataDir, "indexes"), { logger });
  let loaded: { key: string; indexes: StoredIndexes } | undefined;
  const indexes = async (): Promise<StoredIndexes> => {
    const hash = modelsHash(await manifest());
    const version = await store.currentVersion();
    const key = `${version}:${hash}`;
    if (loaded?.key !== key) {
      // The version being replaced lets go of its open vector files (approximate indexes).
      loaded?.indexes.close();
      loaded = {
        key,
        indexes: await store.loadCurrent({
          expectModelsHash: hash,
          defaultNprobe: config.nprobe,
          ...(config.windowNprobe === undefined ? {} : { windowNprobe: config.windowNprobe }),
          ...(config.windowRerank === undefined ? {} : { windowRerank: config.windowRerank }),
        }),
      };
    }
    return loaded.indexes;
  };
  const decodeOptions = async () => ({
    sampleRate: (await manifest()).models.genre.features.sampleRate,
    maxSeconds: config.maxClipSeconds,
    maxBytes: config.maxUploadBytes,
    logger,
  });
  const decodeBatched = batchedDecoder(
    async (paths) => decodeMany(paths, await decodeOptions()),
    { processes: config.decodeProcesses, maxBatch: 8 },
  );
  return {
    db,
    health,
    manifest,
    embedder,
    decodeOptions,
    decode: (path) => decodeBatched(path),
    store,
    indexes,
    async close() {
      await Promise.allSettled([
        embedder.opened()?.then((e) => e.close()),
        db.opened()?.then((d) => d.close()),
      ]);
    },
  };
}

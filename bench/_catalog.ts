/**
 * A synthetic catalog of any size for benchmarks: `count` metadata rows in the app's database and
 * random unit-block 2304-d vectors in a published index version (flat, IVF and the window index
 * that segment search reads, as a reindex writes them). Search and metadata cost depend on the
 * catalog's size, not on what it holds.
 * @module
 */
import { join } from "node:path";
import type { App } from "../core/app.ts";
import type { CatalogTrack } from "../core/catalog/types.ts";
import { upsertTracks } from "../core/db/repository.ts";
import type { Logger } from "../core/logger.ts";
import { modelsHash } from "../core/model/manifest.ts";
import { mulberry32 } from "../core/util/random.ts";
import { buildVectorIndex, buildWindowIndex, IndexStore } from "../core/index/vector_index.ts";

const DIM = 2304;

/**
 * Metadata of synthetic bench track `i` (900 artists, four genres in turn).
 *
 * @param i The track's number.
 * @param audioPath Its file, relative to the catalog root.
 * @param isDemo Whether it is marked a demo track.
 * @returns The catalog entry.
 */
export function benchTrack(i: number, audioPath: string, isDemo: boolean): CatalogTrack {
  return {
    source: "folder",
    sourceId: audioPath,
    title: `Bench track ${i}`,
    artist: { sourceId: `artist-${i % 900}`, name: `Artist ${i % 900}`, url: null },
    album: null,
    topGenre: ["Rock", "Pop", "Electronic", "Folk"][i % 4]!,
    genreIds: [],
    durationSeconds: 30,
    license: "CC BY 4.0",
    bitRate: null,
    dateCreated: null,
    url: `https://example.org/bench/${i}`,
    audioPath,
    isDemo,
  };
}

/**
 * Stores `count` synthetic tracks and publishes flat, IVF and window indexes over random vectors.
 *
 * @param app An app on the data directory to fill.
 * @param dataDir Its data directory.
 * @param count Tracks.
 * @param logger For the index store.
 */
export async function writeSyntheticCatalog(
  app: App,
  dataDir: string,
  count: number,
  logger: Logger,
): Promise<void> {
  const db = await app.db();
  const tracks = Array.from({ length: count }, (_, i) => benchTrack(i, `bench/${i}.mp3`, true));
  const ids = await upsertTracks(db, "/nonexistent", tracks);
  const rand = mulberry32(1);
  const vectors = new Float32Array(count * DIM);
  for (let b = 0; b < count * 9; b++) {
    let norm = 0;
    for (let j = 0; j < 256; j++) norm += (vectors[b * 256 + j] = rand()) ** 2;
    for (let j = 0; j < 256; j++) vectors[b * 256 + j]! /= Math.sqrt(norm);
  }
  const common = { metric: "l2" as const, vectors, dim: DIM, trackIds: ids, logger };
  const store = new IndexStore(join(dataDir, "indexes"), { logger });
  await store.writeVersion({
    flat: buildVectorIndex({ ...common, kind: "flat" }),
    // Past 100,000 tracks the whole-clip IVF index (k-means of 2304-d vectors) takes most of an
    // hour to train on the 2-core machine: left out, `ivf` searches use the flat index there.
    ivf: count > 100_000
      ? undefined
      : buildVectorIndex({ ...common, nprobe: app.config.nprobe, kind: "ivf" }),
    // Exact below 20,000 tracks, approximate (IVF-PQ + exact re-rank from disk) above, as a reindex.
    windows: buildWindowIndex({
      ...common,
      kind: app.config.windowIndex,
      workDir: await store.prepareBuildDir(),
    }),
    meta: { modelsHash: modelsHash(await app.manifest()), metric: "l2", dim: DIM, count, createdAt: "" },
  });
}

/**
 * What the two training caches (`features_cache.ts`: log-mels per policy; `views.ts`: mel power per
 * augmented variant) share: a file cache keyed by the audio file's sha256, and a small worker pool that
 * prepares every dataset item, skipping (and reporting) the ones the product would refuse.
 * @module
 */
import { join } from "node:path";
import { isSoundalikeError, type Logger, writeFileAtomic } from "../core/mod.ts";
import type { DatasetItem, SkippedFile } from "./datasets/types.ts";

/** A clip that breaks a dataset rule (e.g. shorter than its `minSeconds`); skipped, not fatal. */
export class UnusableClip extends Error {}

/**
 * Reads `<cacheDir>/<sha[0:2]>/<sha>-<suffix>`, or computes, writes and returns the value.
 *
 * @param cacheDir The cache folder; no caching when `undefined`.
 * @param sha The audio file's sha256 (`undefined` without a cache).
 * @param suffix What else keys the entry (parameters, policy, variant) and the extension.
 * @param codec How the value is stored; `decode` returns `undefined` for a damaged file (recomputed).
 * @param compute Makes the value on a miss.
 * @returns The cached or computed value.
 */
export async function cached<T>(
  cacheDir: string | undefined,
  sha: string | undefined,
  suffix: string,
  codec: { encode: (value: T) => Uint8Array; decode: (bytes: Uint8Array) => T | undefined },
  compute: () => Promise<T>,
): Promise<T> {
  if (cacheDir === undefined || sha === undefined) return await compute();
  const dir = join(cacheDir, sha.slice(0, 2));
  const path = join(dir, `${sha}-${suffix}`);
  try {
    const hit = codec.decode(await Deno.readFile(path));
    if (hit !== undefined) return hit;
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  await Deno.mkdir(dir, { recursive: true });
  const value = await compute();
  await writeFileAtomic(path, codec.encode(value));
  return value;
}

/** Options of {@linkcode prepareAll}. */
export interface PrepareOptions {
  /** Items prepared at once. @default 2 */
  concurrency?: number;
  logger?: Logger;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Prepares every item with `prepare`, `concurrency` at a time. An item whose preparation throws a
 * `SoundalikeError` (unreadable, too short, silent) or {@linkcode UnusableClip} is skipped with the
 * reason; any other error propagates.
 *
 * @param items Dataset items.
 * @param prepare Makes one item's result.
 * @param opts Concurrency, logger, progress.
 * @returns The results of the usable items (input order) and the skipped files.
 */
export async function prepareAll<R>(
  items: readonly DatasetItem[],
  prepare: (item: DatasetItem) => Promise<R>,
  opts: PrepareOptions,
): Promise<{ results: R[]; skipped: SkippedFile[] }> {
  const results: (R | undefined)[] = new Array(items.length);
  const skipped: SkippedFile[] = [];
  let next = 0, done = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      const item = items[i]!;
      try {
        results[i] = await prepare(item);
      } catch (err) {
        if (!(isSoundalikeError(err) || err instanceof UnusableClip)) throw err;
        const reason = err instanceof UnusableClip ? err.message : `${err.code}: ${err.message}`;
        skipped.push({ path: item.path, reason });
        opts.logger?.warn("Skipping a dataset file", { path: item.path, reason });
      }
      opts.onProgress?.(++done, items.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 2) }, worker));
  return { results: results.filter((r): r is R => r !== undefined), skipped };
}

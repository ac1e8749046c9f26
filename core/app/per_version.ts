/**
 * A value computed once per served index version: the catalog's genre list, asked on every Discord
 * autocomplete keystroke, changes only when a reindex publishes a new version.
 * @module
 */

/**
 * Caches `load()` for as long as `version()` answers the same version. With no version (no index
 * yet) nothing is cached; a failed load is not cached either.
 *
 * @param version The served version now, e.g. the index store's `CURRENT`.
 * @param load Computes the value.
 * @returns The cached getter.
 * @example
 * ```ts
 * import { perVersion } from "./per_version.ts";
 * let loads = 0;
 * const genres = perVersion(async () => 3, async () => ++loads);
 * await genres();
 * await genres();
 * if (loads !== 1) throw new Error("loaded twice for one version");
 * ```
 */
export function perVersion<T>(
  version: () => Promise<number | undefined>,
  load: () => Promise<T>,
): () => Promise<T> {
  let cached: { version: number; value: Promise<T> } | undefined;
  return async () => {
    const v = await version();
    if (v === undefined) return await load();
    if (cached?.version !== v) {
      const value = load();
      const entry = { version: v, value };
      cached = entry;
      value.catch(() => {
        if (cached === entry) cached = undefined;
      });
    }
    return await cached.value;
  };
}

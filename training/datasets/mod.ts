/**
 * Dataset loaders for the published layouts, and the one entry point the trainer calls.
 * @module
 */
import { join } from "node:path";
import { loadFolderDataset } from "./folder.ts";
import { loadGtzan } from "./gtzan.ts";
import { loadInstruments } from "./instruments.ts";
import { loadMirexMood } from "./mirex.ts";
import { pathIsDir, requireDir } from "./_util.ts";
import type { Dataset, DatasetLayout } from "./types.ts";

export type { Dataset, DatasetItem, DatasetLayout, SkippedFile } from "./types.ts";
export { DATASET_LAYOUTS } from "./types.ts";
export { GTZAN_GENRES, loadGtzan } from "./gtzan.ts";
export { INSTRUMENT_CLASSES, loadInstruments } from "./instruments.ts";
export {
  loadMirexMood,
  MOOD_CLUSTERS,
  MOOD_MIN_PER_CLUSTER,
  MOOD_MIN_SECONDS,
  normalizeCluster,
} from "./mirex.ts";
export {
  artistKey,
  decodeText,
  isReservedMoodClip,
  type MoodInfoRow,
  parseMoodInfo,
  PUBLISHED_CLUSTER_COUNTS,
} from "./mood_info.ts";
export { requireClassSizes } from "./_util.ts";
export { loadFolderDataset } from "./folder.ts";

/**
 * Guesses a dataset folder's layout from its landmarks.
 *
 * @param dir The dataset folder.
 * @returns `gtzan` (a `genres_original` folder), `instruments` (`Metadata_Train.csv`), `mirex`
 *   (`Audio/` + `clusters.txt`), else `folder`.
 */
export async function detectLayout(dir: string): Promise<DatasetLayout> {
  await requireDir(dir);
  const names = new Set<string>();
  for await (const e of Deno.readDir(dir)) names.add(e.name.toLowerCase());
  if (names.has("genres_original") || (await pathIsDir(join(dir, "Data", "genres_original")))) return "gtzan";
  if (names.has("metadata_train.csv")) return "instruments";
  if (names.has("audio") && (names.has("clusters.txt") || names.has("clusters.csv"))) return "mirex";
  return "folder";
}

/** Options of {@linkcode loadDataset}. */
export interface LoadDatasetOptions {
  /** Layout; detected when absent. */
  layout?: DatasetLayout;
  /** Seed of any subset a loader draws (instrument balancing). @default 1 */
  seed?: number;
  /** For `folder`: keep only these classes, in this order. */
  classes?: readonly string[];
}

/**
 * Loads a dataset in any supported layout.
 *
 * @param dir The dataset folder.
 * @param opts Layout, seed, class filter.
 * @returns The dataset.
 * @throws {SoundalikeError} `bad_dataset` naming the file and the rule.
 */
export async function loadDataset(dir: string, opts: LoadDatasetOptions = {}): Promise<Dataset> {
  const layout = opts.layout ?? await detectLayout(dir);
  switch (layout) {
    case "gtzan":
      return await loadGtzan(dir);
    case "instruments":
      return await loadInstruments(dir, opts.seed === undefined ? {} : { seed: opts.seed });
    case "mirex":
      return await loadMirexMood(dir);
    case "folder":
      return await loadFolderDataset(dir, opts.classes === undefined ? {} : { classes: opts.classes });
  }
}

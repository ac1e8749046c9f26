/**
 * What every dataset loader returns: labelled audio files, each belonging to a track and a group
 * (the unit a split keeps together), and the files it skipped with the reason.
 * @module
 */

/** Published layouts the loaders understand. */
export type DatasetLayout = "gtzan" | "instruments" | "mirex" | "folder";

/** The layouts, for CLI validation. */
export const DATASET_LAYOUTS: readonly DatasetLayout[] = ["gtzan", "instruments", "mirex", "folder"];

/** One labelled audio file. */
export interface DatasetItem {
  /** Absolute or working-directory-relative path of the audio file. */
  path: string;
  /** Class name, one of the dataset's `classes`. */
  label: string;
  /** Stable identifier of the recording (e.g. `blues.00012`); unique within a dataset. */
  trackId: string;
  /**
   * What a split keeps together: segments of one group never land in two splits. Usually the
   * track id; a loader may widen it (e.g. all excerpts of one recording).
   */
  group: string;
  /** Only the first this many seconds are used (the instrument dataset crops to 10 s). */
  maxSeconds?: number;
  /** Files shorter than this many seconds are skipped (known only once decoded for non-WAV files). */
  minSeconds?: number;
  /** The performing artist as published, when the dataset names one. */
  artist?: string;
  /**
   * Forces the item's group into one split (e.g. the mood set's clips by artists of the reserved
   * clips always go to the test split, so no training artist appears in the outside check).
   */
  pinnedSplit?: "test";
}

/** A file the loader did not use, and why. */
export interface SkippedFile {
  path: string;
  /** One sentence naming the rule, e.g. "shorter than 10 s (7.2 s)". */
  reason: string;
}

/** A loaded dataset. */
export interface Dataset {
  /** Human-readable name, e.g. "GTZAN". */
  name: string;
  layout: DatasetLayout;
  /** Class names in a fixed (sorted or published) order: the model's output order. */
  classes: string[];
  items: DatasetItem[];
  skipped: SkippedFile[];
  /**
   * Files reserved for an outside check and therefore left out of every split (never trained,
   * validated, tuned or tested on); listed so reports can count them.
   */
  reserved?: string[];
  /** The artists of the reserved files, as published (so other data can leave them out too). */
  reservedArtists?: string[];
}

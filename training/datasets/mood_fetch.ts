/**
 * Bringing the MIREX-like Mood Dataset in from a snapshot of the public repository that publishes it
 * (`alecrothenberg/Yearning-4-Machine-Learning`, folder `dataset/`): the audio, `clusters.txt`,
 * `categories.txt` and `dataset info.csv` are extracted from one commit (no checkout), cross-checked
 * (the cluster list against the file list and `dataset info.csv`, in order; the published counts
 * 170/164/215/191/163 for the known commit; the loader reading the result with nothing skipped),
 * and described by `provenance.json` (repository, commit, counts, each file's sha256), written last
 * so an interrupted extraction is never mistaken for a complete one.
 *
 * The output is a dataset folder for `deno task train --task emotion --data <out>`. Audio is never
 * committed to the project: the default output is the git-ignored `.cache/datasets/mirex-mood`.
 * @module
 */
import { join } from "node:path";
import { ErrorCode, type Logger, SoundalikeError, writeFileAtomic } from "../../core/mod.ts";
import {
  extractSnapshotFiles,
  openSnapshot,
  PROVENANCE_FILE,
  readProvenance,
  type SnapshotProvenance,
} from "./snapshot_extract.ts";
import { loadMirexMood, MOOD_CLUSTERS, normalizeCluster } from "./mirex.ts";
import { isReservedMoodClip, parseMoodInfo, PUBLISHED_CLUSTER_COUNTS } from "./mood_info.ts";
import { AUDIO_EXTENSIONS, extensionOf } from "./_util.ts";

/** Where the mood set is published (issue 9). */
export const MOOD_SOURCE = Object.freeze({
  repository: "alecrothenberg/Yearning-4-Machine-Learning",
  commit: "3dd2caa59207c69e799b8341ec367829ef727ce3",
  folder: "dataset",
});

export { PROVENANCE_FILE };

/** `provenance.json`. */
export interface MoodProvenance extends SnapshotProvenance {
  counts: {
    /** Audio files. */
    audio: number;
    /** Clips per cluster, cluster1..cluster5, from `clusters.txt`. */
    clusters: Record<string, number>;
    /** Clips reserved for the outside check (never trained, validated or tested on). */
    reserved: number;
    /** Clips the loader keeps for training, validation and test. */
    usable: number;
  };
}

/** Options of {@linkcode fetchMoodDataset}. */
export interface FetchMoodOptions {
  /** A clone or a bare repository (e.g. a mirror's `repo` folder). */
  from: string;
  /** Output folder. */
  out: string;
  /** @default MOOD_SOURCE.commit */
  commit?: string;
  /** Recorded in the provenance. @default MOOD_SOURCE.repository */
  repository?: string;
  /** @default MOOD_SOURCE.folder */
  folder?: string;
  /**
   * Clips per cluster the commit must hold; `undefined` skips the check. @default the published
   * counts when `commit` is {@linkcode MOOD_SOURCE}'s, otherwise none
   */
  expectedCounts?: readonly number[];
  logger?: Logger;
  /** Called after each extracted file. */
  onProgress?: (done: number, total: number) => void;
}

/** What {@linkcode fetchMoodDataset} did. */
export interface FetchMoodResult {
  provenance: MoodProvenance;
  /** `false` when a complete, verified extraction of the same commit was already there. */
  extracted: boolean;
}

const METADATA = ["clusters.txt", "categories.txt", "dataset info.csv"];

function bad(message: string): never {
  throw new SoundalikeError(ErrorCode.BadDataset, message);
}

/**
 * Extracts, cross-checks and describes the mood set (see the module doc). Re-running on a complete,
 * verified extraction of the same commit does nothing.
 *
 * @param opts Source, output, commit, expected counts.
 * @returns The provenance and whether files were written.
 * @throws {SoundalikeError} `bad_dataset` naming what does not match (missing commit or file, list
 *   lengths, order, counts, a file the loader skips), `missing_tool` without git.
 */
export async function fetchMoodDataset(opts: FetchMoodOptions): Promise<FetchMoodResult> {
  const opened = await openSnapshot<MoodProvenance>(opts, MOOD_SOURCE, "The mood set");
  if (opened.existing !== undefined) return { provenance: opened.existing, extracted: false };
  const { gitDir, commit, folder, tree, rel } = opened;
  const expected = opts.expectedCounts ??
    (commit === MOOD_SOURCE.commit ? PUBLISHED_CLUSTER_COUNTS : undefined);
  const audio = tree.filter((f) =>
    /^audio\/[^/]+$/i.test(rel(f.path)) && AUDIO_EXTENSIONS.has(extensionOf(f.path))
  );
  const meta = METADATA.map((name) => tree.find((f) => rel(f.path).toLowerCase() === name));
  if (audio.length === 0) {
    bad(`The snapshot has no audio files under ${folder}/Audio at ${commit.slice(0, 12)}`);
  }
  const [clusters, , info] = meta;
  if (clusters === undefined || info === undefined) {
    bad(`The snapshot lacks ${folder}/clusters.txt or ${folder}/dataset info.csv at ${commit.slice(0, 12)}`);
  }
  const wanted = [...audio, ...meta.filter((f) => f !== undefined)];
  const total = wanted.reduce((a, f) => a + f.size, 0);
  opts.logger?.info("Extracting the mood set", {
    from: gitDir,
    commit,
    files: wanted.length,
    megabytes: +(total / 2 ** 20).toFixed(1),
    out: opts.out,
  });

  const files = await extractSnapshotFiles(gitDir, commit, wanted, opts.out, rel, opts.onProgress);

  // Cross-checks on what was written.
  const lines = (await Deno.readTextFile(join(opts.out, rel(clusters.path)))).split(/\r?\n/)
    .map((l) => l.trim()).filter((l) => l !== "");
  const rows = parseMoodInfo(await Deno.readFile(join(opts.out, rel(info.path))));
  const names = audio.map((f) => rel(f.path).slice("audio/".length));
  if (lines.length !== names.length || rows.length !== names.length) {
    bad(
      `The snapshot does not match itself: ${names.length} audio files, ${lines.length} lines in clusters.txt, ${rows.length} rows in dataset info.csv`,
    );
  }
  rows.forEach((r, i) => {
    if (r.file !== names[i]) {
      bad(`dataset info.csv row ${r.row} names ${r.file} but the ${i + 1}th audio file is ${names[i]}`);
    }
  });
  const perCluster: Record<string, number> = Object.fromEntries(MOOD_CLUSTERS.map((c) => [c, 0]));
  lines.forEach((l, i) => {
    const c = normalizeCluster(l);
    if (c === undefined) bad(`clusters.txt line ${i + 1} names no cluster: "${l}"`);
    perCluster[c]!++;
  });
  if (expected !== undefined) {
    const got = MOOD_CLUSTERS.map((c) => perCluster[c]!);
    if (got.join() !== expected.join()) {
      bad(
        `clusters.txt counts ${got.join("/")} clips per cluster, the published set has ${expected.join("/")}`,
      );
    }
  }
  const ds = await loadMirexMood(opts.out);
  if (ds.skipped.length > 0) {
    const first = ds.skipped[0]!;
    bad(`The loader skips ${ds.skipped.length} extracted files (first: ${first.path}: ${first.reason})`);
  }
  const reserved = names.filter(isReservedMoodClip).length;
  if ((ds.reserved?.length ?? 0) !== reserved || ds.items.length + reserved !== names.length) {
    bad(
      `The loader kept ${ds.items.length} clips and reserved ${ds.reserved?.length ?? 0} of ${names.length}`,
    );
  }
  const provenance: MoodProvenance = {
    formatVersion: 1,
    dataset: "MIREX-like Mood Dataset (Panda et al. 2013)",
    repository: opts.repository ?? MOOD_SOURCE.repository,
    commit,
    folder,
    extractedAt: new Date().toISOString(),
    counts: { audio: names.length, clusters: perCluster, reserved, usable: ds.items.length },
    files,
  };
  await writeFileAtomic(join(opts.out, PROVENANCE_FILE), JSON.stringify(provenance, null, 2) + "\n");
  return { provenance, extracted: true };
}

/**
 * Reads the mood set's `provenance.json`, if the folder has one (recorded in the trained model's
 * `trainedOn`).
 *
 * @param dir A dataset folder.
 * @returns The provenance without the per-file list, or `undefined`.
 */
export async function readMoodProvenance(dir: string): Promise<Omit<MoodProvenance, "files"> | undefined> {
  return await readProvenance<MoodProvenance>(dir);
}

/**
 * GTZAN as published on Kaggle: `genres_original/<genre>/<genre>.000NN.wav`, 10 genres x 100 clips of
 * 30 s. One file of the common copy (`jazz.00054.wav`) is unreadable: it is skipped and reported, like
 * any file that fails the header check or the naming rule.
 * @module
 */
import { join } from "node:path";
import { audioFilesIn, badDataset, checkAudioFile, listDir, pathIsDir, requireDir, stem } from "./_util.ts";
import type { Dataset, DatasetItem, SkippedFile } from "./types.ts";

/** GTZAN's genres in the published order (alphabetical). */
export const GTZAN_GENRES = [
  "blues",
  "classical",
  "country",
  "disco",
  "hiphop",
  "jazz",
  "metal",
  "pop",
  "reggae",
  "rock",
] as const;

const NAME = /^([a-z]+)\.(\d{5})$/;

/**
 * Finds the genres folder: `dir` itself, `dir/genres_original`, `dir/Data/genres_original` or
 * `dir/genres` (the original tarball's name).
 */
async function genresRoot(dir: string): Promise<string> {
  for (const sub of ["genres_original", "Data/genres_original", "genres"]) {
    const p = join(dir, sub);
    if (await pathIsDir(p)) return p;
  }
  return dir;
}

/**
 * Loads GTZAN.
 *
 * @param dir The dataset folder (or its `genres_original`).
 * @returns The dataset with the 10 genres as classes.
 * @throws {SoundalikeError} `bad_dataset` when the folder is missing, a genre folder is missing, or a
 *   genre has no usable clip.
 */
export async function loadGtzan(dir: string): Promise<Dataset> {
  await requireDir(dir);
  const root = await genresRoot(dir);
  const skipped: SkippedFile[] = [];
  const items: DatasetItem[] = [];
  const present = new Set((await listDir(root)).filter((e) => e.isDirectory).map((e) => e.name));
  for (const genre of GTZAN_GENRES) {
    const gdir = join(root, genre);
    if (!present.has(genre)) {
      badDataset(`GTZAN genre folder missing: ${gdir} (expected genres_original/<genre>/<genre>.000NN.wav)`);
    }
    let kept = 0;
    for (const path of await audioFilesIn(gdir, skipped)) {
      const m = NAME.exec(stem(path));
      if (m === null) {
        skipped.push({ path, reason: "name does not follow <genre>.000NN.wav" });
        continue;
      }
      if (m[1] !== genre) {
        skipped.push({ path, reason: `mislabelled: a ${m[1]} clip in the ${genre} folder` });
        continue;
      }
      const check = await checkAudioFile(path);
      if (!check.ok) {
        skipped.push({ path, reason: check.reason });
        continue;
      }
      items.push({ path, label: genre, trackId: `${genre}.${m[2]}`, group: `${genre}.${m[2]}` });
      kept++;
    }
    if (kept === 0) badDataset(`GTZAN genre folder holds no usable clip: ${gdir}`);
  }
  for (const name of present) {
    if (!(GTZAN_GENRES as readonly string[]).includes(name)) {
      skipped.push({ path: join(root, name), reason: "not a GTZAN genre folder" });
    }
  }
  return { name: "GTZAN", layout: "gtzan", classes: [...GTZAN_GENRES], items, skipped };
}

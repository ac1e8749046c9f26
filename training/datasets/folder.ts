/**
 * Any folder-per-class dataset, `<dir>/<class>/<file>.<audio ext>`: users' own data and the
 * synthetic corpus. Classes are the sub-folder names, sorted.
 * @module
 */
import { join } from "node:path";
import { audioFilesIn, badDataset, checkAudioFile, listDir, requireDir } from "./_util.ts";
import type { Dataset, DatasetItem, SkippedFile } from "./types.ts";

/** Options of {@linkcode loadFolderDataset}. */
export interface FolderOptions {
  /** Dataset name for reports. @default the folder's name */
  name?: string;
  /** Keep only these classes, in this order (others are skipped and reported). */
  classes?: readonly string[];
}

/**
 * Loads `<dir>/<class>/*.wav|mp3|...`.
 *
 * @param dir The dataset folder.
 * @param opts Name and class filter.
 * @returns The dataset; empty, broken and non-audio files are listed in `skipped`.
 * @throws {SoundalikeError} `bad_dataset` when the folder is missing, has fewer than two class
 *   folders, or a class folder holds no usable audio file.
 */
export async function loadFolderDataset(dir: string, opts: FolderOptions = {}): Promise<Dataset> {
  await requireDir(dir);
  const skipped: SkippedFile[] = [];
  const found = new Map<string, string>();
  for (const e of await listDir(dir)) {
    const path = join(dir, e.name);
    if (e.isDirectory) found.set(e.name, path);
    else skipped.push({ path, reason: "file outside a class folder (expected <class>/<file>)" });
  }
  let classes = [...found.keys()];
  if (opts.classes !== undefined) {
    for (const c of opts.classes) {
      if (!found.has(c)) {
        badDataset(`Class folder missing: ${join(dir, c)} (expected classes ${opts.classes.join(", ")})`);
      }
    }
    for (const c of classes) {
      if (!opts.classes.includes(c)) {
        skipped.push({ path: found.get(c)!, reason: "class not used by this task" });
      }
    }
    classes = [...opts.classes];
  }
  if (classes.length < 2) {
    badDataset(
      `Dataset folder needs at least two class folders (<class>/<file>.wav): ${dir} has ${classes.length}`,
    );
  }
  const items: DatasetItem[] = [];
  for (const label of classes) {
    const classDir = found.get(label)!;
    let kept = 0;
    for (const path of await audioFilesIn(classDir, skipped)) {
      const check = await checkAudioFile(path);
      if (!check.ok) {
        skipped.push({ path, reason: check.reason });
        continue;
      }
      const name = path.slice(classDir.length + 1);
      items.push({ path, label, trackId: `${label}/${name}`, group: `${label}/${name}` });
      kept++;
    }
    if (kept === 0) badDataset(`Class folder holds no usable audio file: ${classDir}`);
  }
  return {
    name: opts.name ?? (dir.replace(/\/+$/, "").split("/").at(-1) ?? dir),
    layout: "folder",
    classes,
    items,
    skipped,
  };
}

/**
 * Musical Instrument's Sound Dataset (Kaggle) in its published layout:
 * `Train_submission/Train_submission/*.wav`, `Test_submission/Test_submission/*.wav`,
 * `Metadata_Train.csv` and `Metadata_Test.csv` with the columns `FileName,Class`, classes
 * `Sound_Guitar`, `Sound_Drum`, `Sound_Violin`, `Sound_Piano` (the test CSV spells guitar
 * `Sound_Guiatr`).
 *
 * As in the paper: files shorter than 10 s are dropped, the rest are cropped to exactly 10 s (one
 * segment), and each class is reduced to about 100 files (a seeded random subset). The published
 * train/test division is pooled; `split.ts` makes a track-level split of its own.
 * @module
 */
import { join } from "node:path";
import { parseCsv } from "../../core/mod.ts";
import { seededRandom, shuffled } from "../split.ts";
import { badDataset, checkAudioFile, extensionOf, listDir, pathIsDir, requireDir } from "./_util.ts";
import type { Dataset, DatasetItem, SkippedFile } from "./types.ts";

/** Class names used for the instrument task (the synthetic corpus uses the same). */
export const INSTRUMENT_CLASSES = ["guitar", "drum", "violin", "piano"] as const;

/** Dataset spellings (including the test CSV's typo) to class names. */
const CLASS_MAP: Readonly<Record<string, (typeof INSTRUMENT_CLASSES)[number]>> = {
  Sound_Guitar: "guitar",
  Sound_Guiatr: "guitar",
  Sound_Drum: "drum",
  Sound_Violin: "violin",
  Sound_Piano: "piano",
};

/** Options of {@linkcode loadInstruments}. */
export interface InstrumentsOptions {
  /** Files kept per class after the length filter. @default 100 */
  perClass?: number;
  /** Minimum length; also the crop length. @default 10 */
  seconds?: number;
  /** Seed of the per-class subset. @default 1 */
  seed?: number;
}

async function readMetadata(csvPath: string): Promise<{ file: string; cls: string; line: number }[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(csvPath);
  } catch (err) {
    badDataset(`Instrument metadata file not readable: ${csvPath}`, err);
  }
  let rows: string[][];
  try {
    rows = parseCsv(text, { skipEmptyLines: true, trim: true, relaxColumnCount: true });
  } catch (err) {
    badDataset(`Instrument metadata is not valid CSV: ${csvPath}`, err);
  }
  const header = rows[0]?.map((h) => h.trim());
  const fi = header?.indexOf("FileName") ?? -1, ci = header?.indexOf("Class") ?? -1;
  if (fi < 0 || ci < 0) badDataset(`Instrument metadata must have the columns FileName,Class: ${csvPath}`);
  return rows.slice(1).map((r, i) => ({ file: r[fi] ?? "", cls: r[ci] ?? "", line: i + 2 }));
}

/** The audio folder: `Train_submission/Train_submission` (Kaggle nests it) or `Train_submission`. */
async function audioDir(dir: string, name: string): Promise<string> {
  const nested = join(dir, name, name);
  if (await pathIsDir(nested)) return nested;
  const flat = join(dir, name);
  if (await pathIsDir(flat)) return flat;
  badDataset(`Instrument audio folder missing: ${nested}`);
}

/**
 * Loads the instrument dataset.
 *
 * @param dir The dataset folder (holding the two CSV files and the two audio folders).
 * @param opts Per-class count, length and seed.
 * @returns The dataset (classes guitar, drum, violin, piano); short, missing, unlisted, unknown-class
 *   and balanced-out files are listed in `skipped` with their reason.
 * @throws {SoundalikeError} `bad_dataset` when a folder or CSV is missing or malformed, or a class has
 *   no file of the required length.
 */
export async function loadInstruments(dir: string, opts: InstrumentsOptions = {}): Promise<Dataset> {
  await requireDir(dir);
  const seconds = opts.seconds ?? 10;
  const perClass = opts.perClass ?? 100;
  const skipped: SkippedFile[] = [];
  const byClass = new Map<string, DatasetItem[]>(INSTRUMENT_CLASSES.map((c) => [c, []]));
  for (
    const [csv, folder] of [["Metadata_Train.csv", "Train_submission"], [
      "Metadata_Test.csv",
      "Test_submission",
    ]]
  ) {
    const csvPath = join(dir, csv!);
    const rows = await readMetadata(csvPath);
    const audio = await audioDir(dir, folder!);
    const listed = new Set<string>();
    for (const row of rows) {
      const path = join(audio, row.file);
      const label = CLASS_MAP[row.cls];
      if (row.file === "") {
        skipped.push({ path: `${csvPath}:${row.line}`, reason: "metadata row without a file name" });
        continue;
      }
      listed.add(row.file);
      if (label === undefined) {
        skipped.push({ path, reason: `unknown class "${row.cls}" in ${csv} line ${row.line}` });
        continue;
      }
      const check = await checkAudioFile(path);
      if (!check.ok) {
        skipped.push({ path, reason: check.reason });
        continue;
      }
      if (check.seconds !== undefined && check.seconds < seconds) {
        skipped.push({ path, reason: `shorter than ${seconds} s (${check.seconds.toFixed(1)} s)` });
        continue;
      }
      const trackId = `${folder}/${row.file}`;
      byClass.get(label)!.push({
        path,
        label,
        trackId,
        group: trackId,
        maxSeconds: seconds,
        minSeconds: seconds,
      });
    }
    for (const e of await listDir(audio)) {
      if (e.isFile && !listed.has(e.name) && extensionOf(e.name) === ".wav") {
        skipped.push({ path: join(audio, e.name), reason: `not listed in ${csv}` });
      }
    }
  }
  const random = seededRandom(opts.seed ?? 1);
  const items: DatasetItem[] = [];
  for (const label of INSTRUMENT_CLASSES) {
    const list = byClass.get(label)!;
    if (list.length === 0) {
      badDataset(`Instrument class ${label} has no file of at least ${seconds} s in ${dir}`);
    }
    const chosen = shuffled(list, random);
    for (const it of chosen.slice(perClass)) {
      skipped.push({ path: it.path, reason: `class balancing: ${label} capped at ${perClass} files` });
    }
    items.push(...chosen.slice(0, perClass).sort((a, b) => (a.trackId < b.trackId ? -1 : 1)));
  }
  return {
    name: "Musical Instrument's Sound Dataset",
    layout: "instruments",
    classes: [...INSTRUMENT_CLASSES],
    items,
    skipped,
  };
}

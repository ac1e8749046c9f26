/**
 * Helpers shared by the loaders: listing audio files, cheap validity checks, dataset errors.
 * @module
 */
import { join } from "node:path";
import { ErrorCode, SoundalikeError } from "../../core/mod.ts";
import { readWavInfo } from "./wav_header.ts";
import type { DatasetItem, SkippedFile } from "./types.ts";

/** File extensions treated as audio (ffmpeg reads them all). */
export const AUDIO_EXTENSIONS: ReadonlySet<string> = new Set([
  ".wav",
  ".mp3",
  ".flac",
  ".ogg",
  ".oga",
  ".opus",
  ".m4a",
  ".aac",
  ".aif",
  ".aiff",
  ".au",
  ".wma",
]);

/** Shortest clip the product accepts (core's `MIN_CLIP_SECONDS`). */
export const MIN_SECONDS = 3;

/** Lower-case extension with the dot, or "". */
export function extensionOf(name: string): string {
  const i = name.lastIndexOf(".");
  return i <= 0 ? "" : name.slice(i).toLowerCase();
}

/** Throws `bad_dataset` with `message`. */
export function badDataset(message: string, cause?: unknown): never {
  throw new SoundalikeError(ErrorCode.BadDataset, message, cause === undefined ? undefined : { cause });
}

/** Throws `bad_dataset` unless `dir` is an existing directory. */
export async function requireDir(dir: string, what = "Dataset folder"): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(dir);
  } catch (err) {
    badDataset(`${what} not found: ${dir}`, err);
  }
  if (!info.isDirectory) badDataset(`${what} is not a directory: ${dir}`);
}

/** Entries of a directory sorted by name, hidden files left out. */
export async function listDir(dir: string): Promise<Deno.DirEntry[]> {
  const out: Deno.DirEntry[] = [];
  for await (const e of Deno.readDir(dir)) if (!e.name.startsWith(".")) out.push(e);
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Result of {@linkcode checkAudioFile}: usable (with a duration when cheaply known) or a reason. */
export type FileCheck = { ok: true; seconds?: number } | { ok: false; reason: string };

/**
 * Cheap validity check without decoding: a WAV header is parsed (empty, non-RIFF, truncated headers
 * and clips under {@linkcode MIN_SECONDS} are rejected); other formats only need a non-empty file.
 * Files that pass can still fail to decode; feature extraction skips and reports those.
 *
 * @param path The file.
 * @returns Whether to keep it.
 */
export async function checkAudioFile(path: string): Promise<FileCheck> {
  let size: number;
  try {
    size = (await Deno.stat(path)).size;
  } catch {
    return { ok: false, reason: "file not found" };
  }
  if (size === 0) return { ok: false, reason: "empty file" };
  if (extensionOf(path) !== ".wav") return { ok: true };
  const info = await readWavInfo(path);
  if (typeof info === "string") return { ok: false, reason: `unreadable WAV: ${info}` };
  if (info.seconds < MIN_SECONDS) {
    return { ok: false, reason: `shorter than ${MIN_SECONDS} s (${info.seconds.toFixed(1)} s)` };
  }
  return { ok: true, seconds: info.seconds };
}

/**
 * Audio files directly inside `dir`, sorted; other files are reported as skipped.
 *
 * @param dir The folder.
 * @param skipped Receives non-audio files.
 * @returns Paths of the audio files.
 */
export async function audioFilesIn(dir: string, skipped: SkippedFile[]): Promise<string[]> {
  const out: string[] = [];
  for (const e of await listDir(dir)) {
    const path = join(dir, e.name);
    if (!e.isFile) {
      if (e.isDirectory) skipped.push({ path, reason: "nested folder ignored" });
      continue;
    }
    if (AUDIO_EXTENSIONS.has(extensionOf(e.name))) out.push(path);
    else skipped.push({ path, reason: `not an audio file extension (${extensionOf(e.name) || "none"})` });
  }
  return out;
}

/** Name without directory and extension. */
export function stem(path: string): string {
  const base = path.slice(path.lastIndexOf("/") + 1);
  const i = base.lastIndexOf(".");
  return i <= 0 ? base : base.slice(0, i);
}

/** Whether `path` is an existing directory. */
export async function pathIsDir(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
  }
}

/**
 * Refuses a dataset in which a class kept fewer than `min` usable items, naming the class and how
 * many of its files were skipped, so a damaged download never silently shrinks a class to nothing.
 *
 * @param items The usable items.
 * @param classes Every class the task needs.
 * @param min Fewest items per class.
 * @param skipped The skipped files (counted in the message).
 * @throws {SoundalikeError} `bad_dataset` naming every class below `min`.
 */
export function requireClassSizes(
  items: readonly Pick<DatasetItem, "label">[],
  classes: readonly string[],
  min: number,
  skipped: readonly SkippedFile[] = [],
): void {
  const counts = new Map(classes.map((c) => [c, 0]));
  for (const it of items) counts.set(it.label, (counts.get(it.label) ?? 0) + 1);
  const small = classes.filter((c) => counts.get(c)! < min);
  if (small.length > 0) {
    badDataset(
      `Too few usable clips in ${
        small.map((c) => `${c} (${counts.get(c)})`).join(", ")
      }: each class needs at least ${min} (${skipped.length} files skipped in all; see the skipped list)`,
    );
  }
}

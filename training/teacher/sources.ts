/**
 * The real recordings a teacher labels beside the mood set: every audio file under a folder (e.g.
 * `../shared/data`), in a stable order.
 * @module
 */
import { join, relative } from "node:path";
import type { DatasetItem } from "../datasets/types.ts";

/** Extensions read as audio. */
export const AUDIO_EXTENSIONS: readonly string[] = [".mp3", ".ogg", ".wav", ".flac", ".m4a", ".opus"];

/**
 * Every audio file under `dir`, sorted.
 *
 * @param dir The folder.
 * @returns Paths.
 */
export async function listAudioFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      const p = join(d, e.name);
      if (e.isDirectory) await walk(p);
      else if (e.isFile && AUDIO_EXTENSIONS.some((x) => e.name.toLowerCase().endsWith(x))) out.push(p);
    }
  };
  await walk(dir);
  return out.sort();
}

/**
 * Every audio file under `dir` as an unlabelled training item (label `unlabelled`; the teacher
 * labels it), its path relative to `dir` as track id and group.
 *
 * @param dir The folder.
 * @returns The items, sorted by path.
 */
export async function folderItems(dir: string): Promise<DatasetItem[]> {
  return (await listAudioFiles(dir)).map((path) => {
    const id = relative(dir, path);
    return { path, label: "unlabelled", trackId: `shared:${id}`, group: `shared:${id}` };
  });
}

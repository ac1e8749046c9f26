/**
 * The MIREX-like Mood Dataset (Panda et al. 2013: 903 clips of 30 s in 5 clusters), in either of two
 * layouts:
 *
 * - its published form: an audio folder (`Audio/`, any case) and a per-clip cluster list
 *   (`clusters.txt`): either one cluster per line in the order of the sorted audio files (as
 *   published), or `<file>,<cluster>` / `<file>\t<cluster>` lines;
 * - folder-per-class: `<dir>/Cluster 1/…`, `<dir>/cluster2/…`, …
 *
 * Cluster names such as `Cluster 1`, `cluster1` or `1` all become `cluster1`.
 * @module
 */
import { join } from "node:path";
import { loadFolderDataset } from "./folder.ts";
import { audioFilesIn, badDataset, checkAudioFile, listDir, requireDir, stem } from "./_util.ts";
import type { Dataset, DatasetItem, SkippedFile } from "./types.ts";

/** The five mood clusters, as class names. */
export const MOOD_CLUSTERS = ["cluster1", "cluster2", "cluster3", "cluster4", "cluster5"] as const;

/**
 * Normalises a cluster name.
 *
 * @param raw `Cluster 1`, `cluster_1`, `1`, …
 * @returns `cluster1`..`cluster5`, or `undefined` when it names no cluster.
 */
export function normalizeCluster(raw: string): string | undefined {
  const m = /^\s*(?:cluster)?[\s_-]*([1-5])\s*$/i.exec(raw);
  return m ? `cluster${m[1]}` : undefined;
}

/**
 * Loads the mood dataset.
 *
 * @param dir The dataset folder.
 * @returns The dataset with classes cluster1..cluster5.
 * @throws {SoundalikeError} `bad_dataset` when neither layout is found, the cluster list does not match
 *   the audio files, or a cluster has no clip.
 */
export async function loadMirexMood(dir: string): Promise<Dataset> {
  await requireDir(dir);
  const entries = await listDir(dir);
  const audioEntry = entries.find((e) => e.isDirectory && e.name.toLowerCase() === "audio");
  const listEntry = entries.find((e) => e.isFile && /^clusters?\.(txt|csv|tsv)$/i.test(e.name));
  if (audioEntry === undefined || listEntry === undefined) {
    const classDirs = entries.filter((e) => e.isDirectory && normalizeCluster(e.name) !== undefined);
    if (classDirs.length === 0) {
      badDataset(`Mood dataset needs Audio/ and clusters.txt, or one folder per cluster: ${dir}`);
    }
    const ds = await loadFolderDataset(dir, { name: "MIREX-like Mood (folders)" });
    const items = ds.items.map((it) => ({ ...it, label: normalizeCluster(it.label)! }));
    const skipped = [...ds.skipped];
    const kept = items.filter((it) => {
      if (it.label !== undefined) return true;
      skipped.push({ path: it.path, reason: "folder is not a mood cluster" });
      return false;
    });
    return finish(ds.name, kept, skipped);
  }
  const audioDir = join(dir, audioEntry.name);
  const listPath = join(dir, listEntry.name);
  const skipped: SkippedFile[] = [];
  const files = await audioFilesIn(audioDir, skipped);
  const lines = (await Deno.readTextFile(listPath)).split(/\r?\n/).map((l) => l.trim()).filter((l) =>
    l !== ""
  );
  const pairs: { path: string; cluster: string; line: number }[] = [];
  const twoColumn = lines.every((l) => /[,\t]/.test(l));
  if (twoColumn) {
    const byStem = new Map(files.map((f) => [stem(f), f]));
    lines.forEach((l, i) => {
      const [file = "", cluster = ""] = l.split(/[,\t]/).map((s) => s.trim());
      if (i === 0 && normalizeCluster(cluster) === undefined) return; // header row
      const path = byStem.get(stem(file));
      if (path === undefined) {
        skipped.push({ path: join(audioDir, file), reason: `listed in ${listEntry.name} but missing` });
      } else pairs.push({ path, cluster, line: i + 1 });
    });
  } else {
    if (lines.length !== files.length) {
      badDataset(
        `Mood cluster list has ${lines.length} lines for ${files.length} audio files: ${listPath} (one cluster per file, in file order)`,
      );
    }
    files.forEach((path, i) => pairs.push({ path, cluster: lines[i]!, line: i + 1 }));
  }
  const items: DatasetItem[] = [];
  for (const p of pairs) {
    const label = normalizeCluster(p.cluster);
    if (label === undefined) {
      skipped.push({
        path: p.path,
        reason: `unknown cluster "${p.cluster}" at ${listEntry.name} line ${p.line}`,
      });
      continue;
    }
    const check = await checkAudioFile(p.path);
    if (!check.ok) {
      skipped.push({ path: p.path, reason: check.reason });
      continue;
    }
    const trackId = stem(p.path);
    items.push({ path: p.path, label, trackId, group: trackId });
  }
  return finish("MIREX-like Mood", items, skipped);
}

function finish(name: string, items: DatasetItem[], skipped: SkippedFile[]): Dataset {
  for (const c of MOOD_CLUSTERS) {
    if (!items.some((it) => it.label === c)) badDataset(`Mood dataset has no usable clip in ${c}`);
  }
  return { name, layout: "mirex", classes: [...MOOD_CLUSTERS], items, skipped };
}

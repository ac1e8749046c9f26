/**
 * The MIREX-like Mood Dataset (Panda et al. 2013: 903 clips of 30 s in 5 clusters), in either of two
 * layouts:
 *
 * - its published form: an audio folder (`Audio/`, any case), a per-clip cluster list
 *   (`clusters.txt`: one cluster per line in the order of the files, as published, or
 *   `<file>,<cluster>` / `<file>\t<cluster>` lines) and, when present, `dataset info.csv` naming
 *   each row's file, title and artist;
 * - folder-per-class: `<dir>/Cluster 1/…`, `<dir>/cluster2/…`, …
 *
 * Cross-checks (published form): with `dataset info.csv`, the cluster list must have one line per
 * row and the rows must name the files in ascending order (the order `clusters.txt` follows); a
 * file a row names but the download lacks is skipped and reported, as is an audio file no row
 * names. Without it, the list must have exactly one line per audio file.
 *
 * Rules: the clips reserved for an outside check (010, 020, …, 900) are left out of every split and
 * listed in `reserved`; items are grouped by artist (so no artist is in two splits), and the clips of
 * artists who also have a reserved clip are pinned to the test split, so no training artist is in the
 * outside check. A clip that decodes to less than {@linkcode MOOD_MIN_SECONDS} (e.g. a truncated MP3)
 * is skipped at feature extraction.
 *
 * Cluster names such as `Cluster 1`, `cluster1` or `1` all become `cluster1`.
 * @module
 */
import { join } from "node:path";
import { loadFolderDataset } from "./folder.ts";
import {
  audioFilesIn,
  badDataset,
  checkAudioFile,
  listDir,
  requireClassSizes,
  requireDir,
  stem,
} from "./_util.ts";
import { artistKey, isReservedMoodClip, type MoodInfoRow, parseMoodInfo } from "./mood_info.ts";
import type { Dataset, DatasetItem, SkippedFile } from "./types.ts";

/** The five mood clusters, as class names. */
export const MOOD_CLUSTERS = ["cluster1", "cluster2", "cluster3", "cluster4", "cluster5"] as const;

/** Clips are 30 s (a few 27-29 s); one that decodes shorter than this is damaged and skipped. */
export const MOOD_MIN_SECONDS = 20;

/** Fewest usable clips a cluster may keep before the dataset is refused. */
export const MOOD_MIN_PER_CLUSTER = 3;

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

/** Options of {@linkcode loadMirexMood}. */
export interface MirexOptions {
  /** Clips decoding shorter than this are skipped. @default MOOD_MIN_SECONDS */
  minSeconds?: number;
}

/**
 * Loads the mood dataset.
 *
 * @param dir The dataset folder.
 * @param opts Minimum clip length.
 * @returns The dataset with classes cluster1..cluster5, reserved clips listed apart.
 * @throws {SoundalikeError} `bad_dataset` when neither layout is found, the cluster list does not match
 *   the audio files or `dataset info.csv`, or a cluster keeps fewer than
 *   {@linkcode MOOD_MIN_PER_CLUSTER} usable clips.
 */
export async function loadMirexMood(dir: string, opts: MirexOptions = {}): Promise<Dataset> {
  const minSeconds = opts.minSeconds ?? MOOD_MIN_SECONDS;
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
    const skipped = [...ds.skipped];
    const kept: DatasetItem[] = [];
    for (const it of ds.items) {
      const label = normalizeCluster(it.label);
      if (label === undefined) skipped.push({ path: it.path, reason: "folder is not a mood cluster" });
      else kept.push({ ...it, label, trackId: stem(it.path), group: stem(it.path), minSeconds });
    }
    return finish(ds.name, kept, skipped);
  }
  const audioDir = join(dir, audioEntry.name);
  const listName = listEntry.name;
  const skipped: SkippedFile[] = [];
  const files = await audioFilesIn(audioDir, skipped);
  const lines = (await Deno.readTextFile(join(dir, listName))).split(/\r?\n/).map((l) => l.trim())
    .filter((l) => l !== "");
  const infoEntry = entries.find((e) => e.isFile && /^dataset[ _]info\.csv$/i.test(e.name));
  const info = infoEntry === undefined
    ? undefined
    : parseMoodInfo(await Deno.readFile(join(dir, infoEntry.name)), infoEntry.name);

  const pairs: { path: string; cluster: string; line: number; info?: MoodInfoRow }[] = [];
  const twoColumn = lines.every((l) => /[,\t]/.test(l));
  if (twoColumn) {
    const byStem = new Map(files.map((f) => [stem(f), f]));
    lines.forEach((l, i) => {
      const [file = "", cluster = ""] = l.split(/[,\t]/).map((s) => s.trim());
      if (i === 0 && normalizeCluster(cluster) === undefined) return; // header row
      const path = byStem.get(stem(file));
      if (path === undefined) {
        skipped.push({ path: join(audioDir, file), reason: `listed in ${listName} but missing` });
      } else pairs.push({ path, cluster, line: i + 1 });
    });
  } else if (info !== undefined) {
    const infoName = infoEntry!.name;
    if (lines.length !== info.length) {
      badDataset(
        `${listName} has ${lines.length} lines but ${infoName} describes ${info.length} clips: the cluster list does not match the clips (${dir})`,
      );
    }
    const seen = new Set<string>();
    info.forEach((row, i) => {
      if (seen.has(row.file)) badDataset(`${infoName} row ${row.row} names ${row.file} a second time`);
      seen.add(row.file);
      const prev = info[i - 1];
      if (prev !== undefined && !(prev.file < row.file)) {
        badDataset(
          `${infoName} rows are not in file order (row ${row.row} names ${row.file} after ${prev.file}), so ${listName}'s order is ambiguous`,
        );
      }
    });
    const byName = new Map(files.map((f) => [f.slice(audioDir.length + 1), f]));
    info.forEach((row, i) => {
      const path = byName.get(row.file);
      if (path === undefined) {
        skipped.push({
          path: join(audioDir, row.file),
          reason: `named by ${infoName} row ${row.row} but missing from ${audioEntry.name}/`,
        });
      } else pairs.push({ path, cluster: lines[i]!, line: i + 1, info: row });
    });
    for (const [name, path] of byName) {
      if (!seen.has(name)) skipped.push({ path, reason: `not described by ${infoName}` });
    }
    pairs.sort((a, b) => (a.path < b.path ? -1 : 1));
  } else {
    if (lines.length !== files.length) {
      badDataset(
        `Mood cluster list has ${lines.length} lines for ${files.length} audio files: ${
          join(dir, listName)
        } (one cluster per file, in file order)`,
      );
    }
    files.forEach((path, i) => pairs.push({ path, cluster: lines[i]!, line: i + 1 }));
  }
  const items: DatasetItem[] = [];
  for (const p of pairs) {
    const label = normalizeCluster(p.cluster);
    if (label === undefined) {
      skipped.push({ path: p.path, reason: `unknown cluster "${p.cluster}" at ${listName} line ${p.line}` });
      continue;
    }
    const check = await checkAudioFile(p.path);
    if (!check.ok) {
      skipped.push({ path: p.path, reason: check.reason });
      continue;
    }
    const trackId = stem(p.path);
    const artist = p.info?.artist;
    items.push({
      path: p.path,
      label,
      trackId,
      group: trackId,
      minSeconds,
      ...(artist ? { artist } : {}),
    });
  }
  return finish("MIREX-like Mood", items, skipped);
}

/**
 * Sets aside the reserved clips, groups by artist, pins the reserved artists' other clips to the test
 * split and checks that every cluster keeps enough clips.
 */
function finish(name: string, all: DatasetItem[], skipped: SkippedFile[]): Dataset {
  const reserved = all.filter((it) => isReservedMoodClip(it.path));
  const reservedArtists = new Set(reserved.map((it) => artistKey(it.artist ?? "")).filter((a) => a));
  const items = all.filter((it) => !isReservedMoodClip(it.path)).map((it) => {
    const key = artistKey(it.artist ?? "");
    if (key === undefined) return it;
    return {
      ...it,
      group: `artist:${key}`,
      ...(reservedArtists.has(key) ? { pinnedSplit: "test" as const } : {}),
    };
  });
  requireClassSizes(items, MOOD_CLUSTERS, MOOD_MIN_PER_CLUSTER, skipped);
  return {
    name,
    layout: "mirex",
    classes: [...MOOD_CLUSTERS],
    items,
    skipped,
    reserved: reserved.map((it) => it.path),
    reservedArtists: [...new Set(reserved.flatMap((it) => (it.artist ? [it.artist] : [])))],
  };
}

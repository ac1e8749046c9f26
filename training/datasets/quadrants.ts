/**
 * The 4Q Audio Emotion Dataset (Panda, Malheiro & Paiva 2018, "Novel audio features for music emotion
 * recognition", IEEE TAFFC): 900 ~30 s AllMusic clips, 225 in each quadrant of Russell's plane (Q1
 * arousal+ valence+, Q2 arousal+ valence-, Q3 arousal- valence-, Q4 arousal- valence+), with a metadata
 * CSV naming each clip's artist and title.
 *
 * Its quadrants are not the mood set's five clusters, so it is never a second source of cluster labels:
 * `distill --task emotion --aux <dir>` trains the emotion CNN's embedding on it through a second,
 * unexported head (multi-task), training split only. Clips by an artist of the mood set's validation,
 * test or reserved clips are dropped there (`dropHeldOutArtists`), so no held-out artist is heard. As an
 * `--extra` folder of the genre or instrument student the clips are real audio the teacher labels (their
 * quadrants unused), with the same artists dropped.
 *
 * Brought in like the mood set: `deno task fetch-4q --from <snapshot>` extracts `Q1`..`Q4` and the
 * metadata from one commit of a public repository that holds a copy, checks the counts and the
 * metadata against the folders, and writes `provenance.json` last. Audio is never committed.
 * @module
 */
import { join } from "node:path";
import { ErrorCode, type Logger, parseCsv, SoundalikeError, writeFileAtomic } from "../../core/mod.ts";
import { artistKey } from "./mood_info.ts";
import {
  extractSnapshotFiles,
  openSnapshot,
  PROVENANCE_FILE,
  type SnapshotProvenance,
} from "./snapshot_extract.ts";
import { AUDIO_EXTENSIONS, checkAudioFile, extensionOf, requireDir, stem } from "./_util.ts";
import type { Dataset, DatasetItem, SkippedFile } from "./types.ts";

/** The quadrants, the auxiliary head's classes. */
export const QUADRANTS = ["Q1", "Q2", "Q3", "Q4"] as const;

/** Clips per quadrant in the published set. */
export const PUBLISHED_QUADRANT_COUNT = 225;

/** The metadata file (columns Song, Artist, Title, Quadrant, ...) in the output folder. */
export const QUADRANT_METADATA = "metadata.csv";

/**
 * Where a copy is published: a course repository that committed the dataset's folders unchanged
 * (900 mp3 files, 225 per quadrant, and the authors' metadata and readme). No licence is stated; the
 * clips are AllMusic previews the authors distribute for research.
 */
export const QUADRANT_SOURCE = Object.freeze({
  repository: "Famelgas/MULT_TP2",
  commit: "24534942b95febba48fc72f7fe6aa2d1013c4939",
  folder: "Dataset",
  licence: "none stated (AllMusic previews distributed by the dataset's authors for research)",
});

/** `provenance.json` of an extracted copy. */
export interface QuadrantProvenance extends SnapshotProvenance {
  licence: string;
  counts: { audio: number; quadrants: Record<string, number> };
}

/** Options of {@linkcode fetchQuadrants}. */
export interface FetchQuadrantsOptions {
  /** A clone or a bare repository (e.g. a mirror's `repo` folder). */
  from: string;
  out: string;
  /** @default QUADRANT_SOURCE.commit */
  commit?: string;
  /** Recorded in the provenance. @default QUADRANT_SOURCE.repository */
  repository?: string;
  /** @default QUADRANT_SOURCE.folder */
  folder?: string;
  /** Clips each quadrant must hold. @default PUBLISHED_QUADRANT_COUNT for the known commit, else none */
  expectedPerQuadrant?: number;
  logger?: Logger;
  onProgress?: (done: number, total: number) => void;
}

function bad(message: string): never {
  throw new SoundalikeError(ErrorCode.BadDataset, message);
}

/** One metadata row: clip id (the file's stem), artist, title, quadrant. */
interface QuadrantRow {
  song: string;
  artist: string;
  title: string;
  quadrant: string;
}

/**
 * Reads the metadata CSV.
 *
 * @param text The CSV text.
 * @param name The file, for messages.
 * @returns One row per clip.
 * @throws {SoundalikeError} `bad_dataset` when a column is missing or a quadrant is unknown.
 */
export function parseQuadrantMetadata(text: string, name = QUADRANT_METADATA): QuadrantRow[] {
  const records = parseCsv(text, { columns: true, skipEmptyLines: true });
  return records.map((r, i) => {
    const song = r["Song"]?.trim(), artist = r["Artist"]?.trim() ?? "", quadrant = r["Quadrant"]?.trim();
    if (!song || quadrant === undefined) bad(`${name} row ${i + 2} lacks Song or Quadrant`);
    if (!(QUADRANTS as readonly string[]).includes(quadrant)) {
      bad(`${name} row ${i + 2}: unknown quadrant "${quadrant}" (expected ${QUADRANTS.join(", ")})`);
    }
    return { song, artist, title: r["Title"]?.trim() ?? "", quadrant };
  });
}

/**
 * Extracts, cross-checks and describes a copy of the 4Q dataset (see the module doc). Re-running on a
 * complete, verified extraction of the same commit does nothing.
 *
 * @param opts Source, output, commit, expected counts.
 * @returns The provenance and whether files were written.
 * @throws {SoundalikeError} `bad_dataset` naming what does not match (no audio or metadata, counts,
 *   a clip without a metadata row or in another quadrant's folder), `missing_tool` without git.
 */
export async function fetchQuadrants(
  opts: FetchQuadrantsOptions,
): Promise<{ provenance: QuadrantProvenance; extracted: boolean }> {
  const opened = await openSnapshot<QuadrantProvenance>(opts, QUADRANT_SOURCE, "The 4Q dataset");
  if (opened.existing !== undefined) return { provenance: opened.existing, extracted: false };
  const { gitDir, commit, folder, tree, rel } = opened;
  const expected = opts.expectedPerQuadrant ??
    (commit === QUADRANT_SOURCE.commit ? PUBLISHED_QUADRANT_COUNT : undefined);
  const audio = tree.filter((f) =>
    /^Q[1-4]\/[^/]+$/.test(rel(f.path)) && AUDIO_EXTENSIONS.has(extensionOf(f.path))
  );
  const meta = tree.find((f) => /metadata\.csv$/i.test(rel(f.path)) && !rel(f.path).includes("/"));
  if (audio.length === 0) bad(`The snapshot has no audio under ${folder}/Q1..Q4 at ${commit.slice(0, 12)}`);
  if (meta === undefined) bad(`The snapshot has no ${folder}/*metadata.csv at ${commit.slice(0, 12)}`);
  opts.logger?.info("Extracting the 4Q dataset", {
    from: gitDir,
    commit,
    files: audio.length + 1,
    out: opts.out,
  });
  const files = await extractSnapshotFiles(
    gitDir,
    commit,
    [...audio, meta],
    opts.out,
    (p) => (p === meta.path ? QUADRANT_METADATA : rel(p)),
    opts.onProgress,
  );
  // Cross-checks: every clip has a row naming its folder's quadrant, and the counts are the published ones.
  const rows = new Map(
    parseQuadrantMetadata(await Deno.readTextFile(join(opts.out, QUADRANT_METADATA))).map((r) => [r.song, r]),
  );
  const perQuadrant: Record<string, number> = Object.fromEntries(QUADRANTS.map((q) => [q, 0]));
  for (const f of audio) {
    const [q, name] = rel(f.path).split("/") as [string, string];
    const row = rows.get(stem(name));
    if (row === undefined) bad(`${folder}/${q}/${name} has no row in the metadata`);
    if (row.quadrant !== q) bad(`${folder}/${q}/${name} is in ${q} but the metadata says ${row.quadrant}`);
    perQuadrant[q]!++;
  }
  if (expected !== undefined && QUADRANTS.some((q) => perQuadrant[q] !== expected)) {
    bad(
      `The quadrants hold ${
        QUADRANTS.map((q) => perQuadrant[q]).join("/")
      } clips, the published set ${expected} each`,
    );
  }
  const provenance: QuadrantProvenance = {
    formatVersion: 1,
    dataset: "4Q Audio Emotion Dataset (Panda, Malheiro & Paiva 2018)",
    repository: opts.repository ?? QUADRANT_SOURCE.repository,
    commit,
    folder,
    licence: QUADRANT_SOURCE.licence,
    extractedAt: new Date().toISOString(),
    counts: { audio: audio.length, quadrants: perQuadrant },
    files,
  };
  await writeFileAtomic(join(opts.out, PROVENANCE_FILE), JSON.stringify(provenance, null, 2) + "\n");
  return { provenance, extracted: true };
}

/**
 * Whether a folder holds an extracted copy (its metadata file and the four quadrant folders).
 *
 * @param dir A folder.
 * @returns `true` when `metadata.csv` and `Q1`..`Q4` are there.
 */
export async function isQuadrantFolder(dir: string): Promise<boolean> {
  for (const name of [QUADRANT_METADATA, ...QUADRANTS]) {
    try {
      await Deno.stat(join(dir, name));
    } catch {
      return false;
    }
  }
  return true;
}

/**
 * Loads an extracted copy: every clip of `Q1`..`Q4` with its metadata row, grouped by artist.
 *
 * @param dir The folder `fetchQuadrants` wrote.
 * @returns The dataset (classes Q1..Q4); clips without a row or unreadable are in `skipped`.
 * @throws {SoundalikeError} `bad_dataset` when the folder or the metadata is missing, naming the fix.
 */
export async function loadQuadrants(dir: string): Promise<Dataset> {
  await requireDir(dir, "4Q dataset folder");
  let text: string;
  try {
    text = await Deno.readTextFile(join(dir, QUADRANT_METADATA));
  } catch {
    bad(
      `${join(dir, QUADRANT_METADATA)} is missing: run \`deno task fetch-4q --from <snapshot> --out ${dir}\``,
    );
  }
  const rows = new Map(parseQuadrantMetadata(text, join(dir, QUADRANT_METADATA)).map((r) => [r.song, r]));
  const items: DatasetItem[] = [];
  const skipped: SkippedFile[] = [];
  for (const q of QUADRANTS) {
    const names: string[] = [];
    try {
      for await (const e of Deno.readDir(join(dir, q))) {
        if (e.isFile && AUDIO_EXTENSIONS.has(extensionOf(e.name))) names.push(e.name);
      }
    } catch {
      bad(`${join(dir, q)} is missing: run \`deno task fetch-4q --from <snapshot> --out ${dir}\``);
    }
    for (const name of names.sort()) {
      const path = join(dir, q, name);
      const row = rows.get(stem(name));
      if (row === undefined || row.quadrant !== q) {
        skipped.push({
          path,
          reason: row === undefined ? "no metadata row" : `the metadata says ${row.quadrant}`,
        });
        continue;
      }
      const check = await checkAudioFile(path);
      if (!check.ok) {
        skipped.push({ path, reason: check.reason });
        continue;
      }
      const key = artistKey(row.artist);
      const trackId = `4q:${stem(name)}`;
      items.push({
        path,
        label: q,
        trackId,
        group: key === undefined ? trackId : `artist:${key}`,
        ...(row.artist ? { artist: row.artist } : {}),
      });
    }
  }
  return { name: "4Q Audio Emotion", layout: "folder", classes: [...QUADRANTS], items, skipped };
}

/**
 * Drops the clips by artists of the given (held-out) items, so a model trained on the rest never hears
 * an artist it is validated or tested on.
 *
 * @param items Auxiliary clips.
 * @param heldOut The mood set's validation, test and reserved clips (their `artist`).
 * @returns The clips kept and how many were dropped.
 * @example
 * ```ts
 * import { dropHeldOutArtists } from "./quadrants.ts";
 * const it = (artist: string) => ({ path: artist, label: "Q1", trackId: artist, group: artist, artist });
 * const r = dropHeldOutArtists([it("Bob Dylan"), it("Nina Simone")], [{ artist: "Dylan, Bob" }]);
 * console.assert(r.kept.length === 1 && r.dropped === 1);
 * ```
 */
export function dropHeldOutArtists(
  items: readonly DatasetItem[],
  heldOut: readonly { artist?: string }[],
): { kept: DatasetItem[]; dropped: number } {
  const artists = new Set(heldOut.map((it) => artistKey(it.artist ?? "")).filter((a) => a !== undefined));
  const kept = items.filter((it) => !artists.has(artistKey(it.artist ?? "") ?? "\0"));
  return { kept, dropped: items.length - kept.length };
}

/**
 * Extracting a dataset's files from one commit of a git snapshot into a folder, with a
 * `provenance.json` that lists every file's size, sha256 and blob id. The provenance is written last
 * (by the caller, once its cross-checks pass), so an interrupted extraction is never mistaken for a
 * complete one; a complete one whose files still match is recognised and left alone.
 * @module
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { type Logger, sha256File, writeFileAtomic } from "../../core/mod.ts";
import { type GitTreeFile, listTree, readFiles, resolveCommit, resolveGitDir } from "./git_snapshot.ts";

/** The name of the provenance file in an extracted dataset folder. */
export const PROVENANCE_FILE = "provenance.json";

/** One extracted file, as listed in `provenance.json`. */
export interface ExtractedFile {
  /** Path relative to the output folder. */
  path: string;
  bytes: number;
  sha256: string;
  blob: string;
}

/** What every dataset's `provenance.json` holds (each dataset adds its own counts). */
export interface SnapshotProvenance {
  formatVersion: 1;
  dataset: string;
  repository: string;
  commit: string;
  folder: string;
  extractedAt: string;
  files: ExtractedFile[];
}

/**
 * The provenance of `out` when it holds a complete extraction of `commit` whose files all still have
 * their recorded size and sha256.
 *
 * @param out The dataset folder.
 * @param commit The commit wanted.
 * @returns The provenance, or `undefined` (missing, another commit, a file changed or gone).
 */
export async function verifiedExtraction<P extends SnapshotProvenance>(
  out: string,
  commit: string,
): Promise<P | undefined> {
  let prov: P;
  try {
    prov = JSON.parse(await Deno.readTextFile(join(out, PROVENANCE_FILE)));
  } catch {
    return undefined;
  }
  if (prov.commit !== commit || !Array.isArray(prov.files)) return undefined;
  for (const f of prov.files) {
    try {
      if ((await Deno.stat(join(out, f.path))).size !== f.bytes) return undefined;
      if (await sha256File(join(out, f.path)) !== f.sha256) return undefined;
    } catch {
      return undefined;
    }
  }
  return prov;
}

/**
 * Writes `files` of `commit` under `out` (each at `rel(path)`), after removing any old provenance.
 *
 * @param gitDir The snapshot's git directory.
 * @param commit The commit.
 * @param files The tree entries to extract.
 * @param out The output folder.
 * @param rel Where a repository path goes, relative to `out`.
 * @param onProgress Called after each file.
 * @returns The extracted files, sorted by path (for the provenance).
 */
export async function extractSnapshotFiles(
  gitDir: string,
  commit: string,
  files: readonly GitTreeFile[],
  out: string,
  rel: (path: string) => string,
  onProgress?: (done: number, total: number) => void,
): Promise<ExtractedFile[]> {
  await Deno.mkdir(out, { recursive: true });
  await Deno.remove(join(out, PROVENANCE_FILE)).catch(() => {});
  const written: ExtractedFile[] = [];
  const blobOf = new Map(files.map((f) => [f.path, f.blob]));
  let done = 0;
  await readFiles(gitDir, commit, files.map((f) => f.path), async (path, bytes) => {
    const target = join(out, rel(path));
    await Deno.mkdir(join(target, ".."), { recursive: true });
    await writeFileAtomic(target, bytes);
    written.push({
      path: rel(path),
      bytes: bytes.byteLength,
      sha256: createHash("sha256").update(bytes).digest("hex"),
      blob: blobOf.get(path)!,
    });
    onProgress?.(++done, files.length);
  });
  return written.sort((a, b) => (a.path < b.path ? -1 : 1));
}

/**
 * Reads `provenance.json` from a dataset folder, if it has one, without its per-file list (what a trained
 * model's `trainedOn` records).
 *
 * @param dir A dataset folder.
 * @returns The provenance less `files`, or `undefined`.
 */
export async function readProvenance<P extends SnapshotProvenance>(
  dir: string,
): Promise<Omit<P, "files"> | undefined> {
  try {
    const { files: _files, ...rest } = JSON.parse(await Deno.readTextFile(join(dir, PROVENANCE_FILE))) as P;
    return rest;
  } catch {
    return undefined;
  }
}

/** A snapshot folder opened for extraction: its files, or the verified extraction already there. */
export type OpenedSnapshot<P extends SnapshotProvenance> =
  | { existing: P }
  | {
    existing?: undefined;
    gitDir: string;
    commit: string;
    /** The folder inside the repository, no trailing slash. */
    folder: string;
    /** The folder's files at the commit. */
    tree: GitTreeFile[];
    /** A repository path relative to the folder. */
    rel: (path: string) => string;
  };

/** Where a fetcher reads its dataset, and what it writes: a fetcher's own options. */
export interface SnapshotOptions {
  /** A clone or a bare repository. */
  from: string;
  /** The output folder. */
  out: string;
  /** A commit id or name; the source's when absent. */
  commit?: string;
  /** The dataset's folder in the repository; the source's when absent. */
  folder?: string;
  logger?: Logger;
}

/**
 * Opens the dataset's folder at its commit in a snapshot for a fetcher: resolves the git directory and
 * the commit, and returns the verified extraction in `out` when there is one (nothing to do; said in the
 * log), else the folder's files.
 *
 * @param opts The fetcher's options.
 * @param source The commit and folder used where `opts` names none.
 * @param name What the log calls the dataset ("The mood set").
 * @returns `{ existing }`, or what extracting needs.
 * @throws {SoundalikeError} `bad_dataset` for an unknown commit or a folder that is no repository,
 *   `missing_tool` without git.
 */
export async function openSnapshot<P extends SnapshotProvenance>(
  opts: SnapshotOptions,
  source: { commit: string; folder: string },
  name: string,
): Promise<OpenedSnapshot<P>> {
  const { from, out } = opts;
  const gitDir = await resolveGitDir(from);
  const resolved = await resolveCommit(gitDir, opts.commit ?? source.commit);
  const existing = await verifiedExtraction<P>(out, resolved);
  if (existing !== undefined) {
    opts.logger?.info(`${name} is already extracted and verified`, { out, commit: existing.commit });
    return { existing };
  }
  const dir = (opts.folder ?? source.folder).replace(/\/+$/, "");
  return {
    gitDir,
    commit: resolved,
    folder: dir,
    tree: await listTree(gitDir, resolved, dir),
    rel: (p) => p.slice(dir.length + 1),
  };
}

/**
 * Brings a teacher's files out of a snapshot (clone or bare mirror) of the public repository that
 * publishes them, at the pinned commit, into the teacher folder, checking every sha256 (git behind
 * `datasets/git_snapshot.ts`). Nothing fetched is ever committed: the folder is under `.cache/`.
 * @module
 */
import { dirname, join } from "node:path";
import { ErrorCode, SoundalikeError, writeFileAtomic } from "../../core/mod.ts";
import { readFiles, resolveCommit, resolveGitDir } from "../datasets/git_snapshot.ts";
import { TEACHER_FILES, type TeacherId, verifyTeacherFiles } from "./teacher.ts";

/**
 * Extracts one teacher's files from a snapshot of its repository into `dir`.
 *
 * @param id The teacher.
 * @param from The snapshot (a clone or a bare git directory).
 * @param dir The teacher folder.
 * @returns The files written.
 * @throws {SoundalikeError} `bad_dataset` when the snapshot lacks the commit or a file, `model_mismatch`
 * when a file's hash differs.
 */
export async function fetchTeacher(id: TeacherId, from: string, dir: string): Promise<string[]> {
  const files = TEACHER_FILES[id];
  const gitDir = await resolveGitDir(from);
  const commit = await resolveCommit(gitDir, files[0]!.source.commit);
  if (commit !== files[0]!.source.commit) {
    throw new SoundalikeError(
      ErrorCode.BadDataset,
      `${from} resolved ${files[0]!.source.commit} to ${commit}`,
    );
  }
  const written: string[] = [];
  const byPath = new Map(files.map((f) => [f.source.path, f]));
  await readFiles(gitDir, commit, files.map((f) => f.source.path), async (path, bytes) => {
    const out = join(dir, byPath.get(path)!.name);
    await Deno.mkdir(dirname(out), { recursive: true });
    await writeFileAtomic(out, bytes);
    written.push(out);
  });
  await verifyTeacherFiles(id, dir);
  return written;
}

/**
 * Reading files out of a git repository snapshot (a bare mirror or a clone) without checking it
 * out: the only module that spawns `git`. Datasets published in a public repository are brought in
 * this way, so the exact commit they came from is known and recorded beside every model.
 * @module
 */
import { join } from "node:path";
import { ErrorCode, SoundalikeError } from "../../core/mod.ts";

/** One file of a tree listing. */
export interface GitTreeFile {
  /** Path inside the repository, `/`-separated. */
  path: string;
  /** Blob id (hex). */
  blob: string;
  /** Size in bytes. */
  size: number;
}

function missingGit(err: unknown): SoundalikeError {
  return new SoundalikeError(
    ErrorCode.MissingTool,
    "The git program is not installed: install it (Debian: apt-get install git) and try again",
    { cause: err },
  );
}

async function git(
  gitDir: string,
  args: string[],
): Promise<{ ok: boolean; stdout: Uint8Array; stderr: string }> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command("git", {
      args: [`--git-dir=${gitDir}`, ...args],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { GIT_TERMINAL_PROMPT: "0" },
    }).output();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw missingGit(err);
    throw err;
  }
  return { ok: out.success, stdout: out.stdout, stderr: new TextDecoder().decode(out.stderr).trim() };
}

/**
 * Finds the git directory of a snapshot: `<dir>/.git` for a clone, `<dir>` itself for a bare
 * repository (such as a mirror's `repo` folder).
 *
 * @param dir A clone or a bare repository.
 * @returns The git directory.
 * @throws {SoundalikeError} `bad_dataset` when `dir` is neither, `missing_tool` without git.
 */
export async function resolveGitDir(dir: string): Promise<string> {
  for (const candidate of [join(dir, ".git"), dir]) {
    try {
      await Deno.stat(candidate);
    } catch {
      continue;
    }
    const r = await git(candidate, ["rev-parse", "--git-dir"]);
    if (r.ok) return candidate;
  }
  throw new SoundalikeError(
    ErrorCode.BadDataset,
    `Not a git repository (neither a clone nor a bare repository): ${dir}`,
  );
}

/**
 * Resolves a commit (full or abbreviated id, branch, tag) to its full id.
 *
 * @param gitDir A git directory from {@linkcode resolveGitDir}.
 * @param commit What to resolve.
 * @returns The 40-hex commit id.
 * @throws {SoundalikeError} `bad_dataset` when the snapshot does not hold that commit.
 */
export async function resolveCommit(gitDir: string, commit: string): Promise<string> {
  const r = await git(gitDir, ["rev-parse", "--verify", "--quiet", `${commit}^{commit}`]);
  const id = new TextDecoder().decode(r.stdout).trim();
  if (!r.ok || !/^[0-9a-f]{40}$/.test(id)) {
    throw new SoundalikeError(
      ErrorCode.BadDataset,
      `The repository at ${gitDir} does not hold commit ${commit}: fetch a newer snapshot`,
    );
  }
  return id;
}

/**
 * Lists the files under `path` at `commit`, recursively.
 *
 * @param gitDir A git directory.
 * @param commit A commit id.
 * @param path A folder inside the repository (no trailing slash needed).
 * @returns The files, sorted by path.
 * @throws {SoundalikeError} `bad_dataset` when git fails (e.g. an unknown commit).
 */
export async function listTree(gitDir: string, commit: string, path: string): Promise<GitTreeFile[]> {
  const r = await git(gitDir, ["ls-tree", "-r", "-l", "-z", commit, "--", path]);
  if (!r.ok) {
    throw new SoundalikeError(ErrorCode.BadDataset, `git could not list ${path} at ${commit}: ${r.stderr}`);
  }
  const out: GitTreeFile[] = [];
  for (const entry of new TextDecoder().decode(r.stdout).split("\0")) {
    // "<mode> <type> <blob> <size>\t<path>"
    const m = /^\d+ (\w+) ([0-9a-f]+)\s+(\d+|-)\t(.*)$/s.exec(entry);
    if (m === null || m[1] !== "blob") continue;
    out.push({ path: m[4]!, blob: m[2]!, size: Number(m[3]) });
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Reads exactly `n` bytes from a stream reader, keeping the surplus in `state`. */
class ByteReader {
  #buf = new Uint8Array(0);
  constructor(readonly reader: ReadableStreamDefaultReader<Uint8Array>) {}

  async #fill(min: number): Promise<boolean> {
    while (this.#buf.length < min) {
      const { value, done } = await this.reader.read();
      if (done) return false;
      const next = new Uint8Array(this.#buf.length + value.length);
      next.set(this.#buf);
      next.set(value, this.#buf.length);
      this.#buf = next;
    }
    return true;
  }

  async line(): Promise<string | undefined> {
    for (let scanned = 0;;) {
      const i = this.#buf.indexOf(10, scanned);
      if (i >= 0) {
        const text = new TextDecoder().decode(this.#buf.subarray(0, i));
        this.#buf = this.#buf.slice(i + 1);
        return text;
      }
      scanned = this.#buf.length;
      if (!(await this.#fill(this.#buf.length + 1))) return undefined;
    }
  }

  async bytes(n: number): Promise<Uint8Array | undefined> {
    if (!(await this.#fill(n))) return undefined;
    const out = this.#buf.slice(0, n);
    this.#buf = this.#buf.slice(n);
    return out;
  }
}

/**
 * Streams the content of files at a commit through one `git cat-file --batch` process.
 *
 * @param gitDir A git directory.
 * @param commit A commit id.
 * @param paths Paths inside the repository.
 * @param onFile Receives each file's bytes, in the order of `paths` (awaited before the next).
 * @throws {SoundalikeError} `bad_dataset` naming the first path the commit does not hold.
 */
export async function readFiles(
  gitDir: string,
  commit: string,
  paths: readonly string[],
  onFile: (path: string, bytes: Uint8Array) => Promise<void>,
): Promise<void> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("git", {
      args: [`--git-dir=${gitDir}`, "cat-file", "--batch"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw missingGit(err);
    throw err;
  }
  const stderr = new Response(child.stderr).text();
  const writer = child.stdin.getWriter();
  const writing = (async () => {
    const enc = new TextEncoder();
    for (const p of paths) await writer.write(enc.encode(`${commit}:${p}\n`));
    await writer.close();
  })();
  const reader = new ByteReader(child.stdout.getReader());
  let failure: SoundalikeError | undefined;
  try {
    for (const p of paths) {
      const head = await reader.line();
      if (head === undefined) throw new Error(`git cat-file stopped early: ${await stderr}`);
      const m = /^[0-9a-f]+ (\w+) (\d+)$/.exec(head);
      if (m === null) {
        failure = new SoundalikeError(
          ErrorCode.BadDataset,
          `The snapshot at commit ${commit.slice(0, 12)} has no file ${p} (git: ${head})`,
        );
        break;
      }
      const size = Number(m[2]);
      const bytes = await reader.bytes(size + 1); // content and its trailing newline
      if (bytes === undefined) throw new Error(`git cat-file stopped inside ${p}: ${await stderr}`);
      await onFile(p, bytes.subarray(0, size));
    }
  } finally {
    await writing.catch(() => {});
    try {
      child.kill();
    } catch { /* already exited */ }
    await child.status;
    await stderr.catch(() => "");
  }
  if (failure) throw failure;
}

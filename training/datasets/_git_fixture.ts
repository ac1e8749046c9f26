/**
 * Test helpers: git repositories of generated files, for the dataset fetchers' tests.
 * @module
 */

/** Runs git in `cwd` with a fixed identity; returns its trimmed stdout, throws with its stderr. */
export async function gitRun(cwd: string, ...args: string[]): Promise<string> {
  const out = await new Deno.Command("git", {
    args: ["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "init.defaultBranch=main", ...args],
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout).trim();
}

/** Whether a git program runs here (the fetchers' tests skip, saying so, without one). */
export async function hasGit(): Promise<boolean> {
  try {
    return (await new Deno.Command("git", { args: ["--version"], stdout: "null", stderr: "null" }).output())
      .success;
  } catch {
    return false;
  }
}

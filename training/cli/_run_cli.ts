/**
 * Test helper of the training CLIs' tests: runs a CLI script in its own Deno process, as
 * `deno task <name>` would, and returns its exit code and output.
 * @module
 */
import { fileURLToPath } from "node:url";

/** A finished CLI run. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `script` with `args` (`deno run -A script ...args`).
 *
 * @param script The CLI's module URL (e.g. `new URL("./train.ts", import.meta.url)`).
 * @param args Its arguments.
 * @returns Exit code, standard output and standard error.
 */
export async function runCli(script: URL, args: readonly string[]): Promise<CliRun> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", fileURLToPath(script), ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

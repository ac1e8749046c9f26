/**
 * File-system helpers shared by the catalog, the model manifest and the caches.
 * @module
 */
import { createHash } from "node:crypto";

/**
 * The sha256 of a file's content, streamed (large files are never held in memory whole).
 *
 * @param path The file.
 * @returns Lower-case hex digest.
 * @example
 * ```ts
 * import { sha256File } from "./files.ts";
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "abc");
 * console.assert((await sha256File(path)).startsWith("ba7816bf"));
 * ```
 */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  using file = await Deno.open(path, { read: true });
  for await (const chunk of file.readable) hash.update(chunk);
  return hash.digest("hex");
}

/** Whether `openssl` could not be started (then {@linkcode sha256Files} hashes in this process). */
let opensslMissing = false;

/** Files from this size are hashed by OpenSSL; smaller ones cost less in process than its start (~5 ms). */
export const OPENSSL_MIN_BYTES = 1024 * 1024;

/**
 * The sha256 of many files: one `openssl dgst -sha256` process for all of them when OpenSSL is
 * installed (it uses the CPU's SHA instructions: about 1 GB/s on the development machine against
 * 300 MB/s for `node:crypto` here, 20 ms saved per full-length MP3), else {@linkcode sha256File}
 * each; files under {@linkcode OPENSSL_MIN_BYTES} are always hashed here. A file OpenSSL did not
 * answer for (unreadable, gone, an odd name) is hashed by {@linkcode sha256File}, so its error is the
 * usual one.
 *
 * @param paths The files.
 * @returns Per file, in order: its lower-case hex digest, or the error reading it.
 */
export async function sha256Files(paths: readonly string[]): Promise<(string | Error)[]> {
  const found = new Map<string, string>();
  const big = opensslMissing ? [] : (await Promise.all(
    paths.map(async (p) =>
      ((await Deno.stat(p).catch(() => undefined))?.size ?? 0) >= OPENSSL_MIN_BYTES ? p : ""
    ),
  )).filter((p) => p !== "");
  if (big.length > 0) {
    try {
      // `./` keeps a relative name that starts with "-" from being read as an option.
      const args = big.map((p) => (p.startsWith("/") ? p : `./${p}`));
      const out = await new Deno.Command("openssl", {
        args: ["dgst", "-sha256", "-r", ...args],
        stdout: "piped",
        stderr: "null",
        stdin: "null",
      }).output();
      const text = new TextDecoder().decode(out.stdout);
      for (const line of text.split("\n")) {
        const m = /^([0-9a-f]{64}) \*(.*)$/.exec(line);
        if (m) found.set(m[2]!, m[1]!);
      }
      big.forEach((p, i) => {
        const hex = found.get(args[i]!);
        if (hex !== undefined) found.set(p, hex);
      });
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
      opensslMissing = true;
    }
  }
  return await Promise.all(paths.map(async (p) => {
    const hex = found.get(p);
    if (hex !== undefined) return hex;
    try {
      return await sha256File(p);
    } catch (err) {
      return err instanceof Error ? err : new Error(String(err));
    }
  }));
}

/**
 * Writes a file atomically: a temporary file beside it is written, then renamed over it, so a
 * reader sees the old content or the new, never a half-written file.
 *
 * @param path The destination.
 * @param data The bytes or text to write.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${path}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  try {
    if (typeof data === "string") await Deno.writeTextFile(tmp, data);
    else await Deno.writeFile(tmp, data);
    await Deno.rename(tmp, path);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
}

/**
 * Whether a path exists (file or directory).
 *
 * @param path The path.
 * @returns `true` when `stat` succeeds.
 */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

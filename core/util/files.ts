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

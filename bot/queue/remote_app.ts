/**
 * The app a chat process serves with when a queue is configured: the same methods the handlers
 * call, but decoding, embedding and searching are jobs for the workers. A clip is staged on shared
 * storage (the data folder, which already holds the indexes every process reads) and removed once
 * answered; catalog and party queries stay here (PostgreSQL). A user's error from a worker comes
 * back as the same `SoundalikeError`, with its sentence.
 * @module
 */
import { join } from "node:path";
import type { App } from "../../core/app.ts";
import { type EmbeddedFile, ErrorCode, SoundalikeError } from "../../core/mod.ts";
import type { BotServices } from "../context.ts";
import type { JobClient } from "./engine.ts";
import { JobFailed, JobTimedOut, QueueUnavailable } from "./errors.ts";
import { clipsDir, fromWire, type JobKind, type JobPayload, toWire, userErrorFrom } from "./jobs.ts";

/** The job-submitting part of {@linkcode JobClient}. */
export type Submit = Pick<JobClient, "submit">;

/**
 * Submits a job and gives back its answer; a user's error is rethrown as it was thrown.
 *
 * @param client The queue.
 * @param kind The job's kind.
 * @param payload Its payload.
 * @returns The decoded answer.
 */
export async function runJob<K extends JobKind>(
  client: Submit,
  kind: K,
  payload: JobPayload<K>,
): Promise<unknown> {
  try {
    return fromWire(await client.submit(kind, toWire(payload)));
  } catch (err) {
    if (err instanceof JobFailed) throw userErrorFrom(err.reason) ?? err;
    throw err;
  }
}

/**
 * Copies (or hard-links, on the same file system) a clip into the shared clips folder.
 *
 * @param dir The shared clips folder.
 * @param path The local clip.
 * @returns The staged file's name and how to remove it.
 */
export async function stageClip(
  dir: string,
  path: string,
): Promise<{ name: string; remove: () => Promise<void> }> {
  await Deno.mkdir(dir, { recursive: true });
  const ext = /\.[a-z0-9]{1,5}$/i.exec(path)?.[0]?.toLowerCase() ?? "";
  const name = `${crypto.randomUUID()}${ext}`;
  const staged = join(dir, name);
  try {
    await Deno.link(path, staged);
  } catch {
    await Deno.copyFile(path, staged);
  }
  return { name, remove: () => Deno.remove(staged).catch(() => {}) };
}

/**
 * Removes staged clips older than `maxAgeMs`: those of a chat process that died before answering
 * (every live request removes its own long before).
 *
 * @param dir The shared clips folder.
 * @param maxAgeMs Age beyond which a staged clip is abandoned.
 * @returns How many were removed.
 */
export async function sweepStagedClips(dir: string, maxAgeMs: number): Promise<number> {
  let removed = 0;
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (!entry.isFile) continue;
      const path = join(dir, entry.name);
      const mtime = (await Deno.stat(path).catch(() => undefined))?.mtime?.getTime();
      if (mtime !== undefined && Date.now() - mtime > maxAgeMs) {
        await Deno.remove(path).then(() => removed++, () => {});
      }
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return removed;
}

/**
 * The handlers' app over the queue.
 *
 * @param local The app of this process (database, configuration).
 * @param client The queue.
 * @returns What {@linkcode BotServices.app} needs.
 */
export function queuedApp(local: App, client: Submit): BotServices["app"] {
  const dir = clipsDir(local.config);
  const withStaged = async <T>(path: string, fn: (name: string) => Promise<T>): Promise<T> => {
    const staged = await stageClip(dir, path);
    try {
      return await fn(staged.name);
    } finally {
      await staged.remove();
    }
  };
  return {
    config: local.config,
    genres: () => local.genres(),
    trackLabels: (ids) => local.trackLabels(ids),
    update: (dir, options) => local.update(dir, options),
    stats: () => local.stats(),
    catalogState: () => local.catalogState(),
    similar: (path, options = {}) =>
      withStaged(
        path,
        async (clip) =>
          await runJob(client, "similar", { clip, options }) as Awaited<ReturnType<App["similar"]>>,
      ),
    analyze: (path) =>
      withStaged(
        path,
        async (clip) => await runJob(client, "analyze", { clip }) as Awaited<ReturnType<App["analyze"]>>,
      ),
    similarToTrack: async (trackId, options = {}) =>
      await runJob(client, "similar_to_track", { trackId, options }) as Awaited<
        ReturnType<App["similarToTrack"]>
      >,
    similarToVector: async (vector, options = {}) => {
      const { exclude, ...rest } = options;
      return await runJob(client, "similar_to_vector", {
        vector: toWire(vector) as { $f32: string },
        options: { ...rest, ...(exclude ? { exclude: [...exclude] } : {}) },
      }) as Awaited<ReturnType<App["similarToVector"]>>;
    },
  };
}

/**
 * A reindex's batches as jobs: `createApp(config, logger, { embedFiles: remoteEmbedFiles(client) })`.
 *
 * @param client The queue.
 * @returns The embedder of catalog files the reindex calls per batch.
 */
export function remoteEmbedFiles(client: Submit): (paths: string[]) => Promise<(EmbeddedFile | Error)[]> {
  return async (paths) => {
    let answer: ({ error: string } | EmbeddedFile)[];
    try {
      answer = await runJob(client, "embed_files", { paths }) as ({ error: string } | EmbeddedFile)[];
    } catch (err) {
      // The queue, not the files, failed: the reindex stops and the current index keeps serving,
      // instead of publishing an index without this batch's tracks.
      if (err instanceof QueueUnavailable || err instanceof JobTimedOut || err instanceof JobFailed) {
        throw new SoundalikeError(
          ErrorCode.IndexFailed,
          `The workers could not embed a batch of ${paths.length} files (${err.message}): the current index ` +
            "keeps serving; run the reindex again once the queue answers (files already embedded are cached)",
          { cause: err },
        );
      }
      throw err;
    }
    return answer.map((r) => ("error" in r ? new Error(r.error) : r));
  };
}

/**
 * Decoding for many callers at once: requests that arrive while ffmpeg is busy share one process.
 *
 * Starting Debian's ffmpeg (216 shared libraries) costs about 0.2 CPU seconds, as much as decoding a
 * 30 s MP3 (bench/decode_bench.ts), so a bot answering many clips at once spends half its CPU
 * starting ffmpeg. Here at most `processes` ffmpeg runs are in flight; a request that finds them all
 * busy waits, and the waiting requests then go to one {@linkcode decodeMany} run together (at most
 * `maxBatch` files). A lone request starts at once, alone: one user's latency is unchanged.
 * @module
 */
import type { DecodedAudio } from "./ffmpeg.ts";
import type { SoundalikeError } from "../errors.ts";

/** Decodes a batch: one entry per path, in order, the samples or that file's error. */
export type DecodeBatch = (paths: readonly string[]) => Promise<Array<DecodedAudio | SoundalikeError>>;

/** Limits of {@linkcode batchedDecoder}. */
export interface BatchedDecoderOptions {
  /** Decoding runs in flight at once (>= 1). */
  processes: number;
  /** Files per run (>= 1). */
  maxBatch: number;
}

interface Request {
  path: string;
  resolve: (audio: DecodedAudio) => void;
  reject: (err: unknown) => void;
}

/**
 * Wraps a batch decoder into a one-file decoder that coalesces concurrent requests.
 *
 * A file's own error (unreadable, too large, …) rejects only its own request; an error that fails
 * the whole run (ffmpeg missing) rejects that run's requests, and the next run still starts.
 *
 * @param decodeMany Decodes several files in one process (`core/audio/ffmpeg.ts`'s, with its options bound).
 * @param opts Runs in flight and files per run.
 * @returns `decode(path)`, resolving with that file's samples.
 * @example
 * ```ts ignore
 * import { decodeMany } from "./ffmpeg.ts";
 * const decode = batchedDecoder((p) => decodeMany(p, { sampleRate: 16000 }), { processes: 2, maxBatch: 8 });
 * const [a, b, c] = await Promise.all(["a.mp3", "b.mp3", "c.mp3"].map(decode)); // two runs
 * ```
 */
export function batchedDecoder(
  decodeMany: DecodeBatch,
  opts: BatchedDecoderOptions,
): (path: string) => Promise<DecodedAudio> {
  for (const key of ["processes", "maxBatch"] as const) {
    if (!Number.isInteger(opts[key]) || opts[key] < 1) {
      throw new RangeError(`${key} must be a positive integer: got ${opts[key]}`);
    }
  }
  const waiting: Request[] = [];
  let running = 0;

  const run = async (batch: Request[]) => {
    try {
      const results = await decodeMany(batch.map((r) => r.path));
      batch.forEach((r, i) => {
        const result = results[i];
        if (result === undefined) r.reject(new Error(`The decoder returned no result for ${r.path}`));
        else if (result instanceof Error) r.reject(result);
        else r.resolve(result);
      });
    } catch (err) {
      for (const r of batch) r.reject(err);
    }
  };

  const pump = () => {
    while (running < opts.processes && waiting.length > 0) {
      const batch = waiting.splice(0, opts.maxBatch);
      running++;
      void run(batch).finally(() => {
        running--;
        pump();
      });
    }
  };

  return (path) =>
    new Promise<DecodedAudio>((resolve, reject) => {
      waiting.push({ path, resolve, reject });
      pump();
    });
}

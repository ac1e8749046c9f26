/**
 * Decoding for embedding, where full-length tracks are decoded only where the clip-length policy
 * looks: the three 10 s windows of `core/audio/segments.ts`.
 *
 * A catalog of full-length tracks (fma_full: about 270 s each) decoded whole spends 9x the
 * decoding the segments need. Here the files of a batch that may be long (over
 * {@linkcode LONG_FILE_BYTES}, so a folder of 30 s MP3s pays nothing more) have their duration read
 * first (one ffmpeg process for all of them, `readTagsMany`); those longer than
 * {@linkcode WINDOWED_DECODE_MIN_SECONDS} are decoded in windows (`decodeWindowsMany`: input
 * seeking, one process for the batch); every other file is decoded whole as before
 * (`decodeMany`), so clips up to a minute give exactly today's samples and vectors.
 * @module
 */
import {
  decodeMany,
  type DecodeOptions,
  decodeWindowsMany,
  readTagsMany,
  type WindowPlan,
} from "./ffmpeg.ts";
import { cutSegments, DEFAULT_SEGMENT_SECONDS, segmentStarts } from "./segments.ts";
import type { SoundalikeError } from "../errors.ts";

/** Files above this size have their duration read before decoding (a 30 s MP3 at 320 kbit/s is 1.2 MB). */
export const LONG_FILE_BYTES = 2.5 * 1024 * 1024;
/** Files longer than this are decoded in windows; shorter ones whole (as before). */
export const WINDOWED_DECODE_MIN_SECONDS = 60;

/** What {@linkcode decodeSegmentsMany} needs beyond {@linkcode DecodeOptions}. */
export interface DecodeSegmentsOptions extends DecodeOptions {
  /** Size of a file in bytes. @default Deno.stat */
  fileSize?: (path: string) => Promise<number>;
}

/**
 * Decodes files and cuts each into its three segments (the clip-length policy), decoding long files
 * only in their windows (see the module doc).
 *
 * @param paths The files.
 * @param opts Decode options (sample rate, limits, signal, logger).
 * @returns Per file, in order: its three segments, or its error (unreadable, too short, silent, ...).
 */
export async function decodeSegmentsMany(
  paths: readonly string[],
  opts: DecodeSegmentsOptions,
): Promise<Array<Float32Array[] | Error>> {
  const size = opts.fileSize ?? (async (p: string) => (await Deno.stat(p)).size);
  const results = new Array<Float32Array[] | Error>(paths.length);
  const big: number[] = [];
  await Promise.all(paths.map(async (p, i) => {
    if (await size(p).catch(() => 0) > LONG_FILE_BYTES) big.push(i);
  }));
  big.sort((a, b) => a - b);
  const plans: (WindowPlan & { index: number })[] = [];
  if (big.length > 0) {
    const tags = await readTagsMany(big.map((i) => paths[i]!), opts.signal ? { signal: opts.signal } : {});
    big.forEach((i, k) => {
      const t = tags[k];
      const seconds = t === undefined || t instanceof Error ? null : t.durationSeconds;
      const limit = opts.maxSeconds ?? Infinity;
      if (seconds !== null && seconds > WINDOWED_DECODE_MIN_SECONDS && seconds <= limit) {
        plans.push({ index: i, path: paths[i]!, seconds, starts: segmentStarts(seconds) });
      }
    });
  }
  const windowed = new Set(plans.map((p) => p.index));
  const whole = paths.map((_, i) => i).filter((i) => !windowed.has(i));
  const [wholeDecoded, windowDecoded] = await Promise.all([
    whole.length ? decodeMany(whole.map((i) => paths[i]!), opts) : Promise.resolve([]),
    plans.length ? decodeWindowsMany(plans, DEFAULT_SEGMENT_SECONDS, opts) : Promise.resolve([]),
  ]);
  const cut = (fn: () => Float32Array[]): Float32Array[] | Error => {
    try {
      return fn();
    } catch (err) {
      return err instanceof Error ? err : new Error(String(err));
    }
  };
  whole.forEach((i, k) => {
    const audio = wholeDecoded[k]!;
    results[i] = audio instanceof Error ? audio : cut(() => cutSegments(audio));
  });
  plans.forEach((plan, k) => {
    const got: { windows: Float32Array[]; sampleRate: number } | SoundalikeError = windowDecoded[k]!;
    if (got instanceof Error) {
      results[plan.index] = got;
      return;
    }
    // The windows end to end are a 30 s clip, whose policy windows are exactly them; cutting it
    // also applies the silence check (over the windows heard).
    const joined = new Float32Array(got.windows.reduce((n, w) => n + w.length, 0));
    let at = 0;
    for (const w of got.windows) {
      joined.set(w, at);
      at += w.length;
    }
    results[plan.index] = cut(() =>
      cutSegments({
        samples: joined,
        sampleRate: got.sampleRate,
        seconds: joined.length / got.sampleRate,
        truncated: false,
      })
    );
  });
  return results;
}

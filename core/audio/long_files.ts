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
import { cutSegments, DEFAULT_SEGMENT_SECONDS, MIN_CLIP_SECONDS, segmentStarts } from "./segments.ts";
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
  const [firstWhole, windowDecoded] = await Promise.all([
    whole.length ? decodeMany(whole.map((i) => paths[i]!), opts) : Promise.resolve([]),
    plans.length ? decodeWindowsMany(plans, DEFAULT_SEGMENT_SECONDS, opts) : Promise.resolve([]),
  ]);
  // A file whose audio ends before its stated duration (a last window cut short) is decoded whole,
  // as any other file, instead of being heard with silence.
  const short = plans.filter((_, k) => {
    const got = windowDecoded[k];
    return got !== undefined && !(got instanceof Error) && !windowsComplete(got);
  }).map((p) => p.index);
  const wholeDecoded = short.length
    ? [...firstWhole, ...await decodeMany(short.map((i) => paths[i]!), opts)]
    : firstWhole;
  whole.push(...short);
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
  const redone = new Set(short);
  plans.forEach((plan, k) => {
    if (redone.has(plan.index)) return;
    const got: { windows: Float32Array[]; sampleRate: number } | SoundalikeError = windowDecoded[k]!;
    if (got instanceof Error) {
      results[plan.index] = got;
      return;
    }
    results[plan.index] = cut(() => windowsToSegments(got));
  });
  return results;
}

/** Whether every window got (nearly) all its samples: at most 0.1 s short, an MP3's end padding. */
function windowsComplete(got: { windows: Float32Array[]; decoded: number[]; sampleRate: number }): boolean {
  return got.windows.every((w, i) => (got.decoded[i] ?? 0) >= w.length - 0.1 * got.sampleRate);
}

/**
 * The three segments of decoded policy windows: end to end they are a 30 s clip whose policy
 * windows are exactly them; cutting it also applies the silence check (over the windows heard).
 */
function windowsToSegments(got: { windows: Float32Array[]; sampleRate: number }): Float32Array[] {
  const joined = new Float32Array(got.windows.reduce((n, w) => n + w.length, 0));
  let at = 0;
  for (const w of got.windows) {
    joined.set(w, at);
    at += w.length;
  }
  return cutSegments({
    samples: joined,
    sampleRate: got.sampleRate,
    seconds: joined.length / got.sampleRate,
    truncated: false,
  });
}

/** A long query clip decoded in its windows: what {@linkcode decodeLongClip} returns. */
export interface LongClipSegments {
  /** The three segments, as `cutSegments` would cut them from the whole clip. */
  segments: Float32Array[];
  /** The clip's length from `startSeconds` on (up to `maxSeconds`), as a whole decode reports it. */
  seconds: number;
  /** Whether the file is longer than `maxSeconds` (the clip was cut there). */
  truncated: boolean;
}

/**
 * A query clip that is a full-length track (a party's link, a long upload), decoded only in the
 * three windows the segment policy picks from `startSeconds` on: what decoding it whole and cutting
 * it would give, for a fraction of the work. `undefined` for a file that is not long (at most
 * {@linkcode LONG_FILE_BYTES}, or at most {@linkcode WINDOWED_DECODE_MIN_SECONDS} long, or too little
 * left after the start): the caller decodes it whole, as before, and gets that path's errors.
 *
 * @param path The clip.
 * @param startSeconds Where the clip begins (0: the start).
 * @param opts Decode options (sample rate, `maxSeconds`, signal); `fileSize` for tests.
 * @returns The segments with the clip's length, or `undefined`.
 * @throws {SoundalikeError} When the windows cannot be decoded, or are silent.
 */
export async function decodeLongClip(
  path: string,
  startSeconds: number,
  opts: DecodeSegmentsOptions,
): Promise<LongClipSegments | undefined> {
  const size = opts.fileSize ?? (async (p: string) => (await Deno.stat(p)).size);
  if (await size(path).catch(() => 0) <= LONG_FILE_BYTES) return undefined;
  const [tags] = await readTagsMany([path], opts.signal ? { signal: opts.signal } : {});
  const duration = tags === undefined || tags instanceof Error ? null : tags.durationSeconds;
  if (duration === null || duration <= WINDOWED_DECODE_MIN_SECONDS) return undefined;
  // A whole decode stops at maxSeconds, then the start is cut off: the same span here.
  const end = Math.min(duration, opts.maxSeconds ?? Infinity);
  const seconds = end - startSeconds;
  if (!(seconds >= MIN_CLIP_SECONDS)) return undefined;
  const starts = segmentStarts(seconds).map((s) => startSeconds + s);
  const [got] = await decodeWindowsMany([{ path, seconds: duration, starts }], DEFAULT_SEGMENT_SECONDS, opts);
  if (got === undefined) throw new Error(`No windows decoded for ${path}`);
  if (got instanceof Error) throw got;
  // The audio ends before its stated duration: decoded whole by the caller instead.
  if (!windowsComplete(got)) return undefined;
  return { segments: windowsToSegments(got), seconds, truncated: duration > end };
}

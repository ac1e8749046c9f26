/**
 * The clip-length policy: every clip becomes exactly three segments of `segmentSeconds` (10 s),
 * whatever its length.
 *
 * - **30 s or more**: three windows spread over the track. At exactly 30 s they are 0-10, 10-20
 *   and 20-30 s (what the paper's code took). A longer track first loses a margin at each end
 *   (intros, fade-outs): 10 % of its length, but never so much that fewer than 30 s remain, i.e.
 *   `margin = min(0.1 * seconds, (seconds - 30) / 2)`. The first window starts at the margin, the
 *   last ends at `seconds - margin`, the middle one is centred between them.
 * - **10 to 30 s**: three evenly spaced windows that overlap, the first at 0 and the last ending at
 *   the end of the clip.
 * - **3 to 10 s**: the clip is repeated end to end until it fills 10 s; the three segments are the
 *   same (so every clip still gives the 2304-d embedding).
 * - **Under 3 s**: refused with `clip_too_short`.
 * - A clip whose RMS over its whole length is below -60 dBFS is refused with `silent_clip`.
 *
 * A clip cut at the decoder's `maxSeconds` is treated as the decoded part only.
 * @module
 */
import { ErrorCode, SoundalikeError } from "../errors.ts";
import type { DecodedAudio } from "./ffmpeg.ts";

/** Shortest clip accepted, in seconds. */
export const MIN_CLIP_SECONDS = 3;

/** Segments cut from every clip. */
export const SEGMENTS_PER_CLIP = 3;

/** Default segment length in seconds. */
export const DEFAULT_SEGMENT_SECONDS = 10;

/** A clip quieter than this (RMS over the whole clip, in dB relative to full scale) counts as silent. */
export const SILENCE_DBFS = -60;

/** Largest share of a long track skipped at each end. */
const EDGE_MARGIN = 0.1;

/**
 * Root-mean-square level in dB relative to full scale (a full-scale square wave is 0 dBFS, a
 * full-scale sine about -3 dBFS).
 *
 * @param samples Samples in [-1, 1].
 * @returns `20 * log10(rms)`; `-Infinity` for digital silence or no samples.
 * @example
 * ```ts
 * import { rmsDbfs } from "./segments.ts";
 * console.assert(Math.abs(rmsDbfs(new Float32Array([0.5, -0.5])) - 20 * Math.log10(0.5)) < 1e-9);
 * console.assert(rmsDbfs(new Float32Array(4)) === -Infinity);
 * ```
 */
export function rmsDbfs(samples: Float32Array): number {
  if (samples.length === 0) return -Infinity;
  let sum = 0;
  for (let i = 0; i < samples.length; i++) {
    const v = samples[i]!;
    sum += v * v;
  }
  return 10 * Math.log10(sum / samples.length);
}

/**
 * Start times of the three segments for a clip of `seconds` (see the module doc).
 *
 * @param seconds Length of the clip.
 * @param segmentSeconds Length of one segment.
 * @default segmentSeconds 10
 * @returns Three start times in seconds, ascending; `[0, 0, 0]` for a clip shorter than a segment.
 * @throws {SoundalikeError} `clip_too_short` under {@linkcode MIN_CLIP_SECONDS}.
 * @example
 * ```ts
 * import { segmentStarts } from "./segments.ts";
 * console.assert(segmentStarts(30).join() === "0,10,20");
 * console.assert(segmentStarts(20).join() === "0,5,10");
 * console.assert(segmentStarts(100).join() === "10,45,80");
 * console.assert(segmentStarts(5).join() === "0,0,0");
 * ```
 */
export function segmentStarts(seconds: number, segmentSeconds = DEFAULT_SEGMENT_SECONDS): number[] {
  if (!(segmentSeconds > 0)) throw new RangeError(`segmentSeconds must be positive, got ${segmentSeconds}`);
  if (Number.isNaN(seconds)) throw new RangeError("seconds is NaN");
  if (seconds < MIN_CLIP_SECONDS) throw clipTooShort(seconds);
  if (seconds <= segmentSeconds) return [0, 0, 0];
  const span = SEGMENTS_PER_CLIP * segmentSeconds;
  const margin = seconds > span ? Math.min(EDGE_MARGIN * seconds, (seconds - span) / 2) : 0;
  const first = margin;
  const last = seconds - margin - segmentSeconds;
  return [first, (first + last) / 2, last];
}

/**
 * Cuts a decoded clip into three segments of exactly `segmentSeconds * sampleRate` samples,
 * following the policy in the module doc.
 *
 * @param audio The decoded clip (mono).
 * @param segmentSeconds Length of one segment.
 * @default segmentSeconds 10
 * @returns Three new arrays (never views of `audio.samples`).
 * @throws {SoundalikeError} `clip_too_short` under {@linkcode MIN_CLIP_SECONDS}, `silent_clip` when
 * the whole clip is below {@linkcode SILENCE_DBFS}.
 * @example
 * ```ts
 * import { cutSegments } from "./segments.ts";
 * const samples = new Float32Array(16000 * 30).fill(0.1);
 * const segments = cutSegments({ samples, sampleRate: 16000, seconds: 30, truncated: false });
 * console.assert(segments.length === 3 && segments[0]!.length === 160000);
 * ```
 */
export function cutSegments(audio: DecodedAudio, segmentSeconds = DEFAULT_SEGMENT_SECONDS): Float32Array[] {
  const { samples, sampleRate } = audio;
  const seconds = samples.length / sampleRate;
  if (seconds < MIN_CLIP_SECONDS) throw clipTooShort(seconds);
  const level = rmsDbfs(samples);
  if (level < SILENCE_DBFS) {
    const shown = Number.isFinite(level) ? `${level.toFixed(0)} dBFS` : "digital silence";
    throw new SoundalikeError(
      ErrorCode.SilentClip,
      `The clip is silent (${shown}): send a clip with audible sound, above ${SILENCE_DBFS} dBFS`,
    );
  }
  const length = Math.round(segmentSeconds * sampleRate);
  if (samples.length < length) {
    const looped = new Float32Array(length);
    for (let at = 0; at < length; at += samples.length) {
      looped.set(samples.subarray(0, Math.min(samples.length, length - at)), at);
    }
    return [looped, looped.slice(), looped.slice()];
  }
  return segmentStarts(seconds, segmentSeconds).map((start) => {
    const from = Math.min(Math.round(start * sampleRate), samples.length - length);
    return samples.slice(from, from + length);
  });
}

function clipTooShort(seconds: number): SoundalikeError {
  return new SoundalikeError(
    ErrorCode.ClipTooShort,
    `The clip is ${
      (Math.floor(seconds * 10) / 10).toFixed(1)
    } s long: send at least ${MIN_CLIP_SECONDS} s of audio`,
  );
}

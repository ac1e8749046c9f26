/**
 * Training features: decode each dataset file with core's decoder, cut 10 s segments and compute
 * core's log-mel spectrogram (the exact pipeline inference uses), with an on-disk cache so a second
 * run (or another task on the same audio) does not decode again.
 *
 * Segmentation has two policies:
 * - `inference`: core's `cutSegments` (three 10 s windows per clip), used for validation and test so
 *   the metrics describe what the product sees;
 * - `{ hopSeconds }`: every window of 10 s starting at 0, hop, 2·hop, … (5 s gives 5 windows for a
 *   30 s track) plus one ending at the clip's end, used for training as augmentation. Clips of 3..10 s give one looped segment, as core
 *   does.
 *
 * The cache lives in `<cacheDir>/<sha[0:2]>/<sha256 of the file>-<key of params and policy>.bin`:
 * a little-endian header `[magic "SLMF", segments, nMels, frames]` (uint32) then float32 log-mels
 * (unnormalised, `[segment][mel][frame]`).
 * @module
 */
import { createHash } from "node:crypto";
import { decodeAudio, type DecodedAudio } from "../core/mod.ts";
import { type FeatureParams, type LogMel, logMelSpectrogram } from "../core/mod.ts";
import { cutSegments } from "../core/mod.ts";
import { sha256File } from "../core/mod.ts";
import { cached, prepareAll, UnusableClip } from "./_clip_cache.ts";
import type { Logger } from "../core/mod.ts";
import type { DatasetItem, SkippedFile } from "./datasets/types.ts";

/** How a clip is cut into segments. */
export type SegmentPolicy = "inference" | { hopSeconds: number };

/** The log-mels of one dataset item. */
export interface TrackFeatures {
  item: DatasetItem;
  /** One unnormalised log-mel per segment. */
  segments: LogMel[];
}

/** Options of {@linkcode extractFeatures}. */
export interface ExtractOptions {
  params: FeatureParams;
  policy: SegmentPolicy;
  /** Cache folder; no caching when absent. */
  cacheDir?: string;
  /** Files decoded at once. @default 2 */
  concurrency?: number;
  logger?: Logger;
  /** Called after each item with the number done. */
  onProgress?: (done: number, total: number) => void;
  /** Replaces core's decoder (tests). */
  decode?: (path: string, maxSeconds: number | undefined) => Promise<DecodedAudio>;
}

const MAGIC = 0x464d4c53; // "SLMF" little-endian

/**
 * Start times (seconds) of the training windows of a clip: 0, hop, 2·hop, … while a full segment fits,
 * plus the window ending at the clip's end when the last one stops a second or more before it.
 *
 * @param seconds Clip length.
 * @param hopSeconds Hop between windows.
 * @param segmentSeconds Segment length. @default params.segmentSeconds
 * @returns Start times; empty when the clip is shorter than one segment.
 */
export function hopStarts(seconds: number, hopSeconds: number, segmentSeconds: number): number[] {
  if (!(hopSeconds > 0)) throw new RangeError(`hopSeconds must be positive: ${hopSeconds}`);
  const out: number[] = [];
  for (let s = 0; s + segmentSeconds <= seconds + 1e-9; s += hopSeconds) out.push(s);
  // the window ending at the clip's end, unless the last one is within a second of it
  const end = seconds - segmentSeconds;
  if (out.length > 0 && end - out[out.length - 1]! >= 1) out.push(end);
  return out;
}

/**
 * Cuts a decoded clip by a policy.
 *
 * @param audio Decoded mono audio.
 * @param policy `inference` or a hop.
 * @param segmentSeconds Segment length.
 * @returns Segments of exactly `segmentSeconds` each.
 * @throws {SoundalikeError} `clip_too_short` or `silent_clip` (from core).
 */
export function segmentAudio(
  audio: DecodedAudio,
  policy: SegmentPolicy,
  segmentSeconds: number,
): Float32Array[] {
  const inference = cutSegments(audio, segmentSeconds); // also enforces the length and silence rules
  if (policy === "inference") return inference;
  const starts = hopStarts(audio.samples.length / audio.sampleRate, policy.hopSeconds, segmentSeconds);
  if (starts.length === 0) return [inference[0]!];
  const len = Math.round(segmentSeconds * audio.sampleRate);
  return starts.map((s) => {
    const from = Math.min(Math.round(s * audio.sampleRate), audio.samples.length - len);
    return audio.samples.slice(from, from + len);
  });
}

/** Key of everything besides the file that changes the cached features. */
export function cacheKey(
  params: FeatureParams,
  policy: SegmentPolicy,
  item: Pick<DatasetItem, "maxSeconds">,
): string {
  const text = JSON.stringify({ params, policy, maxSeconds: item.maxSeconds ?? null, v: 2 });
  return createHash("sha256").update(text).digest("hex").slice(0, 16);
}

/** Serialises log-mels in the cache format. */
export function encodeFeatures(segments: readonly LogMel[]): Uint8Array {
  const first = segments[0];
  if (first === undefined) throw new RangeError("No segments to encode");
  const per = first.nMels * first.frames;
  const buf = new ArrayBuffer(16 + segments.length * per * 4);
  const head = new Uint32Array(buf, 0, 4);
  head.set([MAGIC, segments.length, first.nMels, first.frames]);
  const body = new Float32Array(buf, 16);
  segments.forEach((s, i) => {
    if (s.data.length !== per) throw new RangeError("Segments differ in shape");
    body.set(s.data, i * per);
  });
  return new Uint8Array(buf);
}

/** Parses the cache format; `undefined` for a damaged file. */
export function decodeFeatures(bytes: Uint8Array): LogMel[] | undefined {
  if (bytes.byteLength < 16) return undefined;
  const copy = bytes.slice().buffer; // aligned
  const [magic, n, nMels, frames] = new Uint32Array(copy, 0, 4) as unknown as [
    number,
    number,
    number,
    number,
  ];
  if (magic !== MAGIC || bytes.byteLength !== 16 + n * nMels * frames * 4) return undefined;
  const body = new Float32Array(copy, 16);
  const per = nMels * frames;
  return Array.from({ length: n }, (_, i) => ({ data: body.slice(i * per, (i + 1) * per), nMels, frames }));
}

async function featuresOf(item: DatasetItem, opts: ExtractOptions): Promise<LogMel[]> {
  const sha = opts.cacheDir === undefined ? undefined : await sha256File(item.path);
  const suffix = `${cacheKey(opts.params, opts.policy, item)}.bin`;
  return await cached(
    opts.cacheDir,
    sha,
    suffix,
    { encode: encodeFeatures, decode: decodeFeatures },
    async () => {
      const audio = opts.decode
        ? await opts.decode(item.path, item.maxSeconds)
        : await decodeAudio(item.path, {
          sampleRate: opts.params.sampleRate,
          ...(item.maxSeconds === undefined ? {} : { maxSeconds: item.maxSeconds }),
          ...(opts.logger === undefined ? {} : { logger: opts.logger }),
        });
      if (item.minSeconds !== undefined && audio.seconds + 1e-6 < item.minSeconds) {
        throw new UnusableClip(`shorter than ${item.minSeconds} s (${audio.seconds.toFixed(1)} s)`);
      }
      return segmentAudio(audio, opts.policy, opts.params.segmentSeconds)
        .map((s) => logMelSpectrogram(s, opts.params));
    },
  );
}

/**
 * Computes (or loads from the cache) the segment log-mels of every item. Files that cannot be used
 * (unreadable, too short, silent) are skipped and returned with the reason; other errors propagate.
 *
 * @param items Dataset items.
 * @param opts Parameters, policy, cache, concurrency.
 * @returns Features of the usable items (input order) and the skipped files.
 */
export async function extractFeatures(
  items: readonly DatasetItem[],
  opts: ExtractOptions,
): Promise<{ tracks: TrackFeatures[]; skipped: SkippedFile[] }> {
  const { results, skipped } = await prepareAll(
    items,
    async (item) => ({ item, segments: await featuresOf(item, opts) }),
    opts,
  );
  return { tracks: results, skipped };
}

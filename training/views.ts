/**
 * Augmented views of training clips, cached on disk as whole-clip mel power (core's
 * `melPowerSpectrogram`), so the trainer can cut a 10 s window at any offset of any variant and get
 * the exact log-mel inference would compute for that audio (core's `logMelFromPower`, loudness
 * normalised per window) without decoding or transforming again.
 *
 * Variant 0 of a clip is the clean decode. Variant `v >= 1` is the clip as a listener's copy of it
 * may sound, drawn from a seed (so the same seed gives the same variants): a random gain of ±10 dB
 * (with core's look-ahead limiter when it would clip), optionally band-limited (low-pass 2.5-7 kHz,
 * high-pass 60-400 Hz), optionally with white or pink noise at 15-40 dB SNR, and optionally re-encoded
 * as MP3 or Opus at 48-128 kbit/s through `core/audio/ffmpeg.ts` (the chain then runs at 44.1 kHz, as on a
 * real copy, and the encoded file is decoded at the models' rate).
 *
 * Cache: `<cacheDir>/<sha[0:2]>/<sha256 of the file>-<key>.mp`, key = hash of the feature parameters,
 * the variant's augmentation and `maxSeconds`; little-endian `[magic "SLMP", nMels, frames,
 * windowLength]` (uint32), then the float32 powers `[mel][frame]` and the float64 frame energies.
 * @module
 */
import { join } from "node:path";
import { createHash } from "node:crypto";
import {
  addNoise,
  applyGainDb,
  type BandStats,
  biquad,
  cutSegments,
  decodeAudio,
  type DecodedAudio,
  encodeLossy,
  type FeatureParams,
  limit,
  type Logger,
  type LogMel,
  logMelFromPower,
  type LossyCodec,
  type MelPower,
  melPowerSpectrogram,
  mulberry32,
  normalizeLogMel,
  pinkNoise,
  sha256File,
  whiteNoise,
} from "../core/mod.ts";
import { cached, prepareAll, UnusableClip } from "./_clip_cache.ts";
import type { DatasetItem, SkippedFile } from "./datasets/types.ts";

/** One variant's changes (all optional but the gain). */
export interface AugmentSpec {
  /** Gain in dB. */
  gainDb: number;
  lowpassHz: number | null;
  highpassHz: number | null;
  noise: { color: "white" | "pink"; snrDb: number; seed: number } | null;
  codec: { codec: LossyCodec; bitrateKbps: number } | null;
}

/** The ranges and probabilities augmentations are drawn from. */
export const AUGMENT_RANGES = Object.freeze({
  gainDb: [-10, 10] as const,
  lowpass: { p: 0.25, hz: [2500, 7000] as const },
  highpass: { p: 0.25, hz: [60, 400] as const },
  noise: { p: 0.6, snrDb: [15, 40] as const },
  codec: { p: 0.7, kbps: [48, 128] as const },
});

/** Rate at which a variant with a codec is processed and encoded (a typical copy's rate). */
export const CODEC_SAMPLE_RATE = 44100;

/**
 * Draws one variant's augmentation.
 *
 * @param random A seeded uniform generator.
 * @returns The changes to apply.
 */
export function drawAugmentSpec(random: () => number): AugmentSpec {
  const r = AUGMENT_RANGES;
  const uniform = ([lo, hi]: readonly [number, number]) => lo + (hi - lo) * random();
  const gainDb = uniform(r.gainDb);
  const lowpassHz = random() < r.lowpass.p ? Math.round(uniform(r.lowpass.hz)) : null;
  const highpassHz = random() < r.highpass.p ? Math.round(uniform(r.highpass.hz)) : null;
  const noise = random() < r.noise.p
    ? {
      color: random() < 0.5 ? "white" as const : "pink" as const,
      snrDb: uniform(r.noise.snrDb),
      seed: Math.floor(random() * 2 ** 31),
    }
    : null;
  const codec = random() < r.codec.p
    ? {
      codec: random() < 0.5 ? "mp3" as const : "opus" as const,
      bitrateKbps: 8 * Math.round(uniform(r.codec.kbps) / 8),
    }
    : null;
  return { gainDb, lowpassHz, highpassHz, noise, codec };
}

/**
 * The augmentation of variant `variant` of a clip (`null` for the clean variant 0).
 *
 * @param seed The run's seed.
 * @param trackId The clip.
 * @param variant 0, 1, 2, …
 * @returns The spec, a function of the three arguments only.
 */
export function variantSpec(seed: number, trackId: string, variant: number): AugmentSpec | null {
  if (variant === 0) return null;
  const h = createHash("sha256").update(`${seed}/${trackId}/${variant}`).digest();
  return drawAugmentSpec(mulberry32(h.readUInt32LE(0)));
}

/**
 * Applies a spec's gain, band limits and noise to samples (not the codec).
 *
 * @param samples Mono samples.
 * @param sampleRate Their rate.
 * @param spec The changes.
 * @returns A new array.
 */
export function applySpec(samples: Float32Array, sampleRate: number, spec: AugmentSpec): Float32Array {
  let x = applyGainDb(samples, spec.gainDb);
  let peak = 0;
  for (const v of x) peak = Math.max(peak, Math.abs(v));
  if (peak > 0.98) x = limit(x, { sampleRate });
  if (spec.highpassHz !== null) x = biquad(x, sampleRate, "highpass", spec.highpassHz);
  if (spec.lowpassHz !== null && spec.lowpassHz < sampleRate / 2) {
    x = biquad(x, sampleRate, "lowpass", spec.lowpassHz);
  }
  if (spec.noise !== null) {
    const noise = spec.noise.color === "pink"
      ? pinkNoise(x.length, spec.noise.seed)
      : whiteNoise(x.length, spec.noise.seed);
    x = addNoise(x, noise, spec.noise.snrDb);
  }
  return x;
}

/** Options of {@linkcode loadClipViews}. */
export interface ClipViewsOptions {
  params: FeatureParams;
  /** Variants per clip, the clean one included (1: clean only). */
  variants: number;
  /** Seed of the augmentations. */
  seed: number;
  /** Cache folder; none when absent. */
  cacheDir?: string;
  /** Clips prepared at once. @default 2 */
  concurrency?: number;
  logger?: Logger;
  onProgress?: (done: number, total: number) => void;
}

/** A clip's variants. */
export interface ClipViews {
  item: DatasetItem;
  /** Mel power of each variant; `variants[0]` is clean. Each holds at least one segment's frames. */
  variants: MelPower[];
}

const MAGIC = 0x504d4c53; // "SLMP" little-endian

/** Serialises mel power in the cache format. */
export function encodeMelPower(mp: MelPower): Uint8Array {
  const n = mp.nMels * mp.frames;
  const buf = new ArrayBuffer(16 + n * 4 + mp.frames * 8);
  new Uint32Array(buf, 0, 4).set([MAGIC, mp.nMels, mp.frames, mp.windowLength]);
  new Float32Array(buf, 16, n).set(mp.power);
  new Float64Array(buf, 16 + n * 4, mp.frames).set(mp.frameEnergy);
  return new Uint8Array(buf);
}

/** Parses the cache format; `undefined` for a damaged file. */
export function decodeMelPower(bytes: Uint8Array): MelPower | undefined {
  if (bytes.byteLength < 16) return undefined;
  const copy = bytes.slice().buffer;
  const [magic, nMels, frames, windowLength] = Array.from(new Uint32Array(copy, 0, 4));
  const n = nMels! * frames!;
  if (magic !== MAGIC || (n * 4) % 8 !== 0 || bytes.byteLength !== 16 + n * 4 + frames! * 8) return undefined;
  return {
    power: new Float32Array(copy, 16, n),
    frameEnergy: new Float64Array(copy, 16 + n * 4, frames!),
    nMels: nMels!,
    frames: frames!,
    windowLength: windowLength!,
  };
}

/** Repeats a clip shorter than one segment end to end up to one segment, as core's `cutSegments` does. */
function loopToSegment(samples: Float32Array, length: number): Float32Array {
  if (samples.length >= length) return samples;
  const out = new Float32Array(length);
  for (let at = 0; at < length; at += samples.length) {
    out.set(samples.subarray(0, Math.min(samples.length, length - at)), at);
  }
  return out;
}

async function renderVariant(
  item: DatasetItem,
  spec: AugmentSpec | null,
  params: FeatureParams,
  tmpDir: string,
  logger: Logger | undefined,
): Promise<Float32Array> {
  const decode = (path: string, sampleRate: number): Promise<DecodedAudio> =>
    decodeAudio(path, {
      sampleRate,
      ...(item.maxSeconds === undefined ? {} : { maxSeconds: item.maxSeconds }),
      ...(logger === undefined ? {} : { logger }),
    });
  if (spec === null || spec.codec === null) {
    const audio = await decode(item.path, params.sampleRate);
    if (spec === null) {
      if (item.minSeconds !== undefined && audio.seconds + 1e-6 < item.minSeconds) {
        throw new UnusableClip(`shorter than ${item.minSeconds} s (${audio.seconds.toFixed(1)} s)`);
      }
      cutSegments(audio, params.segmentSeconds); // the product's length and silence rules
      return audio.samples;
    }
    return applySpec(audio.samples, params.sampleRate, spec);
  }
  const audio = await decode(item.path, CODEC_SAMPLE_RATE);
  const changed = applySpec(audio.samples, CODEC_SAMPLE_RATE, spec);
  const ext = spec.codec.codec === "mp3" ? "mp3" : "opus";
  const path = join(tmpDir, `${crypto.randomUUID()}.${ext}`);
  try {
    await encodeLossy({ sampleRate: CODEC_SAMPLE_RATE, channels: [changed] }, path, spec.codec);
    return (await decodeAudio(path, { sampleRate: params.sampleRate })).samples;
  } finally {
    await Deno.remove(path).catch(() => {});
  }
}

function cacheKey(params: FeatureParams, spec: AugmentSpec | null, item: DatasetItem): string {
  const text = JSON.stringify({ params, spec, maxSeconds: item.maxSeconds ?? null, v: 1 });
  return createHash("sha256").update(text).digest("hex").slice(0, 16);
}

/**
 * Computes (or reads from the cache) every variant of every clip. A clip whose clean decode breaks
 * the product's rules (unreadable, too short, silent, shorter than its `minSeconds`) is skipped with
 * the reason; other errors propagate.
 *
 * @param items The clips.
 * @param opts Parameters, variant count, seed, cache.
 * @returns The usable clips' views (input order) and the skipped files.
 */
export async function loadClipViews(
  items: readonly DatasetItem[],
  opts: ClipViewsOptions,
): Promise<{ clips: ClipViews[]; skipped: SkippedFile[] }> {
  const { params } = opts;
  const segment = Math.round(params.segmentSeconds * params.sampleRate);
  const tmpDir = await Deno.makeTempDir({ prefix: "soundalike-views-" });
  const codec = { encode: encodeMelPower, decode: decodeMelPower };
  const one = (item: DatasetItem, variant: number, sha: string | undefined): Promise<MelPower> => {
    const spec = variantSpec(opts.seed, item.trackId, variant);
    return cached(opts.cacheDir, sha, `${cacheKey(params, spec, item)}.mp`, codec, async () => {
      const samples = await renderVariant(item, spec, params, tmpDir, opts.logger);
      return melPowerSpectrogram(loopToSegment(samples, segment), params);
    });
  };
  try {
    const { results, skipped } = await prepareAll(items, async (item) => {
      const sha = opts.cacheDir === undefined ? undefined : await sha256File(item.path);
      const variants: MelPower[] = [];
      for (let v = 0; v < Math.max(1, opts.variants); v++) variants.push(await one(item, v, sha));
      return { item, variants };
    }, opts);
    return { clips: results, skipped };
  } finally {
    await Deno.remove(tmpDir, { recursive: true }).catch(() => {});
  }
}

/**
 * The unnormalised log-mels of a clip's clean variant at the three places inference cuts a 30 s clip
 * (start, middle, end), for the normalisation statistics.
 *
 * @param mp A variant's mel power.
 * @param params Feature parameters.
 * @param frames Frames per window.
 * @returns Three log-mels (one when the clip holds exactly one window).
 */
export function statsWindows(mp: MelPower, params: FeatureParams, frames: number): LogMel[] {
  const last = mp.frames - frames;
  const offsets = last <= 0 ? [0] : [0, Math.floor(last / 2), last];
  return offsets.map((o) => logMelFromPower(mp, params, o, frames));
}

/**
 * One window of a clip's variant, loudness-normalised by core and band-normalised by `stats`.
 *
 * @param clip The clip's views.
 * @param variant Which variant.
 * @param offset First frame (clamped to the clip).
 * @param params Feature parameters.
 * @param frames Frames per window.
 * @param stats Band statistics.
 * @returns The model input.
 */
export function windowAt(
  clip: ClipViews,
  variant: number,
  offset: number,
  params: FeatureParams,
  frames: number,
  stats: BandStats,
): LogMel {
  const mp = clip.variants[variant]!;
  const from = Math.max(0, Math.min(mp.frames - frames, offset));
  return normalizeLogMel(logMelFromPower(mp, params, from, frames), stats.mean, stats.std);
}

/**
 * A window of a random variant at a random offset.
 *
 * @param clip The clip's views.
 * @param params Feature parameters.
 * @param frames Frames per window.
 * @param random A seeded uniform generator.
 * @param stats Band statistics.
 * @returns The model input.
 */
export function randomWindow(
  clip: ClipViews,
  params: FeatureParams,
  frames: number,
  random: () => number,
  stats: BandStats,
): LogMel {
  const v = Math.floor(random() * clip.variants.length);
  const offset = Math.floor(random() * (clip.variants[v]!.frames - frames + 1));
  return windowAt(clip, v, offset, params, frames, stats);
}

/**
 * Two views of a clip for the contrastive task: two different variants (when there are several), at
 * offsets at most `maxShift` frames apart.
 *
 * @param clip The clip's views.
 * @param params Feature parameters.
 * @param frames Frames per window.
 * @param maxShift Largest offset difference in frames.
 * @param random A seeded uniform generator.
 * @param stats Band statistics.
 * @returns The two model inputs.
 */
export function randomPair(
  clip: ClipViews,
  params: FeatureParams,
  frames: number,
  maxShift: number,
  random: () => number,
  stats: BandStats,
): [LogMel, LogMel] {
  const n = clip.variants.length;
  const va = Math.floor(random() * n);
  const vb = n === 1 ? 0 : (va + 1 + Math.floor(random() * (n - 1))) % n;
  const span = Math.min(clip.variants[va]!.frames, clip.variants[vb]!.frames) - frames;
  const a = Math.floor(random() * (span + 1));
  const b = Math.max(0, Math.min(span, a + Math.round((2 * random() - 1) * maxShift)));
  return [windowAt(clip, va, a, params, frames, stats), windowAt(clip, vb, b, params, frames, stats)];
}

/**
 * The fixed validation pair of a clip: the clean variant's middle window and variant 1 `shift`
 * frames later.
 *
 * @param clip The clip's views (at least two variants).
 * @param params Feature parameters.
 * @param frames Frames per window.
 * @param stats Band statistics.
 * @param shift Offset of the second view in frames.
 * @returns The two model inputs.
 */
export function fixedPair(
  clip: ClipViews,
  params: FeatureParams,
  frames: number,
  stats: BandStats,
  shift: number,
): [LogMel, LogMel] {
  const v = Math.min(1, clip.variants.length - 1);
  const mid = Math.floor((clip.variants[0]!.frames - frames) / 2);
  return [
    windowAt(clip, 0, mid, params, frames, stats),
    windowAt(clip, v, mid + shift, params, frames, stats),
  ];
}

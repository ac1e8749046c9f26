/**
 * The clip embedding: three 10 s segments, each through the three CNNs named by the manifest, give
 * nine 256-d embeddings concatenated model-major into 2304 dims
 * (`[genre seg0, genre seg1, genre seg2, emotion seg0, ..., instrument seg2]`), each 256-d block
 * L2-normalised so every model and segment weighs the same in a distance.
 *
 * One onnxruntime session per model; the segments of a clip (or of several clips) go through each
 * model as one batch.
 * @module
 */

import { join } from "node:path";
import { ErrorCode, SoundalikeError } from "../errors.ts";
import type { DecodedAudio } from "../audio/ffmpeg.ts";
import {
  type FeatureParams,
  frameCount,
  type LogMel,
  logMelSpectrogram,
  normalizeLogMel,
} from "../audio/features.ts";
import { type Logger, silentLogger } from "../logger.ts";
import {
  EMBEDDING_SIZE,
  FIX_MODELS_HINT,
  type Manifest,
  type ModelTask,
  type TopLabelScaling,
} from "./manifest.ts";
import { createSession, type OnnxSession, type OrtProvider, releaseSession, run } from "./onnx.ts";
import { cutSegments, SEGMENTS_PER_CLIP } from "../audio/segments.ts";

/** Dimensions of a clip embedding: 3 models x 3 segments x 256. */
export const CLIP_EMBEDDING_SIZE = 3 * SEGMENTS_PER_CLIP * EMBEDDING_SIZE;

/** Options of {@linkcode createEmbedder}. */
export interface EmbedderOptions {
  /** A manifest verified by `loadManifest`. */
  manifest: Manifest;
  /** Directory holding the manifest's ONNX files. */
  modelsDir: string;
  /** Execution provider. @default "cpu" */
  provider?: OrtProvider;
  /** Intra-op threads per session. @default 2 */
  threads?: number;
  /** Receives the provider choice (once). @default silentLogger */
  logger?: Logger;
}

/** What one model hears in a clip: its classes and their probabilities, averaged over the segments. */
export interface ModelHearing {
  task: ModelTask;
  /** Class names in the model's order (from the manifest). */
  classes: readonly string[];
  /**
   * Softmax of the logits divided by the model's calibration temperature (1 without one), averaged over
   * the clip's segments; sums to 1.
   */
  probabilities: Float32Array;
  /**
   * The calibrated probability below which a card shows no label for this model (from the manifest's
   * `calibration`; absent: always shown).
   */
  minConfidence?: number;
  /**
   * Maps the best class's probability to the chance that the label is right (the manifest's
   * `calibration.topLabel`; absent: the probability as it is). Applied by {@linkcode bestClasses}.
   */
  topLabel?: TopLabelScaling;
}

/** A clip's embedding and what each model hears in it. */
export interface ClipAnalysis {
  /** The 2304-d clip vector (unit 256-d blocks). */
  vector: Float32Array;
  /** One entry per model, in the manifest's embedding order. */
  hearing: ModelHearing[];
}

/** Turns audio into clip embeddings. Call {@linkcode Embedder.close} when done. */
export interface Embedder {
  /** Dimensions of the vectors returned (2304). */
  readonly dims: number;
  /** The provider the sessions run on. */
  readonly provider: "cuda" | "cpu";
  /**
   * Embeds one clip given as its three segments of exactly `segmentSeconds` at the models' rate.
   * @returns A new 2304-d vector with unit 256-d blocks.
   */
  embedSegments(segments: readonly Float32Array[]): Promise<Float32Array>;
  /** Cuts decoded audio into its three segments (the clip-length policy) and embeds them. */
  embedAudio(audio: DecodedAudio): Promise<Float32Array>;
  /** Embeds several clips with one batched run per model (for reindexing throughput). */
  embedMany(clips: readonly (readonly Float32Array[])[]): Promise<Float32Array[]>;
  /** {@linkcode Embedder.embedMany}, plus each model's class probabilities per clip. */
  analyzeMany(clips: readonly (readonly Float32Array[])[]): Promise<ClipAnalysis[]>;
  /** Releases the sessions. */
  close(): Promise<void>;
}

interface LoadedModel {
  task: ModelTask;
  session: OnnxSession;
  inputName: string;
  mean: Float32Array;
  std: Float32Array;
  classes: readonly string[];
  /** Divides the logits before the softmax (the manifest's `calibration.temperature`, else 1). */
  temperature: number;
  minConfidence?: number;
  topLabel?: TopLabelScaling;
}

/**
 * Opens one session per model of the manifest.
 *
 * @param opts See {@linkcode EmbedderOptions}.
 * @returns The embedder.
 * @throws {SoundalikeError} `ModelMismatch` when a model file cannot be loaded.
 * @example
 * ```ts ignore
 * const manifest = await loadManifest("models");
 * const embedder = await createEmbedder({ manifest, modelsDir: "models", provider: "auto", threads: 2, logger });
 * const vector = await embedder.embedAudio(await decodeAudio("clip.mp3", { sampleRate: 16000 }));
 * await embedder.close();
 * ```
 */
export async function createEmbedder(opts: EmbedderOptions): Promise<Embedder> {
  const { manifest, modelsDir } = opts;
  const logger = opts.logger ?? silentLogger;
  const order = manifest.embeddingOrder;
  const features: FeatureParams = manifest.models[order[0]].features;
  const segmentLength = Math.round(features.segmentSeconds * features.sampleRate);
  const frames = frameCount(segmentLength, features);
  const nMels = features.nMels;

  const models: LoadedModel[] = [];
  try {
    for (const task of order) {
      const e = manifest.models[task];
      const session = await createSession(join(modelsDir, e.file), {
        provider: opts.provider ?? "cpu",
        threads: opts.threads ?? 2,
        logger,
      });
      models.push({
        task,
        session,
        inputName: e.input.name,
        mean: Float32Array.from(e.normalization.mean),
        std: Float32Array.from(e.normalization.std),
        classes: e.classes,
        temperature: e.calibration?.temperature ?? 1,
        ...(e.calibration === undefined ? {} : { minConfidence: e.calibration.minConfidence }),
        ...(e.calibration?.topLabel === undefined ? {} : { topLabel: e.calibration.topLabel }),
      });
    }
  } catch (err) {
    await Promise.all(models.map((m) => releaseSession(m.session)));
    throw err;
  }

  const logMels = (clips: readonly (readonly Float32Array[])[]): LogMel[] => {
    const specs: LogMel[] = [];
    for (const segments of clips) {
      if (segments.length !== SEGMENTS_PER_CLIP) {
        throw new RangeError(`A clip needs ${SEGMENTS_PER_CLIP} segments, got ${segments.length}`);
      }
      for (const s of segments) {
        if (s.length !== segmentLength) {
          throw new RangeError(`A segment must have ${segmentLength} samples, got ${s.length}`);
        }
        specs.push(logMelSpectrogram(s, features));
      }
    }
    return specs;
  };

  const analyzeMany = async (clips: readonly (readonly Float32Array[])[]): Promise<ClipAnalysis[]> => {
    if (clips.length === 0) return [];
    const specs = logMels(clips);
    const batch = specs.length;
    const out: ClipAnalysis[] = clips.map(() => ({
      vector: new Float32Array(CLIP_EMBEDDING_SIZE),
      hearing: models.map((m) => ({
        task: m.task,
        classes: m.classes,
        probabilities: new Float32Array(m.classes.length),
        ...(m.minConfidence === undefined ? {} : { minConfidence: m.minConfidence }),
        ...(m.topLabel === undefined ? {} : { topLabel: m.topLabel }),
      })),
    }));
    const input = new Float32Array(batch * nMels * frames);
    for (const [mi, model] of models.entries()) {
      // NHWC [batch, nMels, frames, 1]: one segment's [mel][frame] data after another.
      specs.forEach((spec, i) =>
        input.set(normalizeLogMel(spec, model.mean, model.std).data, i * nMels * frames)
      );
      // Sequential on purpose: each session already uses the configured threads.
      const res = await run(model.session, model.inputName, input, [batch, nMels, frames, 1]);
      const nClasses = model.classes.length;
      if (res.embeddingSize !== EMBEDDING_SIZE || res.classes !== nClasses) {
        throw new SoundalikeError(
          ErrorCode.ModelMismatch,
          `The ${model.task} model gives ${res.embeddingSize}-d embeddings and ${res.classes} logits, the manifest says ${EMBEDDING_SIZE} and ${nClasses}: ${FIX_MODELS_HINT}`,
        );
      }
      for (let i = 0; i < batch; i++) {
        const clip = out[Math.floor(i / SEGMENTS_PER_CLIP)]!;
        const seg = i % SEGMENTS_PER_CLIP;
        const block = res.embedding.subarray(i * EMBEDDING_SIZE, (i + 1) * EMBEDDING_SIZE);
        clip.vector.set(unitBlock(block), (mi * SEGMENTS_PER_CLIP + seg) * EMBEDDING_SIZE);
        const row = res.logits.subarray(i * nClasses, (i + 1) * nClasses);
        const probs = softmax(model.temperature === 1 ? row : row.map((v) => v / model.temperature));
        const mean = clip.hearing[mi]!.probabilities;
        for (let c = 0; c < nClasses; c++) mean[c]! += probs[c]! / SEGMENTS_PER_CLIP;
      }
    }
    return out;
  };
  const embedMany = async (clips: readonly (readonly Float32Array[])[]) =>
    (await analyzeMany(clips)).map((a) => a.vector);

  return {
    dims: CLIP_EMBEDDING_SIZE,
    provider: models[0]!.session.provider,
    embedSegments: async (segments) => (await embedMany([segments]))[0]!,
    embedAudio: async (audio) => {
      if (audio.sampleRate !== features.sampleRate) {
        throw new RangeError(`Audio must be decoded at ${features.sampleRate} Hz, got ${audio.sampleRate}`);
      }
      return (await embedMany([cutSegments(audio, features.segmentSeconds)]))[0]!;
    },
    embedMany,
    analyzeMany,
    close: async () => {
      await Promise.all(models.splice(0).map((m) => releaseSession(m.session)));
    },
  };
}

/**
 * What a model heard, as stored with a track, a cache entry or a party share: its best class and
 * that class's probability (the display name is derived again when shown).
 */
export interface StoredLabel {
  task: ModelTask;
  className: string;
  probability: number;
}

/**
 * Top-label Platt scaling: `sigmoid(slope * logit(p) + bias)`, the chance that a label shown with clip
 * probability `p` is right. Increasing in `p`, so it keeps the order of clips.
 *
 * @param p The best class's clip probability.
 * @param s Slope and bias (fitted on held-out real clips by `deno task calibrate`).
 * @returns The calibrated probability.
 * @example
 * ```ts
 * import { scaleTopLabel } from "./embed.ts";
 * console.assert(Math.abs(scaleTopLabel(0.8, { slope: 1, bias: 0 }) - 0.8) < 1e-9);
 * ```
 */
export function scaleTopLabel(p: number, s: TopLabelScaling): number {
  const q = Math.min(1 - 1e-9, Math.max(1e-9, p));
  return 1 / (1 + Math.exp(-(s.slope * Math.log(q / (1 - q)) + s.bias)));
}

/**
 * Each model's best class and its probability (what a card says the clip sounds like): the clip
 * probability, or with the model's `topLabel` scaling the calibrated chance that the label is right.
 *
 * @param hearing What the models heard.
 * @returns One entry per model, in the same order.
 * @example
 * ```ts
 * import { bestClasses } from "./embed.ts";
 * const [g] = bestClasses([{ task: "genre", classes: ["jazz", "rock"], probabilities: Float32Array.of(0.2, 0.8) }]);
 * console.assert(g?.className === "rock");
 * ```
 */
export function bestClasses(hearing: readonly ModelHearing[]): StoredLabel[] {
  return hearing.map((h) => {
    let best = 0;
    for (let c = 1; c < h.probabilities.length; c++) {
      if (h.probabilities[c]! > h.probabilities[best]!) best = c;
    }
    const p = h.probabilities[best] ?? 0;
    return {
      task: h.task,
      className: h.classes[best] ?? "?",
      probability: h.topLabel === undefined ? p : scaleTopLabel(p, h.topLabel),
    };
  });
}

/**
 * What a card may say a clip sounds like: each model's best class, left out when its calibrated
 * probability is below the model's `minConfidence` (the model is not sure enough on real audio).
 *
 * @param hearing What the models heard.
 * @returns The confident entries, in model order.
 * @example
 * ```ts
 * import { confidentClasses } from "./embed.ts";
 * const h = [{ task: "genre" as const, classes: ["jazz", "rock"], probabilities: Float32Array.of(0.45, 0.55), minConfidence: 0.6 }];
 * console.assert(confidentClasses(h).length === 0);
 * ```
 */
export function confidentClasses(hearing: readonly ModelHearing[]): StoredLabel[] {
  return bestClasses(hearing).filter((b, i) => b.probability >= (hearing[i]!.minConfidence ?? 0));
}

/**
 * The softmax of a row of logits, computed stably (the largest logit is subtracted first).
 *
 * @param logits One row.
 * @returns Probabilities summing to 1.
 * @example
 * ```ts
 * import { softmax } from "./embed.ts";
 * const p = softmax(Float32Array.of(0, 0));
 * console.assert(p[0] === 0.5 && p[1] === 0.5);
 * ```
 */
export function softmax(logits: Float32Array): Float32Array {
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v);
  const out = new Float32Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += out[i] = Math.exp(logits[i]! - max);
  for (let i = 0; i < out.length; i++) out[i]! /= sum;
  return out;
}

/**
 * A block scaled to unit L2 norm. An all-zero block (every ReLU unit silent) becomes the uniform unit
 * vector, so every block of every clip still has norm 1 and the similarity formula holds.
 *
 * @param block One model's embedding of one segment.
 * @returns A new unit-norm array.
 */
export function unitBlock(block: Float32Array): Float32Array {
  let sq = 0;
  for (const v of block) sq += v * v;
  const out = new Float32Array(block.length);
  if (!(sq > 1e-24)) return out.fill(1 / Math.sqrt(block.length));
  const inv = 1 / Math.sqrt(sq);
  for (let i = 0; i < block.length; i++) out[i] = block[i]! * inv;
  return out;
}

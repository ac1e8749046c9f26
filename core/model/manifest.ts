/**
 * `models/manifest.json`: which ONNX files make up the clip embedding, how their inputs are computed
 * (every feature parameter and the per-band normalisation), what they were trained on, and each file's
 * sha256. Inference refuses models whose file, hash or feature parameters disagree with it, with a
 * message naming the command that fixes it.
 * @module
 */

import { createHash } from "node:crypto";
import { join } from "node:path";
import { z } from "zod";
import { ErrorCode, SoundalikeError } from "../errors.ts";
import { sha256File, writeFileAtomic } from "../util/files.ts";
import {
  DEFAULT_FEATURE_PARAMS,
  type FeatureParams,
  featureParamsDiff,
  featureParamsEqual,
  frameCount,
} from "../audio/features.ts";

/** The three embedding models, in the order their blocks appear in the 2304-d clip embedding. */
export const MODEL_TASKS = ["genre", "emotion", "instrument"] as const;

/** One of {@linkcode MODEL_TASKS}. */
export type ModelTask = typeof MODEL_TASKS[number];

/**
 * Class counts of the shipped models (10 genres and 7 instrument classes mapped from a published tagger's
 * tags, the 5 MIREX mood clusters).
 */
export const SHIPPED_CLASS_COUNTS: Readonly<Record<ModelTask, number>> = Object.freeze({
  genre: 10,
  emotion: 5,
  instrument: 7,
});

/** Width of every model's embedding output. */
export const EMBEDDING_SIZE = 256;

/** Version of the manifest's layout. */
export const MANIFEST_FORMAT_VERSION = 1;

/** File name of the manifest inside the models directory. */
export const MANIFEST_FILE = "manifest.json";

/** What to tell a user whose models are missing or stale. */
export const FIX_MODELS_HINT = "run `deno task export` (or retrain with `deno task train`)";

const finite = z.number().refine(Number.isFinite, "must be a finite number");

const featureParamsSchema = z.object({
  sampleRate: z.number().int().positive(),
  windowLength: z.number().int().positive(),
  hopLength: z.number().int().positive(),
  nFft: z.number().int().positive(),
  nMels: z.number().int().positive(),
  fmin: z.number().min(0),
  fmax: z.number().positive(),
  window: z.literal("hann"),
  melScale: z.literal("slaney"),
  power: z.literal(2),
  logOffset: z.number().positive(),
  segmentSeconds: z.number().positive(),
  // Optional so a manifest from before loudness normalisation still parses and is then refused by
  // loadManifest with the fields that differ named.
  loudnessDbfs: z.number().max(0).nullable().optional(),
  maxGainDb: z.number().min(0).optional(),
});

const entryShape = {
  file: z.string().min(1).refine(
    (f) => !f.includes("/") && !f.includes("\\") && f !== "..",
    "must be a file name",
  ),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, "must be 64 lowercase hex digits"),
  task: z.enum(MODEL_TASKS),
  classes: z.array(z.string().min(1)).min(2).refine((c) => new Set(c).size === c.length, "must be unique"),
  embeddingSize: z.literal(EMBEDDING_SIZE),
  input: z.object({
    name: z.string().min(1),
    shape: z.tuple([
      z.string().min(1),
      z.number().int().positive(),
      z.number().int().positive(),
      z.literal(1),
    ]),
    layout: z.literal("NHWC"),
  }),
  outputs: z.object({ embedding: z.string().min(1), logits: z.string().min(1) }),
  features: featureParamsSchema,
  normalization: z.object({
    mean: z.array(finite),
    std: z.array(finite.refine((v) => v > 0, "must be > 0")),
  }),
  trainedOn: z.looseObject({
    kind: z.enum(["synthetic", "dataset"]),
    name: z.string(),
    seed: z.number().int(),
    examples: z.object({
      train: z.number().int().min(0),
      validation: z.number().int().min(0),
      test: z.number().int().min(0),
    }),
  }),
  metrics: z.looseObject({ accuracy: finite, macroF1: finite, loss: finite }),
  architecture: z.record(z.string(), z.unknown()),
  calibration: z.looseObject({
    temperature: finite.refine((v) => v > 0, "must be > 0"),
    minConfidence: z.number().min(0).max(1),
    topLabel: z.object({ slope: finite.refine((v) => v > 0, "must be > 0"), bias: finite }).optional(),
  }).optional(),
};
// Unknown fields are kept (not stripped), so a newer writer's additions survive a read-modify-write.
const entrySchema = z.looseObject(entryShape);

const manifestSchema = z.looseObject({
  formatVersion: z.literal(MANIFEST_FORMAT_VERSION),
  embeddingOrder: z.tuple([z.literal("genre"), z.literal("emotion"), z.literal("instrument")]),
  models: z.object({
    genre: entrySchema.optional(),
    emotion: entrySchema.optional(),
    instrument: entrySchema.optional(),
  }),
});

/** One model's entry (see docs/architecture.md). Unknown extra fields are kept when read. */
export interface ModelEntry {
  /** File name inside the models directory. */
  file: string;
  /** sha256 of the file, lowercase hex. */
  sha256: string;
  task: ModelTask;
  /** Class names in logit order. */
  classes: string[];
  embeddingSize: typeof EMBEDDING_SIZE;
  input: { name: string; shape: [string, number, number, 1]; layout: "NHWC" };
  outputs: { embedding: string; logits: string };
  features: FeatureParams;
  /** Per-band statistics applied to the log-mel before the model. */
  normalization: { mean: number[]; std: number[] };
  trainedOn: {
    kind: "synthetic" | "dataset";
    name: string;
    seed: number;
    examples: { train: number; validation: number; test: number };
    [extra: string]: unknown;
  };
  metrics: { accuracy: number; macroF1: number; loss: number; [extra: string]: unknown };
  architecture: Record<string, unknown>;
  /**
   * Card honesty, fitted on held-out real clips: logits are divided by `temperature` before the
   * softmax; with `topLabel`, the best class's clip probability p then becomes
   * `sigmoid(slope * logit(p) + bias)` (top-label Platt scaling: the chance that the label is right);
   * a card shows the model's label only when that reaches `minConfidence`. Absent: temperature 1,
   * always shown.
   */
  calibration?: {
    temperature: number;
    minConfidence: number;
    topLabel?: TopLabelScaling;
    [extra: string]: unknown;
  };
}

/** Top-label Platt scaling of a card's best-class probability (see `ModelEntry.calibration`). */
export interface TopLabelScaling {
  slope: number;
  bias: number;
}

/** The manifest as stored; models may be missing while they are being exported one by one. */
export interface ManifestFile {
  formatVersion: typeof MANIFEST_FORMAT_VERSION;
  embeddingOrder: ["genre", "emotion", "instrument"];
  models: Partial<Record<ModelTask, ModelEntry>>;
}

/** A manifest whose three models are all present and verified by {@linkcode loadManifest}. */
export interface Manifest extends ManifestFile {
  models: Record<ModelTask, ModelEntry>;
}

/** Options of {@linkcode loadManifest}. */
export interface LoadManifestOptions {
  /** The feature parameters the running code computes. @default DEFAULT_FEATURE_PARAMS */
  features?: FeatureParams;
  /** Check each file's sha256 (reads every model once). @default true */
  verifyHashes?: boolean;
  /** Required class counts per task, e.g. {@linkcode SHIPPED_CLASS_COUNTS}. @default none */
  classCounts?: Partial<Record<ModelTask, number>>;
}

function mismatch(message: string, cause?: unknown): SoundalikeError {
  return new SoundalikeError(ErrorCode.ModelMismatch, message, cause === undefined ? undefined : { cause });
}

/**
 * An empty manifest, to which the export adds models one at a time.
 *
 * @returns A manifest with no models.
 */
export function emptyManifest(): ManifestFile {
  return { formatVersion: MANIFEST_FORMAT_VERSION, embeddingOrder: [...MODEL_TASKS], models: {} };
}

/**
 * Reads and validates the structure of `<modelsDir>/manifest.json` without requiring all models or
 * checking files (what the export command updates).
 *
 * @param modelsDir The models directory.
 * @returns The manifest, or `null` when the file does not exist.
 * @throws {SoundalikeError} `ModelMismatch` when the file is not valid JSON or not a manifest.
 */
export async function readManifest(modelsDir: string): Promise<ManifestFile | null> {
  const path = join(modelsDir, MANIFEST_FILE);
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw mismatch(`Cannot read ${path}: ${FIX_MODELS_HINT}`, err);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw mismatch(`${path} is not valid JSON: ${FIX_MODELS_HINT}`, err);
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join(".") || "(root)"} ${i.message}`);
    throw mismatch(`${path} is not a valid model manifest (${issues.join("; ")}): ${FIX_MODELS_HINT}`);
  }
  const m = parsed.data;
  for (const task of MODEL_TASKS) {
    const e = m.models[task];
    if (e && e.task !== task) {
      throw mismatch(`${path}: the ${task} entry says task ${e.task}: ${FIX_MODELS_HINT}`);
    }
  }
  return m as ManifestFile;
}

/**
 * Loads `<modelsDir>/manifest.json` for inference and checks it against the files and the code: all
 * three models present, each file exists and its sha256 matches, all share identical feature
 * parameters equal to the ones the code computes, the input shape and normalisation fit those
 * parameters, and embeddings are 256-d.
 *
 * @param modelsDir The models directory.
 * @param opts See {@linkcode LoadManifestOptions}.
 * @returns The verified manifest.
 * @throws {SoundalikeError} `ModelMismatch` naming the file and what to run.
 * @example
 * ```ts ignore
 * const manifest = await loadManifest("models");
 * console.log(manifest.models.genre.classes);
 * ```
 */
export async function loadManifest(modelsDir: string, opts: LoadManifestOptions = {}): Promise<Manifest> {
  const path = join(modelsDir, MANIFEST_FILE);
  const expected = opts.features ?? DEFAULT_FEATURE_PARAMS;
  const m = await readManifest(modelsDir);
  if (m === null) throw mismatch(`No model manifest at ${path}: ${FIX_MODELS_HINT}`);
  const missing = MODEL_TASKS.filter((t) => !m.models[t]);
  if (missing.length > 0) throw mismatch(`${path} lists no ${missing.join(", ")} model: ${FIX_MODELS_HINT}`);

  const frames = frameCount(Math.round(expected.segmentSeconds * expected.sampleRate), expected);
  for (const task of MODEL_TASKS) {
    const e = m.models[task]!;
    const file = join(modelsDir, e.file);
    if (!featureParamsEqual(e.features, expected)) {
      throw mismatch(
        `The ${task} model ${file} was trained on other features than this code computes (${
          featureParamsDiff(expected, e.features).join("; ")
        }): ${FIX_MODELS_HINT}`,
      );
    }
    const [, h, w] = e.input.shape;
    if (h !== expected.nMels || w !== frames) {
      throw mismatch(
        `The ${task} model ${file} expects input [N, ${h}, ${w}, 1] but the features are [N, ${expected.nMels}, ${frames}, 1]: ${FIX_MODELS_HINT}`,
      );
    }
    if (e.normalization.mean.length !== expected.nMels || e.normalization.std.length !== expected.nMels) {
      throw mismatch(
        `The ${task} normalisation in ${path} does not have ${expected.nMels} bands: ${FIX_MODELS_HINT}`,
      );
    }
    const want = opts.classCounts?.[task];
    if (want !== undefined && e.classes.length !== want) {
      throw mismatch(
        `The ${task} model ${file} has ${e.classes.length} classes, expected ${want}: ${FIX_MODELS_HINT}`,
      );
    }
    try {
      await Deno.stat(file);
    } catch (err) {
      throw mismatch(`The ${task} model file ${file} is missing: ${FIX_MODELS_HINT}`, err);
    }
    if (opts.verifyHashes !== false) {
      const actual = await sha256File(file);
      if (actual !== e.sha256) {
        throw mismatch(
          `The ${task} model file ${file} does not match ${path} (sha256 ${actual.slice(0, 12)}…, expected ${
            e.sha256.slice(0, 12)
          }…): ${FIX_MODELS_HINT}`,
        );
      }
    }
  }
  // All three equal the code's parameters, hence each other.
  return m as Manifest;
}

/**
 * Writes the manifest atomically (a temporary file renamed over the old one), pretty-printed.
 *
 * @param modelsDir The models directory (created if missing).
 * @param manifest The manifest to write; validated first.
 * @throws {Error} When the manifest is structurally invalid (a programmer error).
 */
export async function writeManifest(modelsDir: string, manifest: ManifestFile): Promise<void> {
  const parsed = manifestSchema.safeParse(manifest);
  if (!parsed.success) throw new Error(`Refusing to write an invalid manifest: ${parsed.error.message}`);
  await Deno.mkdir(modelsDir, { recursive: true });
  await writeFileAtomic(join(modelsDir, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + "\n");
}

/** The sha256 of a file as lowercase hex (streamed; shared with the catalog). */
export { sha256File };

/**
 * The sha256 of bytes, as lowercase hex.
 *
 * @param bytes Any bytes.
 * @returns 64 hex digits.
 */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** JSON with object keys sorted, so equal values always serialise to the same text. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).sort((
      [a],
      [b],
    ) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/**
 * A stable identity of everything that determines a clip embedding and the labels stored beside it: the
 * embedding order, the three model files' hashes, the feature parameters, the normalisation statistics
 * and each card calibration's `temperature`, `minConfidence` and `topLabel`. Embedding caches (vector and card
 * labels in one row) and index versions are keyed by it, so new models or a recalibration invalidate
 * them: the next reindex recomputes the labels, which needs the same model run as the vector.
 *
 * @param manifest A complete manifest.
 * @returns 64 hex digits; equal manifests give equal hashes whatever their key order.
 */
export function modelsHash(manifest: Manifest): string {
  const identity = {
    embeddingOrder: manifest.embeddingOrder,
    models: manifest.embeddingOrder.map((task) => {
      const e = manifest.models[task];
      return {
        task,
        sha256: e.sha256,
        features: Object.fromEntries(
          (Object.keys(DEFAULT_FEATURE_PARAMS) as (keyof FeatureParams)[]).map((k) => [k, e.features[k]]),
        ),
        normalization: e.normalization,
        // The card labels stored at reindex are filtered and scaled by it (`confidentClasses`).
        ...(e.calibration
          ? {
            calibration: {
              temperature: e.calibration.temperature,
              minConfidence: e.calibration.minConfidence,
              ...(e.calibration.topLabel === undefined ? {} : { topLabel: e.calibration.topLabel }),
            },
          }
          : {}),
      };
    }),
  };
  return sha256Hex(new TextEncoder().encode(canonicalJson(identity)));
}

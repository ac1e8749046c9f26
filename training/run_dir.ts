/**
 * Reading and writing a training run directory (layout documented in `train.ts`). The ONNX exporter
 * and `evaluate` read runs only through {@linkcode loadRun}.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { writeFileAtomic } from "../core/mod.ts";
import { ErrorCode, SoundalikeError } from "../core/mod.ts";
import type { FeatureParams } from "../core/mod.ts";
import type { ModelConfig } from "./model.ts";

/** The three tasks. */
export type Task = "genre" | "emotion" | "instrument";

/** The tasks in embedding order. */
export const TASKS: readonly Task[] = ["genre", "emotion", "instrument"];

/** What a model was trained on (the manifest's `trainedOn`). */
export interface TrainedOn {
  kind: "synthetic" | "dataset";
  /** Dataset or corpus name. */
  name: string;
  /** Seed of the split, initialisers and shuffles. */
  seed: number;
  /** Clips (tracks) per split. */
  examples: { train: number; validation: number; test: number };
  /** Segments per split (training uses overlapping windows; validation and test use inference's three). */
  segments: { train: number; validation: number; test: number };
  /** For the synthetic corpus: what `corpus.json` says made it (generator version, corpus seed). */
  corpus?: CorpusProvenance;
  /** For a dataset brought in from a public repository: where it came from and what it held. */
  source?: DatasetSource;
  /** Files set aside for an outside check (never trained, validated or tested on). */
  reserved?: number;
}

/** Where a dataset came from (its `provenance.json`, e.g. from `deno task fetch-mood`). */
export interface DatasetSource {
  repository: string;
  commit: string;
  folder?: string;
  /** Counts as recorded at extraction (files, clips per class, reserved, usable). */
  counts: Record<string, unknown>;
}

/** Where a synthetic corpus came from, as recorded in its `corpus.json`. */
export interface CorpusProvenance {
  generator: string;
  generatorVersion: string;
  seed: number;
}

/** Per-band statistics used to normalise log-mels (computed on the training split). */
export interface Normalization {
  mean: number[];
  std: number[];
}

/** One epoch of the history. */
export interface EpochRecord {
  epoch: number;
  loss: number;
  accuracy: number;
  valLoss: number;
  valAccuracy: number;
  /** Seconds the epoch took (training and validation). */
  seconds: number;
  /** Training windows (classifier and contrastive) per second. */
  examplesPerSecond: number;
  /** With a contrastive task: its mean training loss (NT-Xent). */
  contrastiveLoss?: number;
  /** Its validation loss on fixed pairs (clean middle window vs. an augmented variant 2 s later). */
  valContrastiveLoss?: number;
  /** How often a validation clip's augmented view is the nearest to its clean view. */
  valMatch?: number;
  /** What early stopping watches: `valLoss + weight * valContrastiveLoss`. */
  valMonitored?: number;
}

/** `history.json`. */
export interface History {
  epochs: EpochRecord[];
  /** Epoch (1-based) whose weights were kept; 0 before the first epoch. */
  bestEpoch: number;
  /** Why training stopped: `completed`, `early_stopping`, or `running`. */
  stopReason: "completed" | "early_stopping" | "running";
}

/** `config.json`. */
export interface RunConfig {
  formatVersion: 1;
  task: Task;
  classes: string[];
  model: ModelConfig;
  features: FeatureParams;
  normalization: Normalization;
  trainedOn: TrainedOn;
  training: {
    epochs: number;
    batchSize: number;
    learningRate: number;
    patience: number;
    /** Random windows per training clip and epoch. */
    windowsPerClip: number;
    /** Variants per clip (clean + augmented). */
    variants: number;
    contrastive?: { weight: number; temperature: number; batch: number; maxShiftFrames: number };
    backend: string;
  };
  createdAt: string;
}

/** `metrics.json` (written by evaluate). */
export interface Metrics {
  /** Segment-level metrics on the held-out test split. */
  accuracy: number;
  macroF1: number;
  /** Mean softmax cross-entropy (natural log). */
  loss: number;
  /** Track-level accuracy (mean logits over a track's three segments). */
  trackAccuracy: number;
  perClass: { label: string; precision: number; recall: number; f1: number; support: number }[];
  /** `confusion[true][predicted]`, in class order. */
  confusion: number[][];
  classes: string[];
  segments: number;
  tracks: number;
}

/** `splits.json`: which track went where, and what was skipped. */
export interface SplitsFile {
  train: SplitEntry[];
  validation: SplitEntry[];
  test: SplitEntry[];
  skipped: { path: string; reason: string }[];
}

/** One track in `splits.json`. */
export interface SplitEntry {
  path: string;
  label: string;
  trackId: string;
  group: string;
  maxSeconds?: number;
  minSeconds?: number;
  artist?: string;
}

/** Everything a finished run holds. */
export interface LoadedRun {
  /** The classifier (`logmel` -> `logits`); {@linkcode embeddingModel} gives both outputs. */
  model: tf.LayersModel;
  config: ModelConfig;
  task: Task;
  classes: string[];
  features: FeatureParams;
  normalization: { mean: Float32Array; std: Float32Array };
  history: History;
  /** `undefined` until `deno task evaluate` (or train) wrote `metrics.json`. */
  metrics: Metrics | undefined;
  trainedOn: TrainedOn;
  /** The whole `config.json`. */
  runConfig: RunConfig;
}

/** File names inside a run directory. */
export const RUN_FILES = {
  model: "model.json",
  weights: "weights.bin",
  config: "config.json",
  history: "history.json",
  metrics: "metrics.json",
  splits: "splits.json",
  confusion: "confusion_matrix.svg",
  curves: "training_curves.svg",
  checkpoint: "checkpoint",
  state: "state.json",
} as const;

/** `model.json`: the Keras-style topology and the weight manifest of `weights.bin`. */
interface ModelFile {
  format: "soundalike-tfjs-layers";
  modelTopology: unknown;
  weightSpecs: tf.io.WeightsManifestEntry[];
  weightsFile: string;
}

/**
 * Writes a model as `model.json` + `weights.bin` in `dir` (atomically, each file).
 *
 * @param model The model.
 * @param dir Target folder (created).
 */
export async function saveModel(model: tf.LayersModel, dir: string): Promise<void> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler((a) => {
    artifacts = a;
    return Promise.resolve({ modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } });
  }));
  if (artifacts?.weightSpecs === undefined || artifacts.weightData === undefined) {
    throw new Error("tfjs produced no weights to save");
  }
  await Deno.mkdir(dir, { recursive: true });
  const weights = new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData));
  await writeFileAtomic(join(dir, RUN_FILES.weights), weights);
  const file: ModelFile = {
    format: "soundalike-tfjs-layers",
    modelTopology: artifacts.modelTopology,
    weightSpecs: artifacts.weightSpecs,
    weightsFile: RUN_FILES.weights,
  };
  await writeFileAtomic(join(dir, RUN_FILES.model), JSON.stringify(file));
}

/**
 * Loads a model written by {@linkcode saveModel}.
 *
 * @param dir The folder holding `model.json` and `weights.bin`.
 * @returns The model.
 * @throws {SoundalikeError} `model_mismatch` when the files are missing or malformed.
 */
export async function loadModel(dir: string): Promise<tf.LayersModel> {
  let file: ModelFile;
  let weights: Uint8Array;
  try {
    file = JSON.parse(await Deno.readTextFile(join(dir, RUN_FILES.model))) as ModelFile;
    weights = await Deno.readFile(join(dir, file.weightsFile ?? RUN_FILES.weights));
  } catch (err) {
    throw new SoundalikeError(
      ErrorCode.ModelMismatch,
      `No trained model in ${dir}: run deno task train first`,
      { cause: err },
    );
  }
  const buffer = weights.buffer.slice(
    weights.byteOffset,
    weights.byteOffset + weights.byteLength,
  ) as ArrayBuffer;
  return await tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: file.modelTopology as object,
      weightSpecs: file.weightSpecs,
      weightData: buffer,
    }),
  );
}

/** Writes a JSON file atomically with two-space indentation. */
export async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(value, null, 2) + "\n");
}

/** Reads a JSON file, `undefined` when it does not exist. */
export async function readJsonIfExists<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(path)) as T;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
}

/**
 * Loads a finished run directory.
 *
 * @param dir The run directory (`.cache/runs/<task>` by default).
 * @returns The model with its configuration, classes, normalisation, history, metrics and provenance.
 * @throws {SoundalikeError} `model_mismatch` when the run is incomplete (no model or no config).
 * @example
 * ```ts ignore
 * import { loadRun } from "./run_dir.ts";
 * const run = await loadRun(".cache/runs/genre");
 * console.log(run.classes, run.metrics?.accuracy);
 * ```
 */
export async function loadRun(dir: string): Promise<LoadedRun> {
  const runConfig = await readJsonIfExists<RunConfig>(join(dir, RUN_FILES.config));
  const history = await readJsonIfExists<History>(join(dir, RUN_FILES.history));
  if (runConfig === undefined || history === undefined) {
    throw new SoundalikeError(
      ErrorCode.ModelMismatch,
      `Training run is incomplete (no ${RUN_FILES.config} or ${RUN_FILES.history}): ${dir}: run deno task train`,
    );
  }
  const model = await loadModel(dir);
  return {
    model,
    config: runConfig.model,
    task: runConfig.task,
    classes: runConfig.classes,
    features: runConfig.features,
    normalization: {
      mean: Float32Array.from(runConfig.normalization.mean),
      std: Float32Array.from(runConfig.normalization.std),
    },
    history,
    metrics: await readJsonIfExists<Metrics>(join(dir, RUN_FILES.metrics)),
    trainedOn: runConfig.trainedOn,
    runConfig,
  };
}

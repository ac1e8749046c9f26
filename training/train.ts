/**
 * Training one task's CNN with `@tensorflow/tfjs`: track-level split, cached features, Adam, seeded
 * shuffles and dropout, validation each epoch, early stopping on validation loss with best-weights
 * restore, a checkpoint after every epoch so an interrupted run resumes, and progress with loss,
 * accuracy and ETA.
 *
 * ## Run directory layout (`.cache/runs/<task>` by default; read it with `loadRun` in `run_dir.ts`)
 *
 * | file | format | content |
 * |---|---|---|
 * | `model.json` | JSON `{ format: "soundalike-tfjs-layers", modelTopology, weightSpecs, weightsFile }` | the Keras-style topology (tfjs `model.toJSON`) and the weight manifest of `weights.bin` (best epoch) |
 * | `weights.bin` | raw little-endian float32, in `weightSpecs` order | all weights incl. BatchNorm moving mean/variance |
 * | `config.json` | `RunConfig` (`run_dir.ts`) | `task`, `classes` (model output order), `model` (`ModelConfig`), `features` (core `FeatureParams`), `normalization` `{ mean[nMels], std[nMels] }` from the training split, `trainedOn` (kind, name, seed, clips and segments per split), training hyper-parameters and backend |
 * | `history.json` | `History` | per-epoch loss/accuracy/valLoss/valAccuracy/seconds/examplesPerSecond, `bestEpoch`, `stopReason` |
 * | `splits.json` | `SplitsFile` | every track of train/validation/test (path, label, trackId, group) and every skipped file with its reason |
 * | `metrics.json` | `Metrics` | test-split accuracy, macro F1, loss, track accuracy, per-class scores, confusion matrix (written by evaluate) |
 * | `confusion_matrix.svg`, `training_curves.svg` | SVG | images (written by evaluate) |
 * | `checkpoint/` | `last/` and `best/` (each `model.json` + `weights.bin`; `last/` also `optimizer.json` + `optimizer.bin`) and `state.json` | `train.ts`: only while training, removed when a run completes; `teacher/distill.ts`: kept (with the heads' `projection.bin`), so a finished run can be extended with `resume` |
 *
 * Load the model back: `const run = await loadRun(dir)` gives `{ model, config, classes,
 * normalization, history, metrics, trainedOn, features, task }`; or directly
 * `tf.loadLayersModel(tf.io.fromMemory({ modelTopology, weightSpecs, weightData }))` with the two
 * files. The model's input is `logmel` `[N, nMels, frames, 1]` (normalised log-mel, NHWC) and its
 * output `logits` `[N, classes]`; `embeddingModel(model)` (`model.ts`) adds the 256-d `embedding`.
 *
 * Resume (`resume: true`): the last checkpoint's weights, Adam's state (step count and moments, in
 * `checkpoint/last/optimizer.{json,bin}`), the best weights, the epoch counter, the early-stopping
 * state and the history (`checkpoint/state.json`) are restored. The split, the features, every
 * shuffle and every dropout mask are functions of the seed, the epoch and the step, so a resumed run
 * continues exactly as the uninterrupted run would have.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { createHash } from "node:crypto";
import {
  computeBandStats,
  DEFAULT_FEATURE_PARAMS,
  type FeatureParams,
  type LogMel,
  normalizeLogMel,
} from "../core/mod.ts";
import { ErrorCode, SoundalikeError } from "../core/mod.ts";
import { writeFileAtomic } from "../core/mod.ts";
import type { Logger } from "../core/mod.ts";
import type { Dataset, DatasetItem, SkippedFile } from "./datasets/types.ts";
import { requireClassSizes } from "./datasets/_util.ts";
import { extractFeatures, type TrackFeatures } from "./features_cache.ts";
import { buildModel, DEFAULT_MODEL_CONFIG, embeddingModel, type ModelConfig } from "./model.ts";
import {
  type CorpusProvenance,
  type DatasetSource,
  type EpochRecord,
  type History,
  loadModel,
  readJsonIfExists,
  RUN_FILES,
  type RunConfig,
  saveModel,
  type SplitEntry,
  type SplitsFile,
  type Task,
  type TrainedOn,
  writeJson,
} from "./run_dir.ts";
import {
  balanceClasses,
  DEFAULT_SPLIT,
  seededRandom,
  shuffled,
  splitByGroup,
  type SplitFractions,
  splitSeedOf,
} from "./split.ts";
import { argmaxRows, crossEntropy, predictLogits, toBatch } from "./evaluate.ts";
import { matchAtOne, ntXentLoss, ntXentReference } from "./contrastive.ts";
import {
  AUGMENT_RANGES,
  type ClipViews,
  fixedPair,
  loadClipViews,
  randomPair,
  randomWindow,
  statsWindows,
} from "./views.ts";

/** Receives progress; the shape of core's `ProgressReporter`, so the CLI can draw a bar. */
export interface TrainProgress {
  start(total: number, label: string): void;
  update(done: number, detail?: Record<string, string | number>): void;
  stop(): void;
}

/** Options of {@linkcode trainModel}. */
export interface TrainOptions {
  task: Task;
  /** The loaded dataset (or synthetic corpus). */
  dataset: Dataset;
  /** Whether the data is the synthetic corpus. */
  kind: "synthetic" | "dataset";
  /** The synthetic corpus's provenance, recorded in `trainedOn`. */
  corpus?: CorpusProvenance;
  /** A fetched dataset's provenance (repository, commit, counts), recorded in `trainedOn`. */
  source?: DatasetSource;
  /** Run directory. */
  outDir: string;
  /** @default 30 */
  epochs?: number;
  /** @default 32 */
  batchSize?: number;
  /** Seed of the split, initialisers, shuffles and dropout. @default 1 */
  seed?: number;
  /** Adam's learning rate. @default 1e-3 */
  learningRate?: number;
  /** Epochs without a better validation loss before stopping. @default 5 */
  patience?: number;
  /** Random 10 s windows drawn from each training clip per epoch (any offset, any variant). @default 3 */
  windowsPerClip?: number;
  /** Variants per clip, the clean decode included (see `views.ts`); 1 trains on clean audio. @default 1 */
  variants?: number;
  /** A contrastive task trained alongside the classifier (see `contrastive.ts`). */
  contrastive?: ContrastiveTask;
  /** Architecture overrides (`nClasses` comes from the dataset). */
  model?: Partial<Omit<ModelConfig, "nClasses" | "embeddingSize">>;
  /** @default DEFAULT_FEATURE_PARAMS */
  features?: FeatureParams;
  /** @default 70/15/15 */
  split?: SplitFractions;
  /** Oversample smaller classes in the training split to the largest. @default false */
  oversample?: boolean;
  /** Feature cache folder; none when absent. */
  cacheDir?: string;
  /** Continue from `outDir/checkpoint`. @default false */
  resume?: boolean;
  /** Name of the tfjs backend, recorded in `config.json`. */
  backend: string;
  logger: Logger;
  progress?: TrainProgress;
  /** Stops after the current epoch's checkpoint (the run stays resumable). */
  signal?: AbortSignal;
}

/** The contrastive task: two views of one real clip embed close, other clips apart. */
export interface ContrastiveTask {
  /** Its clips: `self` (the task's own dataset, split the same way) or another dataset. */
  dataset: Dataset | "self";
  /** Where that dataset came from, for `trainedOn`. */
  source?: DatasetSource;
  /** Weight of its loss beside the cross-entropy. @default 0.5 */
  weight?: number;
  /** NT-Xent temperature. @default 0.2 */
  temperature?: number;
  /** Clips per step (two views each). @default 12 */
  batch?: number;
  /** Largest offset between a clip's two views, in seconds. @default 5 */
  maxShiftSeconds?: number;
}

/** What {@linkcode trainModel} returns. */
export interface TrainResult {
  outDir: string;
  history: History;
  trainedOn: TrainedOn;
  /** Mean training examples (segments) per second over the epochs run now. */
  examplesPerSecond: number;
  /** Files skipped by the loader and by feature extraction. */
  skipped: SkippedFile[];
  /** `true` when stopped by `signal` before finishing (checkpoint kept). */
  interrupted: boolean;
}

interface ResumeState {
  fingerprint: string;
  epoch: number;
  bestEpoch: number;
  bestValLoss: number;
  wait: number;
  history: EpochRecord[];
}

interface Examples {
  x: LogMel[];
  y: number[];
}

function toEntry(it: DatasetItem): SplitEntry {
  return {
    path: it.path,
    label: it.label,
    trackId: it.trackId,
    group: it.group,
    ...(it.maxSeconds === undefined ? {} : { maxSeconds: it.maxSeconds }),
    ...(it.minSeconds === undefined ? {} : { minSeconds: it.minSeconds }),
    ...(it.artist === undefined ? {} : { artist: it.artist }),
  };
}

function examplesOf(
  tracks: readonly TrackFeatures[],
  classes: readonly string[],
  mean: Float32Array,
  std: Float32Array,
): Examples {
  const x: LogMel[] = [], y: number[] = [];
  for (const t of tracks) {
    const label = classes.indexOf(t.item.label);
    if (label < 0) throw new Error(`Label outside the classes: ${t.item.label}`);
    for (const s of t.segments) {
      x.push(normalizeLogMel(s, mean, std));
      y.push(label);
    }
  }
  return { x, y };
}

/** Seed of a (epoch, step, layer) triple, so dropout masks differ per step yet replay exactly. */
export function stepSeed(seed: number, epoch: number, step: number, k: number): number {
  return ((seed * 1_000_003) ^ (epoch * 10_007 + step * 101 + k)) >>> 0;
}

function evaluateSplit(
  model: tf.LayersModel,
  ex: Examples,
  nClasses: number,
): { loss: number; accuracy: number } {
  if (ex.x.length === 0) return { loss: NaN, accuracy: NaN };
  const logits = predictLogits(model, ex.x);
  const pred = argmaxRows(logits, nClasses);
  return {
    loss: crossEntropy(logits, ex.y, nClasses),
    accuracy: pred.filter((p, i) => p === ex.y[i]).length / ex.y.length,
  };
}

/**
 * Restores a run from its checkpoint folder: the last epoch's weights into `model`, the optimiser's
 * state, and the best epoch's weights (shared by `trainModel` and the distillation trainer).
 *
 * @param model The freshly built model.
 * @param optimizer Its optimiser.
 * @param ckptDir The checkpoint folder (`last/`, `best/`).
 * @param bestEpoch The saved state's best epoch; 0 when none was kept yet.
 * @returns The best epoch's weights, or `undefined` when there is none.
 */
export async function restoreCheckpoint(
  model: tf.LayersModel,
  optimizer: tf.Optimizer,
  ckptDir: string,
  bestEpoch: number,
): Promise<Float32Array[] | undefined> {
  const last = await loadModel(join(ckptDir, "last"));
  model.setWeights(last.getWeights());
  last.dispose();
  await loadOptimizer(optimizer, join(ckptDir, "last"));
  if (bestEpoch === 0) return undefined;
  const b = await loadModel(join(ckptDir, "best"));
  const best = b.getWeights().map((w) => (w.dataSync() as Float32Array).slice());
  b.dispose();
  return best;
}

/**
 * The contrastive validation figures: NT-Xent over batches of fixed pairs, and the match rate.
 *
 * @param twoHeads A model with the embedding as its first output.
 * @param pairs The fixed validation pairs (`fixedPair` in `views.ts`).
 * @param batch Pairs per NT-Xent batch, as in training.
 * @param temperature NT-Xent temperature.
 * @returns The mean NT-Xent over the batches and the fraction of pairs matched first.
 */
export function evaluatePairs(
  twoHeads: tf.LayersModel,
  pairs: readonly [LogMel, LogMel][],
  batch: number,
  temperature: number,
): { loss: number; match: number } {
  const embed = (xs: LogMel[]) => {
    const out: Float32Array[] = [];
    for (let at = 0; at < xs.length; at += 64) {
      const [emb] = tf.tidy(() =>
        (twoHeads.predict(toBatch(xs.slice(at, at + 64))) as tf.Tensor[]).map((t) => t.clone())
      );
      const d = emb!.shape[1]!;
      const data = emb!.dataSync() as Float32Array;
      for (let i = 0; i < data.length / d; i++) out.push(data.slice(i * d, (i + 1) * d));
      tf.dispose(emb!);
    }
    return out;
  };
  const a = embed(pairs.map((p) => p[0])), b = embed(pairs.map((p) => p[1]));
  let loss = 0, chunks = 0;
  for (let at = 0; at + 2 <= a.length; at += batch) {
    loss += ntXentReference(a.slice(at, at + batch), b.slice(at, at + batch), temperature);
    chunks++;
  }
  return { loss: loss / chunks, match: matchAtOne(a, b) };
}

export function copyWeights(model: tf.LayersModel): Float32Array[] {
  return model.getWeights().map((w) => (w.dataSync() as Float32Array).slice());
}

export function setWeights(model: tf.LayersModel, values: readonly Float32Array[]): void {
  const current = model.getWeights();
  const tensors = values.map((v, i) => tf.tensor(v, current[i]!.shape));
  model.setWeights(tensors);
  tf.dispose(tensors);
}

/**
 * Saves Adam's state (step count, first and second moments) as `optimizer.json` (names and shapes)
 * plus `optimizer.bin` (float32), so a resumed run continues exactly where it stopped.
 */
export async function saveOptimizer(optimizer: tf.Optimizer, dir: string): Promise<void> {
  const named = await optimizer.getWeights();
  const specs = named.map((w) => ({ name: w.name, shape: w.tensor.shape }));
  const total = named.reduce((a, w) => a + w.tensor.size, 0);
  const data = new Float32Array(total);
  let at = 0;
  for (const w of named) {
    data.set(await w.tensor.data() as Float32Array, at);
    at += w.tensor.size;
  }
  await writeFileAtomic(join(dir, "optimizer.bin"), new Uint8Array(data.buffer));
  await writeJson(join(dir, "optimizer.json"), specs);
}

/** Restores what {@linkcode saveOptimizer} wrote; a checkpoint without it leaves Adam fresh. */
export async function loadOptimizer(optimizer: tf.Optimizer, dir: string): Promise<void> {
  const specs = await readJsonIfExists<{ name: string; shape: number[] }[]>(join(dir, "optimizer.json"));
  if (specs === undefined) return;
  const bytes = await Deno.readFile(join(dir, "optimizer.bin"));
  const data = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  let at = 0;
  const named = specs.map((s) => {
    const size = s.shape.reduce((a, b) => a * b, 1);
    const tensor = tf.tensor(data.slice(at, at + size), s.shape);
    at += size;
    return { name: s.name, tensor };
  });
  await optimizer.setWeights(named);
  tf.dispose(named.map((n) => n.tensor));
}

export function fmtSeconds(s: number): string {
  if (!Number.isFinite(s)) return "?";
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${String(Math.round(s % 60)).padStart(2, "0")}s` : `${Math.round(s)}s`;
}

/**
 * Early stopping on a monitored loss: `update` after each epoch; `stopped` once `patience` epochs in a
 * row failed to improve the best value by more than `minDelta`.
 */
export class EarlyStopping {
  /** Best value seen. */
  best: number;
  /** Epochs since the last improvement. */
  wait: number;

  /**
   * @param patience Epochs without improvement before stopping (at least 1).
   * @param best Best value so far (for a resumed run). @default Infinity
   * @param wait Epochs since the last improvement (for a resumed run). @default 0
   * @param minDelta Smallest decrease that counts as an improvement. @default 1e-4
   */
  constructor(readonly patience: number, best = Infinity, wait = 0, readonly minDelta = 1e-4) {
    if (!(Number.isInteger(patience) && patience >= 1)) {
      throw new RangeError(`patience must be an integer >= 1: ${patience}`);
    }
    this.best = best;
    this.wait = wait;
  }

  /** Whether training should stop. */
  get stopped(): boolean {
    return this.wait >= this.patience;
  }

  /**
   * Records one epoch's value.
   *
   * @param value The monitored loss.
   * @returns `true` when it improved on the best (the caller keeps these weights).
   */
  update(value: number): boolean {
    if (value < this.best - this.minDelta) {
      this.best = value;
      this.wait = 0;
      return true;
    }
    this.wait++;
    return false;
  }
}

/**
 * Trains one task and writes its run directory (see the module doc). Does not evaluate on the test
 * split: call `evaluateRun` afterwards.
 *
 * @param opts Data, hyper-parameters, output, logger, progress.
 * @returns The history and figures.
 * @throws {SoundalikeError} `bad_dataset` when a split ends up empty.
 */
export async function trainModel(opts: TrainOptions): Promise<TrainResult> {
  const { dataset, logger, outDir } = opts;
  const seed = opts.seed ?? 1;
  const epochs = opts.epochs ?? 30;
  const batchSize = opts.batchSize ?? 32;
  const learningRate = opts.learningRate ?? 1e-3;
  const patience = opts.patience ?? 5;
  const windowsPerClip = opts.windowsPerClip ?? 3;
  const nVariants = Math.max(1, opts.variants ?? 1);
  const params = opts.features ?? DEFAULT_FEATURE_PARAMS;
  const classes = dataset.classes;
  const cfg: ModelConfig = {
    ...DEFAULT_MODEL_CONFIG,
    ...opts.model,
    nMels: params.nMels,
    frames: Math.floor((params.segmentSeconds * params.sampleRate - params.windowLength) / params.hopLength) +
      1,
    embeddingSize: 256,
    nClasses: classes.length,
  };
  await Deno.mkdir(outDir, { recursive: true });
  const ckptDir = join(outDir, RUN_FILES.checkpoint);

  // 1. split by group (track or artist), then features
  // The mood set has one split whatever the training seed; other datasets split by it.
  const splits = splitByGroup(dataset.items, splitSeedOf(dataset, seed), opts.split ?? DEFAULT_SPLIT);
  for (const k of ["train", "validation", "test"] as const) {
    if (splits[k].length === 0) {
      throw new SoundalikeError(
        ErrorCode.BadDataset,
        `The ${k} split is empty: the dataset needs at least 3 tracks per class (${dataset.items.length} tracks in ${classes.length} classes)`,
      );
    }
  }
  const skipped: SkippedFile[] = [...dataset.skipped];
  const views = async (items: readonly DatasetItem[], variants: number, label: string) => {
    opts.progress?.start(items.length, label);
    const r = await loadClipViews(items, {
      params,
      variants,
      seed,
      logger,
      ...(opts.cacheDir === undefined ? {} : { cacheDir: join(opts.cacheDir, "views") }),
      onProgress: (done) => opts.progress?.update(done),
    });
    opts.progress?.stop();
    skipped.push(...r.skipped);
    return r.clips;
  };
  const trainClips = await views(splits.train, nVariants, "features (train)");
  opts.progress?.start(splits.validation.length, "features (validation)");
  const valExtract = await extractFeatures(splits.validation, {
    params,
    policy: "inference",
    logger,
    ...(opts.cacheDir === undefined ? {} : { cacheDir: opts.cacheDir }),
    onProgress: (done) => opts.progress?.update(done),
  });
  opts.progress?.stop();
  skipped.push(...valExtract.skipped);
  const valTracks = valExtract.tracks;
  // Files that failed to decode (e.g. truncated) must never empty a class silently.
  requireClassSizes(trainClips.map((t) => t.item), classes, 1, skipped);
  requireClassSizes(valTracks.map((t) => t.item), classes, 1, skipped);

  const contrast = opts.contrastive;
  let contrastTrain: ClipViews[] = [], contrastVal: ClipViews[] = [];
  if (contrast !== undefined) {
    if (contrast.dataset === "self") {
      contrastTrain = trainClips;
      contrastVal = await views(splits.validation, 2, "contrastive (validation)");
    } else {
      const cs = splitByGroup(
        contrast.dataset.items,
        splitSeedOf(contrast.dataset, seed),
        opts.split ?? DEFAULT_SPLIT,
      );
      contrastTrain = await views(cs.train, nVariants, "contrastive (train)");
      contrastVal = await views(cs.validation, 2, "contrastive (validation)");
    }
    if (contrastTrain.length < 2 || contrastVal.length < 2) {
      throw new SoundalikeError(
        ErrorCode.BadDataset,
        "The contrastive task needs at least two clips per split",
      );
    }
  }
  const contrastWeight = contrast?.weight ?? 0.5;
  const temperature = contrast?.temperature ?? 0.2;
  const contrastBatch = Math.min(contrast?.batch ?? 12, contrastTrain.length);
  const frames = cfg.frames;
  const maxShift = Math.round(((contrast?.maxShiftSeconds ?? 5) * params.sampleRate) / params.hopLength);

  const fingerprint = createHash("sha256")
    .update(
      JSON.stringify({
        seed,
        windowsPerClip,
        nVariants,
        params,
        cfg,
        contrast: contrast === undefined ? null : {
          contrastWeight,
          temperature,
          contrastBatch,
          maxShift,
          n: contrastTrain.map((c) => c.item.trackId),
        },
        train: trainClips.map((t) => t.item.trackId),
        val: valTracks.map((t) => t.item.trackId),
      }),
    )
    .digest("hex").slice(0, 16);
  const splitsFile: SplitsFile = {
    train: trainClips.map((t) => toEntry(t.item)),
    validation: valTracks.map((t) => toEntry(t.item)),
    test: splits.test.map(toEntry),
    skipped,
  };
  await writeJson(join(outDir, RUN_FILES.splits), splitsFile);

  // 2. normalisation from the clean training windows only (the contrastive clips included: they are
  // the real music inference will see)
  const stats = computeBandStats(
    [...trainClips, ...(contrastTrain === trainClips ? [] : contrastTrain)].flatMap((c) =>
      statsWindows(c.variants[0]!, params, frames)
    ),
  );
  const trainIndex = opts.oversample
    ? balanceClasses(trainClips.map((t, i) => ({ i, label: t.item.label })), { oversample: true, seed }).kept
      .map((x) => x.i)
    : trainClips.map((_, i) => i);
  const trainLabels = trainClips.map((t) => classes.indexOf(t.item.label));
  if (trainLabels.some((y) => y < 0)) throw new Error("Label outside the classes");
  const val = examplesOf(valTracks, classes, stats.mean, stats.std);
  for (const t of valTracks) t.segments.length = 0; // free the unnormalised copies
  const valPairs = contrastVal.map((c) => fixedPair(c, params, frames, stats, Math.min(maxShift, 40)));
  const trainedOn: TrainedOn = {
    kind: opts.kind,
    name: dataset.name,
    seed,
    examples: { train: trainClips.length, validation: valTracks.length, test: splits.test.length },
    segments: {
      train: trainIndex.length * windowsPerClip,
      validation: val.x.length,
      test: splits.test.length * 3,
    },
    ...(opts.corpus ? { corpus: opts.corpus } : {}),
    ...(opts.source ? { source: opts.source } : {}),
    ...(dataset.reserved?.length ? { reserved: dataset.reserved.length } : {}),
    ...(nVariants > 1 ? { augmentation: { variants: nVariants, ranges: AUGMENT_RANGES } } : {}),
    ...(contrast === undefined ? {} : {
      contrastive: {
        name: contrast.dataset === "self" ? dataset.name : contrast.dataset.name,
        ...(contrast.dataset === "self"
          ? (opts.source ? { source: opts.source } : {})
          : contrast.source
          ? { source: contrast.source }
          : {}),
        clips: { train: contrastTrain.length, validation: contrastVal.length },
        weight: contrastWeight,
        temperature,
        batch: contrastBatch,
      },
    }),
  };
  logger.info("Training data ready", {
    task: opts.task,
    classes: classes.length,
    tracks: trainedOn.examples,
    windows: trainedOn.segments,
    variants: nVariants,
    contrastive: contrastTrain.length,
    skipped: skipped.length,
  });

  // 3. model, optimiser, resume state
  const model = buildModel(cfg, { seed });
  const dropouts = model.layers.filter((l) => l.getClassName() === "Dropout") as unknown as {
    seed?: number;
  }[];
  const optimizer = tf.train.adam(learningRate);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  let state: ResumeState = {
    fingerprint,
    epoch: 0,
    bestEpoch: 0,
    bestValLoss: Infinity,
    wait: 0,
    history: [],
  };
  let best: Float32Array[] = copyWeights(model);
  if (opts.resume) {
    const saved = await readJsonIfExists<ResumeState>(join(ckptDir, RUN_FILES.state));
    if (saved === undefined) {
      logger.warn("Nothing to resume: starting from scratch", { checkpoint: ckptDir });
    } else if (saved.fingerprint !== fingerprint) {
      throw new Error(
        `The checkpoint in ${ckptDir} was made with other data or settings: run without --resume to start again`,
      );
    } else {
      state = saved;
      best = (await restoreCheckpoint(model, optimizer, ckptDir, state.bestEpoch)) ?? best;
      logger.info("Resuming", { epoch: state.epoch, bestEpoch: state.bestEpoch });
    }
  } else {
    await Deno.remove(ckptDir, { recursive: true }).catch(() => {});
  }

  // 4. epochs
  const runConfig: RunConfig = {
    formatVersion: 1,
    task: opts.task,
    classes: [...classes],
    model: cfg,
    features: { ...params },
    normalization: { mean: Array.from(stats.mean), std: Array.from(stats.std) },
    trainedOn,
    training: {
      epochs,
      batchSize,
      learningRate,
      patience,
      windowsPerClip,
      variants: nVariants,
      ...(contrast === undefined ? {} : {
        contrastive: {
          weight: contrastWeight,
          temperature,
          batch: contrastBatch,
          maxShiftFrames: maxShift,
        },
      }),
      backend: opts.backend,
    },
    createdAt: new Date().toISOString(),
  };
  const n = trainIndex.length * windowsPerClip;
  const steps = Math.ceil(n / batchSize);
  const twoHeads = contrast === undefined ? undefined : embeddingModel(model);
  let stopReason: History["stopReason"] = "completed";
  let rateSum = 0, rateCount = 0;
  let interrupted = false;
  const started = performance.now();
  const startEpoch = state.epoch;
  const stopper = new EarlyStopping(patience, state.bestValLoss, state.wait);
  for (let epoch = state.epoch + 1; epoch <= epochs && !stopper.stopped; epoch++) {
    const t0 = performance.now();
    const order = shuffled(
      trainIndex.flatMap((i) => Array.from({ length: windowsPerClip }, () => i)),
      seededRandom(stepSeed(seed, epoch, 0, 7)),
    );
    const contrastOrder = shuffled(contrastTrain.map((_, i) => i), seededRandom(stepSeed(seed, epoch, 0, 9)));
    let lossSum = 0, contrastSum = 0, correct = 0, seen = 0, windowsSeen = 0;
    opts.progress?.start(n, `epoch ${epoch}/${epochs}`);
    for (let s = 0; s < steps; s++) {
      const idx = order.slice(s * batchSize, (s + 1) * batchSize);
      const random = seededRandom(stepSeed(seed, epoch, s + 1, 11));
      dropouts.forEach((d, k) => (d.seed = stepSeed(seed, epoch, s + 1, k)));
      const windows = idx.map((i) => randomWindow(trainClips[i]!, params, frames, random, stats));
      const pairs: LogMel[][] = [[], []];
      for (let k = 0; k < (contrast === undefined ? 0 : contrastBatch); k++) {
        const clip = contrastTrain[contrastOrder[(s * contrastBatch + k) % contrastOrder.length]!]!;
        const [a, b] = randomPair(clip, params, frames, maxShift, random, stats);
        pairs[0]!.push(a);
        pairs[1]!.push(b);
      }
      const x = toBatch([...windows, ...pairs[0]!, ...pairs[1]!]);
      const y = tf.oneHot(tf.tensor1d(idx.map((i) => trainLabels[i]!), "int32"), classes.length);
      let predicted: tf.Tensor | undefined;
      let ce: tf.Tensor | undefined, ntx: tf.Tensor | undefined;
      const loss = optimizer.minimize(
        () => {
          const b = idx.length, c = pairs[0]!.length;
          let logits: tf.Tensor;
          let total: tf.Scalar;
          if (twoHeads === undefined) {
            logits = model.apply(x, { training: true }) as tf.Tensor;
            total = tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar;
            ce = tf.keep(total.clone());
          } else {
            const [emb, all] = twoHeads.apply(x, { training: true }) as tf.Tensor[];
            logits = tf.slice(all!, [0, 0], [b, -1]);
            const ceLoss = tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar;
            const a2 = tf.slice(emb!, [b, 0], [c, -1]) as tf.Tensor2D;
            const b2 = tf.slice(emb!, [b + c, 0], [c, -1]) as tf.Tensor2D;
            const ntLoss = ntXentLoss(a2, b2, temperature);
            ce = tf.keep(ceLoss.clone());
            ntx = tf.keep(ntLoss.clone());
            total = tf.add(ceLoss, tf.mul(ntLoss, contrastWeight)) as tf.Scalar;
          }
          predicted = tf.keep(tf.argMax(logits, -1));
          return total;
        },
        true,
        vars,
      )!;
      const ceValue = (await ce!.data())[0]!;
      const ntxValue = ntx === undefined ? 0 : (await ntx.data())[0]!;
      const pred = await predicted!.data();
      idx.forEach((i, k) => (correct += pred[k] === trainLabels[i] ? 1 : 0));
      lossSum += ceValue * idx.length;
      contrastSum += ntxValue * idx.length;
      seen += idx.length;
      windowsSeen += idx.length + 2 * pairs[0]!.length;
      tf.dispose([x, y, loss, predicted!, ce!, ...(ntx === undefined ? [] : [ntx])]);
      const elapsed = (performance.now() - t0) / 1000;
      const rate = seen / elapsed;
      const epochsLeft = epochs - epoch;
      opts.progress?.update(seen, {
        loss: (lossSum / seen).toFixed(4),
        acc: (correct / seen).toFixed(3),
        ...(contrast === undefined ? {} : { ntx: (contrastSum / seen).toFixed(3) }),
        "run ETA": fmtSeconds((n - seen) / rate + epochsLeft * (n / rate) * 1.1),
      });
    }
    opts.progress?.stop();
    const trainSeconds = (performance.now() - t0) / 1000;
    const v = evaluateSplit(model, val, classes.length);
    const vc = twoHeads === undefined
      ? undefined
      : evaluatePairs(twoHeads, valPairs, contrastBatch, temperature);
    const record: EpochRecord = {
      epoch,
      loss: lossSum / n,
      accuracy: correct / n,
      valLoss: v.loss,
      valAccuracy: v.accuracy,
      seconds: (performance.now() - t0) / 1000,
      examplesPerSecond: windowsSeen / trainSeconds,
      ...(vc === undefined ? {} : {
        contrastiveLoss: contrastSum / n,
        valContrastiveLoss: vc.loss,
        valMatch: vc.match,
        valMonitored: v.loss + contrastWeight * vc.loss,
      }),
    };
    rateSum += record.examplesPerSecond;
    rateCount++;
    state.history.push(record);
    state.epoch = epoch;
    const monitored = record.valMonitored ?? v.loss;
    const improved = stopper.update(Number.isFinite(monitored) ? monitored : record.loss);
    state.bestValLoss = stopper.best;
    state.wait = stopper.wait;
    if (improved) {
      state.bestEpoch = epoch;
      best = copyWeights(model);
      await saveModel(model, join(ckptDir, "best"));
    }
    await saveModel(model, join(ckptDir, "last"));
    await saveOptimizer(optimizer, join(ckptDir, "last"));
    await writeJson(join(ckptDir, RUN_FILES.state), state);
    logger.info(`Epoch ${epoch}/${epochs}`, {
      loss: +record.loss.toFixed(4),
      acc: +record.accuracy.toFixed(3),
      valLoss: +record.valLoss.toFixed(4),
      valAcc: +record.valAccuracy.toFixed(3),
      ...(record.valMonitored === undefined ? {} : {
        ntx: +record.contrastiveLoss!.toFixed(3),
        valNtx: +record.valContrastiveLoss!.toFixed(3),
        valMatch: +record.valMatch!.toFixed(3),
      }),
      examplesPerSecond: +record.examplesPerSecond.toFixed(1),
      seconds: +record.seconds.toFixed(1),
      best: state.bestEpoch,
    });
    if (opts.signal?.aborted) {
      interrupted = true;
      break;
    }
  }
  if (stopper.stopped) stopReason = "early_stopping";
  const history: History = {
    epochs: state.history,
    bestEpoch: state.bestEpoch,
    stopReason: interrupted ? "running" : stopReason,
  };
  if (!interrupted) {
    setWeights(model, best);
    await saveModel(model, outDir);
    await writeJson(join(outDir, RUN_FILES.config), runConfig);
    await writeJson(join(outDir, RUN_FILES.history), history);
    await Deno.remove(ckptDir, { recursive: true }).catch(() => {});
    logger.info("Training finished", {
      stopReason,
      bestEpoch: state.bestEpoch,
      bestValLoss: +state.bestValLoss.toFixed(4),
      minutes: +((performance.now() - started) / 60000).toFixed(1),
      epochsRun: state.epoch - startEpoch,
    });
  }
  model.dispose();
  optimizer.dispose();
  return {
    outDir,
    history,
    trainedOn,
    examplesPerSecond: rateCount > 0 ? rateSum / rateCount : 0,
    skipped,
    interrupted,
  };
}

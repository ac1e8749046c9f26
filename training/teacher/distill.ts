/**
 * Knowledge distillation: trains the genre or instrument CNN (the paper's architecture, unchanged) on
 * real audio with a MusiCNN teacher's soft labels, plus an embedding loss (a 256 -> 200 linear
 * projection of the student's embedding regresses the MSD teacher's standardised 200-d embedding; the
 * projection is dropped at export).
 *
 * Data: the mood set's clips split by artist exactly as `train.ts` splits them (seed 1: train,
 * validation, test; its 90 reserved clips never loaded), plus every recording of `extraDirs` (the
 * product-accepted real recordings in `../shared/data`) in the training split only. Each epoch draws
 * `windowsPerClip` random 10 s windows per training clip, from the clean decode or an augmented copy
 * (`views.ts`); the target of a window is the teacher's mean over the 3 s patches inside it, computed on
 * the clean recording, so the student learns to hear through the augmentation.
 *
 * With `contrastive` (weight above 0) each step also takes `batch` real mood training clips, two views
 * each (different variants, offsets up to 5 s apart, as `train.ts --contrast` draws them), and adds
 * `weight` x NT-Xent on the 256-d embeddings: the task that kept the pre-distillation models' similarity
 * search robust to how a recording was copied (issue 12). Early stopping then watches the validation
 * loss plus the weighted validation NT-Xent over fixed pairs of the validation clips.
 *
 * Validation (early stopping, temperature) uses the validation clips' three inference windows; the test
 * split is evaluated once at the end (`metrics.json`: agreement with the teacher's top class as
 * accuracy, and `calibration.json`). Each epoch ends with a checkpoint (`checkpoint/`) so `resume`
 * continues an interrupted run; the checkpoint (best and last weights, the heads, Adam's state: a few
 * MB) is kept when the run completes, so `resume` with a larger `epochs` (or `patience`, after early
 * stopping) extends a finished run instead of repeating it. The run directory has the layout of
 * `train.ts`, so `deno task export` installs it.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { createHash } from "node:crypto";
import {
  computeBandStats,
  DEFAULT_FEATURE_PARAMS,
  ErrorCode,
  type Logger,
  type LogMel,
  sha256File,
  SoundalikeError,
  writeFileAtomic,
} from "../../core/mod.ts";
import type { Dataset, DatasetItem, SkippedFile } from "../datasets/types.ts";
import { dropHeldOutArtists } from "../datasets/quadrants.ts";
import { buildModel, DEFAULT_MODEL_CONFIG, embeddingModel, type ModelConfig } from "../model.ts";
import {
  type DatasetSource,
  type EpochRecord,
  type History,
  readJsonIfExists,
  RUN_FILES,
  type RunConfig,
  saveModel,
  type SplitEntry,
  type Task,
  writeJson,
} from "../run_dir.ts";
import { DEFAULT_SPLIT, MOOD_SPLIT_SEED, seededRandom, shuffled, splitByGroup } from "../split.ts";
import { computeMetrics, toBatch } from "../evaluate.ts";
import { confusionMatrixSvg, trainingCurvesSvg } from "../plots.ts";
import { type ClipViews, fixedPair, loadClipViews, randomPair, statsWindows, windowAt } from "../views.ts";
import { ntXentLoss } from "../contrastive.ts";
import { labelContrastLoss, labelContrastReference, relationLoss, relationReference } from "./relation.ts";
import {
  copyWeights,
  EarlyStopping,
  evaluatePairs,
  fmtSeconds,
  restoreCheckpoint,
  saveOptimizer,
  setWeights,
  stepSeed,
  type TrainProgress,
} from "../train.ts";
import {
  readTeacherOutput,
  stridedPatchIndices,
  TEACHER_EMBEDDING_SIZE,
  TEACHER_FILES,
  type TeacherId,
  type TeacherOutput,
} from "./teacher.ts";
import { mapClasses, type TagMap, windowEmbedding, type WindowTarget, windowTarget } from "./targets.ts";
import {
  type CalibrationReport,
  calibrationReport,
  TEACHER_FLOOR,
  teacherClipReference,
} from "./calibration.ts";

/** Options of {@linkcode distill}. */
export interface DistillOptions {
  task: Task;
  /**
   * The tag map that makes the task's classes (genre, instrument). Absent for emotion: its classes are the
   * mood set's own real clusters (each window's target the clip's cluster), and the MSD teacher gives only
   * the embedding target, so the emotion model is multi-task: real labels plus the teacher's embedding.
   */
  map?: TagMap;
  /** The mood set (split by artist, as every model's). */
  mood: Dataset;
  /** Where the mood set came from. */
  moodSource?: DatasetSource;
  /** Extra real recordings, training split only (none for emotion: they have no cluster). */
  extra: readonly DatasetItem[];
  /**
   * What the extra recordings are, one entry per folder (e.g. a mixtures folder's count, seed and
   * sources), recorded in `trainedOn.extraSources`.
   */
  extraSources?: readonly Record<string, unknown>[];
  /** Teacher targets folder (`deno task teacher-targets --cache`). */
  targetsDir: string;
  /**
   * Train on the training clips that already have the tag teacher's targets (the others are listed as
   * skipped; fewer than {@linkcode MIN_PARTIAL_CLIPS} with them still stops). Validation and test clips
   * always need them.
   * @default false
   */
  partialTags?: boolean;
  /** Stride the MTT teacher ran with. @default 5 */
  mttStride?: number;
  outDir: string;
  /** Views cache folder. */
  viewsCacheDir?: string;
  /** @default 12 */
  epochs?: number;
  /** @default 16 */
  batchSize?: number;
  /** @default 1e-3 */
  learningRate?: number;
  /** @default 3 */
  patience?: number;
  /** @default 2 */
  windowsPerClip?: number;
  /** Clean + augmented variants per training clip. @default 2 */
  variants?: number;
  /** Weight of the embedding regression beside the soft cross-entropy. @default 0.5 */
  embedWeight?: number;
  /** The contrastive task on the real mood training clips; off when absent or its weight is 0. */
  contrastive?: DistillContrast;
  /** The neighbourhood term ({@linkcode DistillRelation}); off when absent or its weight is 0. */
  relation?: DistillRelation;
  /** Supervised contrast on the training labels ({@linkcode DistillLabelContrast}); off when absent or 0. */
  labelContrast?: DistillLabelContrast;
  /** A second labelled set for an unexported head ({@linkcode DistillAux}); emotion only. */
  aux?: DistillAux;
  /** @default 1 */
  seed?: number;
  resume?: boolean;
  backend: string;
  logger: Logger;
  progress?: TrainProgress;
  signal?: AbortSignal;
}

/** The contrastive task of {@linkcode distill} (the same task as `train.ts --contrast`). */
export interface DistillContrast {
  /** Weight of the NT-Xent beside the distillation loss; 0 turns the task off. @default 0.5 */
  weight?: number;
  /** Clips per step, two views each. @default 8 */
  batch?: number;
  /** NT-Xent temperature. @default 0.2 */
  temperature?: number;
  /** Largest offset between a clip's two views, in seconds. @default 5 */
  maxShiftSeconds?: number;
}

/**
 * The neighbourhood term of {@linkcode distill}: each training batch's windows should have the same
 * neighbours in the student's 256-d embedding (the vector the search uses) as in the teacher's
 * standardised 200-d embedding (`relationLoss`, `training/teacher/relation.ts`).
 */
export interface DistillRelation {
  /** Weight beside the distillation loss; 0 turns the term off. @default 1 */
  weight?: number;
  /** Softmax temperature of the cosine similarities. @default 0.1 */
  temperature?: number;
}

/**
 * The supervised-contrast term of {@linkcode distill}: each training batch's windows of one class should
 * be each other's neighbours in the student's 256-d embedding (`labelContrastLoss`,
 * `training/teacher/relation.ts`; soft labels weigh a pair by the chance that both are of one class).
 */
export interface DistillLabelContrast {
  /** Weight beside the distillation loss; 0 turns the term off. @default 0.5 */
  weight?: number;
  /** Softmax temperature of the cosine similarities. @default 0.1 */
  temperature?: number;
}

/**
 * A second human-labelled set with other classes (the 4Q quadrants beside the mood clusters): its clips
 * join the training split with no class of the main task, and an auxiliary head on the 256-d embedding
 * (not exported) learns their own labels, so the embedding hears more real labelled music. They train that
 * head only (not the embedding regression). Clips by an artist of the mood set's validation, test or
 * reserved clips are dropped first.
 */
export interface DistillAux {
  dataset: Dataset;
  /** Where it came from (recorded in `trainedOn.aux`). */
  source?: Record<string, unknown>;
  /** Weight of the head's cross-entropy beside the main one. @default 1 */
  weight?: number;
}

/** The terms of one step's loss; `total` is what the optimiser minimises. */
export interface DistillLossTerms {
  ce: tf.Scalar;
  mse: tf.Scalar;
  /** NT-Xent of the pairs (absent without the contrastive task). */
  ntx?: tf.Scalar;
  /** Neighbourhood KL to the teacher's embedding (absent without the relation term). */
  rel?: tf.Scalar;
  /** Supervised contrast on the labels (absent without the term). */
  sup?: tf.Scalar;
  /** The auxiliary head's cross-entropy over the rows with an auxiliary label (absent without it). */
  aux?: tf.Scalar;
  total: tf.Scalar;
}

/** How {@linkcode distillLoss} weighs its terms. */
export interface DistillLossWeights {
  /** Weight of the embedding regression. */
  embed: number;
  /**
   * Which supervised rows the embedding regression covers (`[b]`, 1 or 0; the auxiliary set's rows are left
   * out); absent: every row. The MSE is the mean over the covered rows.
   */
  embedRows?: tf.Tensor1D;
  /**
   * The neighbourhood term (`relationLoss` between the supervised rows' embeddings and the teacher's
   * standardised embeddings); absent or weight 0: off.
   */
  relation?: { weight: number; temperature: number };
  /** Supervised contrast (`labelContrastLoss` of the supervised rows' embeddings and `p`); absent or 0: off. */
  labelContrast?: { weight: number; temperature: number };
  /** Pairs in the batch, the NT-Xent's weight and temperature; absent or 0 pairs: no contrastive term. */
  contrast?: { pairs: number; weight: number; temperature: number };
  /**
   * The auxiliary head (`[256, A]` and `[A]`), the supervised rows' auxiliary labels `[b, A]` (a row of
   * zeros: none) and the weight; absent or weight 0: off.
   */
  aux?: { head: { w: tf.Tensor; b: tf.Tensor }; targets: tf.Tensor2D; weight: number };
}

/**
 * One distillation step's loss: soft cross-entropy to the teacher's class distribution, plus
 * `embed` x the MSE between the projected embedding and the teacher's standardised embedding, plus
 * (with `relation`) its weight x the neighbourhood KL between the student's 256-d embeddings and the
 * teacher's, plus (with `labelContrast`) its weight x the supervised contrast of the supervised windows
 * by their class distributions, plus (with `contrast`) its weight x NT-Xent of the pairs. The supervised windows are the
 * first `p.shape[0]` rows of `emb` and `logits`; with `contrast.pairs` = c the next c rows are the pairs'
 * first views and the c after them their second views (no targets).
 *
 * @param emb Student embeddings, `[b + 2c, 256]`.
 * @param logits Student logits, `[b + 2c, C]`.
 * @param p Teacher class distributions of the supervised windows, `[b, C]`.
 * @param z Teacher standardised embeddings of the supervised windows, `[b, 200]`.
 * @param proj The 256 -> 200 projection.
 * @param weights The terms and their weights.
 * @returns The loss terms (call inside `tf.tidy` or an optimiser's `minimize`).
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { distillLoss } from "./distill.ts";
 * const emb = tf.randomNormal([4, 8]) as tf.Tensor2D, logits = tf.randomNormal([4, 3]) as tf.Tensor2D;
 * const p = tf.tensor2d([[1, 0, 0], [0, 1, 0]]), z = tf.zeros([2, 2]) as tf.Tensor2D;
 * const proj = { w: tf.zeros([8, 2]) as tf.Tensor2D, b: tf.zeros([2]) as tf.Tensor1D };
 * const t = distillLoss(emb, logits, p, z, proj, {
 *   embed: 0.5,
 *   contrast: { pairs: 1, weight: 0.5, temperature: 0.2 },
 * });
 * console.assert(t.ntx !== undefined && t.rel === undefined);
 * ```
 */
export function distillLoss(
  emb: tf.Tensor2D,
  logits: tf.Tensor2D,
  p: tf.Tensor2D,
  z: tf.Tensor2D,
  proj: { w: tf.Tensor; b: tf.Tensor },
  weights: DistillLossWeights,
): DistillLossTerms {
  const b = p.shape[0];
  const { contrast, relation, labelContrast } = weights;
  const pairs = contrast?.pairs ?? 0;
  const supEmb = pairs > 0 ? tf.slice(emb, [0, 0], [b, -1]) as tf.Tensor2D : emb;
  const supLogits = pairs > 0 ? tf.slice(logits, [0, 0], [b, -1]) : logits;
  // the mean over the rows with a class distribution: a row of zeros (an emotion --extra recording, which
  // has no cluster) adds nothing and is not counted
  const softCe = (targets: tf.Tensor2D, rowLogits: tf.Tensor) =>
    tf.div(
      tf.neg(tf.sum(tf.mul(targets, tf.logSoftmax(rowLogits)))),
      tf.maximum(tf.sum(targets), 1),
    ) as tf.Scalar;
  const ce = softCe(p, supLogits);
  const auxOn = weights.aux !== undefined && weights.aux.weight > 0;
  const aux = auxOn
    ? softCe(
      weights.aux!.targets,
      tf.add(tf.matMul(supEmb, weights.aux!.head.w as tf.Tensor2D), weights.aux!.head.b),
    )
    : undefined;
  const sq = tf.square(tf.sub(tf.add(tf.matMul(supEmb, proj.w as tf.Tensor2D), proj.b), z));
  const mse = (weights.embedRows === undefined ? tf.mean(sq) : tf.div(
    tf.sum(tf.mul(tf.mean(sq, 1), weights.embedRows)),
    tf.maximum(tf.sum(weights.embedRows), 1),
  )) as tf.Scalar;
  const rel = relation !== undefined && relation.weight > 0
    ? relationLoss(supEmb, z, relation.temperature)
    : undefined;
  const sup = labelContrast !== undefined && labelContrast.weight > 0
    ? labelContrastLoss(supEmb, p, labelContrast.temperature)
    : undefined;
  const ntx = contrast !== undefined && pairs > 0
    ? ntXentLoss(
      tf.slice(emb, [b, 0], [pairs, -1]) as tf.Tensor2D,
      tf.slice(emb, [b + pairs, 0], [pairs, -1]) as tf.Tensor2D,
      contrast.temperature,
    )
    : undefined;
  const total = tf.addN([
    ce,
    tf.mul(mse, weights.embed),
    ...(rel === undefined ? [] : [tf.mul(rel, relation!.weight)]),
    ...(sup === undefined ? [] : [tf.mul(sup, labelContrast!.weight)]),
    ...(ntx === undefined ? [] : [tf.mul(ntx, contrast!.weight)]),
    ...(aux === undefined ? [] : [tf.mul(aux, weights.aux!.weight)]),
  ]) as tf.Scalar;
  return {
    ce,
    mse,
    ...(rel === undefined ? {} : { rel }),
    ...(sup === undefined ? {} : { sup }),
    ...(ntx === undefined ? {} : { ntx }),
    ...(aux === undefined ? {} : { aux }),
    total,
  };
}

/** A clip with its teacher outputs. */
interface Labelled {
  clip: ClipViews;
  tagOut: TeacherOutput;
  tagPatches: number[];
  embOut: TeacherOutput;
}

/**
 * Where a task's targets come from: the teacher's tags through a tag map (genre, instrument), or the
 * mood set's real clusters (emotion); the embedding target is the MSD teacher's either way.
 */
interface Labeller {
  classes: string[];
  /** The teacher whose tags make the classes ("msd" also when only its embedding is used). */
  teacher: TeacherId;
  /** The targets of the `frames` log-mel frames of a clip from frame `offset` on. */
  window(c: Labelled, offset: number, frames: number): WindowTarget;
  /** The calibration's reference class of a clip (`NO_CLASS`: none is right). */
  clip(c: Labelled): number;
}

function labeller(
  map: TagMap | undefined,
  moodClasses: readonly string[],
  isExtra: (c: Labelled) => boolean,
): Labeller {
  const seconds = (offset: number, frames: number) =>
    [offset * SECONDS_PER_FRAME, (offset + frames) * SECONDS_PER_FRAME] as const;
  if (map !== undefined) {
    return {
      classes: mapClasses(map),
      teacher: map.teacher,
      window: (c, offset, frames) =>
        windowTarget(map, c.tagOut, c.tagPatches, c.embOut, ...seconds(offset, frames)),
      clip: (c) => teacherClipReference(map, c.tagOut, TEACHER_FLOOR).label,
    };
  }
  const classes = [...moodClasses];
  const clip = (c: Labelled) => {
    const k = classes.indexOf(c.clip.item.label);
    if (k < 0) throw new Error(`Label outside the classes: ${c.clip.item.label}`);
    return k;
  };
  return {
    classes,
    teacher: "msd",
    window: (c, offset, frames) => {
      // an extra recording has no cluster: no class target (zeros), only the teacher's embedding
      const probs = new Float32Array(classes.length);
      if (!isExtra(c)) probs[clip(c)] = 1;
      return { probs, embedding: windowEmbedding(c.embOut, ...seconds(offset, frames)) };
    },
    clip,
  };
}

/** Fixed examples (validation, test): inputs, soft targets, standardised teacher embeddings, clip index. */
interface FixedSet {
  x: LogMel[];
  probs: Float32Array[];
  emb: Float32Array[];
  clipOf: number[];
  /**
   * Per clip: the teacher's class over the whole clip (all its patches) when its tag probability reaches
   * `TEACHER_FLOOR`, else `NO_CLASS` (the calibration's reference).
   */
  clipLabel: number[];
}

interface DistillState {
  fingerprint: string;
  epoch: number;
  bestEpoch: number;
  best: number;
  wait: number;
  history: EpochRecord[];
}

/** With `partialTags`, the fewest training clips with the tag teacher's targets that training accepts. */
export const MIN_PARTIAL_CLIPS = 100;

const SECONDS_PER_FRAME = DEFAULT_FEATURE_PARAMS.hopLength / DEFAULT_FEATURE_PARAMS.sampleRate;

function toEntry(it: DatasetItem): SplitEntry {
  return {
    path: it.path,
    label: it.label,
    trackId: it.trackId,
    group: it.group,
    ...(it.artist === undefined ? {} : { artist: it.artist }),
  };
}

function argmax(v: ArrayLike<number>): number {
  let b = 0;
  for (let i = 1; i < v.length; i++) if (v[i]! > v[b]!) b = i;
  return b;
}

/**
 * Reads the teacher outputs of clips; a mood clip without targets stops training (never silently
 * empty targets), an extra recording without them (shorter than one patch) is skipped and listed.
 */
async function attachTargets(
  clips: readonly ClipViews[],
  teacher: TeacherId,
  opts: DistillOptions,
  optional: (it: DatasetItem) => boolean,
  skipped: SkippedFile[],
  partialTags = false,
): Promise<Labelled[]> {
  const stride = teacher === "mtt" ? opts.mttStride ?? 5 : 1;
  const out: Labelled[] = [];
  let missingTags = 0;
  for (const clip of clips) {
    const sha = await sha256File(clip.item.path);
    let embOut: TeacherOutput;
    try {
      embOut = await readTeacherOutput(opts.targetsDir, "msd", sha, clip.item.path);
    } catch (err) {
      if (optional(clip.item) && err instanceof SoundalikeError && err.code === ErrorCode.BadDataset) {
        skipped.push({ path: clip.item.path, reason: "no teacher targets (shorter than one 3 s patch)" });
        continue;
      }
      throw err;
    }
    if (embOut.embedding.length !== embOut.n * TEACHER_EMBEDDING_SIZE) {
      throw new SoundalikeError(
        ErrorCode.BadDataset,
        `The MSD targets of ${clip.item.path} hold no ${TEACHER_EMBEDDING_SIZE}-d embedding: delete its cache entry and run \`deno task teacher-targets\``,
      );
    }
    let tagOut = embOut;
    if (teacher !== "msd") {
      try {
        tagOut = await readTeacherOutput(opts.targetsDir, teacher, sha, clip.item.path, stride);
      } catch (err) {
        if (!(partialTags && err instanceof SoundalikeError && err.code === ErrorCode.BadDataset)) throw err;
        missingTags++;
        skipped.push({ path: clip.item.path, reason: `no ${teacher} teacher targets yet` });
        continue;
      }
    }
    const tagPatches = teacher === "msd"
      ? Array.from({ length: tagOut.n }, (_, i) => i)
      : stridedPatchIndices(embOut.n, stride);
    if (tagPatches.length !== tagOut.n) {
      throw new SoundalikeError(
        ErrorCode.BadDataset,
        `The ${teacher} targets of ${clip.item.path} have ${tagOut.n} patches, expected ${tagPatches.length} (stride ${stride}): delete them and run \`deno task teacher-targets --mtt-stride ${stride}\``,
      );
    }
    out.push({ clip, tagOut, tagPatches, embOut });
  }
  if (partialTags ? clips.length - missingTags < MIN_PARTIAL_CLIPS : missingTags > 0) {
    throw new SoundalikeError(
      ErrorCode.BadDataset,
      `${missingTags} of ${clips.length} training clips have no ${teacher} teacher targets in ${opts.targetsDir}: run \`deno task teacher-targets --teachers ${teacher}\` first`,
    );
  }
  return out;
}

/** Per-dimension mean and std of the MSD embeddings of the training clips' patches. */
function embeddingStats(clips: readonly Labelled[]): { mean: Float32Array; std: Float32Array } {
  const d = TEACHER_EMBEDDING_SIZE;
  const sum = new Float64Array(d), sq = new Float64Array(d);
  let n = 0;
  for (const c of clips) {
    for (let i = 0; i < c.embOut.n; i++) {
      for (let j = 0; j < d; j++) {
        const v = c.embOut.embedding[i * d + j]!;
        sum[j]! += v;
        sq[j]! += v * v;
      }
      n++;
    }
  }
  const mean = new Float32Array(d), std = new Float32Array(d);
  for (let j = 0; j < d; j++) {
    mean[j] = sum[j]! / n;
    std[j] = Math.max(1e-3, Math.sqrt(Math.max(0, sq[j]! / n - mean[j]! ** 2)));
  }
  return { mean, std };
}

function standardise(v: Float32Array, s: { mean: Float32Array; std: Float32Array }): Float32Array {
  return v.map((x, j) => (x - s.mean[j]!) / s.std[j]!);
}

/** The three inference windows (start, middle, end) of each clip's clean decode, with targets. */
function fixedSet(
  clips: readonly Labelled[],
  lab: Labeller,
  frames: number,
  stats: { mean: Float32Array; std: Float32Array },
  embStats: { mean: Float32Array; std: Float32Array },
): FixedSet {
  const set: FixedSet = { x: [], probs: [], emb: [], clipOf: [], clipLabel: [] };
  clips.forEach((c, ci) => {
    const mp = c.clip.variants[0]!;
    const last = mp.frames - frames;
    const offsets = last <= 0 ? [0] : [0, Math.floor(last / 2), last];
    for (const o of offsets) {
      const t = lab.window(c, o, frames);
      set.x.push(windowAt(c.clip, 0, o, DEFAULT_FEATURE_PARAMS, frames, stats));
      set.probs.push(t.probs);
      set.emb.push(standardise(t.embedding!, embStats));
      set.clipOf.push(ci);
    }
    set.clipLabel.push(lab.clip(c));
  });
  return set;
}

/** Student outputs for fixed examples. */
function predict(two: tf.LayersModel, x: readonly LogMel[]): { emb: Float32Array; logits: Float32Array } {
  const embs: Float32Array[] = [], logs: Float32Array[] = [];
  for (let at = 0; at < x.length; at += 32) {
    const [e, l] = tf.tidy(() =>
      (two.predict(toBatch(x.slice(at, at + 32))) as tf.Tensor[]).map((t) => t.clone())
    );
    embs.push(e!.dataSync() as Float32Array);
    logs.push(l!.dataSync() as Float32Array);
    tf.dispose([e!, l!]);
  }
  const cat = (a: Float32Array[]) => {
    const out = new Float32Array(a.reduce((s, v) => s + v.length, 0));
    let at = 0;
    for (const v of a) (out.set(v, at), at += v.length);
    return out;
  };
  return { emb: cat(embs), logits: cat(logs) };
}

/** Validation figures: soft cross-entropy, embedding MSE, top-1 agreement with the teacher. */
/**
 * A batch-wise term over a fixed set, as training sees it: the mean of `reference` (the neighbourhood
 * term's or the supervised contrast's) over batches of `batch` windows, drawn in one seeded order
 * (consecutive windows are often of one clip; a batch of them would weigh those neighbours, which
 * training batches seldom have).
 */
function fixedBatchTerm(
  emb: Float32Array,
  targets: readonly Float32Array[],
  term: { temperature: number; batch: number },
  reference: (student: Float32Array[], targets: Float32Array[], temperature: number) => number,
): number {
  const d = emb.length / targets.length;
  const order = shuffled(targets.map((_, i) => i), seededRandom(1));
  let sum = 0, count = 0;
  for (let from = 0; from + 3 <= order.length; from += term.batch) {
    const rows = order.slice(from, from + term.batch);
    sum += rows.length * reference(
      rows.map((i) => emb.subarray(i * d, (i + 1) * d)),
      rows.map((i) => targets[i]!),
      term.temperature,
    );
    count += rows.length;
  }
  return sum / count;
}

function evaluateFixed(
  two: tf.LayersModel,
  proj: { w: tf.Variable; b: tf.Variable },
  set: FixedSet,
  nClasses: number,
  relation?: { temperature: number; batch: number },
  labelContrast?: { temperature: number; batch: number },
): { ce: number; mse: number; rel?: number; sup?: number; agreement: number; logits: Float32Array } {
  const { emb, logits } = predict(two, set.x);
  let ce = 0, agree = 0;
  for (let i = 0; i < set.x.length; i++) {
    const row = logits.subarray(i * nClasses, (i + 1) * nClasses);
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
    const p = set.probs[i]!;
    for (let c = 0; c < nClasses; c++) ce -= p[c]! * (row[c]! - lse);
    if (argmax(row) === argmax(p)) agree++;
  }
  const mse = tf.tidy(() => {
    const e = tf.tensor2d(emb, [set.x.length, emb.length / set.x.length]);
    const z = tf.stack(set.emb.map((v) => tf.tensor1d(v)));
    const pr = tf.add(tf.matMul(e, proj.w), proj.b);
    return tf.mean(tf.square(tf.sub(pr, z))).dataSync()[0]!;
  });
  const rel = relation === undefined ? undefined : fixedBatchTerm(emb, set.emb, relation, relationReference);
  const sup = labelContrast === undefined
    ? undefined
    : fixedBatchTerm(emb, set.probs, labelContrast, labelContrastReference);
  return {
    ce: ce / set.x.length,
    mse,
    ...(rel === undefined ? {} : { rel }),
    ...(sup === undefined ? {} : { sup }),
    agreement: agree / set.x.length,
    logits,
  };
}

/**
 * Writes `confusion_matrix.svg` (test windows: the teacher's top class against the student's) and
 * `training_curves.svg` into a run directory.
 *
 * @param outDir The run directory.
 * @param task The task, for the titles.
 * @param classes Class names.
 * @param confusion `confusion[teacher][student]`.
 * @param history The training history.
 */
export async function writeDistillPlots(
  outDir: string,
  task: string,
  classes: readonly string[],
  confusion: number[][],
  history: History,
): Promise<void> {
  await writeFileAtomic(
    join(outDir, RUN_FILES.confusion),
    confusionMatrixSvg(confusion, classes, `${task}: teacher's top class (rows) vs student (columns), test`),
  );
  await writeFileAtomic(
    join(outDir, RUN_FILES.curves),
    trainingCurvesSvg(history.epochs, `${task}: distillation curves (accuracy = agreement with the teacher)`),
  );
}

/** What {@linkcode distill} returns. */
export interface DistillResult {
  history: History;
  /** Test-split figures (undefined when interrupted). */
  test?: { agreement: number; clipAgreement: number; calibration: CalibrationReport };
  interrupted: boolean;
}

/**
 * Trains one student; see the module doc.
 *
 * @param opts Data, teacher targets, hyper-parameters.
 * @returns History and test figures.
 */
export async function distill(opts: DistillOptions): Promise<DistillResult> {
  const { logger, outDir, map } = opts;
  if ((opts.task === "emotion") !== (map === undefined)) {
    throw new Error(`distill: ${opts.task} ${map === undefined ? "needs" : "takes no"} tag map`);
  }
  if (opts.aux !== undefined && opts.task !== "emotion") {
    throw new Error(`distill: an auxiliary labelled set is for the emotion model, not ${opts.task}`);
  }
  // the mood set's one split, whatever the training seed (MOOD_SPLIT_SEED)
  const splits = splitByGroup(opts.mood.items, MOOD_SPLIT_SEED, DEFAULT_SPLIT);
  // no recording by an artist of the held-out clips trains (extra recordings that name their artist,
  // the auxiliary set's clips)
  const heldOut = [
    ...splits.validation,
    ...splits.test,
    ...(opts.mood.reservedArtists ?? []).map((artist) => ({ artist })),
  ];
  const extraKept = dropHeldOutArtists(opts.extra, heldOut);
  const extra = extraKept.kept;
  const extraIds = new Set(extra.map((it) => it.trackId));
  const auxKept = opts.aux === undefined ? undefined : dropHeldOutArtists(opts.aux.dataset.items, heldOut);
  const auxItems = auxKept?.kept ?? [];
  const auxClasses = opts.aux?.dataset.classes ?? [];
  const auxLabel = new Map(auxItems.map((it) => [it.trackId, auxClasses.indexOf(it.label)]));
  const auxWeight = opts.aux?.weight ?? 1;
  // recordings with no class of the task: the extra ones and the auxiliary set's
  const noClass = (it: DatasetItem) => extraIds.has(it.trackId) || auxLabel.has(it.trackId);
  const lab = labeller(map, opts.mood.classes, (c) => noClass(c.clip.item));
  const seed = opts.seed ?? 1;
  const epochs = opts.epochs ?? 12;
  const batchSize = opts.batchSize ?? 16;
  const learningRate = opts.learningRate ?? 1e-3;
  const patience = opts.patience ?? 3;
  const windowsPerClip = opts.windowsPerClip ?? 2;
  const variants = opts.variants ?? 2;
  const embedWeight = opts.embedWeight ?? 0.5;
  const contrastWeight = opts.contrastive?.weight ?? 0.5;
  const contrastOn = opts.contrastive !== undefined && contrastWeight > 0;
  const relationWeight = opts.relation?.weight ?? 1;
  const relation = opts.relation !== undefined && relationWeight > 0
    ? { weight: relationWeight, temperature: opts.relation.temperature ?? 0.1 }
    : undefined;
  const labelContrastWeight = opts.labelContrast?.weight ?? 0.5;
  const labelContrast = opts.labelContrast !== undefined && labelContrastWeight > 0
    ? { weight: labelContrastWeight, temperature: opts.labelContrast.temperature ?? 0.1 }
    : undefined;
  const temperature = opts.contrastive?.temperature ?? 0.2;
  const params = DEFAULT_FEATURE_PARAMS;
  const maxShift = Math.round(
    ((opts.contrastive?.maxShiftSeconds ?? 5) * params.sampleRate) / params.hopLength,
  );
  const classes = lab.classes;
  const cfg: ModelConfig = { ...DEFAULT_MODEL_CONFIG, nClasses: classes.length };
  const frames = cfg.frames;
  await Deno.mkdir(outDir, { recursive: true });
  const ckptDir = join(outDir, RUN_FILES.checkpoint);

  // 1. views (the mood set's split, as every model's, is above)
  const skipped: SkippedFile[] = [...opts.mood.skipped];
  const views = async (items: readonly DatasetItem[], n: number, label: string) => {
    opts.progress?.start(items.length, label);
    const r = await loadClipViews(items, {
      params,
      variants: n,
      seed,
      logger,
      concurrency: 1,
      ...(opts.viewsCacheDir === undefined ? {} : { cacheDir: opts.viewsCacheDir }),
      onProgress: (done) => opts.progress?.update(done),
    });
    opts.progress?.stop();
    skipped.push(...r.skipped);
    return r.clips;
  };
  const trainViews = await views([...splits.train, ...extra, ...auxItems], variants, "views (train)");
  const train = await attachTargets(
    trainViews,
    lab.teacher,
    opts,
    // an extra recording shorter than one patch is skipped; an auxiliary clip must have its targets
    (it) => extraIds.has(it.trackId),
    skipped,
    opts.partialTags ?? false,
  );
  // The contrastive task's validation pairs need an augmented copy of each validation clip; variant 0 is
  // the clean decode either way, so the other validation figures do not change.
  const val = await attachTargets(
    await views(splits.validation, contrastOn ? 2 : 1, "views (validation)"),
    lab.teacher,
    opts,
    () => false,
    skipped,
  );
  // The test clips' targets are checked now too (used once, after training), so a run never trains for
  // nothing before finding them missing.
  const test = await attachTargets(
    await views(splits.test, 1, "views (test)"),
    lab.teacher,
    opts,
    () => false,
    skipped,
  );
  if (train.length < 2 || val.length < 2) {
    throw new SoundalikeError(
      ErrorCode.BadDataset,
      "Distillation needs at least two training and validation clips",
    );
  }
  // The contrastive clips: the mood set's training clips (the real clips the pre-distillation models
  // contrasted), whether or not the tag teacher has labelled them yet; never the extra recordings.
  const contrastTrain = contrastOn ? trainViews.filter((c) => !noClass(c.item)) : [];
  const contrastVal = contrastOn ? val.map((c) => c.clip) : [];
  if (contrastOn && (contrastTrain.length < 2 || contrastVal.length < 2)) {
    throw new SoundalikeError(
      ErrorCode.BadDataset,
      "The contrastive task needs at least two clips per split",
    );
  }
  const contrastBatch = contrastOn ? Math.min(opts.contrastive?.batch ?? 8, contrastTrain.length) : 0;
  const stats = computeBandStats(train.flatMap((c) => statsWindows(c.clip.variants[0]!, params, frames)));
  const embStats = embeddingStats(train);
  const valSet = fixedSet(val, lab, frames, stats, embStats);
  const valPairs = contrastVal.map((c) => fixedPair(c, params, frames, stats, Math.min(maxShift, 40)));
  const fingerprint = createHash("sha256").update(JSON.stringify({
    seed,
    task: opts.task,
    classes,
    windowsPerClip,
    variants,
    embedWeight,
    batchSize,
    learningRate,
    // only with the task, so runs without it keep their fingerprint
    ...(contrastOn ? { contrast: { contrastWeight, temperature, contrastBatch, maxShift } } : {}),
    ...(relation === undefined ? {} : { relation }),
    ...(labelContrast === undefined ? {} : { labelContrast }),
    ...(opts.aux === undefined ? {} : { aux: { weight: auxWeight, classes: auxClasses } }),
    train: train.map((c) => c.clip.item.trackId),
    val: val.map((c) => c.clip.item.trackId),
  })).digest("hex").slice(0, 16);
  await writeJson(join(outDir, RUN_FILES.splits), {
    train: train.map((c) => toEntry(c.clip.item)),
    validation: val.map((c) => toEntry(c.clip.item)),
    test: splits.test.map(toEntry),
    skipped,
  });
  const teacherFiles = [...TEACHER_FILES.msd, ...(lab.teacher === "mtt" ? TEACHER_FILES.mtt : [])];
  const trainedOn = {
    kind: "dataset" as const,
    name: map === undefined
      ? `${opts.mood.name} (its real clusters), MSD MusiCNN teacher embedding targets`
      : `${opts.mood.name} + shared real recordings, ${map.teacher.toUpperCase()} MusiCNN teacher targets`,
    seed,
    examples: { train: train.length, validation: val.length, test: splits.test.length },
    segments: {
      train: train.length * windowsPerClip,
      validation: valSet.x.length,
      test: splits.test.length * 3,
    },
    ...(opts.moodSource ? { source: opts.moodSource } : {}),
    ...(opts.mood.reserved?.length ? { reserved: opts.mood.reserved.length } : {}),
    extraRecordings: train.filter((c) => extraIds.has(c.clip.item.trackId)).length,
    ...(opts.aux === undefined ? {} : {
      aux: {
        name: opts.aux.dataset.name,
        ...(opts.aux.source ? { source: opts.aux.source } : {}),
        classes: auxClasses,
        clips: train.filter((c) => auxLabel.has(c.clip.item.trackId)).length,
        droppedHeldOutArtists: auxKept!.dropped,
        weight: auxWeight,
        head: `256 -> ${auxClasses.length} softmax on the embedding, not exported`,
      },
    }),
    ...(opts.extraSources?.length ? { extraSources: opts.extraSources } : {}),
    ...(extraKept.dropped > 0 ? { extraDroppedHeldOutArtists: extraKept.dropped } : {}),
    augmentation: { variants },
    ...(contrastOn
      ? {
        contrastive: {
          name: opts.mood.name,
          ...(opts.moodSource ? { source: opts.moodSource } : {}),
          clips: { train: contrastTrain.length, validation: contrastVal.length },
          weight: contrastWeight,
          temperature,
          batch: contrastBatch,
        },
      }
      : {}),
    ...(labelContrast === undefined ? {} : { labelContrast }),
    teacher: {
      name: "MusiCNN (Pons & Serra 2019)",
      targets: map === undefined ? "embedding only (classes: the mood set's real clusters)" : map.teacher,
      embedding: "msd",
      files: teacherFiles.map((f) => ({ ...f.source, sha256: f.sha256 })),
      ...(map === undefined ? {} : { tagMap: map.classes }),
      embedWeight,
      ...(relation === undefined ? {} : { relation }),
      ...(lab.teacher === "mtt" ? { mttStride: opts.mttStride ?? 5 } : {}),
    },
  };
  logger.info("Distillation data ready", {
    task: opts.task,
    classes,
    train: train.length,
    validation: val.length,
    test: splits.test.length,
    skipped: skipped.length,
  });

  // 2. model, projection, optimiser, resume
  const model = buildModel(cfg, { seed });
  const two = embeddingModel(model);
  const dropouts = model.layers.filter((l) => l.getClassName() === "Dropout") as unknown as {
    seed?: number;
  }[];
  const proj = {
    w: tf.variable(
      tf.randomNormal(
        [cfg.embeddingSize, TEACHER_EMBEDDING_SIZE],
        0,
        1 / Math.sqrt(cfg.embeddingSize),
        "float32",
        seed,
      ),
      true,
    ),
    b: tf.variable(tf.zeros([TEACHER_EMBEDDING_SIZE]), true),
  };
  // the auxiliary head (trained and checkpointed with the projection; not exported)
  const auxHead = opts.aux === undefined ? undefined : {
    w: tf.variable(
      tf.randomNormal(
        [cfg.embeddingSize, auxClasses.length],
        0,
        1 / Math.sqrt(cfg.embeddingSize),
        "float32",
        seed + 1,
      ),
      true,
    ),
    b: tf.variable(tf.zeros([auxClasses.length]), true),
  };
  const optimizer = tf.train.adam(learningRate);
  const vars = [
    ...model.trainableWeights.map((w) => w.read() as tf.Variable),
    proj.w,
    proj.b,
    ...(auxHead === undefined ? [] : [auxHead.w, auxHead.b]),
  ];
  let state: DistillState = { fingerprint, epoch: 0, bestEpoch: 0, best: Infinity, wait: 0, history: [] };
  let best = copyWeights(model);
  let bestProj = [proj.w.dataSync().slice(), proj.b.dataSync().slice()] as Float32Array[];
  // the heads beside the model: the projection, and the auxiliary head when there is one
  const heads = [
    { file: "projection.bin", head: proj },
    ...(auxHead ? [{ file: "aux_head.bin", head: auxHead }] : []),
  ];
  const saveProj = async (dir: string) => {
    await Deno.mkdir(dir, { recursive: true });
    for (const { file, head } of heads) {
      const data = new Float32Array(head.w.size + head.b.size);
      data.set(head.w.dataSync() as Float32Array, 0);
      data.set(head.b.dataSync() as Float32Array, head.w.size);
      await Deno.writeFile(join(dir, file), new Uint8Array(data.buffer));
    }
  };
  /** A saved head's weights and biases. */
  const readHead = async (dir: string, file: string, head: { w: tf.Variable; b: tf.Variable }) => {
    const path = join(dir, file);
    const data = new Float32Array((await Deno.readFile(path)).slice().buffer);
    if (data.length !== head.w.size + head.b.size) {
      throw new Error(
        `${path} holds ${data.length} floats, not ${head.w.size + head.b.size}: run without --resume`,
      );
    }
    return [data.slice(0, head.w.size), data.slice(head.w.size)] as Float32Array[];
  };
  const loadProj = async (dir: string) => {
    for (const { file, head } of heads) {
      const [w, b] = await readHead(dir, file, head);
      head.w.assign(tf.tensor2d(w!, head.w.shape as [number, number]));
      head.b.assign(tf.tensor1d(b!));
    }
  };
  if (opts.resume) {
    const saved = await readJsonIfExists<DistillState>(join(ckptDir, RUN_FILES.state));
    if (saved === undefined) logger.warn("Nothing to resume: starting from scratch", { checkpoint: ckptDir });
    else if (saved.fingerprint !== fingerprint) {
      throw new Error(
        `The checkpoint in ${ckptDir} was made with other data or settings: run without --resume`,
      );
    } else {
      state = saved;
      best = (await restoreCheckpoint(model, optimizer, ckptDir, state.bestEpoch)) ?? best;
      await loadProj(join(ckptDir, "last"));
      // the best epoch's projection goes with the best weights (the test's embedding loss reads it)
      if (state.bestEpoch > 0) bestProj = await readHead(join(ckptDir, "best"), "projection.bin", proj);
      logger.info("Resuming", { epoch: state.epoch, bestEpoch: state.bestEpoch });
    }
  } else {
    await Deno.remove(ckptDir, { recursive: true }).catch(() => {});
  }

  // 3. epochs
  const stopper = new EarlyStopping(patience, state.best, state.wait);
  const n = train.length * windowsPerClip;
  const steps = Math.ceil(n / batchSize);
  let interrupted = false;
  for (let epoch = state.epoch + 1; epoch <= epochs && !stopper.stopped; epoch++) {
    const t0 = performance.now();
    const order = shuffled(
      train.flatMap((_, i) => Array.from({ length: windowsPerClip }, () => i)),
      seededRandom(stepSeed(seed, epoch, 0, 7)),
    );
    const contrastOrder = shuffled(contrastTrain.map((_, i) => i), seededRandom(stepSeed(seed, epoch, 0, 9)));
    let ceSum = 0, mseSum = 0, ntxSum = 0, relSum = 0, supSum = 0, auxSum = 0, agree = 0, seen = 0;
    let auxSeen = 0;
    // windows with a class target (all but an emotion run's extra recordings): what ce and agree average over
    let labelledSeen = 0;
    opts.progress?.start(n, `epoch ${epoch}/${epochs}`);
    for (let s = 0; s < steps; s++) {
      const idx = order.slice(s * batchSize, (s + 1) * batchSize);
      const random = seededRandom(stepSeed(seed, epoch, s + 1, 11));
      dropouts.forEach((d, k) => (d.seed = stepSeed(seed, epoch, s + 1, k)));
      const xs: LogMel[] = [], ps: Float32Array[] = [], zs: Float32Array[] = [], auxRows: Float32Array[] = [];
      const pairs: LogMel[][] = [[], []];
      for (const i of idx) {
        const c = train[i]!;
        const v = Math.floor(random() * c.clip.variants.length);
        const mp = c.clip.variants[v]!;
        const o = Math.max(0, Math.floor(random() * (mp.frames - frames + 1)));
        const t = lab.window(c, o, frames);
        xs.push(windowAt(c.clip, v, o, params, frames, stats));
        ps.push(t.probs);
        zs.push(standardise(t.embedding!, embStats));
        const a = new Float32Array(auxClasses.length);
        const k = auxLabel.get(c.clip.item.trackId);
        if (k !== undefined) a[k] = 1;
        auxRows.push(a);
      }
      // drawn after the windows, from the same stream, so the windows are those of a run without the task
      for (let k = 0; k < contrastBatch; k++) {
        const clip = contrastTrain[contrastOrder[(s * contrastBatch + k) % contrastOrder.length]!]!;
        const [a, b] = randomPair(clip, params, frames, maxShift, random, stats);
        pairs[0]!.push(a);
        pairs[1]!.push(b);
      }
      const x = toBatch([...xs, ...pairs[0]!, ...pairs[1]!]);
      const p = tf.stack(ps.map((v) => tf.tensor1d(v))) as tf.Tensor2D;
      const z = tf.stack(zs.map((v) => tf.tensor1d(v))) as tf.Tensor2D;
      const a = auxHead === undefined
        ? undefined
        : tf.tensor2d(auxRows.flatMap((v) => [...v]), [auxRows.length, auxClasses.length]);
      // the auxiliary set's windows train its head only, not the embedding regression
      const embedRows = auxHead === undefined
        ? undefined
        : tf.tensor1d(auxRows.map((v) => (v.some((x) => x > 0) ? 0 : 1)));
      let auxT: tf.Tensor | undefined;
      let ceT: tf.Tensor | undefined, mseT: tf.Tensor | undefined, predT: tf.Tensor | undefined;
      let ntxT: tf.Tensor | undefined, relT: tf.Tensor | undefined, supT: tf.Tensor | undefined;
      const loss = optimizer.minimize(
        () => {
          const [emb, logits] = two.apply(x, { training: true }) as tf.Tensor2D[];
          const terms = distillLoss(emb!, logits!, p, z, proj, {
            embed: embedWeight,
            ...(embedRows === undefined ? {} : { embedRows }),
            ...(relation === undefined ? {} : { relation }),
            ...(labelContrast === undefined ? {} : { labelContrast }),
            ...(contrastOn
              ? { contrast: { pairs: pairs[0]!.length, weight: contrastWeight, temperature } }
              : {}),
            ...(auxHead === undefined ? {} : { aux: { head: auxHead, targets: a!, weight: auxWeight } }),
          });
          ceT = tf.keep(terms.ce.clone());
          mseT = tf.keep(terms.mse.clone());
          if (terms.ntx !== undefined) ntxT = tf.keep(terms.ntx.clone());
          if (terms.rel !== undefined) relT = tf.keep(terms.rel.clone());
          if (terms.sup !== undefined) supT = tf.keep(terms.sup.clone());
          if (terms.aux !== undefined) auxT = tf.keep(terms.aux.clone());
          predT = tf.keep(tf.argMax(logits!, -1));
          return terms.total;
        },
        true,
        vars,
      )!;
      const pred = await predT!.data();
      // rows without a class (emotion extras) are not counted
      let batchLabelled = 0;
      ps.forEach((v, k) => {
        if (!v.some((x) => x > 0)) return;
        batchLabelled++;
        if (pred[k] === argmax(v)) agree++;
      });
      labelledSeen += batchLabelled;
      ceSum += (await ceT!.data())[0]! * batchLabelled;
      mseSum += (await mseT!.data())[0]! * idx.length;
      if (ntxT !== undefined) ntxSum += (await ntxT.data())[0]! * idx.length;
      if (relT !== undefined) relSum += (await relT.data())[0]! * idx.length;
      if (supT !== undefined) supSum += (await supT.data())[0]! * idx.length;
      // the auxiliary cross-entropy is a mean over the rows with an auxiliary label
      const batchAux = auxRows.filter((v) => v.some((x) => x > 0)).length;
      if (auxT !== undefined) auxSum += (await auxT.data())[0]! * batchAux;
      auxSeen += batchAux;
      seen += idx.length;
      tf.dispose([
        x,
        p,
        z,
        loss,
        ceT!,
        mseT!,
        predT!,
        ...[a, embedRows, ntxT, relT, supT, auxT].filter((t) => t !== undefined),
      ]);
      const rate = seen / ((performance.now() - t0) / 1000);
      opts.progress?.update(seen, {
        ce: (ceSum / Math.max(labelledSeen, 1)).toFixed(3),
        mse: (mseSum / seen).toFixed(3),
        agree: (agree / Math.max(labelledSeen, 1)).toFixed(3),
        ...(contrastOn ? { ntx: (ntxSum / seen).toFixed(3) } : {}),
        ...(relation === undefined ? {} : { rel: (relSum / seen).toFixed(3) }),
        ...(labelContrast === undefined ? {} : { sup: (supSum / seen).toFixed(3) }),
        ...(auxHead === undefined ? {} : { aux: (auxSum / Math.max(auxSeen, 1)).toFixed(3) }),
        "run ETA": fmtSeconds((n - seen) / rate + (epochs - epoch) * (n / rate) * 1.1),
      });
    }
    opts.progress?.stop();
    const trainSeconds = (performance.now() - t0) / 1000;
    const v = evaluateFixed(
      two,
      proj,
      valSet,
      classes.length,
      relation === undefined ? undefined : { temperature: relation.temperature, batch: batchSize },
      labelContrast === undefined ? undefined : { temperature: labelContrast.temperature, batch: batchSize },
    );
    const vc = contrastOn ? evaluatePairs(two, valPairs, contrastBatch, temperature) : undefined;
    const monitored = v.ce + embedWeight * v.mse + (vc === undefined ? 0 : contrastWeight * vc.loss) +
      (relation === undefined ? 0 : relation.weight * v.rel!) +
      (labelContrast === undefined ? 0 : labelContrast.weight * v.sup!);
    const record: EpochRecord & Record<string, number> = {
      epoch,
      loss: ceSum / Math.max(labelledSeen, 1),
      accuracy: agree / Math.max(labelledSeen, 1),
      valLoss: v.ce,
      valAccuracy: v.agreement,
      seconds: (performance.now() - t0) / 1000,
      examplesPerSecond: seen / trainSeconds,
      embeddingLoss: mseSum / seen,
      valEmbeddingLoss: v.mse,
      ...(vc === undefined ? {} : {
        contrastiveLoss: ntxSum / seen,
        valContrastiveLoss: vc.loss,
        valMatch: vc.match,
      }),
      ...(relation === undefined ? {} : { relationLoss: relSum / seen, valRelationLoss: v.rel! }),
      ...(labelContrast === undefined
        ? {}
        : { labelContrastLoss: supSum / seen, valLabelContrastLoss: v.sup! }),
      ...(auxHead === undefined ? {} : { auxLoss: auxSum / Math.max(auxSeen, 1) }),
      valMonitored: monitored,
    };
    state.history.push(record);
    state.epoch = epoch;
    const improved = stopper.update(monitored);
    state.best = stopper.best;
    state.wait = stopper.wait;
    if (improved) {
      state.bestEpoch = epoch;
      best = copyWeights(model);
      bestProj = [proj.w.dataSync().slice() as Float32Array, proj.b.dataSync().slice() as Float32Array];
      await saveModel(model, join(ckptDir, "best"));
      await saveProj(join(ckptDir, "best"));
    }
    await saveModel(model, join(ckptDir, "last"));
    await saveProj(join(ckptDir, "last"));
    await saveOptimizer(optimizer, join(ckptDir, "last"));
    await writeJson(join(ckptDir, RUN_FILES.state), state);
    logger.info(`Epoch ${epoch}/${epochs}`, {
      ce: +record.loss.toFixed(4),
      mse: +(mseSum / seen).toFixed(4),
      agree: +record.accuracy.toFixed(3),
      valCe: +v.ce.toFixed(4),
      valMse: +v.mse.toFixed(4),
      valAgree: +v.agreement.toFixed(3),
      ...(vc === undefined ? {} : {
        ntx: +(ntxSum / seen).toFixed(3),
        valNtx: +vc.loss.toFixed(3),
        valMatch: +vc.match.toFixed(3),
      }),
      ...(relation === undefined ? {} : { rel: +(relSum / seen).toFixed(4), valRel: +v.rel!.toFixed(4) }),
      ...(labelContrast === undefined
        ? {}
        : { sup: +(supSum / seen).toFixed(4), valSup: +v.sup!.toFixed(4) }),
      ...(auxHead === undefined ? {} : { aux: +(auxSum / Math.max(auxSeen, 1)).toFixed(4) }),
      examplesPerSecond: +record.examplesPerSecond.toFixed(1),
      seconds: +record.seconds.toFixed(1),
      best: state.bestEpoch,
    });
    if (opts.signal?.aborted) {
      interrupted = true;
      break;
    }
  }
  const history: History = {
    epochs: state.history,
    bestEpoch: state.bestEpoch,
    stopReason: interrupted ? "running" : stopper.stopped ? "early_stopping" : "completed",
  };
  if (interrupted) {
    model.dispose();
    tf.dispose([proj.w, proj.b, ...(auxHead ? [auxHead.w, auxHead.b] : [])]);
    optimizer.dispose();
    return { history, interrupted };
  }
  setWeights(model, best);
  proj.w.assign(tf.tensor2d(bestProj[0]!, proj.w.shape as [number, number]));
  proj.b.assign(tf.tensor1d(bestProj[1]!));

  // 4. temperature on validation, then the test split once
  const vBest = evaluateFixed(two, proj, valSet, classes.length);
  const testSet = fixedSet(test, lab, frames, stats, embStats);
  const t = evaluateFixed(two, proj, testSet, classes.length);
  const calibration = calibrationReport({
    classes,
    validation: { logits: vBest.logits, clipOf: valSet.clipOf, labels: valSet.clipLabel },
    test: { logits: t.logits, clipOf: testSet.clipOf, labels: testSet.clipLabel },
    ...(map === undefined ? {} : { floor: TEACHER_FLOOR }),
  });
  const metrics = computeMetrics(t.logits, testSet.probs.map(argmax), classes, testSet.clipOf);
  const clipAgreement = metrics.trackAccuracy;
  await saveModel(model, outDir);
  const runConfig: RunConfig = {
    formatVersion: 1,
    task: opts.task,
    classes,
    model: cfg,
    features: { ...params },
    normalization: { mean: Array.from(stats.mean), std: Array.from(stats.std) },
    trainedOn: { ...trainedOn, examples: { ...trainedOn.examples, test: test.length } },
    training: {
      epochs,
      batchSize,
      learningRate,
      patience,
      windowsPerClip,
      variants,
      ...(contrastOn
        ? {
          contrastive: {
            weight: contrastWeight,
            temperature,
            batch: contrastBatch,
            maxShiftFrames: maxShift,
          },
        }
        : {}),
      backend: opts.backend,
    },
    createdAt: new Date().toISOString(),
  };
  await writeJson(join(outDir, RUN_FILES.config), runConfig);
  await writeJson(join(outDir, RUN_FILES.history), history);
  await writeJson(join(outDir, RUN_FILES.metrics), {
    ...metrics,
    labels: map === undefined
      ? "the mood set's real clusters, test split (real clips)"
      : "the teacher's top class per window (agreement), test split of the mood set (real clips)",
    softCrossEntropy: t.ce,
    embeddingMse: t.mse,
  });
  await writeJson(join(outDir, "calibration.json"), calibration);
  await writeDistillPlots(outDir, opts.task, classes, metrics.confusion, history);
  // the checkpoint stays: `resume` with more epochs (or more patience) extends a finished run
  model.dispose();
  tf.dispose([proj.w, proj.b, ...(auxHead ? [auxHead.w, auxHead.b] : [])]);
  optimizer.dispose();
  logger.info("Distillation finished", {
    bestEpoch: state.bestEpoch,
    testAgreement: +t.agreement.toFixed(3),
    testClipAgreement: +clipAgreement.toFixed(3),
    temperature: +calibration.temperature.toFixed(3),
    eceTest: +calibration.test.ece.toFixed(3),
  });
  return { history, test: { agreement: t.agreement, clipAgreement, calibration }, interrupted: false };
}

/**
 * The one CNN used for all three tasks (genre, emotion, instrument): four convolution blocks, a global
 * average pool and three dense layers, the one before the classifier being the 256-d embedding that
 * the product indexes.
 *
 * Layer names are part of the contract with the ONNX exporter (`training/onnx_export.ts`): `logmel`
 * (input, NHWC `[N, nMels, frames, 1]`), `conv1..4`, `bn1..4`, `relu1..4`, `pool1..4`, `gap`, `fc1`,
 * `drop1`, `embedding`, `drop2`, `logits`. There is no softmax layer: training uses softmax
 * cross-entropy on the logits and inference takes `softmax(logits)` where it needs probabilities.
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** Architecture hyper-parameters; one configuration serves the three tasks (only `nClasses` differs). */
export interface ModelConfig {
  /** Mel bands: the input's height. */
  nMels: number;
  /** Frames per segment: the input's width (200 for 10 s at a 50 ms hop). */
  frames: number;
  /** Output channels of conv1..conv4. */
  filters: [number, number, number, number];
  /** Units of the first dense layer (`fc1`). */
  dense1: number;
  /** Units of the embedding layer; fixed by the product's 2304-d clip vector (3 x 3 x 256). */
  embeddingSize: 256;
  /** Classes of the task (10 genres, 5 moods, 7 instrument classes). */
  nClasses: number;
  /** Dropout rate after `fc1` and after `embedding`. */
  dropout: number;
}

/** The shipped configuration; `nClasses` is a placeholder that callers replace per task. */
export const DEFAULT_MODEL_CONFIG: Readonly<ModelConfig> = Object.freeze({
  nMels: 64,
  frames: 200,
  filters: [16, 32, 64, 128] as [number, number, number, number],
  dense1: 512,
  embeddingSize: 256 as const,
  nClasses: 10,
  dropout: 0.3,
});

/** Options of {@linkcode buildModel}. */
export interface BuildModelOptions {
  /**
   * Seed of every initialiser and dropout layer (each layer gets `seed + its index`), so two models
   * built with the same seed start from the same weights.
   * @default 1
   */
  seed?: number;
}

/** Names of the layers, in order, as the exporter expects them. */
export const LAYER_NAMES = {
  input: "logmel",
  embedding: "embedding",
  logits: "logits",
} as const;

function checkConfig(cfg: ModelConfig): void {
  const ints: [string, number][] = [
    ["nMels", cfg.nMels],
    ["frames", cfg.frames],
    ["dense1", cfg.dense1],
    ["nClasses", cfg.nClasses],
    ...cfg.filters.map((f, i): [string, number] => [`filters[${i}]`, f]),
  ];
  for (const [name, v] of ints) {
    if (!Number.isInteger(v) || v < 1) {
      throw new RangeError(`Model config ${name} must be a positive integer: ${v}`);
    }
  }
  if (cfg.nMels < 16 || cfg.frames < 16) {
    throw new RangeError(`Model input must be at least 16x16 (four 2x2 pools): ${cfg.nMels}x${cfg.frames}`);
  }
  if (cfg.embeddingSize !== 256) throw new RangeError(`Embedding size must be 256: ${cfg.embeddingSize}`);
  if (cfg.nClasses < 2) throw new RangeError(`A classifier needs at least 2 classes: ${cfg.nClasses}`);
  if (!(cfg.dropout >= 0 && cfg.dropout < 1)) {
    throw new RangeError(`Dropout must be in [0, 1): ${cfg.dropout}`);
  }
}

/**
 * Builds the (uncompiled) classifier.
 *
 * @param cfg Architecture; see {@linkcode DEFAULT_MODEL_CONFIG}.
 * @param opts Seed of the initialisers.
 * @returns A Layers model from `logmel` `[N, nMels, frames, 1]` to `logits` `[N, nClasses]`.
 * @example
 * ```ts
 * import { buildModel, DEFAULT_MODEL_CONFIG } from "./model.ts";
 * const model = buildModel({ ...DEFAULT_MODEL_CONFIG, nClasses: 4 });
 * console.assert(model.outputs[0]!.shape[1] === 4);
 * ```
 */
export function buildModel(cfg: ModelConfig, opts: BuildModelOptions = {}): tf.LayersModel {
  checkConfig(cfg);
  let seed = opts.seed ?? 1;
  const next = () => seed++;
  const glorot = () => tf.initializers.glorotUniform({ seed: next() });
  const he = () => tf.initializers.heNormal({ seed: next() });

  const input = tf.input({ shape: [cfg.nMels, cfg.frames, 1], name: LAYER_NAMES.input });
  let x: tf.SymbolicTensor = input;
  const apply = (layer: tf.layers.Layer) => {
    x = layer.apply(x) as tf.SymbolicTensor;
  };
  cfg.filters.forEach((filters, i) => {
    const n = i + 1;
    apply(tf.layers.conv2d({
      filters,
      kernelSize: 3,
      padding: "same",
      useBias: false,
      kernelInitializer: he(),
      name: `conv${n}`,
    }));
    // momentum 0.9 (Keras: 0.99) so the moving statistics settle within the few hundred steps of a small dataset
    apply(tf.layers.batchNormalization({ axis: -1, momentum: 0.9, name: `bn${n}` }));
    apply(tf.layers.reLU({ name: `relu${n}` }));
    apply(tf.layers.maxPooling2d({ poolSize: 2, strides: 2, padding: "valid", name: `pool${n}` }));
  });
  apply(tf.layers.globalAveragePooling2d({ name: "gap" }));
  apply(tf.layers.dense({ units: cfg.dense1, activation: "relu", kernelInitializer: he(), name: "fc1" }));
  apply(tf.layers.dropout({ rate: cfg.dropout, seed: next(), name: "drop1" }));
  apply(tf.layers.dense({
    units: cfg.embeddingSize,
    activation: "relu",
    kernelInitializer: he(),
    name: LAYER_NAMES.embedding,
  }));
  apply(tf.layers.dropout({ rate: cfg.dropout, seed: next(), name: "drop2" }));
  apply(tf.layers.dense({ units: cfg.nClasses, kernelInitializer: glorot(), name: LAYER_NAMES.logits }));
  return tf.model({ inputs: input, outputs: x, name: "soundalike_cnn" });
}

/**
 * A model sharing `model`'s layers (and weights) with two outputs: the 256-d embedding and the logits.
 * This is what inference and the ONNX export run.
 *
 * @param model A model made by {@linkcode buildModel} (or loaded from a run directory).
 * @returns A model with outputs `[embedding, logits]`.
 */
export function embeddingModel(model: tf.LayersModel): tf.LayersModel {
  const embedding = model.getLayer(LAYER_NAMES.embedding).output as tf.SymbolicTensor;
  const logits = model.getLayer(LAYER_NAMES.logits).output as tf.SymbolicTensor;
  return tf.model({ inputs: model.inputs, outputs: [embedding, logits], name: "soundalike_cnn_embedding" });
}

/**
 * Reads a {@linkcode ModelConfig} back from a model's layers, for run directories and exports.
 *
 * @param model A model made by {@linkcode buildModel}.
 * @param dropout The dropout rate (not recoverable from inference-time weights).
 * @returns The configuration that builds the same architecture.
 */
export function configOfModel(model: tf.LayersModel, dropout = DEFAULT_MODEL_CONFIG.dropout): ModelConfig {
  const shape = model.inputs[0]!.shape;
  const units = (name: string) => (model.getLayer(name).getConfig() as { units: number }).units;
  const filters = [1, 2, 3, 4].map((n) =>
    (model.getLayer(`conv${n}`).getConfig() as { filters: number }).filters
  );
  return {
    nMels: shape[1]!,
    frames: shape[2]!,
    filters: filters as [number, number, number, number],
    dense1: units("fc1"),
    embeddingSize: 256,
    nClasses: units(LAYER_NAMES.logits),
    dropout,
  };
}

/**
 * Export of the project's chain-shaped tfjs CNN to an ONNX `ModelProto` (no JavaScript converter
 * exists). The graph takes the same NHWC log-mel input as tfjs (`logmel`, `[N, nMels, frames, 1]`
 * with a symbolic batch dimension), transposes once to NCHW (what ONNX `Conv` and pooling use), folds
 * every BatchNormalization into the Conv before it, and names its outputs `embedding` and `logits`
 * (optionally `probs`, a softmax of the logits).
 *
 * Only the layer types the model uses are supported; anything else is refused with an error naming the
 * layer, so a change to the model cannot silently produce a wrong export.
 * @module
 */

import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeFileAtomic } from "../core/mod.ts";
import { createSession, releaseSession, runSession as run } from "../core/mod.ts";
import {
  emptyManifest,
  type ModelEntry,
  type ModelTask,
  readManifest,
  sha256Hex,
  writeManifest,
} from "../core/mod.ts";
import onnxProto from "onnx-proto";
import type { onnx as OnnxNs } from "onnx-proto";

// onnx-proto is CommonJS: its named export is not statically visible to Deno, the default is.
const { onnx } = onnxProto as unknown as { onnx: typeof OnnxNs };

/** The layer class names the exporter understands (`layer.getClassName()`). */
export const SUPPORTED_LAYERS: readonly string[] = [
  "InputLayer",
  "Conv2D",
  "BatchNormalization",
  "ReLU",
  "Activation",
  "MaxPooling2D",
  "GlobalAveragePooling2D",
  "Flatten",
  "Dense",
  "Dropout",
];

/** Options of {@linkcode exportToOnnx}. */
export interface OnnxExportOptions {
  /** Name of the layer whose output becomes the `embedding` output. @default "embedding" */
  embeddingLayer?: string;
  /** Name of the layer whose output becomes the `logits` output. @default "logits" */
  logitsLayer?: string;
  /** Also emit `probs` = softmax(logits). @default false */
  includeProbs?: boolean;
  /** ONNX opset (13 or later). @default 13 */
  opset?: number;
  /** Name of the graph input. @default "logmel" */
  inputName?: string;
  /** Name of the symbolic batch dimension. @default "N" */
  batchDim?: string;
  /** Free-form key/value pairs stored in the model's `metadata_props` (task, classes, ...). */
  metadata?: Record<string, string>;
}

/** The opset the exporter writes by default. */
export const DEFAULT_OPSET = 13;

type Attr = OnnxNs.IAttributeProto;
const AT = onnx.AttributeProto.AttributeType;
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const attrInts = (name: string, ints: number[]): Attr => ({ name, type: AT.INTS, ints });
const attrInt = (name: string, i: number): Attr => ({ name, type: AT.INT, i });

/** The parts of the tfjs layer internals the exporter reads (public fields, loosely typed upstream). */
interface LayerInternals {
  inboundNodes: { inboundLayers: tf.layers.Layer[] }[];
}

type LayerConfig = Record<string, unknown>;

function unsupported(layer: tf.layers.Layer, why: string): Error {
  return new Error(`Cannot export layer ${layer.name} (${layer.getClassName()}) to ONNX: ${why}`);
}

function pair(layer: tf.layers.Layer, v: unknown, what: string): [number, number] {
  if (typeof v === "number") return [v, v];
  if (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === "number")) {
    return [v[0] as number, v[1] as number];
  }
  throw unsupported(layer, `${what} must be a number or a pair, got ${JSON.stringify(v)}`);
}

/**
 * TensorFlow's "same" padding made explicit: total = max((ceil(in/s)-1)*s + (k-1)*d + 1 - in, 0), the
 * odd pixel at the end. Returned in ONNX order `[h_begin, w_begin, h_end, w_end]`.
 */
function tfPads(
  padding: unknown,
  inHW: [number, number],
  k: [number, number],
  s: [number, number],
  d: [number, number],
): number[] {
  if (padding === "valid") return [0, 0, 0, 0];
  if (padding !== "same") {
    throw new Error(`Cannot export padding ${JSON.stringify(padding)} to ONNX: same or valid`);
  }
  const begin: number[] = [];
  const end: number[] = [];
  for (let i = 0; i < 2; i++) {
    const out = Math.ceil(inHW[i]! / s[i]!);
    const total = Math.max((out - 1) * s[i]! + (k[i]! - 1) * d[i]! + 1 - inHW[i]!, 0);
    begin.push(Math.floor(total / 2));
    end.push(total - Math.floor(total / 2));
  }
  return [...begin, ...end];
}

function staticHW(layer: tf.layers.Layer, inShape: (number | null)[]): [number, number] {
  const h = inShape[1];
  const w = inShape[2];
  if (inShape.length !== 4 || typeof h !== "number" || typeof w !== "number") {
    throw unsupported(layer, `a static NHWC input shape is needed, got ${JSON.stringify(inShape)}`);
  }
  return [h, w];
}

function weight(layer: tf.layers.Layer, i: number): { data: Float32Array; shape: number[] } {
  const w = layer.getWeights()[i];
  if (!w) throw unsupported(layer, `weight ${i} is missing`);
  return { data: Float32Array.from(w.dataSync() as Float32Array), shape: w.shape };
}

function activationOp(layer: tf.layers.Layer, name: unknown): "Relu" | "Softmax" | null {
  if (name === undefined || name === null || name === "linear") return null;
  if (name === "relu") return "Relu";
  if (name === "softmax") return "Softmax";
  throw unsupported(layer, `activation ${JSON.stringify(name)} is not supported (linear, relu, softmax)`);
}

function bytesOf(data: Float32Array): Uint8Array {
  // ONNX raw_data is little-endian, as are the machines this runs on (x86-64, arm64).
  return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
}

/** A Conv just emitted without an activation, which a following BatchNormalization folds into. */
interface PendingConv {
  layer: tf.layers.Layer;
  weights: Float32Array; // [cout, cin, kh, kw]
  bias: Float32Array; // [cout]
  weightInit: OnnxNs.ITensorProto;
  biasInit: OnnxNs.ITensorProto;
}

/**
 * Converts a chain-shaped tfjs `LayersModel` (the project's CNN: Conv2D/BatchNormalization/ReLU/
 * MaxPooling2D blocks, GlobalAveragePooling2D or Flatten, Dense layers, Dropout) into ONNX bytes.
 *
 * The result computes what `model.predict` computes in inference mode: dropout is the identity and
 * BatchNormalization uses its moving statistics (folded into the preceding Conv's weights and a new
 * bias). Dense becomes `Gemm` (+ its activation).
 *
 * @param model The trained model; its input must be NHWC `[null, H, W, C]` with static H, W, C.
 * @param opts See {@linkcode OnnxExportOptions}.
 * @returns The serialised `ModelProto`.
 * @throws {Error} On a layer type, activation or configuration the exporter does not support.
 * @example
 * ```ts ignore
 * const bytes = exportToOnnx(model, { includeProbs: true });
 * await Deno.writeFile("genre.onnx", bytes);
 * ```
 */
export function exportToOnnx(model: tf.LayersModel, opts: OnnxExportOptions = {}): Uint8Array {
  const opset = opts.opset ?? DEFAULT_OPSET;
  if (opset < 13) throw new Error(`ONNX opset must be 13 or later: got ${opset}`);
  const batchDim = opts.batchDim ?? "N";
  const inputName = opts.inputName ?? "logmel";
  const embeddingLayer = opts.embeddingLayer ?? "embedding";
  const logitsLayer = opts.logitsLayer ?? "logits";

  const firstInput = model.inputs[0];
  if (model.inputs.length !== 1 || !firstInput) throw new Error("ONNX export: the model must have one input");
  const inShape = firstInput.shape;
  if (inShape.length !== 4 || inShape.slice(1).some((d) => typeof d !== "number")) {
    throw new Error(`ONNX export: the input must be NHWC [null, H, W, C], got ${JSON.stringify(inShape)}`);
  }

  const nodes: OnnxNs.INodeProto[] = [];
  const inits: OnnxNs.ITensorProto[] = [];
  const usedNames = new Set<string>();
  const unique = (base: string): string => {
    let name = base;
    for (let i = 1; usedNames.has(name); i++) name = `${base}_${i}`;
    usedNames.add(name);
    return name;
  };
  const addInit = (name: string, data: Float32Array, dims: number[]): OnnxNs.ITensorProto => {
    const t: OnnxNs.ITensorProto = { name: unique(name), dataType: FLOAT, dims, rawData: bytesOf(data) };
    inits.push(t);
    return t;
  };
  const addNode = (opType: string, input: string[], attribute: Attr[], name: string): string => {
    const nodeName = unique(name);
    const out = unique(`${nodeName}_out`);
    nodes.push({ opType, input, output: [out], name: nodeName, attribute });
    return out;
  };

  usedNames.add(inputName);
  let cur = addNode("Transpose", [inputName], [attrInts("perm", [0, 3, 1, 2])], "to_nchw");
  let layout: "NCHW" | "NC" = "NCHW";
  let shape: (number | null)[] = [...inShape]; // the tfjs (NHWC) shape of `cur`
  let pending: PendingConv | null = null;
  let prevLayer: tf.layers.Layer | null = null;
  const layerOut = new Map<string, string>();

  for (const layer of model.layers) {
    const cls = layer.getClassName();
    const cfg = layer.getConfig() as LayerConfig;
    if (!SUPPORTED_LAYERS.includes(cls)) {
      throw unsupported(layer, `layer type not supported (supported: ${SUPPORTED_LAYERS.join(", ")})`);
    }
    if (cls === "InputLayer") {
      prevLayer = layer;
      continue;
    }
    // The exporter walks `model.layers` in order, which is only the data flow for a chain.
    const inbound = (layer as unknown as LayerInternals).inboundNodes;
    if (
      inbound.length !== 1 || inbound[0]?.inboundLayers.length !== 1 ||
      inbound[0].inboundLayers[0] !== prevLayer
    ) {
      throw unsupported(
        layer,
        "only a plain chain of layers can be exported (one input from the previous layer)",
      );
    }
    const foldInto: PendingConv | null = pending;
    pending = null;

    switch (cls) {
      case "Dropout":
        break; // identity at inference
      case "Conv2D": {
        if (cfg.dataFormat !== undefined && cfg.dataFormat !== "channelsLast") {
          throw unsupported(layer, "only channelsLast data format is supported");
        }
        if (cfg.groups !== undefined && cfg.groups !== 1) throw unsupported(layer, "grouped convolution");
        const kernel = weight(layer, 0);
        const [kh, kw, cin, cout] = kernel.shape as [number, number, number, number];
        // tfjs [kh, kw, cin, cout] -> ONNX [cout, cin, kh, kw]
        const w = new Float32Array(cout * cin * kh * kw);
        for (let a = 0; a < kh; a++) {
          for (let b = 0; b < kw; b++) {
            for (let c = 0; c < cin; c++) {
              for (let o = 0; o < cout; o++) {
                w[((o * cin + c) * kh + a) * kw + b] = kernel.data[((a * kw + b) * cin + c) * cout + o]!;
              }
            }
          }
        }
        const bias = cfg.useBias ? weight(layer, 1).data : new Float32Array(cout);
        const s = pair(layer, cfg.strides, "strides");
        const d = pair(layer, cfg.dilationRate ?? 1, "dilationRate");
        const pads = tfPads(cfg.padding, staticHW(layer, shape), [kh, kw], s, d);
        const weightInit = addInit(`${layer.name}.weight`, w, [cout, cin, kh, kw]);
        const biasInit = addInit(`${layer.name}.bias`, bias, [cout]);
        cur = addNode("Conv", [cur, weightInit.name!, biasInit.name!], [
          attrInts("kernel_shape", [kh, kw]),
          attrInts("strides", s),
          attrInts("dilations", d),
          attrInts("pads", pads),
        ], layer.name);
        const op = activationOp(layer, cfg.activation);
        if (op === "Softmax") throw unsupported(layer, "softmax after a convolution");
        if (op) cur = addNode(op, [cur], [], `${layer.name}_${op.toLowerCase()}`);
        else pending = { layer, weights: w, bias, weightInit, biasInit };
        break;
      }
      case "BatchNormalization": {
        if (!foldInto) {
          throw unsupported(layer, "BatchNormalization must directly follow a Conv2D without activation");
        }
        const axis = Array.isArray(cfg.axis) ? cfg.axis : [cfg.axis];
        if (axis.length !== 1 || !(axis[0] === -1 || axis[0] === 3)) {
          throw unsupported(
            layer,
            `only normalisation over channels (axis -1) is supported, got ${JSON.stringify(cfg.axis)}`,
          );
        }
        let i = 0;
        const cout = foldInto.bias.length;
        const gamma = cfg.scale ? weight(layer, i++).data : new Float32Array(cout).fill(1);
        const beta = cfg.center ? weight(layer, i++).data : new Float32Array(cout);
        const mean = weight(layer, i++).data;
        const variance = weight(layer, i++).data;
        const eps = Number(cfg.epsilon);
        // y = gamma * (conv(x) + b - mean) / sqrt(var + eps) + beta
        //   = conv_{W * s}(x) + (b - mean) * s + beta, with s = gamma / sqrt(var + eps)
        const perOut = foldInto.weights.length / cout;
        for (let o = 0; o < cout; o++) {
          const sc = gamma[o]! / Math.sqrt(variance[o]! + eps);
          for (let j = 0; j < perOut; j++) foldInto.weights[o * perOut + j]! *= sc;
          foldInto.bias[o] = (foldInto.bias[o]! - mean[o]!) * sc + beta[o]!;
        }
        foldInto.weightInit.rawData = bytesOf(foldInto.weights);
        foldInto.biasInit.rawData = bytesOf(foldInto.bias);
        break;
      }
      case "ReLU": {
        if (cfg.maxValue !== undefined && cfg.maxValue !== null) {
          throw unsupported(layer, "ReLU with maxValue");
        }
        cur = addNode("Relu", [cur], [], layer.name);
        break;
      }
      case "Activation": {
        const op = activationOp(layer, cfg.activation);
        if (op === "Softmax") {
          if (layout !== "NC") throw unsupported(layer, "softmax on a non-flat tensor");
          cur = addNode("Softmax", [cur], [attrInt("axis", -1)], layer.name);
        } else if (op) {
          cur = addNode(op, [cur], [], layer.name);
        }
        break;
      }
      case "MaxPooling2D": {
        if (layout !== "NCHW") throw unsupported(layer, "pooling after flattening");
        if (cfg.dataFormat !== undefined && cfg.dataFormat !== "channelsLast") {
          throw unsupported(layer, "only channelsLast data format is supported");
        }
        const k = pair(layer, cfg.poolSize, "poolSize");
        const s = pair(layer, cfg.strides ?? cfg.poolSize, "strides");
        const pads = tfPads(cfg.padding, staticHW(layer, shape), k, s, [1, 1]);
        cur = addNode("MaxPool", [cur], [
          attrInts("kernel_shape", k),
          attrInts("strides", s),
          attrInts("pads", pads),
        ], layer.name);
        break;
      }
      case "GlobalAveragePooling2D": {
        if (layout !== "NCHW") throw unsupported(layer, "pooling after flattening");
        if (cfg.dataFormat !== undefined && cfg.dataFormat !== "channelsLast") {
          throw unsupported(layer, "only channelsLast data format is supported");
        }
        if (cfg.keepDims === true) throw unsupported(layer, "keepDims");
        cur = addNode("GlobalAveragePool", [cur], [], layer.name);
        cur = addNode("Flatten", [cur], [attrInt("axis", 1)], `${layer.name}_flatten`);
        layout = "NC";
        break;
      }
      case "Flatten": {
        // tfjs flattens NHWC in (h, w, c) order: go back to NHWC first so the Dense weights line up.
        if (layout === "NCHW") cur = addNode("Transpose", [cur], [attrInts("perm", [0, 2, 3, 1])], "to_nhwc");
        cur = addNode("Flatten", [cur], [attrInt("axis", 1)], layer.name);
        layout = "NC";
        break;
      }
      case "Dense": {
        if (layout !== "NC") {
          throw unsupported(layer, "Dense on a non-flat input (add Flatten or pooling first)");
        }
        const kernel = weight(layer, 0);
        const [kIn, kOut] = kernel.shape as [number, number];
        const inputs = [cur, addInit(`${layer.name}.weight`, kernel.data, [kIn, kOut]).name!];
        if (cfg.useBias) inputs.push(addInit(`${layer.name}.bias`, weight(layer, 1).data, [kOut]).name!);
        cur = addNode("Gemm", inputs, [], layer.name);
        const op = activationOp(layer, cfg.activation);
        if (op === "Softmax") cur = addNode("Softmax", [cur], [attrInt("axis", -1)], `${layer.name}_softmax`);
        else if (op) cur = addNode(op, [cur], [], `${layer.name}_${op.toLowerCase()}`);
        break;
      }
    }
    shape = layer.outputShape as (number | null)[];
    layerOut.set(layer.name, cur);
    prevLayer = layer;
  }

  const outputs: OnnxNs.IValueInfoProto[] = [];
  const emitOutput = (outName: string, tensor: string, width: number) => {
    nodes.push({ opType: "Identity", input: [tensor], output: [outName], name: unique(`output_${outName}`) });
    outputs.push(valueInfo(outName, [batchDim, width]));
  };
  const flatOutput = (role: string, layerName: string): { tensor: string; width: number } => {
    const tensor = layerOut.get(layerName);
    if (!tensor) {
      throw new Error(`ONNX export: the model has no layer named ${layerName} for the ${role} output`);
    }
    const s = model.getLayer(layerName).outputShape as (number | null)[];
    if (s.length !== 2 || typeof s[1] !== "number") {
      throw new Error(
        `ONNX export: the ${role} layer ${layerName} must output [N, size], got ${JSON.stringify(s)}`,
      );
    }
    return { tensor, width: s[1] };
  };
  const emb = flatOutput("embedding", embeddingLayer);
  const logits = flatOutput("logits", logitsLayer);
  emitOutput("embedding", emb.tensor, emb.width);
  emitOutput("logits", logits.tensor, logits.width);
  if (opts.includeProbs) {
    const probs = addNode("Softmax", [logits.tensor], [attrInt("axis", -1)], "probs_softmax");
    emitOutput("probs", probs, logits.width);
  }

  const graph: OnnxNs.IGraphProto = {
    name: model.name || "soundalike_cnn",
    node: nodes,
    initializer: inits,
    input: [valueInfo(inputName, [batchDim, ...(inShape.slice(1) as number[])])],
    output: outputs,
  };
  const proto = onnx.ModelProto.create({
    irVersion: 8,
    producerName: "soundalike",
    producerVersion: "1",
    docString: "Exported from a tfjs LayersModel by training/onnx_export.ts",
    opsetImport: [{ domain: "", version: opset }],
    graph,
    metadataProps: Object.entries(opts.metadata ?? {}).map(([key, value]) => ({ key, value })),
  });
  return onnx.ModelProto.encode(proto).finish();
}

function valueInfo(name: string, dims: (string | number)[]): OnnxNs.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: FLOAT,
        shape: { dim: dims.map((d) => (typeof d === "string" ? { dimParam: d } : { dimValue: d })) },
      },
    },
  };
}

/** What {@linkcode describeOnnx} reads back from ONNX bytes. */
export interface OnnxSummary {
  opset: number;
  irVersion: number;
  inputs: { name: string; dims: (string | number)[] }[];
  outputs: { name: string; dims: (string | number)[] }[];
  opTypes: string[];
  metadata: Record<string, string>;
}

/**
 * Decodes ONNX bytes and summarises the graph's interface (for tests and the export CLI's report).
 *
 * @param bytes A serialised `ModelProto`.
 * @returns Opset, inputs and outputs with their dims, the op types in node order, and metadata.
 */
export function describeOnnx(bytes: Uint8Array): OnnxSummary {
  const m = onnx.ModelProto.decode(bytes);
  const dims = (v: OnnxNs.IValueInfoProto) =>
    (v.type?.tensorType?.shape?.dim ?? []).map((d) => d.dimParam ? d.dimParam : Number(d.dimValue ?? 0));
  const opsetEntry = m.opsetImport.find((o) => !o.domain);
  return {
    opset: Number(opsetEntry?.version ?? 0),
    irVersion: Number(m.irVersion),
    inputs: (m.graph?.input ?? []).map((v) => ({ name: v.name ?? "", dims: dims(v) })),
    outputs: (m.graph?.output ?? []).map((v) => ({ name: v.name ?? "", dims: dims(v) })),
    opTypes: (m.graph?.node ?? []).map((n) => n.opType ?? ""),
    metadata: Object.fromEntries(m.metadataProps.map((p) => [p.key ?? "", p.value ?? ""])),
  };
}

/** What Debian's `python3-onnx` says about an exported file (see `tests/reference/onnx_check.py`). */
export interface OnnxCheckResult {
  /** Whether `onnx.checker.check_model(full_check=True)` passed. */
  ok: boolean;
  /** The checker's error when it failed. */
  error?: string;
  /** The opset of the default domain. */
  opset?: number;
  /** Graph inputs with their dims. */
  inputs?: { name: string; shape: (string | number)[] }[];
  /** Graph outputs with their dims. */
  outputs?: { name: string; shape: (string | number)[] }[];
  /** Version of the onnx package that checked it. */
  onnxVersion?: string;
}

const CHECK_SCRIPT = new URL("../tests/reference/onnx_check.py", import.meta.url);
// Debian's python3-onnx lives in the system interpreter; a pyenv/venv `python3` on PATH may lack it.
const PYTHONS = ["/usr/bin/python3", "python3"];

let onnxPython: Promise<string | null> | undefined;

/**
 * Finds a Python interpreter that can `import onnx`.
 *
 * @returns Its command, or `null` when python3-onnx is not installed.
 */
export function findOnnxPython(): Promise<string | null> {
  onnxPython ??= (async () => {
    for (const py of PYTHONS) {
      try {
        const out = await new Deno.Command(py, {
          args: ["-c", "import onnx"],
          stdout: "null",
          stderr: "null",
        })
          .output();
        if (out.success) return py;
      } catch {
        // not there: try the next one
      }
    }
    return null;
  })();
  return onnxPython;
}

/**
 * Runs the reference checker (`onnx.checker.check_model(full_check=True)`) on an ONNX file.
 *
 * @param path The `.onnx` file.
 * @returns The checker's verdict, or `null` when python3-onnx is not available.
 */
export async function runOnnxChecker(path: string): Promise<OnnxCheckResult | null> {
  const py = await findOnnxPython();
  if (py === null) return null;
  const out = await new Deno.Command(py, {
    args: [fileURLToPath(CHECK_SCRIPT), path],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const text = new TextDecoder().decode(out.stdout).trim();
  try {
    return JSON.parse(text.split("\n").pop() ?? "") as OnnxCheckResult;
  } catch {
    return {
      ok: false,
      error: `The checker printed no verdict: ${new TextDecoder().decode(out.stderr).trim()}`,
    };
  }
}

/** Largest |tfjs - onnxruntime| accepted by {@linkcode verifyParity}. */
export const PARITY_TOLERANCE = 1e-4;

/** What {@linkcode verifyParity} measured. */
export interface ParityReport {
  /** Batch size compared. */
  batch: number;
  /** Max |tfjs - onnxruntime| over the embedding output. */
  embedding: number;
  /** Max |tfjs - onnxruntime| over the logits output. */
  logits: number;
  /** The tolerance applied. */
  tolerance: number;
  /** Width of the ONNX embedding output. */
  embeddingSize: number;
  /** Width of the ONNX logits output. */
  classes: number;
}

/**
 * Runs the same batch through the tfjs model (inference mode) and the exported ONNX bytes in
 * onnxruntime-node and compares both outputs.
 *
 * @param model The tfjs model that was exported.
 * @param bytes Its ONNX export.
 * @param input Row-major NHWC input `[batch, H, W, 1]` (real examples or random values).
 * @param batch Rows in `input`.
 * @param tolerance Largest accepted difference. @default PARITY_TOLERANCE
 * @returns The measured differences.
 * @throws {Error} When either output differs by more than `tolerance`.
 */
export async function verifyParity(
  model: tf.LayersModel,
  bytes: Uint8Array,
  input: Float32Array,
  batch: number,
  tolerance = PARITY_TOLERANCE,
): Promise<ParityReport> {
  const [, h, w, c] = model.inputs[0]!.shape as [null, number, number, number];
  const dims: [number, number, number, number] = [batch, h, w, c];
  const reference = tf.model({
    inputs: model.inputs,
    outputs: [
      model.getLayer("embedding").output as tf.SymbolicTensor,
      model.getLayer("logits").output as tf.SymbolicTensor,
    ],
  });
  const [refEmb, refLogits] = tf.tidy(() =>
    (reference.predict(tf.tensor4d(input, dims)) as tf.Tensor[]).map((t) => t.dataSync() as Float32Array)
  ) as [Float32Array, Float32Array];
  const session = await createSession(bytes, { provider: "cpu", threads: 2 });
  try {
    const got = await run(session, "logmel", input, dims);
    const report: ParityReport = {
      batch,
      embedding: maxAbsDiff(refEmb, got.embedding),
      logits: maxAbsDiff(refLogits, got.logits),
      tolerance,
      embeddingSize: got.embeddingSize,
      classes: got.classes,
    };
    if (!(report.embedding <= tolerance && report.logits <= tolerance)) {
      throw new Error(
        `ONNX export differs from tfjs: max |diff| embedding ${report.embedding}, logits ${report.logits} (tolerance ${tolerance})`,
      );
    }
    return report;
  } finally {
    await releaseSession(session);
  }
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

/** Options of {@linkcode publishModel}. */
export interface PublishOptions {
  /** The models directory (`models/`). */
  modelsDir: string;
  /** Which model this is. */
  task: ModelTask;
  /** The verified ONNX bytes. */
  bytes: Uint8Array;
  /** The manifest entry without `file` and `sha256`, which are filled in here. */
  entry: Omit<ModelEntry, "file" | "sha256">;
}

/**
 * Installs a verified model: writes `<modelsDir>/<task>.onnx` atomically (temporary file + rename)
 * and then updates that task's entry in `manifest.json` (also atomically), leaving the other entries
 * as they are. Call only after {@linkcode verifyParity} (and the reference checker) passed.
 *
 * @param opts See {@linkcode PublishOptions}.
 * @returns The entry written.
 */
export async function publishModel(opts: PublishOptions): Promise<ModelEntry> {
  const { modelsDir, task, bytes } = opts;
  await Deno.mkdir(modelsDir, { recursive: true });
  // Read the manifest first: a corrupt one stops us before anything is replaced.
  const manifest = (await readManifest(modelsDir)) ?? emptyManifest();
  const file = `${task}.onnx`;
  const entry: ModelEntry = { ...opts.entry, task, file, sha256: sha256Hex(bytes) };
  await writeFileAtomic(join(modelsDir, file), bytes);
  manifest.models[task] = entry;
  await writeManifest(modelsDir, manifest);
  return entry;
}

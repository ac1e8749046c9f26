/**
 * Training kernels for `@tensorflow/tfjs-backend-wasm` 4.22.0, which was built for inference:
 *
 * 1. `Conv2DBackpropFilter` is not registered at all, so a Conv2D cannot be trained ("Kernel
 *    'Conv2DBackpropFilter' not registered"). We register one that re-expresses the filter gradient as
 *    a dilated XNNPACK convolution of the transposed input by the transposed output gradient.
 * 2. Its `Conv2DBackpropInput` is a naive loop; for stride 1 it equals a convolution of the output
 *    gradient with the flipped, channel-transposed filter, which XNNPACK runs fast.
 * 3. tfjs-core's `FusedBatchNorm` gradient materialises full-size tiles of the statistics; ours
 *    broadcasts (used only while the wasm backend is active; other backends keep tfjs' gradient).
 * 4. `BatchMatMul` with a transposed operand (every Dense backward pass) is 10-20x slower than the plain
 *    product; we transpose explicitly and use the plain product.
 * 5. `MaxPoolGrad` is a naive loop; for non-overlapping pools (filter == stride, `valid`) we use
 *    `dx = (x == upsample(y)) * upsample(dy)`. Tied maxima all receive the gradient (TensorFlow gives
 *    it to the first only); after a ReLU the only realistic ties are zeros, whose gradient the ReLU's
 *    backward pass zeroes anyway.
 *
 * Each kernel is checked against the `cpu` backend in `wasm_kernels_test.ts`. The prototype measured
 * one training step of batch 16 going from 4.6 s to about 1.2 s.
 * @module
 */
import * as tf from "@tensorflow/tfjs";

type TI = tf.TensorInfo;
type Backend = { disposeData(dataId: object): boolean };

const WASM = "wasm";

/** Runs the wasm backend's kernel `name` directly (no tape, no engine bookkeeping). */
function call(
  name: string,
  backend: unknown,
  inputs: tf.NamedTensorInfoMap,
  attrs: tf.NamedAttrMap = {},
): TI {
  const cfg = tf.getKernel(name, WASM);
  if (cfg === undefined) {
    throw new Error(`The wasm backend has no ${name} kernel: import the wasm backend first`);
  }
  return cfg.kernelFunc({ inputs, backend: backend as object, attrs }) as TI;
}

/** Collects intermediate tensors of a kernel so they can be freed once its result exists. */
class Scratch {
  readonly #items: TI[] = [];
  constructor(readonly backend: unknown) {}
  keep(t: TI): TI {
    this.#items.push(t);
    return t;
  }
  run(name: string, inputs: tf.NamedTensorInfoMap, attrs?: tf.NamedAttrMap): TI {
    return this.keep(call(name, this.backend, inputs, attrs));
  }
  free(): void {
    for (const t of this.#items) (this.backend as Backend).disposeData(t.dataId);
    this.#items.length = 0;
  }
}

function pair(v: unknown): [number, number] {
  if (typeof v === "number") return [v, v];
  const a = v as number[];
  return [a[0]!, a[1]!];
}

interface ConvAttrs {
  strides: number | [number, number];
  pad: "valid" | "same" | number | tf.backend_util.ExplicitPadding;
  dataFormat?: "NHWC" | "NCHW";
  dimRoundingMode?: "floor" | "round" | "ceil";
}

function convInfo(
  xShape: number[],
  filterShape: number[],
  attrs: ConvAttrs,
): tf.backend_util.Conv2DInfo {
  if (attrs.dataFormat !== undefined && attrs.dataFormat !== "NHWC") {
    throw new Error(`Only NHWC convolutions are supported on wasm: ${attrs.dataFormat}`);
  }
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    "channelsLast",
  );
}

/** Registers `Conv2DBackpropFilter` for wasm (replacing any earlier registration). */
export function registerConv2DBackpropFilter(): void {
  if (tf.getKernel("Conv2DBackpropFilter", WASM) !== undefined) {
    tf.unregisterKernel("Conv2DBackpropFilter", WASM);
  }
  tf.registerKernel({
    kernelName: "Conv2DBackpropFilter",
    backendName: WASM,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const x = inputs["x"]!, dy = inputs["dy"]!;
      const a = attrs as unknown as ConvAttrs & { filterShape: number[] };
      const info = convInfo(x.shape, a.filterShape, a);
      const { inChannels: C, outChannels: CO, filterHeight: FH, filterWidth: FW, padInfo } = info;
      const s = new Scratch(backend);
      try {
        const xp = s.run("PadV2", { x }, {
          paddings: [[0, 0], [padInfo.top, padInfo.bottom], [padInfo.left, padInfo.right], [0, 0]],
          constantValue: 0,
        });
        // dW[kh,kw,c,co] = sum_{b,oh,ow} xp[b, oh*SH+kh, ow*SW+kw, c] * dy[b,oh,ow,co]
        //   = conv2d(xp^T [C,Hp,Wp,B], dy^T [OH,OW,B,CO], valid, dilation (SH,SW)) -> [C, >=FH, >=FW, CO]
        const xt = s.run("Transpose", { x: xp }, { perm: [3, 1, 2, 0] });
        const ft = s.run("Transpose", { x: dy }, { perm: [1, 2, 0, 3] });
        let o = s.run("Conv2D", { x: xt, filter: ft }, {
          strides: [1, 1],
          pad: "valid",
          dataFormat: "NHWC",
          dilations: [info.strideHeight, info.strideWidth],
        });
        // With stride > 1 the dilated convolution can reach past the last filter tap: keep FH x FW.
        if (o.shape[1] !== FH || o.shape[2] !== FW) {
          o = s.run("Slice", { x: o }, { begin: [0, 0, 0, 0], size: [C, FH, FW, CO] });
        }
        return call("Transpose", backend, { x: o }, { perm: [1, 2, 0, 3] });
      } finally {
        s.free();
      }
    },
  });
}

/** Replaces wasm's `Conv2DBackpropInput` by a fast convolution for stride 1 (others keep the original). */
export function overrideConv2DBackpropInput(): void {
  const orig = original("Conv2DBackpropInput");
  tf.unregisterKernel("Conv2DBackpropInput", WASM);
  tf.registerKernel({
    ...orig,
    kernelFunc: (args) => {
      const { inputs, backend, attrs } = args;
      const dy = inputs["dy"]!, filter = inputs["filter"]!;
      const a = attrs as unknown as ConvAttrs & { inputShape: number[] };
      const info = convInfo(a.inputShape, filter.shape, a);
      if (info.strideHeight !== 1 || info.strideWidth !== 1) return orig.kernelFunc(args);
      // stride 1: dx = conv2d(pad(dy, F-1-p), flip(W) with in/out channels swapped), valid
      const { filterHeight: FH, filterWidth: FW, padInfo: p } = info;
      const s = new Scratch(backend);
      try {
        const wf = s.run("Reverse", { x: filter }, { dims: [0, 1] });
        const wt = s.run("Transpose", { x: wf }, { perm: [0, 1, 3, 2] });
        const pt = FH - 1 - p.top, pb = FH - 1 - p.bottom, pl = FW - 1 - p.left, pr = FW - 1 - p.right;
        if (Math.min(pt, pb, pl, pr) < 0) return orig.kernelFunc(args);
        const src = pt === 0 && pb === 0 && pl === 0 && pr === 0
          ? dy
          : s.run("PadV2", { x: dy }, { paddings: [[0, 0], [pt, pb], [pl, pr], [0, 0]], constantValue: 0 });
        return call("Conv2D", backend, { x: src, filter: wt }, {
          strides: [1, 1],
          pad: "valid",
          dataFormat: "NHWC",
          dilations: [1, 1],
        });
      } finally {
        s.free();
      }
    },
  });
}

function swapLastTwo(rank: number): number[] {
  return [...Array.from({ length: rank - 2 }, (_, i) => i), rank - 1, rank - 2];
}

/** Replaces wasm's `BatchMatMul` so transposed operands are transposed explicitly first. */
export function overrideBatchMatMul(): void {
  const orig = original("BatchMatMul");
  tf.unregisterKernel("BatchMatMul", WASM);
  tf.registerKernel({
    ...orig,
    kernelFunc: (args) => {
      const { inputs, backend, attrs } = args;
      const a = inputs["a"]!, b = inputs["b"]!;
      const transposeA = attrs?.["transposeA"] === true, transposeB = attrs?.["transposeB"] === true;
      if (!transposeA && !transposeB) return orig.kernelFunc(args);
      const s = new Scratch(backend);
      const T = (x: TI) => s.run("Transpose", { x }, { perm: swapLastTwo(x.shape.length) });
      const mm = (x: TI, y: TI) =>
        s.keep(
          orig.kernelFunc({
            inputs: { a: x, b: y },
            backend,
            attrs: { transposeA: false, transposeB: false },
          }) as TI,
        );
      try {
        // a^T b; a b^T = (b a^T)^T; a^T b^T = (b a)^T. The final transpose is the result: not scratch.
        if (transposeA && !transposeB) {
          return orig.kernelFunc({ inputs: { a: T(a), b }, backend, attrs: plain });
        }
        const p = transposeB && !transposeA ? mm(b, T(a)) : mm(b, a);
        return call("Transpose", backend, { x: p }, { perm: swapLastTwo(p.shape.length) });
      } finally {
        s.free();
      }
    },
  });
}
const plain: tf.NamedAttrMap = { transposeA: false, transposeB: false };

/** Replaces wasm's `MaxPoolGrad` for non-overlapping `valid` pools (others keep the original). */
export function overrideMaxPoolGrad(): void {
  const orig = original("MaxPoolGrad");
  tf.unregisterKernel("MaxPoolGrad", WASM);
  tf.registerKernel({
    ...orig,
    kernelFunc: (args) => {
      const { inputs, backend, attrs } = args;
      const dy = inputs["dy"]!, input = inputs["input"]!, output = inputs["output"]!;
      const fs = pair(attrs?.["filterSize"]), st = pair(attrs?.["strides"]);
      if (attrs?.["pad"] !== "valid" || fs[0] !== st[0] || fs[1] !== st[1] || input.shape.length !== 4) {
        return orig.kernelFunc(args);
      }
      const [B, H, W, C] = input.shape as [number, number, number, number];
      const OH = output.shape[1]!, OW = output.shape[2]!;
      const h = OH * fs[0], w = OW * fs[1];
      const s = new Scratch(backend);
      try {
        // `valid` pools ignore trailing rows/columns that do not fill a window: their gradient is 0.
        const xc = h === H && w === W
          ? input
          : s.run("Slice", { x: input }, { begin: [0, 0, 0, 0], size: [B, h, w, C] });
        const up = (t: TI) =>
          s.run("ResizeNearestNeighbor", { images: t }, {
            size: [h, w],
            alignCorners: false,
            halfPixelCenters: false,
          });
        const eq = s.run("Equal", { a: xc, b: up(output) });
        const mask = s.run("Cast", { x: eq }, { dtype: "float32" });
        if (h === H && w === W) return call("Multiply", backend, { a: mask, b: up(dy) });
        const prod = s.run("Multiply", { a: mask, b: up(dy) });
        return call("PadV2", backend, { x: prod }, {
          paddings: [[0, 0], [0, H - h], [0, W - w], [0, 0]],
          constantValue: 0,
        });
      } finally {
        s.free();
      }
    },
  });
}

/**
 * Replaces the `FusedBatchNorm` gradient by one that broadcasts the statistics instead of tiling them,
 * while the wasm backend is active; on any other backend tfjs' own gradient runs unchanged.
 */
export function overrideBatchNormGrad(): void {
  const orig = tf.getGradient("FusedBatchNorm");
  if (orig === undefined) throw new Error("tfjs has no FusedBatchNorm gradient to replace");
  const base = (orig as tf.GradConfig & { wasmBase?: tf.GradConfig }).wasmBase ?? orig;
  const cfg: tf.GradConfig & { wasmBase: tf.GradConfig } = {
    kernelName: "FusedBatchNorm",
    inputsToSave: ["x", "mean", "variance", "scale"],
    wasmBase: base,
    gradFunc: (dy, saved, attrs) => {
      if (tf.getBackend() !== WASM) return base.gradFunc(dy, saved, attrs);
      const eps = attrs["varianceEpsilon"] as number;
      const [x, mean, variance, scale] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor | undefined];
      const g = dy as tf.Tensor;
      const gamma = scale ?? tf.scalar(1);
      const axes = tf.backend_util.getReductionAxes(mean.shape, x.shape);
      const reduce = (t: tf.Tensor) => (axes.length > 0 ? tf.sum(t, axes) : t).reshape(mean.shape);
      const rstd = tf.rsqrt(tf.add(variance, tf.scalar(eps)));
      // Each closure below runs in its own tidy(): shared sums are computed here, once.
      const sumDy = reduce(g);
      const sumDyXm = reduce(tf.mul(g, tf.sub(x, mean)));
      return {
        x: () => tf.mul(g, tf.mul(rstd, gamma)),
        mean: () => tf.mul(tf.neg(tf.mul(rstd, gamma)), sumDy),
        variance: () => tf.mul(tf.mul(tf.mul(tf.pow(rstd, tf.scalar(3)), tf.scalar(-0.5)), gamma), sumDyXm),
        scale: () => tf.mul(rstd, sumDyXm),
        offset: () => sumDy,
      };
    },
  };
  tf.registerGradient(cfg);
}

/** The wasm backend's stock kernel, remembered so overrides can be reinstalled without stacking. */
const originals = new Map<string, tf.KernelConfig>();
function original(name: string): tf.KernelConfig {
  let cfg = originals.get(name);
  if (cfg === undefined) {
    cfg = tf.getKernel(name, WASM);
    if (cfg === undefined) {
      throw new Error(`The wasm backend has no ${name} kernel: import the wasm backend first`);
    }
    originals.set(name, cfg);
  }
  return cfg;
}

/** Which replacements {@linkcode installWasmTrainingKernels} installs; all default to `true`. */
export interface WasmKernelOptions {
  /** Fast stride-1 `Conv2DBackpropInput`. @default true */
  fastConvInput?: boolean;
  /** Broadcasting `FusedBatchNorm` gradient. @default true */
  fastBatchNorm?: boolean;
  /** Explicit transposes before `BatchMatMul`. @default true */
  fastMatMul?: boolean;
  /** Mask-based `MaxPoolGrad` for non-overlapping pools. @default true */
  fastPoolGrad?: boolean;
}

/**
 * Registers the missing `Conv2DBackpropFilter` and the faster gradients on the wasm backend. Call after
 * the wasm backend module is imported (its kernels must be registered) and before training. Calling
 * it again reinstalls the same kernels.
 *
 * @param opts Which fast paths to install.
 */
export function installWasmTrainingKernels(opts: WasmKernelOptions = {}): void {
  registerConv2DBackpropFilter();
  if (opts.fastConvInput ?? true) overrideConv2DBackpropInput();
  if (opts.fastBatchNorm ?? true) overrideBatchNormGrad();
  if (opts.fastMatMul ?? true) overrideBatchMatMul();
  if (opts.fastPoolGrad ?? true) overrideMaxPoolGrad();
}

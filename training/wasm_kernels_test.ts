/**
 * The kernel-gradient test: every training kernel registered by `wasm_kernels.ts` must agree with the
 * `cpu` backend (tfjs' reference implementation) to a max relative difference of 1e-4, measured
 * element-wise as |wasm - cpu| / (1 + |cpu|), on seeded random inputs of several shapes, including odd
 * sizes, SAME and VALID padding, stride 2 and asymmetric SAME padding (even filters).
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { setupBackend } from "./backend.ts";
import { buildModel, type ModelConfig } from "./model.ts";
import { mulberry32 } from "../core/mod.ts";

const TOLERANCE = 1e-4;

/** mulberry32: a tiny seeded PRNG so both backends see identical inputs. */
function uniform(n: number, seed: number): Float32Array {
  const next = mulberry32(seed);
  return Float32Array.from({ length: n }, () => next() * 2 - 1);
}

function rand(shape: number[], seed: number): tf.Tensor {
  return tf.tensor(uniform(shape.reduce((a, b) => a * b, 1), seed), shape);
}

/** Runs `fn` on the cpu backend and on wasm; returns the max relative difference over all outputs. */
async function compare(fn: () => tf.Tensor[]): Promise<number> {
  const results: Float32Array[][] = [];
  for (const backend of ["cpu", "wasm"] as const) {
    await setupBackend({ prefer: backend });
    const outs = tf.tidy(fn);
    results.push(await Promise.all(outs.map(async (t) => (await t.data()) as Float32Array)));
    tf.dispose(outs);
  }
  const [ref, got] = results as [Float32Array[], Float32Array[]];
  assert.equal(ref.length, got.length);
  let worst = 0;
  ref.forEach((r, i) => {
    const g = got[i]!;
    assert.equal(g.length, r.length, `output ${i} length`);
    for (let j = 0; j < r.length; j++) {
      const d = Math.abs(r[j]! - g[j]!) / (1 + Math.abs(r[j]!));
      assert.ok(Number.isFinite(g[j]!), `output ${i}[${j}] is ${g[j]}`);
      if (d > worst) worst = d;
    }
  });
  return worst;
}

type Conv = { x: number[]; w: number[]; stride: 1 | 2; pad: "same" | "valid" };
const CONV_CASES: Conv[] = [
  { x: [2, 9, 11, 3], w: [3, 3, 3, 5], stride: 1, pad: "same" },
  { x: [2, 10, 12, 4], w: [3, 3, 4, 6], stride: 2, pad: "same" },
  { x: [1, 8, 7, 2], w: [5, 3, 2, 4], stride: 1, pad: "valid" },
  { x: [2, 8, 10, 4], w: [4, 2, 4, 3], stride: 1, pad: "same" }, // even filter: asymmetric padding
  { x: [3, 13, 7, 1], w: [3, 3, 1, 8], stride: 2, pad: "valid" },
  { x: [2, 32, 25, 1], w: [3, 3, 1, 16], stride: 1, pad: "same" }, // first layer of the model, odd width
];

function convGrads(c: Conv, seed: number): tf.Tensor[] {
  const x = rand(c.x, seed), w = rand(c.w, seed + 1);
  const f = (x: tf.Tensor, w: tf.Tensor) => {
    const y = tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.stride, c.pad);
    return tf.sum(tf.mul(y, rand(y.shape, seed + 2)));
  };
  return tf.grads(f)([x, w]);
}

Deno.test("wasm Conv2DBackpropFilter matches cpu on every shape", async () => {
  for (const [i, c] of CONV_CASES.entries()) {
    const d = await compare(() => [convGrads(c, 10 * i)[1]!]);
    assert.ok(d <= TOLERANCE, `${JSON.stringify(c)}: ${d}`);
  }
});

Deno.test("wasm Conv2DBackpropInput matches cpu on every shape (stride 1 fast path and stride 2)", async () => {
  for (const [i, c] of CONV_CASES.entries()) {
    const d = await compare(() => [convGrads(c, 10 * i + 100)[0]!]);
    assert.ok(d <= TOLERANCE, `${JSON.stringify(c)}: ${d}`);
  }
});

Deno.test("wasm BatchMatMul matches cpu with every transpose combination, rank 2 and 3", async () => {
  const cases: [number[], number[], boolean, boolean][] = [
    [[5, 7], [7, 3], false, false],
    [[7, 5], [7, 3], true, false],
    [[5, 7], [3, 7], false, true],
    [[7, 5], [3, 7], true, true],
    [[2, 9, 4], [2, 4, 6], false, false],
    [[2, 4, 9], [2, 4, 6], true, false],
    [[2, 9, 4], [2, 6, 4], false, true],
    [[2, 4, 9], [2, 6, 4], true, true],
  ];
  for (const [i, [sa, sb, ta, tb]] of cases.entries()) {
    const d = await compare(() => {
      const a = rand(sa, i), b = rand(sb, i + 50);
      const y = tf.matMul(a, b, ta, tb);
      // the gradient of a product is itself two transposed products: exercises both paths
      const grads = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(tf.matMul(a, b, ta, tb), rand(y.shape, i + 99)))
      )([a, b]);
      return [y, ...grads];
    });
    assert.ok(d <= TOLERANCE, `${JSON.stringify([sa, sb, ta, tb])}: ${d}`);
  }
});

Deno.test("wasm MaxPoolGrad matches cpu after a ReLU on even and odd sizes", async () => {
  const cases: [number[], number, number][] = [
    [[2, 8, 6, 3], 2, 2],
    [[2, 9, 7, 3], 2, 2], // trailing row and column outside every window
    [[1, 11, 13, 5], 2, 2],
    [[2, 9, 9, 2], 3, 2], // overlapping pool: stock kernel
  ];
  for (const [i, [shape, size, stride]] of cases.entries()) {
    const d = await compare(() => {
      const x = rand(shape, 300 + i);
      const f = (x: tf.Tensor) => {
        const y = tf.maxPool(tf.relu(x) as tf.Tensor4D, size, stride, "valid");
        return tf.sum(tf.mul(y, rand(y.shape, 400 + i)));
      };
      return [tf.grad(f)(x)];
    });
    assert.ok(d <= TOLERANCE, `${JSON.stringify([shape, size, stride])}: ${d}`);
  }
});

Deno.test("wasm FusedBatchNorm gradient matches cpu in training mode (batch statistics)", async () => {
  const cases: number[][] = [[2, 5, 6, 3], [4, 7, 9, 16], [3, 1, 1, 8]];
  for (const [i, shape] of cases.entries()) {
    const c = shape.at(-1)!;
    const d = await compare(() => {
      const x = tf.add(tf.mul(rand(shape, 500 + i), 2), 0.5);
      const gamma = tf.add(rand([c], 600 + i), 1.2), beta = rand([c], 700 + i);
      const f = (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => {
        const { mean, variance } = tf.moments(x, [0, 1, 2]);
        const y = tf.batchNorm(x, mean, variance, beta, gamma, 1e-3);
        return tf.sum(tf.mul(y, rand(shape, 800 + i)));
      };
      return tf.grads(f)([x, gamma, beta]);
    });
    assert.ok(d <= TOLERANCE, `${JSON.stringify(shape)}: ${d}`);
  }
});

Deno.test("one training step of the model gives the same gradients on wasm as on cpu", async () => {
  const cfg: ModelConfig = {
    nMels: 16,
    frames: 21,
    filters: [4, 6, 8, 8],
    dense1: 16,
    embeddingSize: 256,
    nClasses: 3,
    dropout: 0,
  };
  const d = await compare(() => {
    const model = buildModel(cfg, { seed: 11 });
    const x = rand([4, 16, 21, 1], 900);
    const y = tf.oneHot(tf.tensor1d([0, 1, 2, 1], "int32"), 3);
    const { grads } = tf.variableGrads(() =>
      tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar
    );
    const out = Object.keys(grads).sort().map((k) => grads[k]!);
    model.dispose();
    return out;
  });
  assert.ok(d <= TOLERANCE, `model gradients: ${d}`);
});

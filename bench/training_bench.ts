/**
 * Training throughput of the shipped CNN (64 x 200 log-mel input) per available tfjs backend, in
 * examples (10 s segments) per second, on random inputs: one warm-up step, then timed steps of Adam
 * with softmax cross-entropy, as `training/train.ts` runs them. The pure-JS `cpu` backend is timed
 * on a tiny count because it is two orders of magnitude slower.
 *
 * Run: `node_modules/.bin/deno run -A bench/training_bench.ts [--batch 32] [--steps 4]`
 */
import * as tf from "@tensorflow/tfjs";
import { parseArgs } from "node:util";
import { type BackendName, setupBackend, tensorflowAvailable } from "../training/backend.ts";
import { buildModel, DEFAULT_MODEL_CONFIG } from "../training/model.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { batch: { type: "string", default: "32" }, steps: { type: "string", default: "4" } },
});
const batch = Number(values.batch), steps = Number(values.steps);

async function bench(name: BackendName, batchSize: number, nSteps: number, warmUp = true): Promise<number> {
  await setupBackend({ prefer: name });
  const cfg = { ...DEFAULT_MODEL_CONFIG, nClasses: 10 };
  const model = buildModel(cfg, { seed: 1 });
  const optimizer = tf.train.adam(1e-3);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const x = tf.randomNormal([batchSize, cfg.nMels, cfg.frames, 1], 0, 1, "float32", 1);
  const y = tf.oneHot(tf.tensor1d(Array.from({ length: batchSize }, (_, i) => i % 10), "int32"), 10);
  const step = async () => {
    const loss = optimizer.minimize(
      () => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
      true,
      vars,
    )!;
    await loss.data();
    loss.dispose();
  };
  if (warmUp) await step();
  const t0 = performance.now();
  for (let i = 0; i < nSteps; i++) await step();
  const seconds = (performance.now() - t0) / 1000;
  tf.dispose([x, y]);
  model.dispose();
  optimizer.dispose();
  return (batchSize * nSteps) / seconds;
}

const rows: [string, number, number, number][] = [];
if (await tensorflowAvailable()) {
  rows.push(["tensorflow", batch, steps, await bench("tensorflow", batch, steps)]);
}
rows.push(["wasm", batch, steps, await bench("wasm", batch, steps)]);
rows.push(["cpu", 2, 1, await bench("cpu", 2, 1, false)]); // no warm-up: one step takes ~20 s
console.log(
  `Training throughput, model ${
    DEFAULT_MODEL_CONFIG.filters.join("/")
  } + ${DEFAULT_MODEL_CONFIG.dense1}/256, input 64x200`,
);
for (const [name, b, s, rate] of rows) {
  console.log(
    `${name.padEnd(10)} batch ${String(b).padStart(3)} x ${s} steps: ${rate.toFixed(1)} examples/s`,
  );
}
console.log(
  "(floor: none; the prototype measured ~14 examples/s for a 128-band model on this 2-core machine)",
);

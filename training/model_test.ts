import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import {
  buildModel,
  configOfModel,
  DEFAULT_MODEL_CONFIG,
  embeddingModel,
  type ModelConfig,
} from "./model.ts";

await tf.setBackend("cpu");

const small: ModelConfig = {
  nMels: 16,
  frames: 20,
  filters: [2, 3, 4, 5],
  dense1: 8,
  embeddingSize: 256,
  nClasses: 3,
  dropout: 0.3,
};

Deno.test("buildModel() has the contract's input, layer names and logits output", () => {
  const model = buildModel({ ...DEFAULT_MODEL_CONFIG, nClasses: 10 });
  assert.equal(model.inputs[0]!.name.startsWith("logmel"), true);
  assert.deepEqual(model.inputs[0]!.shape, [null, 64, 200, 1]);
  assert.deepEqual(model.outputs[0]!.shape, [null, 10]);
  const names = model.layers.map((l) => l.name);
  for (let n = 1; n <= 4; n++) {
    for (const p of ["conv", "bn", "relu", "pool"]) assert.ok(names.includes(`${p}${n}`), `${p}${n}`);
  }
  for (const n of ["gap", "fc1", "drop1", "embedding", "drop2", "logits"]) assert.ok(names.includes(n), n);
  assert.equal(names.at(-1), "logits");
  const logits = model.getLayer("logits").getConfig() as { activation: string };
  assert.equal(logits.activation, "linear");
  assert.equal((model.getLayer("conv1").getConfig() as { useBias: boolean }).useBias, false);
  // float32 weights must stay under the 5 MB budget per model
  assert.ok(model.countParams() * 4 < 5e6, `params ${model.countParams()}`);
  model.dispose();
});

Deno.test("buildModel() is reproducible from its seed and differs across seeds", () => {
  const weights = (seed: number) => {
    const m = buildModel(small, { seed });
    const w = m.getWeights().map((t) => Array.from(t.dataSync()));
    m.dispose();
    return w;
  };
  assert.deepEqual(weights(7), weights(7));
  assert.notDeepEqual(weights(7), weights(8));
});

Deno.test("embeddingModel() returns the 256-d embedding and the logits of the same model", () => {
  const model = buildModel(small, { seed: 3 });
  const both = embeddingModel(model);
  const x = tf.randomNormal([2, 16, 20, 1], 0, 1, "float32", 5);
  const [emb, logits] = both.predict(x) as tf.Tensor[];
  assert.deepEqual(emb!.shape, [2, 256]);
  assert.deepEqual(logits!.shape, [2, 3]);
  const direct = model.predict(x) as tf.Tensor;
  assert.deepEqual(Array.from(direct.dataSync()), Array.from(logits!.dataSync()));
  assert.ok(Math.min(...emb!.dataSync()) >= 0, "embedding is after a ReLU");
  tf.dispose([x, emb!, logits!, direct]);
  model.dispose();
});

Deno.test("configOfModel() recovers the configuration", () => {
  const model = buildModel(small);
  assert.deepEqual(configOfModel(model, 0.3), small);
  model.dispose();
});

Deno.test("buildModel() rejects configurations that cannot work", () => {
  assert.throws(() => buildModel({ ...small, nClasses: 1 }), RangeError);
  assert.throws(() => buildModel({ ...small, nMels: 8 }), RangeError);
  assert.throws(() => buildModel({ ...small, dropout: 1 }), RangeError);
});

import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { isSoundalikeError } from "../core/errors.ts";
import { setupBackend } from "./backend.ts";
import { buildModel, type ModelConfig } from "./model.ts";
import { loadModel, loadRun, saveModel } from "./run_dir.ts";
import { tempDir } from "./datasets/_fake_audio.ts";

await setupBackend({ prefer: "cpu" });

const cfg: ModelConfig = {
  nMels: 16,
  frames: 20,
  filters: [2, 3, 4, 5],
  dense1: 8,
  embeddingSize: 256,
  nClasses: 3,
  dropout: 0.2,
};

Deno.test("saveModel()/loadModel() round-trip topology and weights (incl. BatchNorm statistics)", async () => {
  await using dir = await tempDir("run");
  const model = buildModel(cfg, { seed: 5 });
  // make the moving statistics non-trivial
  const bn = model.getLayer("bn1");
  bn.setWeights(bn.getWeights().map((w, i) => tf.fill(w.shape, 0.5 + i)));
  await saveModel(model, dir.path);
  const loaded = await loadModel(dir.path);
  const x = tf.randomNormal([2, 16, 20, 1], 0, 1, "float32", 1);
  assert.deepEqual(
    Array.from((loaded.predict(x) as tf.Tensor).dataSync()),
    Array.from((model.predict(x) as tf.Tensor).dataSync()),
  );
  assert.deepEqual(loaded.layers.map((l) => l.name), model.layers.map((l) => l.name));
  const bytes = (await Deno.stat(join(dir.path, "weights.bin"))).size;
  assert.equal(bytes, model.countParams() * 4); // every weight, trainable or not, as float32
});

Deno.test("loadRun() refuses an incomplete run directory with a hint", async () => {
  await using dir = await tempDir("run");
  await assert.rejects(
    loadRun(dir.path),
    (err) => isSoundalikeError(err, "model_mismatch") && /deno task train/.test(err.message),
  );
  await assert.rejects(loadModel(dir.path), (err) => isSoundalikeError(err, "model_mismatch"));
});

import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { createSession, releaseSession, run, runOutputs } from "../core/model/onnx.ts";
import { setupBackend } from "./backend.ts";
import { buildModel, embeddingModel, type ModelConfig } from "./model.ts";
import { join } from "node:path";
import { DEFAULT_FEATURE_PARAMS } from "../core/audio/features.ts";
import { type ModelEntry, readManifest, sha256File } from "../core/model/manifest.ts";
import { exportRun } from "./cli/export.ts";
import { RUN_FILES, type RunConfig, saveModel, writeJson } from "./run_dir.ts";
import {
  describeOnnx,
  exportToOnnx,
  findOnnxPython,
  publishModel,
  runOnnxChecker,
  verifyParity,
} from "./onnx_export.ts";
import { mulberry32 } from "../core/mod.ts";

const TINY: ModelConfig = {
  nMels: 16,
  frames: 24,
  filters: [4, 6, 8, 8],
  dense1: 32,
  embeddingSize: 256,
  nClasses: 3,
  dropout: 0.3,
};

await setupBackend({ prefer: "cpu" });

function randomInput(batch: number, cfg: ModelConfig, seed: number): Float32Array {
  const r = mulberry32(seed);
  return Float32Array.from({ length: batch * cfg.nMels * cfg.frames }, () => (r() - 0.5) * 4);
}

/** Trains a few steps so weights move and BatchNorm's moving statistics leave their initial 0 / 1. */
async function trainedTinyModel(): Promise<tf.LayersModel> {
  const model = buildModel(TINY, { seed: 7 });
  const r = mulberry32(3);
  const x = tf.tensor4d(randomInput(8, TINY, 11), [8, TINY.nMels, TINY.frames, 1]);
  const y = tf.oneHot(
    tf.tensor1d(Array.from({ length: 8 }, () => Math.floor(r() * TINY.nClasses)), "int32"),
    3,
  );
  // The model outputs logits; softmax cross-entropy on them is what training uses.
  model.compile({
    optimizer: tf.train.adam(0.01),
    loss: (yt: tf.Tensor, yp: tf.Tensor) => tf.losses.softmaxCrossEntropy(yt, yp),
  });
  for (let i = 0; i < 4; i++) await model.trainOnBatch(x, y);
  tf.dispose([x, y]);
  // BN's momentum (0.99) moves the moving statistics only ~1 % per step: push them further so folding
  // errors (wrong axis, variance vs std, eps) cannot hide behind near-identity statistics.
  for (let n = 1; n <= 4; n++) {
    const bn = model.getLayer(`bn${n}`);
    const [gamma, beta, mean, variance] = bn.getWeights() as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
    const c = gamma.shape[0]!;
    const rr = mulberry32(100 + n);
    const vec = (f: () => number) => tf.tensor1d(Array.from({ length: c }, f));
    bn.setWeights([
      gamma.add(vec(() => (rr() - 0.5) * 0.6)),
      beta.add(vec(() => (rr() - 0.5) * 0.6)),
      mean.add(vec(() => (rr() - 0.5) * 0.8)),
      variance.mul(vec(() => 0.3 + rr() * 2)),
    ]);
  }
  return model;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

const model = await trainedTinyModel();
const bytes = exportToOnnx(model, { includeProbs: true });

Deno.test("exportToOnnx() trained BN statistics are non-trivial before export", () => {
  const mean = model.getLayer("bn1").getWeights()[2]!.dataSync();
  assert.ok(Array.from(mean).some((v) => Math.abs(v) > 0.05), "moving mean still ~0");
});

Deno.test("exportToOnnx() matches tfjs within 1e-4 on embedding and logits at batch 1 and 3", async () => {
  const reference = embeddingModel(model);
  const session = await createSession(bytes, { provider: "cpu", threads: 1 });
  try {
    for (const batch of [1, 3]) {
      const data = randomInput(batch, TINY, 20 + batch);
      const dims = [batch, TINY.nMels, TINY.frames, 1];
      const [emb, logits] = tf.tidy(() => {
        const out = reference.predict(
          tf.tensor4d(data, dims as [number, number, number, number]),
        ) as tf.Tensor[];
        return out.map((t) => t.dataSync() as Float32Array);
      }) as [Float32Array, Float32Array];
      const got = await run(session, "logmel", data, dims);
      assert.equal(got.batch, batch);
      assert.equal(got.embeddingSize, 256);
      assert.equal(got.classes, 3);
      const dEmb = maxAbsDiff(emb, got.embedding);
      const dLogits = maxAbsDiff(logits, got.logits);
      assert.ok(dEmb <= 1e-4, `embedding differs by ${dEmb} at batch ${batch}`);
      assert.ok(dLogits <= 1e-4, `logits differ by ${dLogits} at batch ${batch}`);
      // The embedding is not all zeros (a dead ReLU layer would make the parity check vacuous).
      assert.ok(emb.some((v) => v > 1e-3));
    }
  } finally {
    await releaseSession(session);
  }
});

Deno.test("exportToOnnx() writes opset 13, a symbolic batch, folded BatchNorm and named outputs", () => {
  const s = describeOnnx(bytes);
  assert.equal(s.opset, 13);
  assert.deepEqual(s.inputs, [{ name: "logmel", dims: ["N", 16, 24, 1] }]);
  assert.deepEqual(s.outputs, [
    { name: "embedding", dims: ["N", 256] },
    { name: "logits", dims: ["N", 3] },
    { name: "probs", dims: ["N", 3] },
  ]);
  assert.ok(!s.opTypes.includes("BatchNormalization"));
  assert.ok(!s.opTypes.includes("Dropout"));
  assert.equal(s.opTypes.filter((o) => o === "Conv").length, 4);
  assert.equal(s.opTypes.filter((o) => o === "Transpose").length, 1);
  assert.equal(s.opTypes.filter((o) => o === "Gemm").length, 3);
});

Deno.test("exportToOnnx() probs output is the softmax of the logits", async () => {
  const session = await createSession(bytes, { provider: "cpu", threads: 1 });
  try {
    const data = randomInput(2, TINY, 5);
    const out = await runOutputs(session, "logmel", data, [2, TINY.nMels, TINY.frames, 1], [
      "logits",
      "probs",
    ]);
    assert.deepEqual(out.probs!.dims, [2, 3]);
    for (let r = 0; r < 2; r++) {
      const logits = Array.from(out.logits!.data.slice(r * 3, r * 3 + 3));
      const max = Math.max(...logits);
      const exps = logits.map((v) => Math.exp(v - max));
      const sum = exps.reduce((a, b) => a + b, 0);
      exps.forEach((e, i) => assert.ok(Math.abs(e / sum - out.probs!.data[r * 3 + i]!) <= 1e-6));
    }
  } finally {
    await releaseSession(session);
  }
});

Deno.test("exportToOnnx() keeps tfjs' (h, w, c) order through a Flatten head", async () => {
  const input = tf.input({ shape: [8, 6, 1], name: "logmel" });
  let x = tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: "same", name: "conv1", seed: 1 } as never)
    .apply(input) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ name: "bn1" }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.reLU({ name: "relu1" }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.maxPooling2d({ poolSize: 2, name: "pool1" }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.flatten({ name: "flatten" }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dense({ units: 256, activation: "relu", name: "embedding" }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dense({ units: 2, name: "logits" }).apply(x) as tf.SymbolicTensor;
  const m = tf.model({ inputs: input, outputs: x });
  const bn = m.getLayer("bn1");
  bn.setWeights([
    tf.tensor1d([1.5, 0.5, 1]),
    tf.tensor1d([0.1, -0.2, 0.3]),
    tf.tensor1d([0.2, -0.1, 0.05]),
    tf.tensor1d([2, 0.5, 1.2]),
  ]);
  const session = await createSession(exportToOnnx(m), { provider: "cpu", threads: 1 });
  try {
    const data = Float32Array.from({ length: 2 * 48 }, (_, i) => Math.sin(i * 0.37));
    const ref = tf.tidy(() =>
      (embeddingModel(m).predict(tf.tensor4d(data, [2, 8, 6, 1])) as tf.Tensor[]).map((t) =>
        t.dataSync() as Float32Array
      )
    );
    const got = await run(session, "logmel", data, [2, 8, 6, 1]);
    assert.ok(maxAbsDiff(ref[0]!, got.embedding) <= 1e-4);
    assert.ok(maxAbsDiff(ref[1]!, got.logits) <= 1e-4);
  } finally {
    await releaseSession(session);
  }
});

Deno.test("exportToOnnx() refuses a layer type it does not support, naming it", () => {
  const input = tf.input({ shape: [8, 8, 1], name: "logmel" });
  let x = tf.layers.averagePooling2d({ poolSize: 2, name: "avg" }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.flatten({ name: "flatten" }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dense({ units: 256, name: "embedding" }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dense({ units: 2, name: "logits" }).apply(x) as tf.SymbolicTensor;
  const m = tf.model({ inputs: input, outputs: x });
  assert.throws(() => exportToOnnx(m), /avg \(AveragePooling2D\).*not supported/);
});

Deno.test("exportToOnnx() refuses an unsupported activation and a BatchNorm it cannot fold", () => {
  const input = tf.input({ shape: [8, 8, 1], name: "logmel" });
  let x = tf.layers.conv2d({ filters: 2, kernelSize: 3, activation: "tanh", name: "conv1" }).apply(
    input,
  ) as tf.SymbolicTensor;
  x = tf.layers.globalAveragePooling2d({ name: "gap" }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dense({ units: 256, name: "embedding" }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dense({ units: 2, name: "logits" }).apply(x) as tf.SymbolicTensor;
  assert.throws(() => exportToOnnx(tf.model({ inputs: input, outputs: x })), /conv1 \(Conv2D\).*tanh/);

  const input2 = tf.input({ shape: [8, 8, 1], name: "logmel" });
  let y = tf.layers.reLU({ name: "relu0" }).apply(input2) as tf.SymbolicTensor;
  y = tf.layers.batchNormalization({ name: "bn0" }).apply(y) as tf.SymbolicTensor;
  y = tf.layers.globalAveragePooling2d({ name: "gap" }).apply(y) as tf.SymbolicTensor;
  y = tf.layers.dense({ units: 256, name: "embedding" }).apply(y) as tf.SymbolicTensor;
  y = tf.layers.dense({ units: 2, name: "logits" }).apply(y) as tf.SymbolicTensor;
  assert.throws(
    () => exportToOnnx(tf.model({ inputs: input2, outputs: y })),
    /bn0.*directly follow a Conv2D/,
  );
});

Deno.test("exportToOnnx() output passes Debian's python3-onnx checker (full_check)", async (t) => {
  if ((await findOnnxPython()) === null) {
    console.log("skipped: python3-onnx is not installed (apt-get install python3-onnx)");
    return;
  }
  const dir = await Deno.makeTempDir({ prefix: "onnx_export_test_" });
  try {
    const path = `${dir}/tiny.onnx`;
    await Deno.writeFile(path, bytes);
    const res = await runOnnxChecker(path);
    assert.ok(res?.ok, `checker failed: ${res?.error}`);
    assert.equal(res.opset, 13);
    assert.deepEqual(res.inputs, [{ name: "logmel", shape: ["N", 16, 24, 1] }]);
    assert.deepEqual(res.outputs?.map((o) => o.name), ["embedding", "logits", "probs"]);
    await t.step("a corrupt file fails the checker", async () => {
      const bad = `${dir}/bad.onnx`;
      await Deno.writeFile(bad, bytes.slice(0, 200));
      const r = await runOnnxChecker(bad);
      assert.equal(r?.ok, false);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("verifyParity() accepts the model's own export and rejects another model's", async () => {
  const input = randomInput(4, TINY, 77);
  const report = await verifyParity(model, bytes, input, 4);
  assert.ok(report.embedding <= 1e-4 && report.logits <= 1e-4);
  const other = exportToOnnx(buildModel(TINY, { seed: 99 }));
  await assert.rejects(verifyParity(model, other, input, 4), /differs from tfjs/);
});

Deno.test("publishModel() installs the file and updates only its task's manifest entry", async () => {
  const dir = await Deno.makeTempDir({ prefix: "publish_test_" });
  try {
    const entry: Omit<ModelEntry, "file" | "sha256"> = {
      task: "genre",
      classes: ["a", "b", "c"],
      embeddingSize: 256,
      input: { name: "logmel", shape: ["N", 16, 24, 1], layout: "NHWC" },
      outputs: { embedding: "embedding", logits: "logits" },
      features: { ...DEFAULT_FEATURE_PARAMS },
      normalization: { mean: [0], std: [1] },
      trainedOn: { kind: "synthetic", name: "t", seed: 1, examples: { train: 8, validation: 0, test: 0 } },
      metrics: { accuracy: 0.1, macroF1: 0.1, loss: 1 },
      architecture: { filters: TINY.filters },
    };
    const genre = await publishModel({ modelsDir: dir, task: "genre", bytes, entry });
    const emotionBytes = exportToOnnx(buildModel({ ...TINY, nClasses: 2 }, { seed: 5 }));
    await publishModel({
      modelsDir: dir,
      task: "emotion",
      bytes: emotionBytes,
      entry: { ...entry, task: "emotion", classes: ["x", "y"] },
    });
    const m = await readManifest(dir);
    assert.deepEqual(m?.models.genre, genre);
    assert.equal(m?.models.emotion?.file, "emotion.onnx");
    assert.equal(m?.models.genre?.sha256, await sha256File(join(dir, "genre.onnx")));
    assert.equal(m?.models.emotion?.sha256, await sha256File(join(dir, "emotion.onnx")));
    assert.deepEqual((await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort(), [
      "emotion.onnx",
      "genre.onnx",
      "manifest.json",
    ]);
    // A corrupt manifest stops the publish before the model file is replaced.
    await Deno.writeTextFile(join(dir, "manifest.json"), "{");
    await assert.rejects(publishModel({ modelsDir: dir, task: "genre", bytes: emotionBytes, entry }));
    assert.equal(await sha256File(join(dir, "genre.onnx")), genre.sha256);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A finished training run folder for a tiny model on the real feature shape (64 x 200). */
async function fakeRun(dir: string, withMetrics: boolean): Promise<void> {
  const cfg: ModelConfig = { ...TINY, nMels: 64, frames: 200, nClasses: 4 };
  await saveModel(buildModel(cfg, { seed: 3 }), dir);
  const classes = ["guitar", "drums", "violin", "piano"];
  const config: RunConfig = {
    formatVersion: 1,
    task: "instrument",
    classes,
    model: cfg,
    features: { ...DEFAULT_FEATURE_PARAMS },
    normalization: { mean: new Array(64).fill(-7), std: new Array(64).fill(2.5) },
    trainedOn: {
      kind: "synthetic",
      name: "test corpus",
      seed: 1,
      examples: { train: 8, validation: 2, test: 2 },
      segments: { train: 40, validation: 6, test: 6 },
    },
    training: {
      epochs: 1,
      batchSize: 4,
      learningRate: 0.001,
      patience: 1,
      windowsPerClip: 3,
      variants: 1,
      backend: "cpu",
    },
    createdAt: "2026-01-01T00:00:00Z",
  };
  await writeJson(join(dir, RUN_FILES.config), config);
  await writeJson(join(dir, RUN_FILES.history), { epochs: [], bestEpoch: 1, stopReason: "completed" });
  if (withMetrics) {
    await writeJson(join(dir, RUN_FILES.metrics), {
      accuracy: 0.5,
      macroF1: 0.4,
      loss: 1.1,
      trackAccuracy: 0.5,
      perClass: [],
      confusion: [],
      classes,
      segments: 6,
      tracks: 2,
    });
  }
  await Deno.writeTextFile(join(dir, RUN_FILES.confusion), "<svg/>");
}

Deno.test("exportRun() verifies, installs the model with its manifest entry and copies metrics and images", async () => {
  const root = await Deno.makeTempDir({ prefix: "export_run_test_" });
  try {
    const runDir = join(root, "run");
    const modelsDir = join(root, "models");
    await fakeRun(runDir, true);
    const report = await exportRun({ task: "instrument", runDir, modelsDir, batch: 2 });
    assert.ok(report.parity.embedding <= 1e-4 && report.parity.logits <= 1e-4);
    const m = await readManifest(modelsDir);
    const e = m?.models.instrument;
    assert.ok(e);
    assert.equal(e.sha256, await sha256File(join(modelsDir, "instrument.onnx")));
    assert.deepEqual(e.classes, ["guitar", "drums", "violin", "piano"]);
    assert.deepEqual(e.input.shape, ["N", 64, 200, 1]);
    assert.equal(e.normalization.mean.length, 64);
    assert.equal(e.trainedOn.kind, "synthetic");
    assert.equal(e.metrics.macroF1, 0.4);
    assert.deepEqual(report.copied, ["confusion_matrix.svg", "history.json", "metrics.json"]);
    assert.equal(await Deno.readTextFile(join(modelsDir, "instrument", "confusion_matrix.svg")), "<svg/>");
    if (report.checker !== null) assert.equal(report.checker.ok, true);
    // Same run for the wrong task: refused, and the installed model is untouched.
    await assert.rejects(exportRun({ task: "genre", runDir, modelsDir }), /trained instrument, not genre/);
    assert.equal(e.sha256, await sha256File(join(modelsDir, "instrument.onnx")));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("exportRun() refuses a run without metrics and installs nothing", async () => {
  const root = await Deno.makeTempDir({ prefix: "export_run_test_" });
  try {
    await fakeRun(join(root, "run"), false);
    await assert.rejects(
      exportRun({ task: "instrument", runDir: join(root, "run"), modelsDir: join(root, "models") }),
      /deno task evaluate --task instrument/,
    );
    await assert.rejects(Deno.stat(join(root, "models")), Deno.errors.NotFound);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

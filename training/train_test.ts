import assert from "node:assert/strict";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { DEFAULT_FEATURE_PARAMS, type FeatureParams, normalizeLogMel } from "../core/audio/features.ts";
import { silentLogger } from "../core/logger.ts";
import { setupBackend } from "./backend.ts";
import { loadFolderDataset } from "./datasets/folder.ts";
import { tempDir, writeFolderDataset } from "./datasets/_fake_audio.ts";
import { crossEntropy, evaluateRun, predictLogits } from "./evaluate.ts";
import { extractFeatures } from "./features_cache.ts";
import { loadRun, readJsonIfExists, RUN_FILES, type SplitsFile } from "./run_dir.ts";
import { EarlyStopping, trainModel, type TrainOptions } from "./train.ts";

// A small feature set so the test trains in seconds: 8 kHz, 16 bands, 2 s segments of 40 frames.
const PARAMS: FeatureParams = {
  ...DEFAULT_FEATURE_PARAMS,
  sampleRate: 8000,
  windowLength: 400,
  hopLength: 400,
  nFft: 512,
  nMels: 16,
  fmax: 4000,
  segmentSeconds: 2,
};

await setupBackend({ prefer: "wasm" });

async function fixture(root: string) {
  await writeFolderDataset(root, ["low", "high", "noise"], 6, 4, 8000);
  return await loadFolderDataset(root, { name: "tones" });
}

function options(
  dataset: Awaited<ReturnType<typeof fixture>>,
  outDir: string,
  cacheDir: string,
): TrainOptions {
  return {
    task: "instrument",
    dataset,
    kind: "synthetic",
    outDir,
    epochs: 6,
    batchSize: 8,
    seed: 3,
    learningRate: 3e-3,
    patience: 10,
    windowsPerClip: 3,
    model: { filters: [4, 4, 8, 8], dense1: 16, dropout: 0.1 },
    features: PARAMS,
    cacheDir,
    backend: "wasm",
    logger: silentLogger,
  };
}

Deno.test("EarlyStopping stops after `patience` epochs without improvement", () => {
  const s = new EarlyStopping(2);
  assert.equal(s.update(1.0), true);
  assert.equal(s.update(0.9), true);
  assert.equal(s.update(0.95), false);
  assert.equal(s.stopped, false);
  assert.equal(s.update(0.90005), false); // within minDelta: not an improvement
  assert.equal(s.stopped, true);
  assert.equal(s.best, 0.9);
  assert.throws(() => new EarlyStopping(0), RangeError);
});

Deno.test("trainModel() learns separable tones, writes a loadable run, and evaluate writes metrics and images", async () => {
  await using dir = await tempDir("train");
  const dataset = await fixture(join(dir.path, "data"));
  const out = join(dir.path, "run");
  const result = await trainModel(options(dataset, out, join(dir.path, "cache")));
  assert.equal(result.interrupted, false);
  assert.deepEqual(result.trainedOn.examples, { train: 12, validation: 3, test: 3 });
  assert.equal(result.trainedOn.segments.train, 12 * 3); // 4 s clips, 2 s windows at a 1 s hop
  assert.ok(result.examplesPerSecond > 0);
  assert.equal(result.history.epochs.length, 6);
  const run = await loadRun(out);
  assert.deepEqual(run.classes, ["high", "low", "noise"]);
  assert.equal(run.config.nMels, 16);
  assert.equal(run.config.frames, 40);
  assert.equal(run.normalization.mean.length, 16);
  assert.equal(run.trainedOn.kind, "synthetic");
  assert.deepEqual(run.features, PARAMS);
  assert.ok(run.history.bestEpoch >= 1);
  // best weights were restored: the saved model reproduces the best epoch's validation loss
  const splits0 = (await readJsonIfExists<SplitsFile>(join(out, RUN_FILES.splits)))!;
  const val = await extractFeatures(splits0.validation, { params: PARAMS, policy: "inference" });
  const segs = val.tracks.flatMap((t) =>
    t.segments.map((s) => normalizeLogMel(s, run.normalization.mean, run.normalization.std))
  );
  const labels = val.tracks.flatMap((t) => t.segments.map(() => run.classes.indexOf(t.item.label)));
  const valLoss = crossEntropy(predictLogits(run.model, segs), labels, 3);
  const bestRecord = run.history.epochs.find((e) => e.epoch === run.history.bestEpoch)!;
  assert.ok(Math.abs(valLoss - bestRecord.valLoss) < 1e-4, `${valLoss} vs ${bestRecord.valLoss}`);
  assert.equal(Math.min(...run.history.epochs.map((e) => e.valLoss)), bestRecord.valLoss);
  run.model.dispose();
  const metrics = await evaluateRun(out, { cacheDir: join(dir.path, "cache") });
  assert.equal(metrics.tracks, 3);
  assert.equal(metrics.segments, 9);
  assert.ok(metrics.accuracy >= 2 / 3, `test accuracy ${metrics.accuracy}`);
  for (const f of [RUN_FILES.metrics, RUN_FILES.confusion, RUN_FILES.curves, RUN_FILES.splits]) {
    assert.ok((await Deno.stat(join(out, f))).size > 0, f);
  }
  // the checkpoint folder is gone once a run completes
  await assert.rejects(Deno.stat(join(out, RUN_FILES.checkpoint)));
  // no track is in two splits
  const splits = (await readJsonIfExists<{ train: { trackId: string }[]; test: { trackId: string }[] }>(
    join(out, RUN_FILES.splits),
  ))!;
  const trainIds = new Set(splits.train.map((t) => t.trackId));
  assert.ok(splits.test.every((t) => !trainIds.has(t.trackId)));
});

Deno.test("trainModel() is reproducible from its seed, and an interrupted run resumes from its checkpoint", async () => {
  await using dir = await tempDir("train");
  const dataset = await fixture(join(dir.path, "data"));
  const cache = join(dir.path, "cache");
  const base = { ...options(dataset, "", cache), epochs: 2 };
  const a = await trainModel({ ...base, outDir: join(dir.path, "a") });
  const b = await trainModel({ ...base, outDir: join(dir.path, "b") });
  assert.deepEqual(
    a.history.epochs.map((e) => [e.loss, e.valLoss]),
    b.history.epochs.map((e) => [e.loss, e.valLoss]),
  );

  // interrupted after epoch 1: checkpoint kept, no final model
  const out = join(dir.path, "c");
  const controller = new AbortController();
  controller.abort();
  const first = await trainModel({ ...base, outDir: out, signal: controller.signal });
  assert.equal(first.interrupted, true);
  assert.equal(first.history.epochs.length, 1);
  assert.ok((await Deno.stat(join(out, RUN_FILES.checkpoint, RUN_FILES.state))).isFile);
  await assert.rejects(Deno.stat(join(out, RUN_FILES.model)));
  // resumed: continues at epoch 2 with the first epoch's record kept
  const resumed = await trainModel({ ...base, outDir: out, resume: true });
  assert.equal(resumed.interrupted, false);
  assert.deepEqual(resumed.history.epochs.map((e) => e.epoch), [1, 2]);
  assert.deepEqual(resumed.history.epochs[0], first.history.epochs[0]);
  // weights, Adam's moments, shuffles and dropout masks all restored: the same as the uninterrupted run
  // (up to float32 rounding: Adam's bias corrections are recomputed as beta^t instead of a running product)
  const flat = (h: typeof a) =>
    h.history.epochs.flatMap((e) => [e.loss, e.accuracy, e.valLoss, e.valAccuracy]);
  const diff = Math.max(...flat(resumed).map((v, i) => Math.abs(v - flat(a)[i]!)));
  // (the accuracies must agree exactly; the losses to within the rounding that amplifies over an epoch)
  assert.ok(
    diff < 5e-4,
    `resumed run differs from the uninterrupted one by ${diff}: ${flat(resumed)} vs ${flat(a)}`,
  );
  const run = await loadRun(out);
  assert.ok(run.model instanceof tf.LayersModel);
  run.model.dispose();
  // a checkpoint from other settings is refused
  const other = await trainModel({ ...base, outDir: join(dir.path, "d"), signal: controller.signal });
  assert.equal(other.interrupted, true);
  await assert.rejects(
    trainModel({ ...base, seed: 4, outDir: join(dir.path, "d"), resume: true }),
    /other data or settings/,
  );
});

Deno.test("trainModel() with augmented variants and a contrastive task records both and watches them", async () => {
  await using dir = await tempDir("train");
  const dataset = await fixture(join(dir.path, "data"));
  const out = join(dir.path, "run");
  const cache = join(dir.path, "cache");
  const result = await trainModel({
    ...options(dataset, out, cache),
    epochs: 2,
    variants: 2,
    contrastive: { dataset: "self", batch: 4, weight: 0.5, temperature: 0.2 },
  });
  const e = result.history.epochs.at(-1)!;
  assert.ok(e.contrastiveLoss! > 0 && Number.isFinite(e.valContrastiveLoss!));
  assert.ok(e.valMatch! >= 0 && e.valMatch! <= 1);
  assert.ok(Math.abs(e.valMonitored! - (e.valLoss + 0.5 * e.valContrastiveLoss!)) < 1e-9);
  const run = await loadRun(out);
  const trainedOn = run.trainedOn as typeof run.trainedOn & {
    contrastive: { clips: { train: number; validation: number } };
    augmentation: { variants: number };
  };
  assert.deepEqual(trainedOn.contrastive.clips, { train: 12, validation: 3 });
  assert.equal(trainedOn.augmentation.variants, 2);
  assert.equal(run.runConfig.training.contrastive?.batch, 4);
  run.model.dispose();
});

Deno.test("trainModel() keeps the mood set's one split whatever its seed; other datasets split by the seed", async () => {
  await using dir = await tempDir("train");
  const dataset = await fixture(join(dir.path, "data"));
  const cache = join(dir.path, "cache");
  const heldOut = async (layout: "mirex" | "folder", seed: number) => {
    const outDir = join(dir.path, `${layout}${seed}`);
    await trainModel({ ...options({ ...dataset, layout }, outDir, cache), epochs: 1, seed });
    const s = JSON.parse(await Deno.readTextFile(join(outDir, "splits.json")));
    return ["validation", "test"].map((k) => s[k].map((e: { trackId: string }) => e.trackId).sort());
  };
  assert.notDeepEqual(await heldOut("folder", 3), await heldOut("folder", 5));
  assert.deepEqual(await heldOut("mirex", 3), await heldOut("mirex", 5));
});

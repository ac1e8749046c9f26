import assert from "node:assert/strict";
import { join } from "node:path";
import { isSoundalikeError } from "../errors.ts";
import { DEFAULT_FEATURE_PARAMS } from "../audio/features.ts";
import {
  emptyManifest,
  loadManifest,
  type Manifest,
  MANIFEST_FILE,
  type ModelEntry,
  modelsHash,
  type ModelTask,
  readManifest,
  sha256File,
  sha256Hex,
  SHIPPED_CLASS_COUNTS,
  writeManifest,
} from "./manifest.ts";

function entry(task: ModelTask, sha256: string, classes = SHIPPED_CLASS_COUNTS[task]): ModelEntry {
  return {
    file: `${task}.onnx`,
    sha256,
    task,
    classes: Array.from({ length: classes }, (_, i) => `${task}_${i}`),
    embeddingSize: 256,
    input: { name: "logmel", shape: ["N", 64, 200, 1], layout: "NHWC" },
    outputs: { embedding: "embedding", logits: "logits" },
    features: { ...DEFAULT_FEATURE_PARAMS },
    normalization: { mean: new Array(64).fill(-5), std: new Array(64).fill(2) },
    trainedOn: { kind: "synthetic", name: "corpus", seed: 1, examples: { train: 8, validation: 2, test: 2 } },
    metrics: { accuracy: 0.5, macroF1: 0.4, loss: 1.2 },
    architecture: { filters: [16, 32, 64, 128] },
  };
}

/** A models directory with three small "model" files and a manifest matching them. */
async function modelsDir(): Promise<{ dir: string; manifest: Manifest }> {
  const dir = await Deno.makeTempDir({ prefix: "manifest_test_" });
  const m = emptyManifest();
  for (const task of ["genre", "emotion", "instrument"] as const) {
    const bytes = new TextEncoder().encode(`fake onnx for ${task}`);
    await Deno.writeFile(join(dir, `${task}.onnx`), bytes);
    m.models[task] = entry(task, sha256Hex(bytes));
  }
  await writeManifest(dir, m);
  return { dir, manifest: m as Manifest };
}

async function withDir(fn: (dir: string, manifest: Manifest) => Promise<void> | void): Promise<void> {
  const { dir, manifest } = await modelsDir();
  try {
    await fn(dir, manifest);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const rejectsMismatch = (p: Promise<unknown>, pattern: RegExp) =>
  assert.rejects(p, (e: unknown) => {
    assert.ok(isSoundalikeError(e, "model_mismatch"), String(e));
    assert.match(e.message, pattern);
    assert.match(e.message, /deno task export/);
    return true;
  });

Deno.test("sha256Hex() matches the known digest of 'abc'", () => {
  assert.equal(
    sha256Hex(new TextEncoder().encode("abc")),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
});

Deno.test("loadManifest() accepts a manifest whose files and features match", async () => {
  await withDir(async (dir) => {
    const m = await loadManifest(dir, { classCounts: SHIPPED_CLASS_COUNTS });
    assert.deepEqual(m.embeddingOrder, ["genre", "emotion", "instrument"]);
    assert.equal(m.models.emotion.classes.length, 5);
    assert.equal(m.models.genre.sha256, await sha256File(join(dir, "genre.onnx")));
  });
});

Deno.test("loadManifest() refuses a model file whose sha256 differs, naming the file", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(join(dir, "emotion.onnx"), "retrained elsewhere");
    await rejectsMismatch(loadManifest(dir), /emotion\.onnx does not match/);
    // Without hash checks the same directory loads.
    await loadManifest(dir, { verifyHashes: false });
  });
});

Deno.test("loadManifest() refuses a missing model file, a missing manifest and a partial manifest", async () => {
  await withDir(async (dir, manifest) => {
    await Deno.remove(join(dir, "instrument.onnx"));
    await rejectsMismatch(loadManifest(dir), /instrument model file .*instrument\.onnx is missing/);
    const { instrument: _, ...two } = manifest.models;
    await writeManifest(dir, { ...manifest, models: two });
    await rejectsMismatch(loadManifest(dir), /lists no instrument model/);
    await Deno.remove(join(dir, MANIFEST_FILE));
    await rejectsMismatch(loadManifest(dir), /No model manifest/);
  });
});

Deno.test("loadManifest() refuses feature parameters other than the code's, saying which", async () => {
  await withDir(async (dir, manifest) => {
    manifest.models.genre.features = { ...DEFAULT_FEATURE_PARAMS, hopLength: 400 };
    await writeManifest(dir, manifest);
    await rejectsMismatch(loadManifest(dir), /genre model .*hopLength: expected 800, found 400/);
  });
});

Deno.test("loadManifest() refuses an input shape or normalisation that does not fit the features", async () => {
  await withDir(async (dir, manifest) => {
    manifest.models.emotion.input.shape = ["N", 64, 100, 1];
    await writeManifest(dir, manifest);
    await rejectsMismatch(loadManifest(dir), /expects input \[N, 64, 100, 1\]/);
    manifest.models.emotion.input.shape = ["N", 64, 200, 1];
    manifest.models.emotion.normalization.mean = [1, 2];
    await writeManifest(dir, manifest);
    await rejectsMismatch(loadManifest(dir), /normalisation .* 64 bands/);
  });
});

Deno.test("loadManifest() checks class counts when asked", async () => {
  await withDir(async (dir, manifest) => {
    manifest.models.instrument = entry("instrument", manifest.models.instrument.sha256, 3);
    await writeManifest(dir, manifest);
    await loadManifest(dir);
    await rejectsMismatch(loadManifest(dir, { classCounts: SHIPPED_CLASS_COUNTS }), /3 classes, expected 7/);
  });
});

Deno.test("readManifest() reports invalid JSON and structural errors with their path", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(join(dir, MANIFEST_FILE), "{ not json");
    await rejectsMismatch(readManifest(dir), /not valid JSON/);
    await Deno.writeTextFile(
      join(dir, MANIFEST_FILE),
      JSON.stringify({ ...emptyManifest(), models: { genre: { ...entry("genre", "x".repeat(64)) } } }),
    );
    await rejectsMismatch(readManifest(dir), /models\.genre\.sha256/);
    await Deno.writeTextFile(
      join(dir, MANIFEST_FILE),
      JSON.stringify({
        ...emptyManifest(),
        models: { genre: { ...entry("genre", "a".repeat(64)), embeddingSize: 128 } },
      }),
    );
    await rejectsMismatch(readManifest(dir), /embeddingSize/);
    await Deno.remove(join(dir, MANIFEST_FILE));
    assert.equal(await readManifest(dir), null);
  });
});

Deno.test("writeManifest() round-trips, keeping extra fields, and refuses an invalid manifest", async () => {
  await withDir(async (dir, manifest) => {
    const withExtra = {
      ...manifest,
      models: { ...manifest.models, genre: { ...manifest.models.genre, opset: 13 } },
    };
    await writeManifest(dir, withExtra);
    const back = await readManifest(dir);
    assert.deepEqual(back, withExtra);
    await assert.rejects(
      writeManifest(dir, { ...manifest, formatVersion: 2 } as unknown as Manifest),
      /invalid manifest/,
    );
    assert.deepEqual(await readManifest(dir), withExtra);
  });
});

Deno.test("modelsHash() is stable under key order and changes with a model, features or normalisation", async () => {
  await withDir((_dir, manifest) => {
    const h = modelsHash(manifest);
    assert.match(h, /^[0-9a-f]{64}$/);
    const { models, ...rest } = manifest;
    const reordered = JSON.parse(JSON.stringify({ models, ...rest })) as Manifest;
    reordered.models.genre = Object.fromEntries(
      Object.entries(manifest.models.genre).reverse(),
    ) as ModelEntry;
    assert.equal(modelsHash(reordered), h);
    const changed = structuredClone(manifest);
    changed.models.instrument.sha256 = "0".repeat(64);
    assert.notEqual(modelsHash(changed), h);
    const otherNorm = structuredClone(manifest);
    otherNorm.models.emotion.normalization.std[3] = 2.5;
    assert.notEqual(modelsHash(otherNorm), h);
    const otherFeatures = structuredClone(manifest);
    otherFeatures.models.genre.features.logOffset = 1e-5;
    assert.notEqual(modelsHash(otherFeatures), h);
    // Metrics do not change the embedding, so they do not change the hash.
    const otherMetrics = structuredClone(manifest);
    otherMetrics.models.genre.metrics.accuracy = 0.9;
    assert.equal(modelsHash(otherMetrics), h);
  });
});

Deno.test("modelsHash() changes with a card calibration, so the labels stored beside cached vectors are recomputed", async () => {
  await withDir((_dir, manifest) => {
    const calibrated = structuredClone(manifest);
    calibrated.models.genre.calibration = { temperature: 0.3, minConfidence: 0 };
    const h = modelsHash(calibrated);
    assert.notEqual(h, modelsHash(manifest));
    const otherT = structuredClone(calibrated);
    otherT.models.genre.calibration = { temperature: 1.1, minConfidence: 0 };
    assert.notEqual(modelsHash(otherT), h);
    const otherMin = structuredClone(calibrated);
    otherMin.models.genre.calibration = { temperature: 0.3, minConfidence: 0.4 };
    assert.notEqual(modelsHash(otherMin), h);
    const scaled = structuredClone(calibrated);
    scaled.models.genre.calibration = {
      temperature: 0.3,
      minConfidence: 0,
      topLabel: { slope: 2, bias: -1 },
    };
    assert.notEqual(modelsHash(scaled), h);
    const otherScale = structuredClone(scaled);
    otherScale.models.genre.calibration!.topLabel = { slope: 2, bias: -0.5 };
    assert.notEqual(modelsHash(otherScale), modelsHash(scaled));
    // What the calibration reports (its figures, its reference's wording) changes no label.
    const otherReport = structuredClone(calibrated);
    otherReport.models.genre.calibration = { temperature: 0.3, minConfidence: 0, test: { ece: 0.05 } };
    assert.equal(modelsHash(otherReport), h);
  });
});

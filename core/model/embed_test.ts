import assert from "node:assert/strict";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
// Test-only use of the training side: it makes real (tiny, untrained) models in the shipped layout.
import { setupBackend } from "../../training/backend.ts";
import { buildModel, embeddingModel } from "../../training/model.ts";
import { exportToOnnx } from "../../training/onnx_export.ts";
import {
  bestClasses,
  CLIP_EMBEDDING_SIZE,
  confidentClasses,
  createEmbedder,
  type Embedder,
  type ModelHearing,
  scaleTopLabel,
  softmax,
  unitBlock,
} from "./embed.ts";
import { DEFAULT_FEATURE_PARAMS, logMelSpectrogram, normalizeLogMel } from "../audio/features.ts";
import { createMemoryLogger } from "../logger.ts";
import {
  emptyManifest,
  loadManifest,
  type Manifest,
  MODEL_TASKS,
  type ModelTask,
  sha256Hex,
  SHIPPED_CLASS_COUNTS,
  writeManifest,
} from "./manifest.ts";
import { resetProviderState } from "./onnx.ts";
import { cutSegments } from "../audio/segments.ts";

await setupBackend({ prefer: "cpu" });

const SR = DEFAULT_FEATURE_PARAMS.sampleRate;
const SEG = SR * DEFAULT_FEATURE_PARAMS.segmentSeconds;
const NMELS = DEFAULT_FEATURE_PARAMS.nMels;
const MEAN = Float32Array.from({ length: NMELS }, (_, m) => -9 + m * 0.05);
const STD = Float32Array.from({ length: NMELS }, (_, m) => 2 + (m % 5) * 0.2);

const tfModels = new Map<ModelTask, tf.LayersModel>();

/** A temporary models directory with three tiny exported models and their manifest. */
async function makeModelsDir(): Promise<{ dir: string; manifest: Manifest }> {
  const dir = await Deno.makeTempDir({ prefix: "embed_test_" });
  const m = emptyManifest();
  for (const [i, task] of MODEL_TASKS.entries()) {
    const model = buildModel({
      nMels: NMELS,
      frames: 200,
      filters: [4, 4, 8, 8],
      dense1: 32,
      embeddingSize: 256,
      nClasses: SHIPPED_CLASS_COUNTS[task],
      dropout: 0.3,
    }, { seed: 10 + i });
    tfModels.set(task, model);
    const bytes = exportToOnnx(model);
    await Deno.writeFile(join(dir, `${task}.onnx`), bytes);
    m.models[task] = {
      file: `${task}.onnx`,
      sha256: sha256Hex(bytes),
      task,
      classes: Array.from({ length: SHIPPED_CLASS_COUNTS[task] }, (_, c) => `c${c}`),
      embeddingSize: 256,
      input: { name: "logmel", shape: ["N", NMELS, 200, 1], layout: "NHWC" },
      outputs: { embedding: "embedding", logits: "logits" },
      features: { ...DEFAULT_FEATURE_PARAMS },
      normalization: { mean: Array.from(MEAN), std: Array.from(STD) },
      trainedOn: { kind: "synthetic", name: "test", seed: 1, examples: { train: 0, validation: 0, test: 0 } },
      metrics: { accuracy: 0, macroF1: 0, loss: 0 },
      architecture: { filters: [4, 4, 8, 8] },
    };
  }
  await writeManifest(dir, m);
  return { dir, manifest: await loadManifest(dir) };
}

/** Seeded, audibly different segments: a tone per segment plus a little noise. */
function segment(freq: number, seed: number): Float32Array {
  let s = seed;
  const noise = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32 - 0.5) * 0.05;
  return Float32Array.from(
    { length: SEG },
    (_, i) => 0.3 * Math.sin((2 * Math.PI * freq * i) / SR) + noise(),
  );
}

const { dir, manifest } = await makeModelsDir();
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
const SEGMENTS = [segment(220, 1), segment(880, 2), segment(3000, 3)];

async function withEmbedder(fn: (e: Embedder) => Promise<void>): Promise<void> {
  const e = await createEmbedder({ manifest, modelsDir: dir, provider: "cpu", threads: 1 });
  try {
    await fn(e);
  } finally {
    await e.close();
  }
}

function block(v: Float32Array, model: number, seg: number): Float32Array {
  const at = (model * 3 + seg) * 256;
  return v.subarray(at, at + 256);
}

Deno.test("embedSegments() returns 2304 dims of nine unit 256-d blocks", async () => {
  await withEmbedder(async (e) => {
    const v = await e.embedSegments(SEGMENTS);
    assert.equal(e.dims, 2304);
    assert.equal(v.length, CLIP_EMBEDDING_SIZE);
    for (let mi = 0; mi < 3; mi++) {
      for (let si = 0; si < 3; si++) {
        const b = block(v, mi, si);
        const norm = Math.hypot(...b);
        assert.ok(Math.abs(norm - 1) < 1e-5, `block ${mi}/${si} norm ${norm}`);
      }
    }
  });
});

Deno.test("embedSegments() is deterministic", async () => {
  await withEmbedder(async (e) => {
    const a = await e.embedSegments(SEGMENTS);
    const b = await e.embedSegments(SEGMENTS);
    assert.deepEqual(a, b);
  });
});

Deno.test("embedSegments() block (model m, segment s) is model m on normalised segment s", async () => {
  await withEmbedder(async (e) => {
    const v = await e.embedSegments(SEGMENTS);
    for (const [mi, task] of MODEL_TASKS.entries()) {
      const spec = normalizeLogMel(logMelSpectrogram(SEGMENTS[2]!), MEAN, STD);
      const ref = tf.tidy(() => {
        const [emb] = embeddingModel(tfModels.get(task)!).predict(
          tf.tensor4d(spec.data, [1, NMELS, 200, 1]),
        ) as tf.Tensor[];
        return emb!.dataSync() as Float32Array;
      });
      assert.ok(ref.filter((x) => x > 0).length > 10, `${task}: the embedding is (almost) all zero`);
      const want = unitBlock(ref);
      const got = block(v, mi, 2);
      for (let i = 0; i < 256; i++) assert.ok(Math.abs(want[i]! - got[i]!) < 1e-4, `${task} dim ${i}`);
    }
  });
});

Deno.test("embedSegments() swapping two segments swaps their blocks in every model", async () => {
  await withEmbedder(async (e) => {
    const a = await e.embedSegments(SEGMENTS);
    const b = await e.embedSegments([SEGMENTS[1]!, SEGMENTS[0]!, SEGMENTS[2]!]);
    assert.notDeepEqual(block(a, 0, 0), block(a, 0, 1)); // otherwise the check below proves nothing
    for (let mi = 0; mi < 3; mi++) {
      for (let i = 0; i < 256; i++) {
        assert.ok(Math.abs(block(a, mi, 0)[i]! - block(b, mi, 1)[i]!) < 1e-6);
        assert.ok(Math.abs(block(a, mi, 1)[i]! - block(b, mi, 0)[i]!) < 1e-6);
        assert.ok(Math.abs(block(a, mi, 2)[i]! - block(b, mi, 2)[i]!) < 1e-6);
      }
    }
  });
});

Deno.test("embedMany() gives each clip what embedSegments() gives it", async () => {
  await withEmbedder(async (e) => {
    const clips = [SEGMENTS, [SEGMENTS[2]!, SEGMENTS[2]!, SEGMENTS[0]!]];
    const many = await e.embedMany(clips);
    assert.equal(many.length, 2);
    for (const [i, clip] of clips.entries()) {
      const one = await e.embedSegments(clip);
      for (let d = 0; d < CLIP_EMBEDDING_SIZE; d++) assert.ok(Math.abs(one[d]! - many[i]![d]!) < 1e-5);
    }
    assert.deepEqual(await e.embedMany([]), []);
  });
});

Deno.test("embedAudio() cuts the clip by the segment policy and embeds it", async () => {
  await withEmbedder(async (e) => {
    const samples = new Float32Array(SR * 30);
    SEGMENTS.forEach((s, i) => samples.set(s, i * SEG));
    const audio = { samples, sampleRate: SR, seconds: 30, truncated: false };
    assert.deepEqual(await e.embedAudio(audio), await e.embedSegments(cutSegments(audio)));
    await assert.rejects(e.embedAudio({ ...audio, sampleRate: 22050 }), RangeError);
  });
});

Deno.test("embedSegments() refuses the wrong number or length of segments", async () => {
  await withEmbedder(async (e) => {
    await assert.rejects(e.embedSegments(SEGMENTS.slice(0, 2)), /3 segments/);
    await assert.rejects(
      e.embedSegments([SEGMENTS[0]!, SEGMENTS[1]!, new Float32Array(100)]),
      /160000 samples/,
    );
  });
});

Deno.test("createEmbedder() asked for cuda falls back to CPU and says so once for three models", async () => {
  resetProviderState();
  const { logger, records } = createMemoryLogger();
  const e = await createEmbedder({ manifest, modelsDir: dir, provider: "cuda", threads: 1, logger });
  try {
    const lines = records.filter((r) => r.msg.startsWith("onnxruntime:"));
    assert.equal(lines.length, 1, JSON.stringify(records));
    if (e.provider === "cpu") assert.match(lines[0]!.msg, /unavailable, using CPU/);
    assert.equal((await e.embedSegments(SEGMENTS)).length, 2304);
  } finally {
    await e.close();
  }
});

Deno.test("createEmbedder() reports a missing model file as ModelMismatch", async () => {
  const empty = await Deno.makeTempDir({ prefix: "embed_test_empty_" });
  try {
    await assert.rejects(
      createEmbedder({ manifest, modelsDir: empty }),
      (err: unknown) => err instanceof Error && /genre\.onnx is missing.*deno task export/.test(err.message),
    );
  } finally {
    await Deno.remove(empty, { recursive: true });
  }
});

Deno.test("analyzeMany() gives each model's softmax averaged over the three segments", async () => {
  await withEmbedder(async (e) => {
    const analysis = (await e.analyzeMany([SEGMENTS]))[0]!;
    assert.deepEqual(analysis.vector, await e.embedSegments(SEGMENTS));
    assert.deepEqual(analysis.hearing.map((h) => h.task), [...MODEL_TASKS]);
    for (const [mi, task] of MODEL_TASKS.entries()) {
      const hearing: ModelHearing = analysis.hearing[mi]!;
      assert.equal(hearing.classes.length, SHIPPED_CLASS_COUNTS[task]);
      // Reference: tfjs logits of each normalised segment, softmaxed, then averaged.
      const want = tf.tidy(() => {
        const batch = tf.concat(
          SEGMENTS.map((s) =>
            tf.tensor4d(normalizeLogMel(logMelSpectrogram(s), MEAN, STD).data, [1, NMELS, 200, 1])
          ),
        );
        const logits = tfModels.get(task)!.predict(batch) as tf.Tensor2D;
        return tf.softmax(logits).mean(0).dataSync() as Float32Array;
      });
      const total = hearing.probabilities.reduce((a: number, b: number) => a + b, 0);
      assert.ok(Math.abs(total - 1) < 1e-5, `${task} sums to ${total}`);
      for (let c = 0; c < want.length; c++) {
        assert.ok(Math.abs(want[c]! - hearing.probabilities[c]!) < 1e-4, `${task} class ${c}`);
      }
    }
  });
});

Deno.test("analyzeMany() divides the logits by the manifest's calibration temperature and passes minConfidence on", async () => {
  const task = MODEL_TASKS[0];
  const calibrated: Manifest = {
    ...manifest,
    models: {
      ...manifest.models,
      [task]: {
        ...manifest.models[task],
        calibration: { temperature: 4, minConfidence: 0.55, topLabel: { slope: 2, bias: -1 } },
      },
    },
  };
  const e = await createEmbedder({ manifest: calibrated, modelsDir: dir, provider: "cpu", threads: 1 });
  try {
    const hearing = (await e.analyzeMany([SEGMENTS]))[0]!.hearing[0]!;
    assert.equal(hearing.minConfidence, 0.55);
    assert.deepEqual(hearing.topLabel, { slope: 2, bias: -1 });
    const want = tf.tidy(() => {
      const batch = tf.concat(
        SEGMENTS.map((s) =>
          tf.tensor4d(normalizeLogMel(logMelSpectrogram(s), MEAN, STD).data, [1, NMELS, 200, 1])
        ),
      );
      const logits = tfModels.get(task)!.predict(batch) as tf.Tensor2D;
      return tf.softmax(tf.div(logits, 4)).mean(0).dataSync() as Float32Array;
    });
    for (let c = 0; c < want.length; c++) assert.ok(Math.abs(want[c]! - hearing.probabilities[c]!) < 1e-4);
  } finally {
    await e.close();
  }
});

Deno.test("confidentClasses() leaves out a model whose best probability is below its minConfidence", () => {
  const hearing: ModelHearing[] = [
    {
      task: "genre",
      classes: ["jazz", "rock"],
      probabilities: Float32Array.of(0.45, 0.55),
      minConfidence: 0.6,
    },
    { task: "emotion", classes: ["a", "b"], probabilities: Float32Array.of(0.3, 0.7) },
    {
      task: "instrument",
      classes: ["piano", "drums"],
      probabilities: Float32Array.of(0.8, 0.2),
      minConfidence: 0.6,
    },
  ];
  assert.deepEqual(confidentClasses(hearing).map((c) => c.className), ["b", "piano"]);
});

Deno.test("bestClasses() gives the top-label scaled chance that the label is right, and confidentClasses() filters on it", () => {
  const topLabel = { slope: 2, bias: -1.5 };
  const hearing: ModelHearing[] = [
    { task: "genre", classes: ["jazz", "rock"], probabilities: Float32Array.of(0.3, 0.7), topLabel },
  ];
  const [best] = bestClasses(hearing);
  assert.equal(best!.className, "rock");
  const want = 1 / (1 + Math.exp(-(2 * Math.log(0.7 / 0.3) - 1.5))); // 0.549
  assert.ok(Math.abs(best!.probability - want) < 1e-6, `${best!.probability}`);
  // 0.7 would pass a 0.6 threshold; the scaled 0.549 does not
  assert.equal(confidentClasses([{ ...hearing[0]!, minConfidence: 0.6 }]).length, 0);
  assert.equal(confidentClasses([{ ...hearing[0]!, minConfidence: 0.5 }]).length, 1);
  assert.ok(scaleTopLabel(0.9, topLabel) > scaleTopLabel(0.6, topLabel), "keeps the order");
});

Deno.test("softmax() is stable for large logits", () => {
  const p = softmax(Float32Array.of(1000, 999, -1000));
  assert.ok(Math.abs(p[0]! - 1 / (1 + Math.exp(-1))) < 1e-6);
  assert.equal(p[2], 0);
});

/**
 * The shipped models: the manifest lists three models that pass their hash and feature checks, record
 * where their real training audio came from, load
 * in onnxruntime-node with a 256-d `embedding` and 10 / 5 / 4 classes, pass Debian's python3-onnx
 * checker.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  createSession,
  DEFAULT_FEATURE_PARAMS,
  loadManifest,
  logMelSpectrogram,
  MODEL_TASKS,
  normalizeLogMel,
  releaseSession,
  runSession,
  SHIPPED_CLASS_COUNTS,
} from "../core/mod.ts";
import { runOnnxChecker } from "../training/onnx_export.ts";

const MODELS = new URL("../models", import.meta.url).pathname;

Deno.test("shipped manifest: three verified models with 256-d embeddings and 10/5/7 classes", async () => {
  const manifest = await loadManifest(MODELS, { classCounts: SHIPPED_CLASS_COUNTS });
  for (const task of MODEL_TASKS) {
    const entry = manifest.models[task];
    assert.equal(entry.embeddingSize, 256);
    assert.equal(entry.classes.length, SHIPPED_CLASS_COUNTS[task]);
    // Provenance: every model learned from the real mood set (repository, commit, counts) and from the
    // MusiCNN teacher's targets on it (teacher repository, commit, licence, sha256): genre and instrument
    // its tags and embedding, emotion the real clusters plus its embedding.
    const real = entry.trainedOn.source as
      | { repository?: string; commit?: string; counts?: { reserved?: number } }
      | undefined;
    assert.equal(entry.trainedOn.kind, "dataset");
    assert.equal(
      real?.repository,
      "alecrothenberg/Yearning-4-Machine-Learning",
      `${task}: real audio source`,
    );
    assert.equal(real?.commit, "3dd2caa59207c69e799b8341ec367829ef727ce3");
    assert.equal(real?.counts?.reserved, 90, `${task}: the reserved clips are counted`);
    const teacher = entry.trainedOn.teacher as {
      files: { repository: string; commit: string; licence: string; sha256: string }[];
    };
    assert.ok(teacher.files.length >= 2, `${task}: teacher files recorded`);
    for (const f of teacher.files) {
      assert.match(f.commit, /^[0-9a-f]{40}$/);
      assert.match(f.sha256, /^[0-9a-f]{64}$/);
      assert.match(f.licence, /CC BY-NC-SA 4\.0/);
    }
    // Honest cards: every model is calibrated on held-out real clips.
    assert.ok(entry.calibration !== undefined && entry.calibration.temperature > 0, `${task}: calibration`);
    for (const key of ["accuracy", "macroF1", "loss"] as const) {
      assert.equal(typeof entry.metrics[key], "number");
    }
    const stat = await Deno.stat(join(MODELS, entry.file));
    assert.ok(stat.size <= 5 * 1024 * 1024, `${entry.file} is at most 5 MB`);
    for (const f of ["metrics.json", "confusion_matrix.svg", "training_curves.svg"]) {
      assert.ok((await Deno.stat(join(MODELS, task, f))).isFile, `${task}/${f} exists`);
    }
  }
});

Deno.test("shipped models: onnxruntime gives [N,256] embeddings and [N,C] logits for a batch", async () => {
  const manifest = await loadManifest(MODELS);
  const p = DEFAULT_FEATURE_PARAMS;
  // Two different 10 s signals: a tone and a chirp.
  const n = p.sampleRate * p.segmentSeconds;
  const tone = new Float32Array(n).map((_, i) => 0.3 * Math.sin((2 * Math.PI * 440 * i) / p.sampleRate));
  const chirp = new Float32Array(n).map((_, i) =>
    0.3 * Math.sin(2 * Math.PI * (200 + 0.02 * i) * i / p.sampleRate)
  );
  for (const task of MODEL_TASKS) {
    const entry = manifest.models[task];
    const mean = Float32Array.from(entry.normalization.mean);
    const std = Float32Array.from(entry.normalization.std);
    const specs = [tone, chirp].map((s) => normalizeLogMel(logMelSpectrogram(s, p), mean, std));
    const data = new Float32Array(specs.length * specs[0]!.data.length);
    specs.forEach((s, i) => data.set(s.data, i * s.data.length));
    const session = await createSession(join(MODELS, entry.file), { provider: "cpu", threads: 1 });
    try {
      const out = await runSession(session, entry.input.name, data, [2, p.nMels, specs[0]!.frames, 1]);
      assert.equal(out.embedding.length, 2 * 256);
      assert.equal(out.logits.length, 2 * entry.classes.length);
      assert.ok(out.embedding.every(Number.isFinite));
      const a = out.embedding.subarray(0, 256);
      const b = out.embedding.subarray(256);
      assert.ok(
        a.some((x, i) => Math.abs(x - b[i]!) > 1e-4),
        `${task}: different inputs, different embeddings`,
      );
    } finally {
      await releaseSession(session);
    }
  }
});

Deno.test("shipped models pass Debian's python3-onnx checker (full_check)", async () => {
  const manifest = await loadManifest(MODELS);
  for (const task of MODEL_TASKS) {
    const result = await runOnnxChecker(join(MODELS, manifest.models[task].file));
    assert.ok(result !== null, "python3-onnx is not installed: run scripts/setup.sh");
    assert.ok(result.ok, `${task}: ${result.error}`);
    assert.ok((result.opset ?? 0) >= 13);
  }
});

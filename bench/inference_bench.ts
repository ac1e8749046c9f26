/**
 * ONNX inference benchmark: milliseconds per 10 s segment at batch 1, 3 and 9 with 2 intra-op threads
 * (ORT_THREADS overrides), for each model in `models/` (or `--models <dir>`), or for a freshly
 * exported untrained model of the shipped architecture when no verified manifest is there.
 *
 * Run: `node_modules/.bin/deno run -A bench/inference_bench.ts [--models models] [--runs 30]`
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { loadConfig } from "../core/config.ts";
import { DEFAULT_FEATURE_PARAMS, frameCount } from "../core/audio/features.ts";
import { createConsoleLogger } from "../core/logger.ts";
import { loadManifest, MODEL_TASKS, SHIPPED_CLASS_COUNTS } from "../core/model/manifest.ts";
import { createSession, releaseSession, run } from "../core/model/onnx.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { models: { type: "string" }, runs: { type: "string" }, threads: { type: "string" } },
});
const config = loadConfig();
const logger = createConsoleLogger("warn");
const modelsDir = values.models ?? config.modelsDir;
const runs = Number(values.runs ?? 30);
const threads = Number(values.threads ?? config.ortThreads ?? 2);
const nMels = DEFAULT_FEATURE_PARAMS.nMels;
const frames = frameCount(DEFAULT_FEATURE_PARAMS.sampleRate * DEFAULT_FEATURE_PARAMS.segmentSeconds);

/** `[label, model bytes or path]` pairs to time. */
const targets: [string, Uint8Array | string][] = [];
try {
  const manifest = await loadManifest(modelsDir);
  for (const task of MODEL_TASKS) targets.push([task, join(modelsDir, manifest.models[task].file)]);
} catch (err) {
  console.log(`No verified models in ${modelsDir} (${(err as Error).message});`);
  console.log("timing a freshly exported, untrained model of the shipped architecture instead.");
  const { setupBackend } = await import("../training/backend.ts");
  const { buildModel, DEFAULT_MODEL_CONFIG } = await import("../training/model.ts");
  const { exportToOnnx } = await import("../training/onnx_export.ts");
  await setupBackend({ prefer: "cpu" });
  const bytes = exportToOnnx(buildModel({ ...DEFAULT_MODEL_CONFIG, nClasses: SHIPPED_CLASS_COUNTS.genre }));
  targets.push([`untrained default (${(bytes.length / 1e6).toFixed(2)} MB)`, bytes]);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

console.log(
  `onnxruntime-node CPU, ${threads} intra-op threads, input [B, ${nMels}, ${frames}, 1], median of ${runs} runs`,
);
console.log(["model".padEnd(34), "batch", "ms/batch", "ms/segment"].join("  "));
const perSegmentAt3: number[] = [];
for (const [label, model] of targets) {
  const session = await createSession(model, { provider: "cpu", threads, logger });
  try {
    for (const batch of [1, 3, 9]) {
      const data = Float32Array.from({ length: batch * nMels * frames }, (_, i) => Math.sin(i * 0.001) * 2);
      const dims = [batch, nMels, frames, 1];
      for (let w = 0; w < 3; w++) await run(session, "logmel", data, dims);
      const times: number[] = [];
      for (let r = 0; r < runs; r++) {
        const t0 = performance.now();
        await run(session, "logmel", data, dims);
        times.push(performance.now() - t0);
      }
      const ms = median(times);
      if (batch === 3) perSegmentAt3.push(ms);
      console.log(
        [
          label.padEnd(34),
          String(batch).padStart(5),
          ms.toFixed(2).padStart(8),
          (ms / batch).toFixed(2).padStart(10),
        ]
          .join("  "),
      );
    }
  } finally {
    await releaseSession(session);
  }
}
const clipMs = targets.length === 3 ? perSegmentAt3.reduce((a, b) => a + b, 0) : (perSegmentAt3[0] ?? 0) * 3;
console.log(`inference per clip (3 models x one batch of 3 segments): ${clipMs.toFixed(1)} ms`);

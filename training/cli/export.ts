/**
 * `deno task export --task genre [--run .cache/runs/genre] [--models models]`: exports a finished
 * training run to ONNX, verifies it, and only then installs it as `models/<task>.onnx` with its
 * manifest entry, metrics and images.
 *
 * Verification before anything in `models/` is touched: max |tfjs - onnxruntime| <= 1e-4 on both
 * outputs for a batch of inputs, and Debian's python3-onnx checker (`check_model(full_check=True)`)
 * when it is installed.
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { loadConfig } from "../../core/mod.ts";
import { ErrorCode, isSoundalikeError, SoundalikeError } from "../../core/mod.ts";
import { DEFAULT_FEATURE_PARAMS, featureParamsDiff, featureParamsEqual } from "../../core/mod.ts";
import { writeFileAtomic } from "../../core/mod.ts";
import { createConsoleLogger, type Logger, silentLogger } from "../../core/mod.ts";
import { EMBEDDING_SIZE, MODEL_TASKS, type ModelEntry, type ModelTask } from "../../core/mod.ts";
import { setupBackend } from "../backend.ts";
import {
  DEFAULT_OPSET,
  exportToOnnx,
  type OnnxCheckResult,
  type ParityReport,
  publishModel,
  runOnnxChecker,
  verifyParity,
} from "../onnx_export.ts";
import { loadRun, readJsonIfExists, RUN_FILES } from "../run_dir.ts";
import type { CalibrationReport } from "../teacher/calibration.ts";
import { mulberry32 } from "../../core/mod.ts";

const HELP = `Export a trained model to ONNX, verify it, and install it in the models folder.

Usage: deno task export --task genre|emotion|instrument [--run <dir>] [--models <dir>]

Options:
  --task <task>     which model (required)
  --run <dir>       the training run folder (default .cache/runs/<task>)
  --models <dir>    the models folder (default $SOUNDALIKE_MODELS_DIR or models)
  --batch <n>       inputs compared between tfjs and onnxruntime (default 8)
  -h, --help        show this help

Nothing in the models folder changes unless the export matches tfjs within 1e-4 and passes
python3-onnx's checker (skipped with a warning when python3-onnx is not installed).`;

/** Options of {@linkcode exportRun}. */
export interface ExportRunOptions {
  task: ModelTask;
  /** The training run folder. */
  runDir: string;
  /** The models folder. */
  modelsDir: string;
  /** Inputs compared between tfjs and onnxruntime. @default 8 */
  batch?: number;
  /** Seed of the random comparison inputs. @default 1 */
  seed?: number;
  /** Progress and warnings. @default silentLogger */
  logger?: Logger;
}

/** What {@linkcode exportRun} did. */
export interface ExportReport {
  entry: ModelEntry;
  parity: ParityReport;
  /** `null` when python3-onnx is not installed. */
  checker: OnnxCheckResult | null;
  bytes: number;
  /** Files copied into `<models>/<task>/`. */
  copied: string[];
}

/** Seeded standard-normal values: what normalised log-mels look like to the model. */
function gaussian(n: number, seed: number): Float32Array {
  const next = mulberry32(seed);
  const uniform = () => next() + 0.5 / 4294967296; // never 0, so the log below is finite
  return Float32Array.from(
    { length: n },
    () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform()),
  );
}

/**
 * Exports, verifies and installs one task's model from a training run.
 *
 * @param opts See {@linkcode ExportRunOptions}.
 * @returns What was written and measured.
 * @throws {SoundalikeError} `ModelMismatch` when the run is incomplete, for another task, uses other
 * features than core computes, or the export fails verification (nothing is installed then).
 */
export async function exportRun(opts: ExportRunOptions): Promise<ExportReport> {
  const { task, runDir, modelsDir } = opts;
  const logger = opts.logger ?? silentLogger;
  const batch = opts.batch ?? 8;
  const run = await loadRun(runDir);
  const refuse = (why: string) => new SoundalikeError(ErrorCode.ModelMismatch, why);
  if (run.task !== task) {
    throw refuse(`The run in ${runDir} trained ${run.task}, not ${task}: pass --run for ${task}`);
  }
  if (!featureParamsEqual(run.features, DEFAULT_FEATURE_PARAMS)) {
    throw refuse(
      `The run in ${runDir} used other features than core computes (${
        featureParamsDiff(DEFAULT_FEATURE_PARAMS, run.features).join("; ")
      }): retrain with \`deno task train --task ${task}\``,
    );
  }
  if (run.metrics === undefined) {
    throw refuse(
      `The run in ${runDir} has no ${RUN_FILES.metrics}: run \`deno task evaluate --task ${task}\` first`,
    );
  }
  const [, nMels, frames, channels] = run.model.inputs[0]!.shape as [null, number, number, number];
  if (nMels !== run.features.nMels || channels !== 1) {
    throw refuse(
      `The model in ${runDir} takes [N, ${nMels}, ${frames}, ${channels}], not ${run.features.nMels} mel bands`,
    );
  }

  const bytes = exportToOnnx(run.model, {
    metadata: { task, classes: JSON.stringify(run.classes), producer: "soundalike training/cli/export.ts" },
  });
  logger.info("Exported to ONNX", { task, bytes: bytes.length, opset: DEFAULT_OPSET });

  // Verify from a temporary file, outside models/.
  const tmpDir = await Deno.makeTempDir({ prefix: `soundalike_export_${task}_` });
  let parity: ParityReport;
  let checker: OnnxCheckResult | null;
  try {
    const tmpFile = join(tmpDir, `${task}.onnx`);
    await Deno.writeFile(tmpFile, bytes);
    try {
      parity = await verifyParity(run.model, bytes, gaussian(batch * nMels * frames, opts.seed ?? 1), batch);
    } catch (err) {
      throw new SoundalikeError(
        ErrorCode.ModelMismatch,
        `The ONNX export of ${task} does not match the trained model, nothing was installed: ${
          (err as Error).message
        }`,
        { cause: err },
      );
    }
    if (parity.embeddingSize !== EMBEDDING_SIZE || parity.classes !== run.classes.length) {
      throw refuse(
        `The ${task} model outputs ${parity.embeddingSize}-d embeddings and ${parity.classes} logits, expected ${EMBEDDING_SIZE} and ${run.classes.length} classes: retrain with \`deno task train --task ${task}\``,
      );
    }
    logger.info("Parity with tfjs verified", { ...parity });
    checker = await runOnnxChecker(tmpFile);
    if (checker === null) {
      logger.warn(
        "python3-onnx is not installed: skipped the reference ONNX checker (apt-get install python3-onnx)",
      );
    } else if (!checker.ok) {
      throw new SoundalikeError(
        ErrorCode.ModelMismatch,
        `python3-onnx's checker rejected the ${task} export, nothing was installed: ${checker.error}`,
      );
    } else {
      logger.info("python3-onnx checker passed", { onnx: checker.onnxVersion, opset: checker.opset });
    }
  } finally {
    await Deno.remove(tmpDir, { recursive: true });
  }

  const m = run.metrics;
  const calibration = await readJsonIfExists<CalibrationReport>(join(runDir, "calibration.json"));
  const entry = await publishModel({
    modelsDir,
    task,
    bytes,
    entry: {
      task,
      classes: [...run.classes],
      embeddingSize: EMBEDDING_SIZE,
      input: { name: "logmel", shape: ["N", nMels, frames, 1], layout: "NHWC" },
      outputs: { embedding: "embedding", logits: "logits" },
      features: { ...run.features },
      normalization: { mean: Array.from(run.normalization.mean), std: Array.from(run.normalization.std) },
      trainedOn: { ...run.trainedOn },
      metrics: {
        accuracy: m.accuracy,
        macroF1: m.macroF1,
        loss: m.loss,
        trackAccuracy: m.trackAccuracy,
        testSegments: m.segments,
        testTracks: m.tracks,
      },
      architecture: {
        ...run.config,
        blocks: "4 x (conv 3x3 same, batchnorm folded, relu, maxpool 2x2), global average pool",
        dense: [run.config.dense1, EMBEDDING_SIZE, run.config.nClasses],
        parameters: run.model.countParams(),
        opset: DEFAULT_OPSET,
        bestEpoch: run.history.bestEpoch,
        epochs: run.history.epochs.length,
      },
      ...(calibration === undefined ? {} : {
        calibration: {
          temperature: calibration.temperature,
          minConfidence: calibration.minConfidence,
          ...(calibration.topLabel === undefined ? {} : { topLabel: calibration.topLabel }),
          ...(calibration.method === undefined ? {} : { method: calibration.method }),
          targetPrecision: calibration.targetPrecision,
          reference: calibration.reference,
          validation: calibration.validation,
          test: calibration.test,
        },
      }),
    },
  });
  logger.info("Installed model", { file: join(modelsDir, entry.file), sha256: entry.sha256 });

  // Metrics and images beside the model, for people reading models/.
  const artifactsDir = join(modelsDir, task);
  await Deno.mkdir(artifactsDir, { recursive: true });
  const copied: string[] = [];
  for await (const f of Deno.readDir(runDir)) {
    if (
      !f.isFile ||
      !(f.name === RUN_FILES.metrics || f.name === RUN_FILES.history || f.name === "calibration.json" ||
        f.name.endsWith(".svg"))
    ) continue;
    await writeFileAtomic(join(artifactsDir, f.name), await Deno.readFile(join(runDir, f.name)));
    copied.push(f.name);
  }
  copied.sort();
  return { entry, parity: parity!, checker: checker!, bytes: bytes.length, copied };
}

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: Deno.args,
      options: {
        task: { type: "string" },
        run: { type: "string" },
        models: { type: "string" },
        batch: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (err) {
    console.error(`${(err as Error).message}: see deno task export --help`);
    return 2;
  }
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const task = values.task as ModelTask | undefined;
  if (!task || !MODEL_TASKS.includes(task)) {
    console.error(`--task must be one of ${MODEL_TASKS.join(", ")}: see deno task export --help`);
    return 2;
  }
  const batch = values.batch === undefined ? 8 : Number(values.batch);
  if (!Number.isInteger(batch) || batch < 1 || batch > 64) {
    console.error(`--batch must be an integer from 1 to 64: got ${values.batch}`);
    return 2;
  }
  try {
    const config = loadConfig();
    const logger = createConsoleLogger(config.logLevel);
    await setupBackend({ logger });
    const report = await exportRun({
      task,
      runDir: values.run ?? join(".cache", "runs", task),
      modelsDir: values.models ?? config.modelsDir,
      batch,
      logger,
    });
    const mb = (report.bytes / 1e6).toFixed(2);
    console.log(`Installed ${report.entry.file} (${mb} MB, sha256 ${report.entry.sha256.slice(0, 12)}…)`);
    console.log(
      `  parity: max |tfjs - onnxruntime| embedding ${report.parity.embedding.toExponential(2)}, logits ${
        report.parity.logits.toExponential(2)
      } over ${report.parity.batch} inputs (tolerance ${report.parity.tolerance})`,
    );
    console.log(
      report.checker
        ? `  python3-onnx ${report.checker.onnxVersion} check_model(full_check=True): ok, opset ${report.checker.opset}`
        : "  python3-onnx checker: skipped (not installed)",
    );
    console.log(`  classes: ${report.entry.classes.join(", ")}`);
    console.log(
      `  copied to ${join(values.models ?? config.modelsDir, task)}/: ${
        report.copied.join(", ") || "nothing"
      }`,
    );
    if (report.bytes > 5e6) console.log(`  note: the model is over 5 MB (${mb} MB)`);
    return 0;
  } catch (err) {
    if (isSoundalikeError(err)) {
      console.error(err.message);
      return 1;
    }
    throw err;
  }
}

if (import.meta.main) Deno.exit(await main());

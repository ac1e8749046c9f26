/**
 * `deno task train`: trains one task's CNN and evaluates it on the held-out test split.
 *
 * ```
 * deno task train --task genre|emotion|instrument
 *   (--data <dir> [--layout gtzan|instruments|mirex|folder] | --synthetic [--corpus .cache/corpus])
 *   [--epochs 30] [--batch 32] [--seed 1] [--lr 0.001] [--patience 5] [--windows 3] [--variants 1]
 *   [--contrast <mood-dir>|self [--contrast-weight 0.5] [--contrast-batch 12] [--temperature 0.2]]
 *   [--out .cache/runs/<task>] [--cache .cache/features] [--resume] [--backend auto|wasm|cpu|tensorflow]
 *   [--oversample] [--no-evaluate] [--verbose]
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { createTerminalProgress } from "../../core/mod.ts";
import { createConsoleLogger } from "../../core/mod.ts";
import { type BackendName, setupBackend } from "../backend.ts";
import { DATASET_LAYOUTS, type DatasetLayout, loadDataset } from "../datasets/mod.ts";
import { pathIsDir } from "../datasets/_util.ts";
import { evaluateRun } from "../evaluate.ts";
import type { CorpusProvenance, DatasetSource } from "../run_dir.ts";
import { readMoodProvenance } from "../datasets/mood_fetch.ts";
import { type Task, TASKS } from "../run_dir.ts";
import { type ContrastiveTask, trainModel, type TrainProgress } from "../train.ts";
import { runMain } from "./_main.ts";

const USAGE = `Usage: deno task train --task genre|emotion|instrument
  (--data <dir> [--layout gtzan|instruments|mirex|folder] | --synthetic [--corpus .cache/corpus])
  [--epochs 30] [--batch 32] [--seed 1] [--lr 0.001] [--patience 5] [--windows 3] [--variants 1]
  [--contrast <mood-dir>|self [--contrast-weight 0.5] [--contrast-batch 12] [--temperature 0.2]]
  [--out .cache/runs/<task>] [--cache .cache/features] [--resume] [--backend auto|wasm|cpu|tensorflow]
  [--oversample] [--no-evaluate] [--verbose]`;

/**
 * A progress bar on standard error (core's terminal bar), with the extra fields (loss, accuracy,
 * ETA) after it; in a non-interactive terminal it prints a line every 10 s.
 *
 * @returns The reporter.
 */
export function createTrainProgress(): TrainProgress {
  return createTerminalProgress({
    unit: "",
    labelWidth: 22,
    barSize: 24,
    nonTtyIntervalMs: 10000,
    etaBuffer: 20,
    detailSeparator: " ",
  });
}

/** Class counts of the shipped models (10 genres, 5 mood clusters, 7 instrument classes). */
const EXPECTED_CLASSES: Record<Task, number> = { genre: 10, emotion: 5, instrument: 7 };

function fail(message: string): never {
  console.error(message);
  Deno.exit(2);
}

function intArg(name: string, v: string | undefined, fallback: number, min = 1): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) fail(`--${name} must be an integer >= ${min}: ${v}\n${USAGE}`);
  return n;
}

function numArg(name: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!(n > 0)) fail(`--${name} must be a positive number: ${v}\n${USAGE}`);
  return n;
}

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      task: { type: "string" },
      data: { type: "string" },
      layout: { type: "string" },
      synthetic: { type: "boolean", default: false },
      corpus: { type: "string", default: ".cache/corpus" },
      epochs: { type: "string" },
      batch: { type: "string" },
      seed: { type: "string" },
      lr: { type: "string" },
      patience: { type: "string" },
      windows: { type: "string" },
      variants: { type: "string" },
      contrast: { type: "string" },
      "contrast-weight": { type: "string" },
      "contrast-batch": { type: "string" },
      temperature: { type: "string" },
      out: { type: "string" },
      cache: { type: "string", default: ".cache/features" },
      resume: { type: "boolean", default: false },
      backend: { type: "string", default: "auto" },
      oversample: { type: "boolean", default: false },
      "no-evaluate": { type: "boolean", default: false },
      verbose: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const task = values.task as Task | undefined;
  if (task === undefined || !TASKS.includes(task)) {
    fail(`--task must be one of ${TASKS.join(", ")}\n${USAGE}`);
  }
  if ((values.data === undefined) === !values.synthetic) {
    fail(`Give exactly one of --data <dir> or --synthetic\n${USAGE}`);
  }
  const layout = values.layout as DatasetLayout | undefined;
  if (layout !== undefined && !DATASET_LAYOUTS.includes(layout)) {
    fail(`--layout must be one of ${DATASET_LAYOUTS.join(", ")}\n${USAGE}`);
  }
  const backendName = values.backend as BackendName | "auto";
  if (!["auto", "wasm", "cpu", "tensorflow"].includes(backendName)) fail(`Unknown --backend: ${backendName}`);
  const seed = intArg("seed", values.seed, 1, 0);
  const logger = createConsoleLogger(values.verbose ? "debug" : "info");

  let dir: string;
  if (values.synthetic) {
    const perTask = join(values.corpus, task);
    dir = (await pathIsDir(perTask)) ? perTask : values.corpus;
  } else {
    dir = values.data!;
  }
  const dataset = await loadDataset(dir, {
    ...(values.synthetic ? { layout: "folder" as const } : layout === undefined ? {} : { layout }),
    seed,
  });
  logger.info(`Loaded ${dataset.name}`, {
    dir,
    layout: dataset.layout,
    classes: dataset.classes,
    files: dataset.items.length,
    skipped: dataset.skipped.length,
  });
  const expected = EXPECTED_CLASSES[task];
  if (dataset.classes.length !== expected) {
    logger.warn(
      `The ${task} task usually has ${expected} classes; this dataset has ${dataset.classes.length}`,
      {
        classes: dataset.classes,
      },
    );
  }
  if (dataset.reserved?.length) {
    logger.info(`Left out ${dataset.reserved.length} clips reserved for the outside check`);
  }
  for (const s of dataset.skipped.slice(0, 20)) logger.warn("Skipped", { path: s.path, reason: s.reason });
  if (dataset.skipped.length > 20) {
    logger.warn(`… and ${dataset.skipped.length - 20} more (all listed in splits.json)`);
  }

  let contrastive: ContrastiveTask | undefined;
  if (values.contrast !== undefined) {
    const self = values.contrast === "self";
    const cds = self ? "self" as const : await loadDataset(values.contrast, { layout: "mirex", seed });
    contrastive = {
      dataset: cds,
      ...(self ? {} : await datasetSource(values.contrast)),
      weight: numArg("contrast-weight", values["contrast-weight"], 0.5),
      batch: intArg("contrast-batch", values["contrast-batch"], 12, 2),
      temperature: numArg("temperature", values.temperature, 0.2),
    };
    if (cds !== "self") {
      logger.info(`Contrastive task on ${cds.name}`, {
        clips: cds.items.length,
        reserved: cds.reserved?.length ?? 0,
      });
    }
  }

  const backend = await setupBackend({ prefer: backendName, logger });
  const outDir = values.out ?? join(".cache", "runs", task);
  const progress = createTrainProgress();
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) Deno.exit(130); // a second Ctrl-C: stop now, the last checkpoint stays
    logger.warn(
      "Interrupted: stopping after this epoch's checkpoint (Ctrl-C again to stop now; resume with --resume)",
    );
    controller.abort();
  };
  Deno.addSignalListener("SIGINT", onSignal);
  try {
    const result = await trainModel({
      task,
      dataset,
      kind: values.synthetic ? "synthetic" : "dataset",
      ...(values.synthetic ? await corpusProvenance(values.corpus) : await datasetSource(dir)),
      outDir,
      epochs: intArg("epochs", values.epochs, 30),
      batchSize: intArg("batch", values.batch, 32),
      seed,
      learningRate: numArg("lr", values.lr, 1e-3),
      patience: intArg("patience", values.patience, 5),
      windowsPerClip: intArg("windows", values.windows, 3),
      variants: intArg("variants", values.variants, 1),
      ...(contrastive === undefined ? {} : { contrastive }),
      oversample: values.oversample,
      cacheDir: values.cache,
      resume: values.resume,
      backend: backend.name,
      logger,
      progress,
      signal: controller.signal,
    });
    if (result.interrupted) return 130;
    console.error(`Training examples/s (${backend.name}): ${result.examplesPerSecond.toFixed(1)}`);
    if (!values["no-evaluate"]) {
      const m = await evaluateRun(outDir, { cacheDir: values.cache, logger });
      console.log(JSON.stringify(
        {
          task,
          outDir,
          accuracy: m.accuracy,
          macroF1: m.macroF1,
          loss: m.loss,
          trackAccuracy: m.trackAccuracy,
        },
        null,
        2,
      ));
    }
    return 0;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
  }
}

if (import.meta.main) await runMain(main);

/** A fetched dataset's `provenance.json` (repository, commit, counts), when it has one. */
async function datasetSource(dir: string): Promise<{ source?: DatasetSource }> {
  const p = await readMoodProvenance(dir);
  return p === undefined
    ? {}
    : { source: { repository: p.repository, commit: p.commit, folder: p.folder, counts: p.counts } };
}

/** The corpus's `corpus.json` (generator, version, seed), when it has one. */
async function corpusProvenance(corpusDir: string): Promise<{ corpus?: CorpusProvenance }> {
  try {
    const c = JSON.parse(await Deno.readTextFile(join(corpusDir, "corpus.json")));
    return {
      corpus: {
        generator: String(c.generator),
        generatorVersion: String(c.generatorVersion),
        seed: Number(c.seed),
      },
    };
  } catch {
    return {};
  }
}

/**
 * `deno task distill`: trains the genre or instrument CNN from the MusiCNN teacher's cached targets
 * (`deno task teacher-targets` first), evaluates it once on the test split and calibrates it; then
 * `deno task export --task <task> --run <out>` installs it. `--task emotion` trains the emotion CNN on the
 * mood set's real clusters with the MSD teacher's embedding as a second target; its `--extra` recordings
 * have no cluster and train the embedding target only.
 *
 * ```
 * deno task distill --task genre|instrument|emotion --mood <mood-dir> [--extra <dir> ...]
 *   [--targets .cache/teacher/targets] [--out .cache/runs/<task>-distill] [--epochs 12] [--batch 16]
 *   [--lr 0.001] [--patience 3] [--windows 2] [--variants 2] [--embed-weight 0.5] [--seed 1]
 *   [--mtt-stride 5] [--cache .cache/features] [--resume] [--partial-tags] [--backend auto|wasm|cpu]
 *   [--contrast-weight 0] [--contrast-batch 8] [--relation-weight 0] [--relation-temperature 0.1]
 *   [--label-contrast-weight 0] [--label-contrast-temperature 0.1] [--aux <4q-dir>] [--aux-weight 1]
 * ```
 * `--contrast-weight w` (above 0) adds w x NT-Xent on two augmented views of the real mood training
 * clips, `--contrast-batch` clips a step, as `deno task train --contrast` does; 0 (the default) trains
 * without it. `--relation-weight w` (above 0) adds w x the neighbourhood KL between each batch's
 * student embeddings and the teacher's (`training/teacher/relation.ts`); 0 (the default) trains without it.
 * `--label-contrast-weight w` (above 0) adds w x the supervised contrast of each batch's windows by their
 * class distributions (windows of one class each other's neighbours; `labelContrastLoss`, same file).
 * `--aux <dir>` (emotion only) adds the 4Q dataset (`deno task fetch-4q`): its clips train an unexported
 * quadrant head on the embedding, `--aux-weight` x its cross-entropy (`DistillAux`).
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { createConsoleLogger } from "../../core/mod.ts";
import { type BackendName, setupBackend } from "../backend.ts";
import { loadDataset } from "../datasets/mod.ts";
import { readMoodProvenance } from "../datasets/mood_fetch.ts";
import { isQuadrantFolder, loadQuadrants } from "../datasets/quadrants.ts";
import { readProvenance } from "../datasets/snapshot_extract.ts";
import { distill } from "../teacher/distill.ts";
import { folderItems } from "../teacher/sources.ts";
import { readMixtureManifest } from "../teacher/mixtures.ts";
import { GENRE_TAG_MAP, INSTRUMENT_TAG_MAP } from "../teacher/targets.ts";
import { createTrainProgress } from "./train.ts";
import { runMain } from "./_main.ts";

const USAGE = `Usage: deno task distill --task genre|instrument|emotion --mood <mood-dir> [--extra <dir> ...]
  [--targets .cache/teacher/targets] [--out .cache/runs/<task>-distill] [--epochs 12] [--batch 16]
  [--lr 0.001] [--patience 3] [--windows 2] [--variants 2] [--embed-weight 0.5] [--seed 1]
  [--mtt-stride 5] [--cache .cache/features] [--resume] [--partial-tags] [--backend auto|wasm|cpu]
  [--contrast-weight 0] [--contrast-batch 8] [--relation-weight 0] [--relation-temperature 0.1]
  [--label-contrast-weight 0] [--label-contrast-temperature 0.1] [--aux <4q-dir>] [--aux-weight 1]`;

/** An --extra folder as recorded in the run: its file count, and a mixtures folder's manifest summary. */
async function describeExtra(dir: string, files: number): Promise<Record<string, unknown>> {
  const manifest = await readMixtureManifest(dir);
  if (manifest === undefined) return { folder: dir, files };
  return {
    folder: dir,
    files,
    mixtures: {
      count: manifest.mixtures.length,
      seed: manifest.seed,
      of: manifest.clips,
      source: manifest.source,
    },
  };
}

function num(name: string, v: string | undefined, fallback: number, integer = true): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!(n > 0) || (integer && !Number.isInteger(n))) {
    console.error(`--${name} must be a positive ${integer ? "integer" : "number"}: ${v}\n${USAGE}`);
    Deno.exit(2);
  }
  return n;
}

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      task: { type: "string" },
      mood: { type: "string" },
      extra: { type: "string", multiple: true, default: [] },
      targets: { type: "string", default: ".cache/teacher/targets" },
      out: { type: "string" },
      epochs: { type: "string" },
      batch: { type: "string" },
      lr: { type: "string" },
      patience: { type: "string" },
      windows: { type: "string" },
      variants: { type: "string" },
      "embed-weight": { type: "string" },
      seed: { type: "string" },
      "mtt-stride": { type: "string" },
      "contrast-weight": { type: "string" },
      "contrast-batch": { type: "string" },
      "relation-weight": { type: "string" },
      "relation-temperature": { type: "string" },
      "label-contrast-weight": { type: "string" },
      "label-contrast-temperature": { type: "string" },
      aux: { type: "string" },
      "aux-weight": { type: "string" },
      cache: { type: "string", default: ".cache/features" },
      resume: { type: "boolean", default: false },
      "partial-tags": { type: "boolean", default: false },
      backend: { type: "string", default: "auto" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const task = values.task;
  if (task !== "genre" && task !== "instrument" && task !== "emotion") {
    console.error(`--task must be genre, instrument or emotion\n${USAGE}`);
    return 2;
  }
  if (values.mood === undefined) {
    console.error(`--mood <mood-dir> is required (deno task fetch-mood)\n${USAGE}`);
    return 2;
  }
  // the optional terms' weights: 0 (the default) leaves a term out
  const weightOf = (name: "contrast-weight" | "relation-weight" | "label-contrast-weight") => {
    const w = values[name] === undefined ? 0 : Number(values[name]);
    if (!(w >= 0)) {
      console.error(`--${name} must be a number >= 0: ${values[name]}\n${USAGE}`);
      Deno.exit(2);
    }
    return w;
  };
  const contrastWeight = weightOf("contrast-weight");
  const contrastBatch = num("contrast-batch", values["contrast-batch"], 8);
  const relationWeight = weightOf("relation-weight");
  const relationTemperature = num("relation-temperature", values["relation-temperature"], 0.1, false);
  const labelContrastWeight = weightOf("label-contrast-weight");
  const labelContrastTemperature = num(
    "label-contrast-temperature",
    values["label-contrast-temperature"],
    0.1,
    false,
  );
  if (values.aux !== undefined && task !== "emotion") {
    console.error(`--aux is for --task emotion (a second set of emotion labels)\n${USAGE}`);
    return 2;
  }
  const auxWeight = num("aux-weight", values["aux-weight"], 1, false);
  const aux = values.aux === undefined ? undefined : {
    dataset: await loadQuadrants(values.aux),
    source: (await readProvenance(values.aux)) as Record<string, unknown> | undefined,
    weight: auxWeight,
  };
  const logger = createConsoleLogger("info");
  const seed = values.seed === undefined ? 1 : Number(values.seed);
  const mood = await loadDataset(values.mood, { layout: "mirex", seed });
  const prov = await readMoodProvenance(values.mood);
  // a 4Q folder as an extra source keeps its artists (so held-out artists are dropped); its quadrants are
  // not the task's classes
  const extraItems = async (dir: string) =>
    await isQuadrantFolder(dir)
      ? (await loadQuadrants(dir)).items.map((it) => ({ ...it, label: "unlabelled" }))
      : await folderItems(dir);
  const extraFolders = await Promise.all(values.extra.map(extraItems));
  const extra = extraFolders.flat();
  const extraSources = await Promise.all(
    values.extra.map((dir, i) => describeExtra(dir, extraFolders[i]!.length)),
  );
  const backend = await setupBackend({ prefer: values.backend as BackendName | "auto", logger });
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) Deno.exit(130);
    logger.warn("Interrupted: stopping after this epoch's checkpoint (resume with --resume)");
    controller.abort();
  };
  Deno.addSignalListener("SIGINT", onSignal);
  try {
    const r = await distill({
      task,
      ...(task === "emotion" ? {} : { map: task === "genre" ? GENRE_TAG_MAP : INSTRUMENT_TAG_MAP }),
      mood,
      ...(prov === undefined ? {} : {
        moodSource: {
          repository: prov.repository,
          commit: prov.commit,
          folder: prov.folder,
          counts: prov.counts,
        },
      }),
      extra,
      extraSources,
      targetsDir: values.targets,
      mttStride: num("mtt-stride", values["mtt-stride"], 5),
      outDir: values.out ?? join(".cache", "runs", `${task}-distill`),
      viewsCacheDir: join(values.cache, "views"),
      epochs: num("epochs", values.epochs, 12),
      batchSize: num("batch", values.batch, 16),
      learningRate: num("lr", values.lr, 1e-3, false),
      patience: num("patience", values.patience, 3),
      windowsPerClip: num("windows", values.windows, 2),
      variants: num("variants", values.variants, 2),
      embedWeight: num("embed-weight", values["embed-weight"], 0.5, false),
      ...(contrastWeight > 0 ? { contrastive: { weight: contrastWeight, batch: contrastBatch } } : {}),
      ...(relationWeight > 0
        ? { relation: { weight: relationWeight, temperature: relationTemperature } }
        : {}),
      ...(labelContrastWeight > 0
        ? { labelContrast: { weight: labelContrastWeight, temperature: labelContrastTemperature } }
        : {}),
      ...(aux === undefined ? {} : { aux: { ...aux, source: aux.source ?? { folder: values.aux } } }),
      seed,
      resume: values.resume,
      partialTags: values["partial-tags"],
      backend: backend.name,
      logger,
      progress: createTrainProgress(),
      signal: controller.signal,
    });
    if (r.interrupted) return 130;
    console.log(JSON.stringify({ task, ...r.test }, null, 2));
    return 0;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
  }
}

if (import.meta.main) await runMain(main);

/**
 * `deno task calibrate`: fits an installed model's card calibration (temperature and the confidence
 * below which cards show no label) on the mood set's validation clips with their real labels, reports it
 * on the test clips, and writes it into the model's manifest entry (the model file is unchanged). For the
 * emotion model, whose classes are the mood clusters; the distilled students are calibrated by
 * `deno task distill` against their teacher.
 *
 * ```
 * deno task calibrate --task emotion --mood <mood-dir> [--models models] [--cache .cache/features]
 *   [--precision 0.5]
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import {
  createConsoleLogger,
  createSession,
  DEFAULT_FEATURE_PARAMS,
  readManifest,
  releaseSession,
  runSession,
  writeManifest,
} from "../../core/mod.ts";
import { loadDataset } from "../datasets/mod.ts";
import { DEFAULT_SPLIT, splitByGroup } from "../split.ts";
import { loadClipViews, windowAt } from "../views.ts";
import { calibrationReport } from "../teacher/calibration.ts";
import { runMain } from "./_main.ts";

const USAGE = `Usage: deno task calibrate --task emotion --mood <mood-dir> [--models models]
  [--cache .cache/features] [--precision 0.5]`;

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      task: { type: "string" },
      mood: { type: "string" },
      models: { type: "string", default: "models" },
      cache: { type: "string", default: ".cache/features" },
      precision: { type: "string", default: "0.5" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help || values.task !== "emotion" || values.mood === undefined) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  const logger = createConsoleLogger("info");
  const manifest = await readManifest(values.models);
  const entry = manifest?.models.emotion;
  if (manifest === null || entry === undefined) {
    console.error(`No emotion model in ${values.models}/manifest.json`);
    return 1;
  }
  const ds = await loadDataset(values.mood, { layout: "mirex", seed: entry.trainedOn.seed });
  const splits = splitByGroup(ds.items, entry.trainedOn.seed, DEFAULT_SPLIT);
  const session = await createSession(join(values.models, entry.file), { threads: 1 });
  const params = DEFAULT_FEATURE_PARAMS;
  const frames = entry.input.shape[2];
  const stats = {
    mean: Float32Array.from(entry.normalization.mean),
    std: Float32Array.from(entry.normalization.std),
  };
  const n = entry.classes.length;
  const logitsOf = async (items: typeof ds.items) => {
    const { clips } = await loadClipViews(items, {
      params,
      variants: 1,
      seed: entry.trainedOn.seed,
      cacheDir: join(values.cache, "views"),
      concurrency: 1,
      logger,
    });
    const logits: number[] = [], clipOf: number[] = [], labels: number[] = [];
    for (const [ci, c] of clips.entries()) {
      const mp = c.variants[0]!;
      const last = mp.frames - frames;
      const offsets = last <= 0 ? [0] : [0, Math.floor(last / 2), last];
      const data = new Float32Array(offsets.length * entry.features.nMels * frames);
      offsets.forEach((o, k) =>
        data.set(windowAt(c, 0, o, params, frames, stats).data, k * data.length / offsets.length)
      );
      const r = await runSession(session, entry.input.name, data, [
        offsets.length,
        entry.features.nMels,
        frames,
        1,
      ]);
      logits.push(...r.logits);
      offsets.forEach(() => clipOf.push(ci));
      const label = entry.classes.indexOf(c.item.label);
      // An unknown label would make the likelihood NaN and silently keep temperature 1.
      if (label < 0) {
        throw new Error(`${c.item.path}: label ${c.item.label} is not one of ${entry.classes.join(", ")}`);
      }
      labels.push(label);
    }
    return { logits: Float32Array.from(logits), clipOf, labels };
  };
  try {
    const v = await logitsOf(splits.validation), t = await logitsOf(splits.test);
    const report = calibrationReport({
      classes: entry.classes,
      valLogits: v.logits,
      valClipOf: v.clipOf,
      valClipLabel: v.labels,
      testLogits: t.logits,
      testClipOf: t.clipOf,
      testClipLabel: t.labels,
      targetPrecision: Number(values.precision),
      reference: "the mood set's real cluster labels",
    });
    if (n !== entry.classes.length) throw new Error("class count changed");
    manifest.models.emotion = { ...entry, calibration: { ...report } };
    await writeManifest(values.models, manifest);
    console.log(JSON.stringify(report, null, 2));
    return 0;
  } finally {
    await releaseSession(session);
  }
}

if (import.meta.main) await runMain(main);

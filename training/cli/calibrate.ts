/**
 * `deno task calibrate`: fits an installed model's card calibration (temperature and the confidence
 * below which cards show no label) on the mood set's validation clips, reports it on the test clips,
 * and writes it into the model's manifest entry and `models/<task>/calibration.json` (the model file is
 * unchanged). The reference labels: for the emotion model the mood set's real clusters; for the
 * distilled genre and instrument students the teacher's top class over the whole clip when its tag
 * probability reaches the floor, otherwise no right class (`deno task teacher-targets --splits
 * validation,test` first).
 *
 * `--validation-only` fits and prints the validation figures only, writes nothing and never reads the
 * test split: for choosing settings before the test split's single use; with `--compare-methods` it also
 * prints the out-of-fold ECE and log loss of both methods (`temperature`, `top-label`: 5 folds of the
 * validation clips, 20 seeded repeats). `--method auto` (the default) uses the one with the lower
 * out-of-fold log loss; `--method` can also name one. `--choose-floor` prints where
 * the teachers' tags become trustworthy on the validation clips (`calibration_floor.ts`), the floor's
 * origin.
 *
 * ```
 * deno task calibrate --task emotion|genre|instrument --mood <mood-dir> [--models models]
 *   [--cache .cache/features] [--targets .cache/teacher/targets] [--floor 0.35] [--precision 0.5]
 *   [--min-shown 20] [--method auto|top-label|temperature] [--validation-only [--compare-methods]]
 * deno task calibrate --choose-floor --mood <mood-dir> [--targets .cache/teacher/targets] [--mtt-stride 5]
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import {
  createConsoleLogger,
  createSession,
  DEFAULT_FEATURE_PARAMS,
  type ModelEntry,
  readManifest,
  releaseSession,
  runSession,
  sha256File,
  writeFileAtomic,
  writeManifest,
} from "../../core/mod.ts";
import { loadDataset } from "../datasets/mod.ts";
import type { DatasetItem } from "../datasets/types.ts";
import { DEFAULT_SPLIT, MOOD_SPLIT_SEED, splitByGroup } from "../split.ts";
import { type ClipViews, loadClipViews, windowAt } from "../views.ts";
import {
  calibrationFigures,
  type CalibrationMethod,
  calibrationReport,
  chooseMethod,
  crossValidateCalibration,
  DEFAULT_CALIBRATION_METHOD,
  fitCalibration,
  TEACHER_FLOOR,
  teacherClipReference,
} from "../teacher/calibration.ts";
import { type AgreementPoint, changePointFloor, genreAgreement } from "../teacher/calibration_floor.ts";
import { GENRE_TAG_MAP, INSTRUMENT_TAG_MAP, mapClasses, type TagMap } from "../teacher/targets.ts";
import { readTeacherOutput } from "../teacher/teacher.ts";
import { runMain } from "./_main.ts";

const USAGE = `Usage: deno task calibrate --task emotion|genre|instrument --mood <mood-dir> [--models models]
  [--cache .cache/features] [--targets .cache/teacher/targets] [--floor ${TEACHER_FLOOR}]
  [--precision 0.5] [--min-shown 20] [--method auto|top-label|temperature]
  [--validation-only [--compare-methods]]
       deno task calibrate --choose-floor --mood <mood-dir> [--targets .cache/teacher/targets]
  [--mtt-stride 5]`;

/** The reference label of each clip: the real cluster (emotion) or the teacher's confident class. */
type Reference = (clip: ClipViews) => Promise<number>;

function studentReference(
  map: TagMap,
  entry: ModelEntry,
  targetsDir: string,
  floor: number,
): Reference {
  if (mapClasses(map).join() !== entry.classes.join()) {
    throw new Error(`The ${entry.task} model's classes are not its tag map's: ${entry.classes.join(", ")}`);
  }
  const teacher = entry.trainedOn.teacher as { mttStride?: number } | undefined;
  const stride = map.teacher === "mtt" ? teacher?.mttStride ?? 5 : 1;
  return async (clip) => {
    const sha = await sha256File(clip.item.path);
    const out = await readTeacherOutput(targetsDir, map.teacher, sha, clip.item.path, stride);
    return teacherClipReference(map, out, floor).label;
  };
}

function clusterReference(entry: ModelEntry): Reference {
  return (clip) => {
    const label = entry.classes.indexOf(clip.item.label);
    // An unknown label would make every card on it wrong and silently lower the figures.
    if (label < 0) {
      throw new Error(
        `${clip.item.path}: label ${clip.item.label} is not one of ${entry.classes.join(", ")}`,
      );
    }
    return Promise.resolve(label);
  };
}

function positive(name: string, v: string, max = Infinity): number {
  const n = Number(v);
  if (!(n >= 0 && n <= max)) throw new Error(`--${name} must be a number in [0, ${max}]: ${v}`);
  return n;
}

/** Prints the floor's change point over the validation clips (no model, no test clip read). */
async function chooseFloor(mood: string, targetsDir: string, stride: number): Promise<number> {
  const ds = await loadDataset(mood, { layout: "mirex", seed: 1 });
  const { validation } = splitByGroup(ds.items, MOOD_SPLIT_SEED, DEFAULT_SPLIT);
  const points: AgreementPoint[] = [];
  for (const it of validation) {
    const sha = await sha256File(it.path);
    const msd = await readTeacherOutput(targetsDir, "msd", sha, it.path);
    const mtt = await readTeacherOutput(targetsDir, "mtt", sha, it.path, stride);
    const p = genreAgreement(msd, mtt);
    if (p) points.push(p);
  }
  const choice = changePointFloor(points);
  console.log(
    JSON.stringify({ validationClips: validation.length, checkable: points.length, ...choice }, null, 2),
  );
  return choice === undefined ? 1 : 0;
}

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      task: { type: "string" },
      mood: { type: "string" },
      models: { type: "string", default: "models" },
      cache: { type: "string", default: ".cache/features" },
      targets: { type: "string", default: ".cache/teacher/targets" },
      floor: { type: "string", default: String(TEACHER_FLOOR) },
      precision: { type: "string", default: "0.5" },
      "min-shown": { type: "string", default: "20" },
      "validation-only": { type: "boolean", default: false },
      "compare-methods": { type: "boolean", default: false },
      method: { type: "string", default: DEFAULT_CALIBRATION_METHOD },
      "choose-floor": { type: "boolean", default: false },
      "mtt-stride": { type: "string", default: "5" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values["choose-floor"] && values.mood) {
    return await chooseFloor(values.mood, values.targets, positive("mtt-stride", values["mtt-stride"]));
  }
  const task = values.task;
  if (values.help || (task !== "emotion" && task !== "genre" && task !== "instrument") || !values.mood) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  const method = values.method as CalibrationMethod | "auto";
  if (method !== "temperature" && method !== "top-label" && method !== "auto") {
    console.error(`--method takes auto, top-label or temperature: ${values.method}\n${USAGE}`);
    return 2;
  }
  const floor = positive("floor", values.floor, 1);
  const targetPrecision = positive("precision", values.precision, 1);
  const minShown = positive("min-shown", values["min-shown"]);
  const logger = createConsoleLogger("info");
  const manifest = await readManifest(values.models);
  const entry = manifest?.models[task];
  if (manifest === null || entry === undefined) {
    console.error(`No ${task} model in ${values.models}/manifest.json`);
    return 1;
  }
  const reference = task === "emotion"
    ? clusterReference(entry)
    : studentReference(task === "genre" ? GENRE_TAG_MAP : INSTRUMENT_TAG_MAP, entry, values.targets, floor);
  const ds = await loadDataset(values.mood, { layout: "mirex", seed: entry.trainedOn.seed });
  const splits = splitByGroup(ds.items, MOOD_SPLIT_SEED, DEFAULT_SPLIT);
  const session = await createSession(join(values.models, entry.file), { threads: 1 });
  const params = DEFAULT_FEATURE_PARAMS;
  const frames = entry.input.shape[2];
  const stats = {
    mean: Float32Array.from(entry.normalization.mean),
    std: Float32Array.from(entry.normalization.std),
  };
  // The card's three windows (start, middle, end) of each clip's clean decode, as core and distill.
  const logitsOf = async (items: readonly DatasetItem[]) => {
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
      labels.push(await reference(c));
    }
    return { logits: Float32Array.from(logits), clipOf, labels };
  };
  try {
    const v = await logitsOf(splits.validation);
    if (values["validation-only"]) {
      const cv = values["compare-methods"] || method === "auto"
        ? crossValidateCalibration(entry.classes, v.logits, v.clipOf, v.labels)
        : undefined;
      const used = method === "auto" ? chooseMethod(cv!) : method;
      const opts = { targetPrecision, minShown, method: used };
      const fitted = fitCalibration(entry.classes, v.logits, v.clipOf, v.labels, opts);
      const validation = calibrationFigures(v.logits, v.clipOf, v.labels, entry.classes.length, fitted);
      const compared = cv === undefined ? {} : { crossValidated: cv };
      console.log(JSON.stringify({ task, floor, method: used, ...fitted, validation, ...compared }, null, 2));
      return 0;
    }
    const t = await logitsOf(splits.test);
    const report = calibrationReport({
      classes: entry.classes,
      validation: v,
      test: t,
      targetPrecision,
      minShown,
      method,
      ...(task === "emotion" ? { reference: "the mood set's real cluster labels" } : { floor }),
    });
    manifest.models[task] = { ...entry, calibration: { ...report } };
    await writeManifest(values.models, manifest);
    await Deno.mkdir(join(values.models, task), { recursive: true });
    await writeFileAtomic(
      join(values.models, task, "calibration.json"),
      JSON.stringify(report, null, 2) + "\n",
    );
    console.log(JSON.stringify(report, null, 2));
    return 0;
  } finally {
    await releaseSession(session);
  }
}

if (import.meta.main) await runMain(main);

/**
 * `deno task teacher-targets`: runs the MusiCNN teachers over every clip of the given folders and caches
 * their tag probabilities (and the MSD embedding) per 3 s patch, keyed by each file's sha256.
 *
 * ```
 * deno task teacher-targets --mood <mood-dir> [--folder <dir> ...] [--teacher-dir .cache/teacher]
 *   [--cache .cache/teacher/targets] [--teachers msd,mtt] [--mtt-stride 5]
 *   [--splits validation,test,train]
 * ```
 * The mood set's reserved clips (010, 020, …, 900) are dropped by its loader and never reach a teacher.
 * `--splits validation,test` labels only the held-out mood clips (enough to recalibrate the students'
 * cards with `deno task calibrate`, without the hours the training clips take).
 * @module
 */
import { parseArgs } from "node:util";
import {
  createConsoleLogger,
  createTerminalProgress,
  decodeAudio,
  isSoundalikeError,
} from "../../core/mod.ts";
import { loadDataset } from "../datasets/mod.ts";
import { setupBackend } from "../backend.ts";
import { DEFAULT_SPLIT, MOOD_SPLIT_SEED, splitByGroup } from "../split.ts";
import { musicnnPatches } from "../teacher/musicnn_input.ts";
import { cachedTeacherOutput, logTeacher, openTeacher, type TeacherId } from "../teacher/teacher.ts";
import { listAudioFiles } from "../teacher/sources.ts";
import { runMain } from "./_main.ts";

const USAGE = `Usage: deno task teacher-targets --mood <mood-dir> [--folder <dir> ...]
  [--teacher-dir .cache/teacher] [--cache .cache/teacher/targets] [--teachers msd,mtt] [--mtt-stride 5]
  [--splits validation,test,train]`;

const SPLIT_NAMES = ["validation", "test", "train"] as const;

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      mood: { type: "string" },
      folder: { type: "string", multiple: true, default: [] },
      "teacher-dir": { type: "string", default: ".cache/teacher" },
      cache: { type: "string", default: ".cache/teacher/targets" },
      teachers: { type: "string", default: "msd,mtt" },
      "mtt-stride": { type: "string", default: "5" },
      splits: { type: "string", default: SPLIT_NAMES.join(",") },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const splitNames = values.splits.split(",").map((s) => s.trim());
  if (splitNames.some((n) => !(SPLIT_NAMES as readonly string[]).includes(n))) {
    console.error(`--splits takes validation, test and/or train: ${values.splits}\n${USAGE}`);
    return 2;
  }
  const logger = createConsoleLogger("info");
  const paths: string[] = [];
  if (values.mood !== undefined) {
    const ds = await loadDataset(values.mood, { layout: "mirex", seed: 1 });
    logger.info(`Mood set: ${ds.items.length} clips (${ds.reserved?.length ?? 0} reserved, left out)`);
    // The held-out splits first (as every model splits them), so a slow teacher has labelled the clips
    // validation and the test need before it reaches the training clips.
    const s = splitByGroup(ds.items, MOOD_SPLIT_SEED, DEFAULT_SPLIT);
    const wanted = SPLIT_NAMES.filter((n) => splitNames.includes(n));
    paths.push(...wanted.flatMap((n) => s[n]).map((it) => it.path));
    logger.info(`Mood splits: ${wanted.join(", ")} (${paths.length} clips)`);
  }
  for (const dir of values.folder) paths.push(...await listAudioFiles(dir));
  if (paths.length === 0) {
    console.error(`Nothing to label: give --mood and/or --folder\n${USAGE}`);
    return 2;
  }
  const ids = values.teachers.split(",").map((s) => s.trim()) as TeacherId[];
  if (ids.some((id) => id !== "msd" && id !== "mtt")) {
    console.error(`--teachers takes msd and/or mtt\n${USAGE}`);
    return 2;
  }
  const mttStride = Number(values["mtt-stride"]);
  if (!(Number.isInteger(mttStride) && mttStride >= 1)) {
    console.error(`--mtt-stride must be a positive integer\n${USAGE}`);
    return 2;
  }
  if (ids.includes("mtt")) await setupBackend({ prefer: "wasm", logger });
  for (const id of ids) {
    const teacher = await openTeacher(id, values["teacher-dir"]);
    logTeacher(teacher, logger);
    const bar = createTerminalProgress({ unit: "clips", labelWidth: 10, nonTtyIntervalMs: 30000 });
    bar.start(paths.length, `${id} teacher`);
    let hits = 0, skipped = 0, done = 0;
    try {
      for (const path of paths) {
        try {
          const r = await cachedTeacherOutput(
            teacher,
            path,
            async () => {
              const audio = await decodeAudio(path, { sampleRate: 16000, maxSeconds: 600 });
              return musicnnPatches(audio.samples, path);
            },
            values.cache,
            id === "mtt" ? mttStride : 1,
          );
          if (r.hit) hits++;
        } catch (err) {
          if (!isSoundalikeError(err) || err.code === "model_mismatch") throw err;
          skipped++;
          logger.warn("Skipped", { path, reason: err.message });
        }
        bar.update(++done);
      }
    } finally {
      bar.stop();
      await teacher.close();
    }
    logger.info(`${id} teacher targets ready`, { clips: paths.length - skipped, cached: hits, skipped });
  }
  return 0;
}

if (import.meta.main) await runMain(main);

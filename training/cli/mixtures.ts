/**
 * `deno task mixtures`: writes mixtures of pairs of the mood set's **training** clips (by different
 * artists) as more real audio for distillation (`training/teacher/mixtures.ts`). Then
 * `deno task teacher-targets --folder <out> --teachers msd` labels them and
 * `deno task distill --extra <out>` trains on them. The validation, test and reserved clips are never
 * mixed. The folder is git-ignored (`.cache/`): third-party audio is never committed.
 *
 * ```
 * deno task mixtures --mood <mood-dir> [--out .cache/mixtures] [--count 500] [--seed 1] [--gain-range 6]
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { createConsoleLogger, createTerminalProgress } from "../../core/mod.ts";
import { loadDataset } from "../datasets/mod.ts";
import { readMoodProvenance } from "../datasets/mood_fetch.ts";
import { DEFAULT_SPLIT, MOOD_SPLIT_SEED, splitByGroup } from "../split.ts";
import { writeMixtures } from "../teacher/mixtures.ts";
import { runMain } from "./_main.ts";

const USAGE =
  "Usage: deno task mixtures --mood <mood-dir> [--out .cache/mixtures] [--count 500] [--seed 1] [--gain-range 6]";

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      mood: { type: "string" },
      out: { type: "string", default: ".cache/mixtures" },
      count: { type: "string", default: "500" },
      seed: { type: "string", default: "1" },
      "gain-range": { type: "string", default: "6" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.mood === undefined) {
    console.error(`--mood <mood-dir> is required (deno task fetch-mood)\n${USAGE}`);
    return 2;
  }
  const [count, seed, gainRange] = [Number(values.count), Number(values.seed), Number(values["gain-range"])];
  if (!(Number.isInteger(count) && count > 0 && Number.isInteger(seed) && gainRange >= 0)) {
    console.error(`--count and --seed must be positive integers, --gain-range a number >= 0\n${USAGE}`);
    return 2;
  }
  const logger = createConsoleLogger("info");
  const mood = await loadDataset(values.mood, { layout: "mirex", seed: MOOD_SPLIT_SEED });
  const train = splitByGroup(mood.items, MOOD_SPLIT_SEED, DEFAULT_SPLIT).train;
  const prov = await readMoodProvenance(values.mood);
  const bar = createTerminalProgress({ unit: "mixtures", labelWidth: 10, nonTtyIntervalMs: 30000 });
  const manifest = await writeMixtures({
    items: train,
    count,
    seed,
    outDir: values.out,
    gainRangeDb: gainRange,
    source: {
      name: mood.name,
      ...(prov === undefined
        ? {}
        : { repository: prov.repository, commit: prov.commit, folder: prov.folder }),
      split: `train (artist split, seed ${MOOD_SPLIT_SEED}; validation, test and reserved clips never mixed)`,
    },
    progress: bar,
  });
  logger.info(
    `Wrote ${manifest.mixtures.length} mixtures of ${train.length} training clips to ${values.out}`,
  );
  return 0;
}

if (import.meta.main) await runMain(main);

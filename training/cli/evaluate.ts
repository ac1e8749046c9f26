/**
 * `deno task evaluate`: evaluates trained runs on their held-out test split and writes
 * `metrics.json`, `confusion_matrix.svg` and `training_curves.svg` next to each model.
 *
 * ```
 * deno task evaluate [--task genre|emotion|instrument | --run <dir>] [--runs .cache/runs] [--cache .cache/features]
 * ```
 * Without `--task` or `--run`, every task with a run under `--runs` is evaluated.
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { createConsoleLogger } from "../../core/mod.ts";
import { setupBackend } from "../backend.ts";
import { pathIsDir } from "../datasets/_util.ts";
import { evaluateRun } from "../evaluate.ts";
import { RUN_FILES, type Task, TASKS } from "../run_dir.ts";
import { runMain } from "./_main.ts";

const USAGE =
  "Usage: deno task evaluate [--task genre|emotion|instrument | --run <dir>] [--runs .cache/runs] [--cache .cache/features]";

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      task: { type: "string" },
      run: { type: "string" },
      runs: { type: "string", default: join(".cache", "runs") },
      cache: { type: "string", default: join(".cache", "features") },
      backend: { type: "string", default: "auto" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const logger = createConsoleLogger("info");
  let dirs: string[];
  if (values.run !== undefined) dirs = [values.run];
  else if (values.task !== undefined) {
    if (!TASKS.includes(values.task as Task)) {
      console.error(`--task must be one of ${TASKS.join(", ")}\n${USAGE}`);
      return 2;
    }
    dirs = [join(values.runs, values.task)];
  } else {
    dirs = [];
    for (const t of TASKS) {
      const d = join(values.runs, t);
      if (await pathIsDir(d)) dirs.push(d);
    }
    if (dirs.length === 0) {
      console.error(`No training runs under ${values.runs}: run deno task train first\n${USAGE}`);
      return 1;
    }
  }
  await setupBackend({ prefer: values.backend as "auto", logger });
  const out: Record<string, unknown> = {};
  for (const dir of dirs) {
    const m = await evaluateRun(dir, { cacheDir: values.cache, logger });
    out[dir] = { accuracy: m.accuracy, macroF1: m.macroF1, loss: m.loss, trackAccuracy: m.trackAccuracy };
    logger.info(`Wrote ${RUN_FILES.metrics}, ${RUN_FILES.confusion}, ${RUN_FILES.curves}`, { dir });
  }
  console.log(JSON.stringify(out, null, 2));
  return 0;
}

if (import.meta.main) await runMain(main);

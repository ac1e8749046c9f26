/**
 * `deno task fetch-mood`: extracts the MIREX-like Mood Dataset from a snapshot (clone or bare mirror)
 * of the repository that publishes it, cross-checks it and writes `provenance.json`.
 *
 * ```
 * deno task fetch-mood --from <clone-or-bare-git-dir> [--out .cache/datasets/mirex-mood]
 *   [--commit 3dd2caa…] [--repository alecrothenberg/Yearning-4-Machine-Learning] [--folder dataset]
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { createConsoleLogger, createTerminalProgress } from "../../core/mod.ts";
import { fetchMoodDataset, MOOD_SOURCE } from "../datasets/mood_fetch.ts";
import { runMain } from "./_main.ts";

const USAGE = `Usage: deno task fetch-mood --from <clone-or-bare-git-dir> [--out .cache/datasets/mirex-mood]
  [--commit ${MOOD_SOURCE.commit}]
  [--repository ${MOOD_SOURCE.repository}] [--folder ${MOOD_SOURCE.folder}]

Get a snapshot first, e.g. git clone --bare https://github.com/${MOOD_SOURCE.repository}.git mood.git`;

async function main(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        from: { type: "string" },
        out: { type: "string", default: ".cache/datasets/mirex-mood" },
        commit: { type: "string" },
        repository: { type: "string" },
        folder: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
    }));
  } catch (err) {
    console.error(`${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.from === undefined) {
    console.error(`--from is required\n${USAGE}`);
    return 2;
  }
  const logger = createConsoleLogger("info");
  const bar = createTerminalProgress({ unit: "files", labelWidth: 8 });
  let started = false;
  try {
    const { provenance, extracted } = await fetchMoodDataset({
      from: values.from,
      out: values.out,
      ...(values.commit === undefined ? {} : { commit: values.commit }),
      ...(values.repository === undefined ? {} : { repository: values.repository }),
      ...(values.folder === undefined ? {} : { folder: values.folder }),
      logger,
      onProgress: (done, total) => {
        if (!started) bar.start(total, "extract");
        started = true;
        bar.update(done);
      },
    });
    if (started) bar.stop();
    const c = provenance.counts;
    console.log(
      `${extracted ? "Extracted" : "Already there"}: ${c.audio} clips (${
        Object.values(c.clusters).join("/")
      } per cluster; ${c.reserved} reserved for the outside check, ${c.usable} usable) from ${provenance.repository}@${
        provenance.commit.slice(0, 12)
      } in ${values.out}`,
    );
    return 0;
  } finally {
    if (started) bar.stop();
  }
}

if (import.meta.main) await runMain(main);

/**
 * `deno task fetch-4q`: extracts the 4Q Audio Emotion Dataset from a snapshot (clone or bare mirror) of
 * a repository that holds a copy, cross-checks it and writes `provenance.json`
 * (`training/datasets/quadrants.ts`). It feeds `deno task distill --task emotion --aux <out>`.
 *
 * ```
 * deno task fetch-4q --from <clone-or-bare-git-dir> [--out .cache/datasets/4q] [--commit 24534942…]
 *   [--repository Famelgas/MULT_TP2] [--folder Dataset]
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { createConsoleLogger, createTerminalProgress } from "../../core/mod.ts";
import { fetchQuadrants, QUADRANT_SOURCE } from "../datasets/quadrants.ts";
import { runMain } from "./_main.ts";

const USAGE = `Usage: deno task fetch-4q --from <clone-or-bare-git-dir> [--out .cache/datasets/4q]
  [--commit ${QUADRANT_SOURCE.commit}]
  [--repository ${QUADRANT_SOURCE.repository}] [--folder ${QUADRANT_SOURCE.folder}]

Get a snapshot first, e.g. git clone --bare https://github.com/${QUADRANT_SOURCE.repository}.git 4q.git`;

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      from: { type: "string" },
      out: { type: "string", default: ".cache/datasets/4q" },
      commit: { type: "string" },
      repository: { type: "string" },
      folder: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.from === undefined) {
    console.error(`--from is required\n${USAGE}`);
    return 2;
  }
  const bar = createTerminalProgress({ unit: "files", labelWidth: 8 });
  let started = false;
  try {
    const { provenance, extracted } = await fetchQuadrants({
      from: values.from,
      out: values.out,
      ...(values.commit === undefined ? {} : { commit: values.commit }),
      ...(values.repository === undefined ? {} : { repository: values.repository }),
      ...(values.folder === undefined ? {} : { folder: values.folder }),
      logger: createConsoleLogger("info"),
      onProgress: (done, total) => {
        if (!started) bar.start(total, "extract");
        started = true;
        bar.update(done);
      },
    });
    if (started) bar.stop();
    started = false;
    const c = provenance.counts;
    console.log(
      `${extracted ? "Extracted" : "Already there"}: ${c.audio} clips (${
        Object.values(c.quadrants).join("/")
      } per quadrant) from ${provenance.repository}@${provenance.commit.slice(0, 12)} in ${values.out}`,
    );
    return 0;
  } finally {
    if (started) bar.stop();
  }
}

if (import.meta.main) await runMain(main);

/**
 * `deno task similar <audio-file> [--k 5] [--index flat|ivf] [--method clip|segment] [--nprobe N] [--json]`
 *
 * Prints the k catalog tracks most similar to a clip. With `--json`, standard output is a JSON
 * array of objects with `rank, trackId, title, artist, album, genre, durationSeconds, license, url,
 * similarity, distance, isDemo`. Exit code 0 on success; otherwise non-zero with one sentence on
 * standard error.
 * @module
 */
import { resolve } from "node:path";
import { createApp } from "../app.ts";
import { formatClock, type Recommendation } from "../recommend/recommend.ts";
import { parseCliArgs, runCli, UsageError } from "./_run.ts";

const USAGE = `
Usage: deno task similar <audio-file> [--k 5] [--index flat|ivf] [--method clip|segment] [--nprobe N] [--json] [--timings]

Finds the catalog tracks that sound most like the clip (any format ffmpeg reads, 3 s or longer).
  --k N          how many tracks (default 5)
  --index KIND   flat (exact) or ivf (fast); default from SOUNDALIKE_INDEX
  --method M     clip (whole clip vectors, the paper's method) or segment (each 10 s window matched
                 to the catalog's windows: better for excerpts); default from SOUNDALIKE_SEARCH
  --nprobe N     IVF lists to search; default from SOUNDALIKE_NPROBE
  --json         print a JSON array instead of a table
  --timings      print the time spent in each stage on standard error

Exit code: 0 with the tracks, 75 when the catalog database does not answer (try again once it is
back), 1 for other failures (one sentence on standard error), 2 for a wrong command line.
`;

if (import.meta.main) {
  await runCli(USAGE, async ({ config, logger }) => {
    const { values, positionals } = parseCliArgs({
      k: { type: "string" },
      index: { type: "string" },
      method: { type: "string" },
      nprobe: { type: "string" },
      json: { type: "boolean" },
      timings: { type: "boolean" },
    });
    if (positionals.length !== 1) throw new UsageError("Give exactly one audio file");
    const k = values.k === undefined ? 5 : Number(values.k);
    if (!Number.isInteger(k) || k < 1 || k > 100) {
      throw new UsageError(`--k must be a whole number from 1 to 100`);
    }
    const index = values.index ?? config.indexKind;
    if (index !== "flat" && index !== "ivf") throw new UsageError(`--index must be flat or ivf`);
    const method = values.method ?? config.searchMethod;
    if (method !== "clip" && method !== "segment") throw new UsageError(`--method must be clip or segment`);
    const nprobe = values.nprobe === undefined ? config.nprobe : Number(values.nprobe);
    if (!Number.isInteger(nprobe) || nprobe < 1) {
      throw new UsageError(`--nprobe must be a positive whole number`);
    }

    // An unreachable database is said once, in runCli's failure sentence.
    const app = createApp(config, logger, { logOutages: false });
    try {
      const result = await app.similar(resolve(config.cwd, positionals[0] as string), {
        k,
        index,
        nprobe,
        method,
      });
      if (values.json) {
        console.log(JSON.stringify(result.recommendations, null, 2));
      } else {
        console.log(formatTable(result.recommendations, result.clip));
      }
      if (values.timings) {
        const t = result.timings;
        console.error(
          `decode ${t.decode.toFixed(1)} ms, embed ${t.embed.toFixed(1)} ms, search ${
            t.search.toFixed(1)
          } ms, ` +
            `metadata ${t.metadata.toFixed(1)} ms, total ${t.total.toFixed(1)} ms ` +
            `(${
              result.method === "segment" ? "segment search" : "whole-clip search"
            }, ${result.index} index)`,
        );
      }
    } finally {
      await app.close();
    }
  });
}

function formatTable(recs: Recommendation[], clip: { seconds: number; truncated: boolean }): string {
  if (recs.length === 0) return "No similar tracks found: the catalog may be empty.";
  const lines = [
    `Most similar to your ${clip.seconds.toFixed(1)} s clip${
      clip.truncated ? " (read up to the limit)" : ""
    }:`,
    "",
  ];
  for (const r of recs) {
    lines.push(
      `${r.rank}. ${r.title} — ${r.artist ?? "Unknown artist"}  ${r.similarity.toFixed(1)} %` +
        `${r.isDemo ? "  [demo]" : ""}`,
    );
    const duration = r.durationSeconds === null ? null : formatClock(r.durationSeconds, "nearest");
    const details = [r.album, r.genre, duration, r.license].filter((x) => x);
    lines.push(`   ${details.join(" · ")}`);
    if (r.url) lines.push(`   ${r.url}`);
  }
  return lines.join("\n");
}

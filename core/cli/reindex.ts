/**
 * `deno task reindex <catalog-dir> [--fma] [--subset small|medium|large] [--demo] [--json]`
 *
 * Ingests a catalog's metadata, embeds every track (reusing cached embeddings) and publishes new
 * flat and IVF indexes. Without a folder it reindexes what the database already holds. Exit code
 * 0 when every file is stored, 3 when the index was built but some files or rows were skipped.
 * @module
 */
import { resolve } from "node:path";
import { createApp } from "../app.ts";
import { createTerminalProgress } from "../util/progress.ts";
import type { UpdateSummary } from "../catalog/reindex.ts";
import { ExitCode, parseCliArgs, runCli, UsageError } from "./_run.ts";

/** The run finished and the new index serves, but some files or rows were skipped (listed). */
export const EXIT_SKIPPED = 3;

const USAGE = `
Usage: deno task reindex [<catalog-dir>] [--fma] [--subset small|medium|large|full] [--demo] [--json]

Reads a catalog, embeds every track and builds the search indexes (resumable: unchanged files are
not embedded again). Without <catalog-dir>, reindexes the tracks already in the database.
  --fma          the folder is an FMA tree: fma_metadata/ (tracks.csv, genres.csv) and an audio
                 tree such as fma_small/000/000002.mp3
  --subset NAME  FMA subset to keep: small (default), medium, large or full (= large)
  --demo         mark the tracks as the demo catalog
  --json         print the summary as JSON on standard output
  Otherwise the folder is a generic catalog: audio files described by metadata.csv
  (path,title,artist,album,album_artist,genre,year,track,license,url), then by their own tags,
  then by their names (Artist - Title.mp3).

Exit code: 0 when every file was stored, 3 when the new index serves but some files or rows were
skipped (each listed with the reason), 1 when the run failed (the previous index keeps serving),
75 when the catalog database does not answer (try again once it is back).
`;

if (import.meta.main) {
  await runCli(USAGE, async ({ config, logger }) => {
    const { values, positionals } = parseCliArgs({
      fma: { type: "boolean" },
      subset: { type: "string" },
      demo: { type: "boolean" },
      json: { type: "boolean" },
    });
    if (positionals.length > 1) throw new UsageError("Give at most one catalog folder");
    if (values.subset !== undefined && !values.fma) {
      throw new UsageError("--subset applies to FMA catalogs: add --fma");
    }
    // FMA calls its largest subset "full" (fma_full) and its metadata says "large": both mean every track.
    const subset = values.subset === "full" ? "large" : values.subset ?? "small";
    if (subset !== "small" && subset !== "medium" && subset !== "large") {
      throw new UsageError("--subset must be small, medium, large or full");
    }
    // An unreachable database is said once, in runCli's failure sentence.
    const app = createApp(config, logger, { logOutages: false });
    try {
      const dir = positionals[0] === undefined ? undefined : resolve(config.cwd, positionals[0]);
      const { summary, reindex } = await app.update(dir, {
        fma: values.fma ?? false,
        subset,
        demo: values.demo ?? false,
        progress: createTerminalProgress("files"),
      });
      if (values.json) console.log(JSON.stringify(summary, null, 2));
      else printSummary(summary, reindex.embedded, reindex.cached);
      return summary.skipped.length > 0 ? EXIT_SKIPPED : ExitCode.Ok;
    } finally {
      await app.close();
    }
  });
}

/**
 * The summary on standard error: the counts, then every skipped catalog entry (a file, or a metadata row
 * naming no usable file) and duplicate (up to 20 each).
 */
function printSummary(s: UpdateSummary, embedded: number, cached: number): void {
  console.error(
    `Index v${s.indexVersion}: ${s.stored} tracks (${embedded} embedded, ${cached} from cache) stored, ` +
      `${s.skipped.length} catalog entries skipped, ${s.duplicates.length} duplicates, ${s.removed} removed, ` +
      `in ${s.seconds.toFixed(1)} s` +
      (s.ivf ? "" : " (too few tracks for an IVF index: ivf searches are exact)"),
  );
  printList("Skipped (files and metadata rows)", s.skipped.map((e) => `${e.item}: ${e.reason}`));
  printList("Duplicates (not stored)", s.duplicates.map((e) => `${e.item}: ${e.reason}`));
  printList("Cleaned", s.cleaned.map((e) => `${e.item}: ${e.reason}`));
}

function printList(title: string, lines: string[], max = 20): void {
  if (lines.length === 0) return;
  console.error(`${title} (${lines.length}):`);
  for (const line of lines.slice(0, max)) console.error(`  ${line}`);
  if (lines.length > max) console.error(`  … and ${lines.length - max} more (--json lists them all)`);
}

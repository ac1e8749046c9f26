/**
 * `deno task reindex <catalog-dir> [--fma] [--subset small|medium|large] [--demo]`
 *
 * Ingests a catalog's metadata, embeds every track (reusing cached embeddings) and publishes new
 * flat and IVF indexes. Without a folder it reindexes what the database already holds.
 * @module
 */
import { createApp } from "../app.ts";
import { createTerminalProgress } from "./progress.ts";
import { parseCliArgs, runCli, UsageError } from "./_run.ts";

const USAGE = `
Usage: deno task reindex [<catalog-dir>] [--fma] [--subset small|medium|large] [--demo]

Reads a catalog, embeds every track and builds the search indexes (resumable: unchanged files are
not embedded again). Without <catalog-dir>, reindexes the tracks already in the database.
  --fma          the folder is an FMA tree: fma_metadata/ (tracks.csv, genres.csv) and an audio
                 tree such as fma_small/000/000002.mp3
  --subset NAME  FMA subset to keep (default small)
  --demo         mark the tracks as the demo catalog
  Otherwise the folder is a generic catalog: audio files, optionally described by metadata.csv
  (path,title,artist,album,genre,license,url).
`;

await runCli(USAGE, async ({ config, logger }) => {
  const { values, positionals } = parseCliArgs({
    fma: { type: "boolean" },
    subset: { type: "string" },
    demo: { type: "boolean" },
  });
  if (positionals.length > 1) throw new UsageError("Give at most one catalog folder");
  const subset = values.subset ?? "small";
  if (subset !== "small" && subset !== "medium" && subset !== "large") {
    throw new UsageError("--subset must be small, medium or large");
  }
  const app = createApp(config, logger);
  try {
    const dir = positionals[0];
    if (dir !== undefined) {
      const ingest = await app.ingest(dir, { fma: values.fma ?? false, subset, demo: values.demo ?? false });
      console.error(
        `Catalog: ${ingest.tracks} tracks stored, ${ingest.genres} genres, ${ingest.removed} removed` +
          (ingest.skipped.length ? `, ${ingest.skipped.length} skipped` : ""),
      );
      printSkipped(ingest.skipped.map((s) => `${s.item}: ${s.reason}`));
    }
    const report = await app.reindex({ progress: createTerminalProgress("tracks") });
    console.error(
      `Index v${report.version}: ${report.indexed} tracks (${report.embedded} embedded, ${report.cached} from cache) ` +
        `in ${report.seconds.toFixed(1)} s` +
        (report.embedded > 0 ? `, ${(report.embedded / report.seconds).toFixed(1)} tracks/s` : ""),
    );
    printSkipped(report.skipped.map((s) => `${s.path}: ${s.reason}`));
  } finally {
    await app.close();
  }
});

function printSkipped(lines: string[], max = 20): void {
  if (lines.length === 0) return;
  console.error(`Skipped ${lines.length}:`);
  for (const line of lines.slice(0, max)) console.error(`  ${line}`);
  if (lines.length > max) console.error(`  … and ${lines.length - max} more`);
}

/**
 * `deno task reindex <catalog-dir> [--fma] [--subset small|medium|large] [--demo]`
 *
 * Ingests a catalog's metadata, embeds every track (reusing cached embeddings) and publishes new
 * flat and IVF indexes. Without a folder it reindexes what the database already holds.
 * @module
 */
import { resolve } from "node:path";
import { createApp } from "../app.ts";
import { createTerminalProgress } from "../progress.ts";
import { parseCliArgs, runCli, UsageError } from "./_run.ts";

const USAGE = `
Usage: deno task reindex [<catalog-dir>] [--fma] [--subset small|medium|large|full] [--demo]

Reads a catalog, embeds every track and builds the search indexes (resumable: unchanged files are
not embedded again). Without <catalog-dir>, reindexes the tracks already in the database.
  --fma          the folder is an FMA tree: fma_metadata/ (tracks.csv, genres.csv) and an audio
                 tree such as fma_small/000/000002.mp3
  --subset NAME  FMA subset to keep: small (default), medium, large or full (= large)
  --demo         mark the tracks as the demo catalog
  Otherwise the folder is a generic catalog: audio files, optionally described by metadata.csv
  (path,title,artist,album,genre,license,url).
`;

if (import.meta.main) {
  await runCli(USAGE, async ({ config, logger }) => {
    const { values, positionals } = parseCliArgs({
      fma: { type: "boolean" },
      subset: { type: "string" },
      demo: { type: "boolean" },
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
    const app = createApp(config, logger);
    try {
      const dir = positionals[0] === undefined ? undefined : resolve(config.cwd, positionals[0]);
      const { ingest, reindex: report } = await app.update(dir, {
        fma: values.fma ?? false,
        subset,
        demo: values.demo ?? false,
        progress: createTerminalProgress("tracks"),
      });
      if (ingest !== undefined) {
        console.error(
          `Catalog: ${ingest.tracks} tracks stored, ${ingest.genres} genres, ${ingest.removed} removed` +
            (ingest.skipped.length ? `, ${ingest.skipped.length} skipped` : ""),
        );
        printSkipped(ingest.skipped.map((s) => `${s.item}: ${s.reason}`));
      }
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
}

function printSkipped(lines: string[], max = 20): void {
  if (lines.length === 0) return;
  console.error(`Skipped ${lines.length}:`);
  for (const line of lines.slice(0, max)) console.error(`  ${line}`);
  if (lines.length > max) console.error(`  … and ${lines.length - max} more`);
}

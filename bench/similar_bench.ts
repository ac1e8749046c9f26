/**
 * `similar` on a 30 s MP3 against an 8,000-track catalog: time per stage (decode, embed = features +
 * inference, search, metadata) and total, beside ffmpeg decoding the same file alone, plus the
 * resident memory of the warm process. Features and inference are also timed apart. Targets
 * (issue 3): total <= 1.5x the decode alone; a warm process under 600 MB resident.
 *
 *     node_modules/.bin/deno run -A bench/similar_bench.ts [--runs 15] [--tracks 8000] [--file clip.mp3]
 *
 * The catalog's metadata is synthetic (8,000 rows in PGlite) and its vectors random unit-block
 * embeddings: search and metadata cost depend on the catalog's size, not on what it holds.
 * @module
 */
import { createApp } from "../core/app.ts";
import { parseConfig } from "../core/config.ts";
import { logMelSpectrogram } from "../core/features.ts";
import { createConsoleLogger } from "../core/logger.ts";
import { cutSegments } from "../core/segments.ts";
import { writeSyntheticCatalog } from "./_catalog.ts";
import {
  arg,
  benchMp3s,
  exists,
  ffmpegDecodeOnly,
  loadAverage,
  measureInFreshProcess,
  median,
} from "./_util.ts";

const runs = Number(arg("runs") ?? 15);
const trackCount = Number(arg("tracks") ?? 8000);
const shared = new URL("../../shared/data/fma_small/000/000002.mp3", import.meta.url).pathname;
const file = arg("file") ?? (await exists(shared) ? shared : (await benchMp3s(1))[0]!);
// The catalog is prepared here, then measured in a fresh child process (`--data <dir>`), so the
// resident memory is that of a process serving the catalog, not of the one that built it.

const dataDir = arg("data") ?? await Deno.makeTempDir({ prefix: "soundalike_similar_bench_" });
const logger = createConsoleLogger("warn");
const config = parseConfig({ ...Deno.env.toObject(), SOUNDALIKE_DATA_DIR: dataDir, LOG_LEVEL: "warn" });
const app = createApp(config, logger);

async function prepare(): Promise<void> {
  console.log(
    `similar bench: ${file}, ${trackCount} catalog tracks, ${runs} runs; load average ${loadAverage()}`,
  );
  await writeSyntheticCatalog(app, dataDir, trackCount, logger);
}

async function measure(): Promise<void> {
  const stages = {
    decode: [] as number[],
    embed: [] as number[],
    search: [] as number[],
    metadata: [] as number[],
  };
  const totals: Record<string, number[]> = { flat: [], ivf: [] };
  const alone: number[] = [];
  for (const index of ["flat", "ivf"] as const) await app.similar(file, { index }); // warm up
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    await ffmpegDecodeOnly(file, ["-ac", "1", "-ar", "16000"]);
    alone.push(performance.now() - t0);
    for (const index of ["flat", "ivf"] as const) {
      const res = await app.similar(file, { index });
      totals[index]!.push(res.timings.total);
      if (index === "flat") {
        for (const k of ["decode", "embed", "search", "metadata"] as const) stages[k].push(res.timings[k]);
      }
    }
  }
  // Features alone, on the same decoded clip.
  const segments = cutSegments(await app.decode(file));
  const features: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    for (const s of segments) logMelSpectrogram(s);
    features.push(performance.now() - t0);
  }
  const rssMb = Deno.memoryUsage().rss / 1024 / 1024;
  const decodeAlone = median(alone);
  const line = (label: string, ms: number, note = "") =>
    console.log(`${label.padEnd(30)} ${ms.toFixed(1).padStart(8)} ms${note}`);
  console.log("\nmedians (flat index):");
  line("decode (ffmpeg, 16 kHz mono)", median(stages.decode));
  line("features (3 log-mels)", median(features));
  line("inference (3 models x 3 seg)", median(stages.embed) - median(features));
  line("search (flat, exact)", median(stages.search));
  line("metadata (PGlite)", median(stages.metadata));
  line(
    "total, flat index",
    median(totals.flat!),
    `  = ${(median(totals.flat!) / decodeAlone).toFixed(2)}x decode alone`,
  );
  line(
    "total, IVF index",
    median(totals.ivf!),
    `  = ${(median(totals.ivf!) / decodeAlone).toFixed(2)}x decode alone`,
  );
  line("ffmpeg decoding alone", decodeAlone, "  (floor)");
  console.log(`target: total <= 1.5x decode alone`);
  console.log(`resident memory, warm, ${trackCount} tracks: ${rssMb.toFixed(0)} MB   target < 600 MB`);
  console.log(`load average at end: ${loadAverage()}`);
}

try {
  await measureInFreshProcess(
    async () => {
      await prepare();
      await app.close();
    },
    measure,
    dataDir,
  );
} finally {
  await app.close();
}

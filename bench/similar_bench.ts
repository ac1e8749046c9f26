/**
 * `similar` on a 30 s MP3 against an 8,000-track catalog: time per stage (decode, embed = features +
 * inference, search, metadata) of the default segment search, and the total of each way to search
 * (segment, whole clip flat, whole clip IVF), beside ffmpeg decoding the same file alone, plus the
 * resident memory of the warm process. Features and inference are also timed apart. Targets
 * (issue 3): total <= 1.5x the decode alone; a warm process under 600 MB resident.
 *
 *     node_modules/.bin/deno run -A bench/similar_bench.ts [--runs 15] [--tracks 8000] [--file clip.mp3]
 *       [--ways segment,flat,ivf]
 *
 * The catalog's metadata is synthetic (8,000 rows in PGlite) and its vectors random unit-block
 * embeddings: search and metadata cost depend on the catalog's size, not on what it holds.
 * @module
 */
import { createApp } from "../core/app.ts";
import { parseConfig } from "../core/config.ts";
import { logMelSpectrogram } from "../core/audio/features.ts";
import { createConsoleLogger } from "../core/logger.ts";
import { cutSegments } from "../core/audio/segments.ts";
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
  // The three ways a query is served: segment search (the default) over the window index, and the
  // paper's whole-clip search over the flat and the IVF index.
  const allWays = {
    "segment search (window index)": { method: "segment", index: "flat" },
    "whole clip, flat index": { method: "clip", index: "flat" },
    "whole clip, IVF index": { method: "clip", index: "ivf" },
  } as const;
  // `--ways segment` measures the default alone, so the resident memory is that of a process
  // serving segment search (a large catalog's whole-clip flat index alone is ~1 GB per 100,000 tracks).
  const wanted = (arg("ways") ?? "segment,flat,ivf").split(",");
  const ways = Object.fromEntries(
    Object.entries(allWays).filter(([, w]) => wanted.includes(w.method === "segment" ? "segment" : w.index)),
  );
  const totals: Record<string, number[]> = Object.fromEntries(Object.keys(ways).map((w) => [w, []]));
  const alone: number[] = [];
  for (const opts of Object.values(ways)) await app.similar(file, opts); // warm up
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    await ffmpegDecodeOnly(file, ["-ac", "1", "-ar", "16000"]);
    alone.push(performance.now() - t0);
    for (const [way, opts] of Object.entries(ways)) {
      const res = await app.similar(file, opts);
      totals[way]!.push(res.timings.total);
      if (opts.method === "segment") {
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
    console.log(`${label.padEnd(40)} ${ms.toFixed(1).padStart(8)} ms${note}`);
  console.log("\nmedians (segment search, the default):");
  line("decode (ffmpeg, 16 kHz mono)", median(stages.decode));
  line("features (3 log-mels)", median(features));
  line("inference (3 models x 3 seg)", median(stages.embed) - median(features));
  line("search (windows)", median(stages.search));
  line("metadata (PGlite)", median(stages.metadata));
  for (const way of Object.keys(ways)) {
    const t = median(totals[way]!);
    line(`total, ${way}`, t, `  = ${(t / decodeAlone).toFixed(2)}x decode alone`);
  }
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

/**
 * Reindex throughput (30 s MP3s per second) with the shipped models, beside decode-only throughput
 * of the same files in the same run. Targets (issue 3): >= 20 tracks/s on 2 cores and >= 0.7x
 * decode-only. Prints figures; asserts nothing.
 *
 *     node_modules/.bin/deno run -A bench/reindex_bench.ts [--files 64] [--dir folder-of-mp3s]
 * @module
 */
import { join } from "node:path";
import { createApp } from "../core/app.ts";
import { parseConfig } from "../core/config.ts";
import { decodeMany } from "../core/audio/ffmpeg.ts";
import { createConsoleLogger } from "../core/logger.ts";
import { mapPool } from "../core/util/pool.ts";
import { arg, benchMp3s, cpuSeconds, ffmpegDecodeOnly, loadAverage } from "./_util.ts";

const fileCount = Number(arg("files") ?? 64);
// `--dir <folder>`: its MP3s instead (e.g. .cache/bench_audio/mp3_long/ from long_decode_bench.ts:
// full-length tracks, decoded only in their windows by the reindex, whole by the decode-only runs).
const dir = arg("dir");
const paths = dir === undefined
  ? await benchMp3s(fileCount)
  : [...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".mp3") && !e.name.includes(".tmp"))
    .map((e) => join(dir, e.name)).sort().slice(0, fileCount);
const catalog = await Deno.makeTempDir({ prefix: "soundalike_reindex_bench_" });
for (const p of paths) await Deno.link(p, join(catalog, p.split("/").pop()!));
const dataDir = await Deno.makeTempDir({ prefix: "soundalike_reindex_data_" });
const config = parseConfig({ ...Deno.env.toObject(), SOUNDALIKE_DATA_DIR: dataDir, LOG_LEVEL: "warn" });
const logger = createConsoleLogger("warn");

console.log(
  `reindex bench: ${paths.length} x ${
    dir === undefined ? "30 s MP3" : `MP3 from ${dir}`
  } (44.1 kHz stereo), ${navigator.hardwareConcurrency} CPUs`,
);
console.log(`load average at start: ${loadAverage()}`);

async function timed(label: string, job: () => Promise<unknown>): Promise<number> {
  const cpu0 = cpuSeconds();
  const t0 = performance.now();
  await job();
  const seconds = (performance.now() - t0) / 1000;
  const rate = paths.length / seconds;
  const cpuMs = ((cpuSeconds() - cpu0) / paths.length) * 1000;
  console.log(
    `${label.padEnd(52)} ${rate.toFixed(1).padStart(6)} tracks/s  ${
      cpuMs.toFixed(0).padStart(4)
    } ms CPU/track`,
  );
  return rate;
}

const decodeOnly = await timed(
  "decode only: ffmpeg -f null per file, 2 at once",
  () => mapPool(paths, 2, (p) => ffmpegDecodeOnly(p)),
);
const decodeBatched = await timed("decode only: decodeMany, 16 per ffmpeg, 2 at once", async () => {
  const batches: string[][] = [];
  for (let i = 0; i < paths.length; i += 16) batches.push(paths.slice(i, i + 16));
  await mapPool(batches, 2, (b) => decodeMany(b, { sampleRate: 16000, maxSeconds: 1200 }));
});

const app = createApp(config, logger);
try {
  await app.ingest(catalog);
  await app.embedder(); // sessions opened before the clock starts, as in a warm bot
  let embedSeconds = 0;
  const total = await timed("reindex: hash + decode + features + 9 inferences + index", async () => {
    const report = await app.reindex();
    embedSeconds = report.seconds;
    if (report.embedded !== paths.length) {
      throw new Error(`Only ${report.embedded} of ${paths.length} embedded`);
    }
  });
  console.log("");
  console.log(`reindex            ${total.toFixed(1)} tracks/s   target >= 20 tracks/s on 2 cores`);
  console.log(
    `vs decode-only     ${(total / decodeOnly).toFixed(2)}x ffmpeg per file, ${
      (total / decodeBatched).toFixed(2)
    }x batched decode` +
      `   target >= 0.7x`,
  );
  console.log(`fma_small (8,000)  ~${(8000 / total / 60).toFixed(1)} min at this rate   target < 7 min`);
  console.log(`(reindex report: ${embedSeconds.toFixed(1)} s; load average now ${loadAverage()})`);
} finally {
  await app.close();
  await Deno.remove(catalog, { recursive: true });
  await Deno.remove(dataDir, { recursive: true });
}

/**
 * Full-length tracks (issue 13): decoding 4-5 minute MP3s whole, then cutting the three 10 s
 * windows, against reading their durations and decoding only the windows
 * (`core/audio/long_files.ts`), in batches as the reindex runs them; then the reindex's rate on
 * them (windowed decode + embedding with the shipped models). Targets: reindex >= 20 tracks/s and
 * >= 5x faster than decoding the files whole.
 *
 *     node_modules/.bin/deno run -A bench/long_decode_bench.ts [--files 16] [--batch 8]
 *
 * The files are generated (a rising tone over seeded pink noise, 44.1 kHz stereo, 192 kbit/s),
 * 240 to 300 s long, and kept in `.cache/bench_audio/mp3_long/`.
 * @module
 */
import { decodeMany } from "../core/audio/ffmpeg.ts";
import { decodeSegmentsMany } from "../core/audio/long_files.ts";
import { cutSegments } from "../core/audio/segments.ts";
import { createEmbedder } from "../core/model/embed.ts";
import { loadManifest } from "../core/model/manifest.ts";
import { ffmpeg } from "../tests/audio_fixtures.ts";
import { arg, cpuSplit, exists, loadAverage } from "./_util.ts";

const files = Number(arg("files") ?? 16);
const batch = Number(arg("batch") ?? 8);
const dir = new URL("../.cache/bench_audio/mp3_long/", import.meta.url).pathname;
await Deno.mkdir(dir, { recursive: true });
const paths: string[] = [];
for (let i = 0; i < files; i++) {
  const path = `${dir}${String(i).padStart(3, "0")}.mp3`;
  const seconds = 240 + (i * 17) % 61;
  if (!(await exists(path))) {
    const f = 150 + 23 * i;
    await ffmpeg([
      ...["-f", "lavfi", "-i", `aevalsrc=0.3*sin(2*PI*(${f}+2*t)*t):s=44100:d=${seconds}`],
      ...["-f", "lavfi", "-i", `anoisesrc=color=pink:amplitude=0.12:seed=${i + 1}:r=44100:d=${seconds}`],
      ...["-filter_complex", "amix=inputs=2", "-ac", "2", "-b:a", "192k", `${path}.tmp.mp3`],
    ]);
    await Deno.rename(`${path}.tmp.mp3`, path);
  }
  paths.push(path);
}
const opts = { sampleRate: 16000, maxSeconds: 1200 };
const batches = Array.from(
  { length: Math.ceil(files / batch) },
  (_, b) => paths.slice(b * batch, (b + 1) * batch),
);
console.log(
  `long decode bench: ${files} MP3s of 240-300 s, batches of ${batch}; load average ${loadAverage()}`,
);

async function timed(label: string, fn: (b: string[]) => Promise<unknown>): Promise<number> {
  const cpu0 = cpuSplit();
  const t0 = performance.now();
  for (const b of batches) await fn(b);
  const s = (performance.now() - t0) / 1000;
  const cpu1 = cpuSplit();
  const cpu = cpu1.self - cpu0.self + cpu1.children - cpu0.children;
  console.log(
    `  ${label}: ${(files / s).toFixed(1)} files/s (${s.toFixed(1)} s wall, ${
      (cpu / files).toFixed(2)
    } CPU s per file)`,
  );
  return files / s;
}

const whole = await timed("decode whole, then cut", async (b) => {
  for (const a of await decodeMany(b, opts)) if (!(a instanceof Error)) cutSegments(a);
});
const windowed = await timed("durations + windows only", (b) => decodeSegmentsMany(b, opts));
const models = new URL("../models", import.meta.url).pathname;
const embedder = await createEmbedder({
  manifest: await loadManifest(models),
  modelsDir: models,
  threads: 2,
});
const reindex = await timed("reindex rate (windows + embedding)", async (b) => {
  const segs = (await decodeSegmentsMany(b, opts)).filter((s): s is Float32Array[] => !(s instanceof Error));
  await embedder.analyzeMany(segs);
});
await embedder.close();
console.log(
  `\nwindows vs whole: ${(windowed / whole).toFixed(1)}x faster (target >= 5x); ` +
    `reindex ${reindex.toFixed(1)} tracks/s (target >= 20)`,
);

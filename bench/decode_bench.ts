/**
 * Reindex decode throughput: 30 s MP3s (44.1 kHz stereo) decoded to 16 kHz mono, in tracks per
 * second, beside the decode-only floor (`ffmpeg -i f -f null -`, one process per file) in the same
 * run. Prints figures; asserts nothing.
 *
 *     node_modules/.bin/deno run -A bench/decode_bench.ts [--files 64] [--runs 2]
 *
 * Measured: (a) `decodeAudio()` one process per file at concurrency 1 and 2; (b) `decodeMany()`
 * with batches of 4, 8 and 16 files at concurrency 1 and 2; (c) the decode-only floor at
 * concurrency 2, and (c') the same floor batched 16 files a process; (d) one raw ffmpeg batch of 8
 * with and without `-threads 1 -filter_threads 1`.
 * Each line gives the best rate of `--runs` passes and the CPU seconds per track (this process
 * and its ffmpeg children, from /proc/self/stat), which the shared machine's load disturbs less
 * than the wall clock. The load average is printed at the start and the end.
 *
 * The files are generated once into `.cache/bench_audio/mp3_30s/` (sine sweeps over seeded pink
 * noise, so they are not trivially compressible) and reused.
 * @module
 */
import { decodeAudio, decodeMany, type DecodeOptions } from "../core/audio/ffmpeg.ts";
import { DEFAULT_FEATURE_PARAMS } from "../core/audio/features.ts";
import { mapPool } from "../core/util/pool.ts";
import { arg, benchMp3s, cpuSeconds, loadAverage } from "./_util.ts";

const fileCount = Number(arg("files") ?? 64);
const runs = Number(arg("runs") ?? 2);
const opts: DecodeOptions = {
  sampleRate: DEFAULT_FEATURE_PARAMS.sampleRate,
  maxSeconds: 1200,
  maxBytes: 50 * 1024 * 1024,
};

interface Figure {
  label: string;
  rate: number;
  cpuPerTrack: number;
}

const batchFigures: Figure[] = [];

async function measure(label: string, tracks: number, job: () => Promise<void>): Promise<Figure> {
  let best = 0;
  let bestCpu = Infinity;
  for (let r = 0; r < runs; r++) {
    const cpu0 = cpuSeconds();
    const t0 = performance.now();
    await job();
    const seconds = (performance.now() - t0) / 1000;
    best = Math.max(best, tracks / seconds);
    bestCpu = Math.min(bestCpu, (cpuSeconds() - cpu0) / tracks);
  }
  const figure = { label, rate: best, cpuPerTrack: bestCpu };
  console.log(
    `${label.padEnd(44)} ${best.toFixed(1).padStart(6)} tracks/s   ${
      (bestCpu * 1000).toFixed(0).padStart(4)
    } ms CPU/track`,
  );
  return figure;
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

async function run(args: string[]): Promise<void> {
  const out = await new Deno.Command("ffmpeg", { args, stdin: "null", stdout: "null", stderr: "null" })
    .output();
  if (!out.success) throw new Error(`ffmpeg ${args.join(" ")} failed`);
}

/** The same command line as decodeMany(), optionally without its thread flags. */
async function rawBatch(paths: string[], dir: string, threadFlags: boolean): Promise<void> {
  const args = ["-nostdin", "-v", "error", "-y"];
  for (const p of paths) args.push(...(threadFlags ? ["-threads", "1"] : []), "-i", p);
  if (threadFlags) args.push("-filter_threads", "1");
  paths.forEach((_, k) =>
    args.push("-map", `${k}:a:0`, "-ac", "1", "-ar", "16000", "-f", "f32le", `${dir}/${k}.f32`)
  );
  await run(args);
}

const paths = await benchMp3s(fileCount);
const n = paths.length;
const cores = navigator.hardwareConcurrency;
console.log(`${n} MP3s of 30 s (44.1 kHz stereo, 192 kb/s) -> ${opts.sampleRate} Hz mono float32`);
console.log(`${cores} CPUs; load average at start: ${loadAverage()}; best of ${runs} passes each`);
console.log();

function mustDecode(result: unknown): void {
  if (result instanceof Error) throw result;
}

console.log("(a) decodeAudio(), one ffmpeg per file");
for (const c of [1, 2]) {
  await measure(`    concurrency ${c}`, n, async () => {
    await mapPool(paths, c, async (p) => mustDecode(await decodeAudio(p, opts)));
  });
}

console.log("(b) decodeMany(), one ffmpeg per batch");
for (const size of [4, 8, 16]) {
  for (const c of [1, 2]) {
    const figure = await measure(`    batch ${String(size).padStart(2)}, concurrency ${c}`, n, async () => {
      await mapPool(chunks(paths, size), c, async (batch) => {
        for (const r of await decodeMany(batch, opts)) mustDecode(r);
      });
    });
    batchFigures.push(figure);
  }
}

console.log("(c) decode-only floor: ffmpeg -i f -f null - per file");
const floor = await measure("    concurrency 2", n, async () => {
  await mapPool(paths, 2, (p) => run(["-nostdin", "-v", "error", "-i", p, "-f", "null", "-"]));
});

console.log("(c') decode-only, batched: ffmpeg -i f1 ... -i f16 -f null - (no resampling, no output)");
await measure("    batch 16, concurrency 2", n, async () => {
  await mapPool(chunks(paths, 16), 2, async (batch) => {
    const args = ["-nostdin", "-v", "error"];
    for (const p of batch) args.push("-i", p);
    batch.forEach((_, k) => args.push("-map", `${k}:a:0`, "-f", "null", "-"));
    await run(args);
  });
});

console.log("(d) raw ffmpeg batch of 8 to /dev/shm, concurrency 2: thread flags");
const shm = await Deno.makeTempDir({ dir: "/dev/shm", prefix: "soundalike_bench_" });
try {
  for (const flags of [false, true]) {
    await measure(`    ${flags ? "-threads 1 -filter_threads 1" : "default threads"}`, n, async () => {
      await mapPool(chunks(paths, 8), 2, async (batch) => {
        const dir = await Deno.makeTempDir({ dir: shm });
        await rawBatch(batch, dir, flags);
        await Deno.remove(dir, { recursive: true });
      });
    });
  }
} finally {
  await Deno.remove(shm, { recursive: true });
}

console.log();
console.log(`load average at end: ${loadAverage()}`);
const best = batchFigures.reduce((a, b) => (b.rate > a.rate ? b : a));
console.log(
  `best decodeMany: ${best.label.trim()}: ${best.rate.toFixed(1)} tracks/s = ${
    (best.rate / floor.rate).toFixed(2)
  }x the decode-only floor (${floor.rate.toFixed(1)} tracks/s); target >= 20 tracks/s and >= 0.7x`,
);

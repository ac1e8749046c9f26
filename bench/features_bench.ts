/**
 * Feature extraction for one 30 s clip, beside ffmpeg decoding the same clip alone, in the same
 * run (medians of N runs). Prints figures; asserts nothing.
 *
 *     node_modules/.bin/deno run -A bench/features_bench.ts [--runs 9] [--file clip.mp3]
 *
 * The clip is `--file`, else `../shared/data/fma_small/000/000002.mp3` (a real 30 s, 44.1 kHz
 * stereo MP3) when present, else a 30 s MP3 generated into a temporary folder.
 * @module
 */
import { decodeAudio } from "../core/audio/ffmpeg.ts";
import { DEFAULT_FEATURE_PARAMS, logMelSpectrogram, normalizeLogMel } from "../core/audio/features.ts";
import { cutSegments } from "../core/audio/segments.ts";
import { ffmpeg } from "../tests/audio_fixtures.ts";

function arg(name: string): string | undefined {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Deno.args[i + 1] : undefined;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

async function exists(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

const runs = Number(arg("runs") ?? 9);
const params = DEFAULT_FEATURE_PARAMS;
const shared = new URL("../../shared/data/fma_small/000/000002.mp3", import.meta.url).pathname;
let tempDir: string | undefined;
let file = arg("file");
if (!file && await exists(shared)) file = shared;
if (!file) {
  tempDir = await Deno.makeTempDir({ prefix: "soundalike_bench_" });
  file = `${tempDir}/clip30.mp3`;
  await ffmpeg([
    ...["-f", "lavfi", "-i", "aevalsrc=0.3*sin(2*PI*220*t)+0.2*sin(2*PI*(300+100*t)*t):s=44100:d=30"],
    ...["-f", "lavfi", "-i", "anoisesrc=color=pink:amplitude=0.1:seed=7:r=44100:d=30"],
    ...["-filter_complex", "amix=inputs=2", "-ac", "2", "-b:a", "192k", file],
  ]);
}

/** ffmpeg alone: the same decode command as core/audio/ffmpeg.ts, its output thrown away. */
async function ffmpegAlone(path: string): Promise<void> {
  const args = ["-nostdin", "-v", "error", "-i", path, "-map", "0:a:0", "-ac", "1", "-ar"];
  args.push(String(params.sampleRate), "-f", "f32le", "pipe:1");
  const out = await new Deno.Command("ffmpeg", { args, stdin: "null", stdout: "null", stderr: "null" })
    .output();
  if (!out.success) throw new Error(`ffmpeg failed on ${path}`);
}

const mean = new Float32Array(params.nMels);
const std = new Float32Array(params.nMels).fill(1);
const alone: number[] = [], decode: number[] = [], features: number[] = [], total: number[] = [];
let seconds = 0;
// One untimed pass warms the page cache, the binary and the JIT.
await ffmpegAlone(file);
{
  const audio = await decodeAudio(file, { sampleRate: params.sampleRate });
  for (const segment of cutSegments(audio, params.segmentSeconds)) logMelSpectrogram(segment, params);
}
for (let i = 0; i < runs; i++) {
  let t = performance.now();
  await ffmpegAlone(file);
  alone.push(performance.now() - t);

  t = performance.now();
  const audio = await decodeAudio(file, { sampleRate: params.sampleRate, maxSeconds: 1200 });
  const t1 = performance.now();
  const specs = cutSegments(audio, params.segmentSeconds)
    .map((segment) => normalizeLogMel(logMelSpectrogram(segment, params), mean, std));
  const t2 = performance.now();
  if (specs.length !== 3 || specs[0]!.frames !== 200) throw new Error("unexpected feature shape");
  seconds = audio.seconds;
  decode.push(t1 - t);
  features.push(t2 - t1);
  total.push(t2 - t);
}
if (tempDir) await Deno.remove(tempDir, { recursive: true });

const fmt = (ms: number) => `${ms.toFixed(1).padStart(7)} ms`;
const aloneMs = median(alone);
console.log(`features_bench: ${file} (${seconds.toFixed(1)} s decoded), median of ${runs} runs`);
console.log(`  ffmpeg decode alone          ${fmt(aloneMs)}   (floor)`);
console.log(
  `  decodeAudio()                ${fmt(median(decode))}   ${(median(decode) / aloneMs).toFixed(2)}x alone`,
);
console.log(`  features (cut + 3 log-mels)  ${fmt(median(features))}`);
console.log(
  `  decode + features            ${fmt(median(total))}   ${(median(total) / aloneMs).toFixed(2)}x alone`,
);

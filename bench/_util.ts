/**
 * Helpers shared by the benchmarks: flags, a bootstrap interval, the cached 30 s MP3 set, CPU time and
 * load average.
 * @module
 */
import { mapPool } from "../core/util/pool.ts";
import { mulberry32 } from "../core/mod.ts";
import { ffmpeg } from "../tests/audio_fixtures.ts";

/** The value after `--name` on the command line. */
export function arg(name: string): string | undefined {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Deno.args[i + 1] : undefined;
}

/** Whether a non-empty file exists. */
export async function exists(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).size > 0;
  } catch {
    return false;
  }
}

/** The median of some numbers. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * 95 % bootstrap interval of the mean: `resamples` seeded draws of the values with replacement, their
 * means sorted, the 2.5th and 97.5th percentiles.
 *
 * @param xs The values (per query).
 * @param resamples Draws.
 * @param seed Seed of `mulberry32`.
 * @returns `[low, high]`.
 */
export function bootstrapMean95(xs: readonly number[], resamples: number, seed: number): [number, number] {
  const random = mulberry32(seed);
  const means = Array.from({ length: resamples }, () => {
    let sum = 0;
    for (let k = 0; k < xs.length; k++) sum += xs[Math.floor(random() * xs.length)]!;
    return sum / xs.length;
  }).sort((a, b) => a - b);
  return [means[Math.round(0.025 * resamples) - 1]!, means[Math.round(0.975 * resamples) - 1]!];
}

/** Where {@linkcode benchMp3s} keeps its files (git-ignored). */
export const BENCH_AUDIO_DIR = new URL("../.cache/bench_audio/mp3_30s/", import.meta.url).pathname;

/**
 * Makes (or reuses) `count` 30 s, 44.1 kHz stereo MP3s like fma_small's: sine sweeps over seeded
 * pink noise, so they are not trivially compressible. Each is written under a temporary name, then
 * renamed, so an interrupted run leaves no half file.
 */
export async function benchMp3s(count: number): Promise<string[]> {
  await Deno.mkdir(BENCH_AUDIO_DIR, { recursive: true });
  const paths = Array.from(
    { length: count },
    (_, i) => `${BENCH_AUDIO_DIR}${String(i).padStart(3, "0")}.mp3`,
  );
  await mapPool(paths, 2, async (path, i) => {
    if (await exists(path)) return;
    const f = 110 + 37 * i;
    const tmp = `${path}.tmp.mp3`;
    await ffmpeg([
      ...[
        "-f",
        "lavfi",
        "-i",
        `aevalsrc=0.3*sin(2*PI*${f}*t)+0.2*sin(2*PI*(${f * 1.5}+40*t)*t):s=44100:d=30`,
      ],
      ...["-f", "lavfi", "-i", `anoisesrc=color=pink:amplitude=0.15:seed=${i + 1}:r=44100:d=30`],
      ...["-filter_complex", "amix=inputs=2", "-ac", "2", "-b:a", "192k", tmp],
    ]);
    await Deno.rename(tmp, path);
  });
  return paths;
}

/** CPU seconds used so far by this process and its reaped children (ffmpeg). */
export function cpuSeconds(): number {
  const { self, children } = cpuSplit();
  return self + children;
}

/** CPU seconds used so far by this process itself, and by its reaped children (ffmpeg, yt-dlp). */
export function cpuSplit(): { self: number; children: number } {
  const stat = Deno.readTextFileSync("/proc/self/stat");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields 14-17 of proc(5): utime, stime, cutime, cstime; index 0 here is field 3. USER_HZ is 100.
  const seconds = (...at: number[]) => at.reduce((sum, i) => sum + Number(fields[i]), 0) / 100;
  return { self: seconds(11, 12), children: seconds(13, 14) };
}

/** The 1, 5 and 15 minute load averages, as the kernel prints them. */
export function loadAverage(): string {
  return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
}

/** Runs `ffmpeg -i file -f null -` (decode only, output discarded), failing loudly. */
export async function ffmpegDecodeOnly(path: string, extra: string[] = []): Promise<void> {
  const args = ["-nostdin", "-v", "error", "-i", path, ...extra, "-f", "null", "-"];
  const out = await new Deno.Command("ffmpeg", { args, stdin: "null", stdout: "null", stderr: "null" })
    .output();
  if (!out.success) throw new Error(`ffmpeg could not decode ${path}`);
}

/**
 * Prepares a data directory in this process, then runs the measurement in a fresh child process
 * given `--data <dir>` (so resident memory is that of a process serving the catalog, not of the one
 * that built it), and removes the directory. In the child, runs `measure` only.
 *
 * @param prepare Fills the data directory (this process).
 * @param measure Measures (the child process).
 * @param dataDir The directory: the one `--data` names in the child, a fresh temporary one otherwise.
 */
export async function measureInFreshProcess(
  prepare: () => Promise<void>,
  measure: () => Promise<void>,
  dataDir: string,
): Promise<void> {
  if (arg("data") !== undefined) return await measure();
  try {
    await prepare();
    const child = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", Deno.mainModule.replace(/^file:\/\//, ""), ...Deno.args, "--data", dataDir],
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    if (!child.success) throw new Error("The measuring process failed");
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
}

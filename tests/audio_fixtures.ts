/**
 * Tiny audio files made at test time with ffmpeg's `lavfi` sources, so no binary fixtures are
 * committed. Tests may spawn ffmpeg; product code decodes only through `core/ffmpeg.ts`.
 *
 * The container and codec follow the path's extension (`.wav`, `.mp3`, `.ogg`, `.flac`, `.opus`,
 * `.m4a`, ...), exactly as the ffmpeg command line picks them.
 *
 * @example
 * ```ts ignore
 * import { writeTone } from "../tests/audio_fixtures.ts";
 * const dir = await Deno.makeTempDir();
 * const path = await writeTone(`${dir}/a.mp3`, { seconds: 5, frequency: 440 });
 * ```
 * @module
 */

/** What every generator accepts. */
export interface AudioFileOptions {
  /** Length in seconds. */
  seconds: number;
  /** Sample rate of the file in Hz. @default 16000 */
  sampleRate?: number;
  /** Number of channels (the same signal in each). @default 1 */
  channels?: number;
  /** Peak amplitude in [0, 1]. @default 0.5 */
  volume?: number;
}

/** Options of {@linkcode writeTone}. */
export interface ToneOptions extends AudioFileOptions {
  /** Frequency in Hz. @default 440 */
  frequency?: number;
}

/** Options of {@linkcode writeNoise}. */
export interface NoiseOptions extends AudioFileOptions {
  /** Seed of ffmpeg's noise generator, so the file is the same each run. @default 1 */
  seed?: number;
}

/**
 * Writes a sine tone.
 *
 * @param path Where to write; the extension picks the format.
 * @param opts Length, frequency, rate, channels, volume.
 * @returns `path`.
 */
export async function writeTone(path: string, opts: ToneOptions): Promise<string> {
  const f = opts.frequency ?? 440;
  const volume = opts.volume ?? 0.5;
  return await writeLavfi(path, `aevalsrc=${volume}*sin(2*PI*${f}*t)`, opts);
}

/**
 * Writes seeded white noise.
 *
 * @param path Where to write; the extension picks the format.
 * @param opts Length, seed, rate, channels, volume.
 * @returns `path`.
 */
export async function writeNoise(path: string, opts: NoiseOptions): Promise<string> {
  const volume = opts.volume ?? 0.5;
  return await writeLavfi(path, `anoisesrc=color=white:amplitude=${volume}:seed=${opts.seed ?? 1}`, opts);
}

/**
 * Writes digital silence.
 *
 * @param path Where to write; the extension picks the format.
 * @param opts Length, rate, channels (`volume` is ignored).
 * @returns `path`.
 */
export async function writeSilence(path: string, opts: AudioFileOptions): Promise<string> {
  return await writeLavfi(path, "aevalsrc=0", opts);
}

/**
 * Writes a small video (test pattern, H.264) with a sine tone as its audio track (AAC).
 *
 * @param path Where to write, e.g. `clip.mp4`.
 * @param opts Length, frequency, rate, channels, volume.
 * @returns `path`.
 */
export async function writeVideoWithTone(path: string, opts: ToneOptions): Promise<string> {
  const f = opts.frequency ?? 440;
  const volume = opts.volume ?? 0.5;
  const rate = opts.sampleRate ?? 16000;
  await ffmpeg([
    ...["-f", "lavfi", "-i", `testsrc=duration=${opts.seconds}:size=160x120:rate=10`],
    ...["-f", "lavfi", "-i", `aevalsrc=${volume}*sin(2*PI*${f}*t):s=${rate}:d=${opts.seconds}`],
    ...["-ac", String(opts.channels ?? 1), "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac"],
    ...["-shortest", path],
  ]);
  return path;
}

/**
 * Runs ffmpeg with `args` (after `-y -v error -nostdin`), failing loudly when it fails.
 *
 * @param args Arguments.
 */
export async function ffmpeg(args: string[]): Promise<void> {
  const out = await new Deno.Command("ffmpeg", {
    args: ["-nostdin", "-hide_banner", "-v", "error", "-y", ...args],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`ffmpeg ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

async function writeLavfi(path: string, source: string, opts: AudioFileOptions): Promise<string> {
  if (!(opts.seconds > 0)) throw new RangeError(`seconds must be positive, got ${opts.seconds}`);
  const rate = opts.sampleRate ?? 16000;
  const sep = source.includes("=") ? ":" : "=";
  await ffmpeg([
    ...["-f", "lavfi", "-i", `${source}${sep}sample_rate=${rate}:duration=${opts.seconds}`],
    ...["-ac", String(opts.channels ?? 1), path],
  ]);
  return path;
}

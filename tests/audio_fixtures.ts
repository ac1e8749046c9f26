/**
 * Tiny audio files made at test time with ffmpeg's `lavfi` sources, so no binary fixtures are
 * committed. Tests may spawn ffmpeg; product code decodes only through `core/audio/ffmpeg.ts`.
 *
 * The container and codec follow the path's extension (`.wav`, `.mp3`, `.ogg`, `.flac`, `.opus`,
 * `.m4a`, ...), exactly as the ffmpeg command line picks them.
 *
 * @example
 * ```ts ignore
 * import { writeTone } from "./audio_fixtures.ts";
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

/** Options of {@linkcode wavBytes}. */
export interface WavOptions {
  /** Samples per second. @default 16000 */
  sampleRate?: number;
  /**
   * RIFF INFO tags: four-character ids (`INAM` title, `IART` artist, `IPRD` album, `IGNR` genre,
   * `ICRD` date, `ITRK` track number) to text (written as UTF-8) or raw bytes (any code page).
   */
  info?: Record<string, string | Uint8Array>;
}

/**
 * A mono 16-bit PCM WAV file in memory, with optional RIFF INFO tags: thousands of small distinct
 * fixtures can be written without starting ffmpeg once.
 *
 * @param samples Mono samples in [-1, 1] (clipped).
 * @param opts Sample rate and tags.
 * @returns The file's bytes.
 */
export function wavBytes(samples: Float32Array, opts: WavOptions = {}): Uint8Array {
  const rate = opts.sampleRate ?? 16000;
  const enc = new TextEncoder();
  const chunks: Uint8Array[] = [];
  for (const [id, value] of Object.entries(opts.info ?? {})) {
    if (!/^[A-Z]{4}$/.test(id)) throw new RangeError(`Not a RIFF INFO id: ${id}`);
    const text = typeof value === "string" ? enc.encode(value) : value;
    const size = text.length + 1; // NUL-terminated
    const chunk = new Uint8Array(8 + size + (size % 2));
    chunk.set(enc.encode(id), 0);
    new DataView(chunk.buffer).setUint32(4, size, true);
    chunk.set(text, 8);
    chunks.push(chunk);
  }
  const infoSize = chunks.reduce((n, c) => n + c.length, 0);
  const listSize = infoSize > 0 ? 12 + infoSize : 0;
  const dataSize = samples.length * 2;
  const out = new Uint8Array(12 + 24 + listSize + 8 + dataSize);
  const view = new DataView(out.buffer);
  const ascii = (at: number, s: string) => out.set(enc.encode(s), at);
  ascii(0, "RIFF");
  view.setUint32(4, out.length - 8, true);
  ascii(8, "WAVE");
  ascii(12, "fmt ");
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, 1, true); // mono
  view.setUint32(24, rate, true);
  view.setUint32(28, rate * 2, true);
  view.setUint16(32, 2, true);
  view.setUint16(34, 16, true);
  let at = 36;
  if (listSize > 0) {
    ascii(at, "LIST");
    view.setUint32(at + 4, listSize - 8, true);
    ascii(at + 8, "INFO");
    at += 12;
    for (const c of chunks) {
      out.set(c, at);
      at += c.length;
    }
  }
  ascii(at, "data");
  view.setUint32(at + 4, dataSize, true);
  at += 8;
  for (let i = 0; i < samples.length; i++, at += 2) {
    view.setInt16(at, Math.round(Math.max(-1, Math.min(1, samples[i]!)) * 32767), true);
  }
  return out;
}

/**
 * A sine tone as samples.
 *
 * @param frequency Hz.
 * @param seconds Length.
 * @param sampleRate Samples per second. @default 16000
 * @param volume Peak amplitude. @default 0.5
 * @returns The samples.
 */
export function toneSamples(
  frequency: number,
  seconds: number,
  sampleRate = 16000,
  volume = 0.5,
): Float32Array {
  return Float32Array.from(
    { length: Math.round(seconds * sampleRate) },
    (_, i) => volume * Math.sin((2 * Math.PI * frequency * i) / sampleRate),
  );
}

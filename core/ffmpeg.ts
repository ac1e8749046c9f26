/**
 * Decoding through ffmpeg: the only module that spawns `ffmpeg`. Any file ffmpeg can read (audio,
 * or a video with an audio track) becomes mono float32 samples at the models' sample rate.
 *
 * ffmpeg does the work in one process: it takes the first audio stream (`-map 0:a:0`), downmixes
 * every channel layout to mono (`-ac 1`), resamples (`-ar`), stops after the bounded duration
 * (`-t`) and writes raw little-endian float32 (`-f f32le`) to a pipe that is read into one buffer
 * and viewed as a `Float32Array` without a per-sample loop.
 *
 * Bad input is answered with a {@linkcode SoundalikeError}: `file_not_found` (missing path,
 * unreadable path, a directory), `file_too_large` (over `maxBytes`), `unreadable_audio` (empty,
 * not audio, corrupt, no audio track, no samples; ffmpeg's own message is kept as the `cause`)
 * and `missing_tool` (ffmpeg is not installed). A truncated file decodes to the samples that
 * survive (ffmpeg's complaint is logged as a warning); it fails only when nothing is left.
 * @module
 */
import { ErrorCode, SoundalikeError } from "./errors.ts";
import type { Logger } from "./logger.ts";

/** How to decode. */
export interface DecodeOptions {
  /** Output sample rate in Hz (the models' rate, e.g. 16000). */
  sampleRate: number;
  /** Decode at most this many seconds from the start; longer sources set `truncated`. @default unbounded */
  maxSeconds?: number;
  /** Refuse inputs larger than this many bytes with `file_too_large`. @default unbounded */
  maxBytes?: number;
  /** Aborts the decode: ffmpeg is killed and the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Receives a warning when ffmpeg recovered from errors (e.g. a truncated file). */
  logger?: Logger;
  /** The ffmpeg executable. @default "ffmpeg" */
  ffmpegPath?: string;
}

/** Mono samples and what is known about them. */
export interface DecodedAudio {
  /** Mono float32 samples, nominally in [-1, 1]. */
  samples: Float32Array;
  /** Samples per second of `samples`. */
  sampleRate: number;
  /** `samples.length / sampleRate`. */
  seconds: number;
  /** `true` when the source was longer than `maxSeconds` and only its start was decoded. */
  truncated: boolean;
}

/** How much more than `maxSeconds` is decoded, to tell a longer source from one of exactly that length. */
const OVERSHOOT_SECONDS = 0.1;
/** How much of ffmpeg's standard error is kept as the `cause` of an error. */
const MAX_STDERR_CHARS = 4000;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Decodes an audio (or video) file to mono float32 at `opts.sampleRate`.
 *
 * @param path The file to read.
 * @param opts Sample rate, limits, abort signal; see {@linkcode DecodeOptions}.
 * @returns The decoded samples.
 * @throws {SoundalikeError} `file_not_found`, `file_too_large`, `unreadable_audio` or `missing_tool`.
 * @example
 * ```ts ignore
 * import { decodeAudio } from "./ffmpeg.ts";
 * const audio = await decodeAudio("clip.mp3", { sampleRate: 16000, maxSeconds: 1200 });
 * console.log(audio.seconds, audio.truncated);
 * ```
 */
export async function decodeAudio(path: string, opts: DecodeOptions): Promise<DecodedAudio> {
  checkOptions(opts);
  opts.signal?.throwIfAborted();
  const name = displayName(path);
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new SoundalikeError(ErrorCode.FileNotFound, `The file does not exist: ${path}`, { cause: err });
    }
    throw new SoundalikeError(ErrorCode.FileNotFound, `The file cannot be read: ${path}`, { cause: err });
  }
  if (!info.isFile) {
    throw new SoundalikeError(ErrorCode.FileNotFound, `The path is not a file: ${path}`);
  }
  checkSize(info.size, opts.maxBytes, name);
  // "file:" keeps a path such as "http:x" or "concat:a|b" from being read as another protocol.
  return await runFfmpeg(`file:${path}`, undefined, opts, name);
}

/**
 * Decodes audio held in memory (an upload) by piping it to ffmpeg's standard input.
 *
 * The result matches {@linkcode decodeAudio} on the same file, except that a piped MP3 may end
 * with a few milliseconds of encoder padding (ffmpeg cannot seek to its end to trim it).
 *
 * @param bytes The file's content.
 * @param opts Sample rate, limits, abort signal; see {@linkcode DecodeOptions}.
 * @returns The decoded samples.
 * @throws {SoundalikeError} `file_too_large`, `unreadable_audio` or `missing_tool`.
 * @example
 * ```ts ignore
 * import { decodeAudioBytes } from "./ffmpeg.ts";
 * const bytes = await Deno.readFile("clip.ogg");
 * const audio = await decodeAudioBytes(bytes, { sampleRate: 16000 });
 * ```
 */
export async function decodeAudioBytes(bytes: Uint8Array, opts: DecodeOptions): Promise<DecodedAudio> {
  checkOptions(opts);
  opts.signal?.throwIfAborted();
  checkSize(bytes.byteLength, opts.maxBytes, "The upload");
  return await runFfmpeg("pipe:0", bytes, opts, "The upload");
}

/**
 * Whether ffmpeg can be started.
 *
 * @param ffmpegPath The executable to try.
 * @default ffmpegPath "ffmpeg"
 * @returns `true` when `ffmpeg -version` runs and succeeds.
 */
export async function ffmpegAvailable(ffmpegPath = "ffmpeg"): Promise<boolean> {
  try {
    const { success } = await new Deno.Command(ffmpegPath, {
      args: ["-version"],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output();
    return success;
  } catch {
    return false;
  }
}

function checkOptions(opts: DecodeOptions): void {
  if (!Number.isInteger(opts.sampleRate) || opts.sampleRate <= 0) {
    throw new RangeError(`sampleRate must be a positive integer, got ${opts.sampleRate}`);
  }
  if (opts.maxSeconds !== undefined && !(opts.maxSeconds > 0)) {
    throw new RangeError(`maxSeconds must be positive, got ${opts.maxSeconds}`);
  }
  if (opts.maxBytes !== undefined && !(opts.maxBytes >= 0)) {
    throw new RangeError(`maxBytes must not be negative, got ${opts.maxBytes}`);
  }
}

function checkSize(size: number, maxBytes: number | undefined, name: string): void {
  if (size === 0) {
    throw new SoundalikeError(ErrorCode.UnreadableAudio, `${name} is empty: it holds no audio`);
  }
  if (maxBytes !== undefined && size > maxBytes) {
    throw new SoundalikeError(
      ErrorCode.FileTooLarge,
      `${name} is too large: ${formatBytes(size)}, over the limit of ${formatBytes(maxBytes)}`,
    );
  }
}

async function runFfmpeg(
  input: string,
  stdinBytes: Uint8Array | undefined,
  opts: DecodeOptions,
  name: string,
): Promise<DecodedAudio> {
  const sampleRate = opts.sampleRate;
  const maxSamples = opts.maxSeconds === undefined ? undefined : Math.round(opts.maxSeconds * sampleRate);
  // The whitelist stops playlists and other indirect inputs from reaching the network.
  const args = ["-nostdin", "-hide_banner", "-v", "error", "-protocol_whitelist", "file,pipe"];
  args.push("-i", input, "-map", "0:a:0", "-ac", "1");
  args.push("-ar", String(sampleRate));
  if (opts.maxSeconds !== undefined) args.push("-t", String(opts.maxSeconds + OVERSHOOT_SECONDS));
  args.push("-f", "f32le", "pipe:1");

  const ffmpegPath = opts.ffmpegPath ?? "ffmpeg";
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(ffmpegPath, {
      args,
      stdin: stdinBytes === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
      ...(opts.signal ? { signal: opts.signal } : {}),
    }).spawn();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new SoundalikeError(
        ErrorCode.MissingTool,
        "The ffmpeg program is not installed: install it (Debian: apt-get install ffmpeg) and try again",
        { cause: err },
      );
    }
    throw err;
  }

  const feeding = stdinBytes === undefined ? Promise.resolve() : feed(child.stdin, stdinBytes);
  const [output] = await Promise.all([child.output(), feeding]);
  if (opts.signal?.aborted) throw opts.signal.reason;

  const stderr = new TextDecoder().decode(output.stderr).trim().slice(0, MAX_STDERR_CHARS);
  if (!output.success) {
    const cause = new Error(`ffmpeg exited with code ${output.code}: ${stderr || "(no message)"}`);
    throw new SoundalikeError(ErrorCode.UnreadableAudio, unreadableMessage(name, stderr), { cause });
  }

  let samples = toFloat32(output.stdout);
  if (samples.length === 0) {
    const cause = stderr ? new Error(stderr) : undefined;
    throw new SoundalikeError(
      ErrorCode.UnreadableAudio,
      `${name} could not be read as audio: it decodes to no samples`,
      cause ? { cause } : undefined,
    );
  }
  if (stderr) opts.logger?.warn("ffmpeg reported problems while decoding", { file: name, stderr });

  let truncated = false;
  if (maxSamples !== undefined && samples.length > maxSamples) {
    samples = samples.subarray(0, maxSamples);
    truncated = true;
  }
  return { samples, sampleRate, seconds: samples.length / sampleRate, truncated };
}

/** Writes `bytes` to ffmpeg's stdin; ffmpeg may stop reading early (a bound, an error), which is fine. */
async function feed(stdin: WritableStream<Uint8Array>, bytes: Uint8Array): Promise<void> {
  const writer = stdin.getWriter();
  try {
    await writer.write(bytes);
    await writer.close();
  } catch {
    // A broken pipe means ffmpeg has read all it wanted or has failed; its exit status tells which.
    try {
      writer.releaseLock();
    } catch { /* already released */ }
  }
}

/** Views raw f32le bytes as samples, copying only when the buffer is misaligned or the host big-endian. */
function toFloat32(bytes: Uint8Array): Float32Array {
  const count = Math.floor(bytes.byteLength / 4);
  if (LITTLE_ENDIAN) {
    if (bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, count);
    return new Float32Array(bytes.slice(0, count * 4).buffer);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, count * 4);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

function unreadableMessage(name: string, stderr: string): string {
  if (/matches no streams/i.test(stderr)) return `${name} has no audio track`;
  return `${name} could not be read as audio: it is not an audio file or it is corrupt`;
}

function displayName(path: string): string {
  const parts = path.split(/[\\/]/);
  return `The file ${parts[parts.length - 1] || path}`;
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} bytes`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MB`;
}

/**
 * Decoding (and the synthetic corpus's MP3 encoding) through ffmpeg: the only module that spawns
 * `ffmpeg`. Any file ffmpeg can read (audio, or a video with an audio track) becomes mono float32
 * samples at the models' sample rate; {@linkcode encodeMp3} writes PCM to a constant bit rate MP3.
 *
 * ffmpeg does the work in one process: it takes the first audio stream (`-map 0:a:0`), downmixes
 * every channel layout to mono (`-ac 1`), resamples (`-ar`), stops after the bounded duration
 * (`-t`) and writes raw little-endian float32 (`-f f32le`) to a pipe that is read into one buffer
 * and viewed as a `Float32Array` without a per-sample loop. {@linkcode decodeMany} decodes several
 * files with one process (starting ffmpeg costs about as much as decoding a 30 s MP3), each input
 * to its own raw output in a private temporary folder.
 *
 * Bad input is answered with a {@linkcode SoundalikeError}: `file_not_found` (missing path,
 * a directory), `file_too_large` (over `maxBytes`, sizes given in KiB/MiB), `unreadable_audio`
 * (permission denied, empty, not audio, corrupt, no audio track, no samples; ffmpeg's own
 * message is kept as the `cause`)
 * and `missing_tool` (ffmpeg is not installed). A truncated file decodes to the samples that
 * survive (ffmpeg's complaint is logged as a warning); it fails only when nothing is left.
 *
 * {@linkcode readTagsMany} reads the tags and duration of many files with one ffmpeg process
 * (what `ffprobe -show_format -show_streams` reports, without its per-file start-up cost).
 * @module
 */
import { ErrorCode, SoundalikeError } from "../errors.ts";
import type { Logger } from "../logger.ts";

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
  await checkInputFile(path, opts.maxBytes, name);
  // "file:" keeps a path such as "http:x" or "concat:a|b" from being read as another protocol.
  return await runFfmpeg(`file:${path}`, undefined, opts, name);
}

/**
 * Decodes several files with one ffmpeg process, to mono float32 at `opts.sampleRate` each.
 *
 * Starting ffmpeg costs about as much CPU as decoding a 30 s MP3, so a catalog decoded one
 * process per file pays twice; one process with several inputs pays once. Each file gets its own
 * output (`-map N:a:0`) written to a private temporary folder (in `/dev/shm` when it exists),
 * which is removed before this returns, also when it fails or is aborted.
 *
 * Every file is decoded exactly as {@linkcode decodeAudio} would (same samples, `maxSeconds` and
 * `truncated`, `maxBytes`, empty and missing files). Files refused before decoding (missing,
 * empty, too large) get their error without reaching ffmpeg. When the batch's process fails
 * (one input ffmpeg cannot open makes the whole process exit non-zero), the batch's files are
 * decoded again one by one, so each bad file gets its own precise error and the good ones
 * still decode. ffmpeg's complaints from a batch that succeeded (a damaged but readable file) are
 * logged as a warning naming the file when ffmpeg names the input, else the batch's files.
 *
 * The caller picks the batch size: all of `paths` go to one process (bench/decode_bench.ts
 * measures sizes; 8 to 16 files of 30 s is a good batch).
 *
 * @param paths The files to read; may be empty.
 * @param opts Sample rate, limits, abort signal; see {@linkcode DecodeOptions}.
 * @returns One entry per path, in the order of `paths`: the decoded samples, or the
 *   {@linkcode SoundalikeError} (`file_not_found`, `file_too_large`, `unreadable_audio`) that
 *   {@linkcode decodeAudio} would have thrown for that file.
 * @throws {SoundalikeError} `missing_tool` when ffmpeg is not installed (no file can be decoded).
 * @throws The signal's reason when `opts.signal` aborts.
 * @example
 * ```ts ignore
 * import { decodeMany } from "./ffmpeg.ts";
 * const results = await decodeMany(["a.mp3", "b.ogg"], { sampleRate: 16000, maxSeconds: 1200 });
 * for (const r of results) console.log(r instanceof Error ? r.code : r.seconds);
 * ```
 */
export async function decodeMany(
  paths: readonly string[],
  opts: DecodeOptions,
): Promise<Array<DecodedAudio | SoundalikeError>> {
  checkOptions(opts);
  opts.signal?.throwIfAborted();
  const results = new Array<DecodedAudio | SoundalikeError>(paths.length);
  const pending: number[] = [];
  await Promise.all(paths.map(async (path, i) => {
    try {
      await checkInputFile(path, opts.maxBytes, displayName(path));
      pending.push(i);
    } catch (err) {
      if (!(err instanceof SoundalikeError)) throw err;
      results[i] = err;
    }
  }));
  pending.sort((a, b) => a - b);
  opts.signal?.throwIfAborted();

  const batch = pending.map((i) => paths[i]!);
  const decoded = batch.length > 1 ? await runFfmpegBatch(batch, opts) : undefined;
  if (decoded) {
    pending.forEach((i, k) => results[i] = decoded[k]!);
  } else {
    // One process per file: a lone file, or a failed batch whose culprit ffmpeg does not name.
    for (const i of pending) {
      try {
        results[i] = await decodeAudio(paths[i]!, opts);
      } catch (err) {
        if (!(err instanceof SoundalikeError) || err.code === ErrorCode.MissingTool) throw err;
        results[i] = err;
      }
    }
  }
  return results;
}

/** Three (or any number of) windows of one file, each exactly `windowSeconds` long. */
export interface DecodedWindows {
  /** One array per window start, `round(windowSeconds * sampleRate)` samples each (zero-padded at the end). */
  windows: Float32Array[];
  sampleRate: number;
  /** The file's duration as the container states it (what the windows were placed by). */
  seconds: number;
  /**
   * Samples each window really got before the zero padding: fewer than asked when the stated
   * duration is longer than the audio (a VBR MP3 without a header estimates it from its first frames).
   */
  decoded: number[];
}

/** A file to decode in windows: where each window starts, and the duration they were placed by. */
export interface WindowPlan {
  path: string;
  /** Window starts in seconds. */
  starts: readonly number[];
  /** The file's duration (from {@linkcode readTagsMany}). */
  seconds: number;
}

/**
 * Decodes only some windows of long files, all with one ffmpeg process: each window is its own
 * input opened with fast input seeking (`-fflags +fastseek -ss start -t windowSeconds -i file`), so
 * ffmpeg reads and decodes only around the window (MP3: from the position its table of contents or
 * bit rate gives, within ~30 ms), never the whole file. A 4-5 minute track needs 30 s of decoding instead of 270 s (bench/long_decode_bench.ts).
 *
 * Files are checked as {@linkcode decodeMany} checks them; when the process fails as a whole, the
 * files are decoded again one process each, so a bad file gets its own error.
 *
 * @param plans The files and their window starts.
 * @param windowSeconds Length of every window.
 * @param opts Sample rate, limits, abort signal (`maxSeconds` is ignored).
 * @returns One entry per plan, in order: the windows, or that file's {@linkcode SoundalikeError}.
 * @throws {SoundalikeError} `missing_tool` when ffmpeg is not installed.
 */
export async function decodeWindowsMany(
  plans: readonly WindowPlan[],
  windowSeconds: number,
  opts: DecodeOptions,
): Promise<Array<DecodedWindows | SoundalikeError>> {
  checkOptions(opts);
  if (!(windowSeconds > 0)) throw new RangeError(`windowSeconds must be positive: ${windowSeconds}`);
  opts.signal?.throwIfAborted();
  const results = new Array<DecodedWindows | SoundalikeError>(plans.length);
  const pending: number[] = [];
  await Promise.all(plans.map(async (plan, i) => {
    try {
      await checkInputFile(plan.path, opts.maxBytes, displayName(plan.path));
      pending.push(i);
    } catch (err) {
      if (!(err instanceof SoundalikeError)) throw err;
      results[i] = err;
    }
  }));
  pending.sort((a, b) => a - b);
  if (pending.length === 0) return results;
  const whole = { ...opts };
  delete whole.maxSeconds;
  const length = Math.round(windowSeconds * opts.sampleRate);
  const run = async (which: number[]) => {
    const dir = await makePrivateTempDir();
    try {
      const args = baseArgs();
      const inputs: { plan: number; window: number }[] = [];
      for (const i of which) {
        plans[i]!.starts.forEach((start, w) => {
          // `fastseek`: an MP3 seeks by its table of contents or byte position instead of reading
          // every frame up to the window (90 ms CPU for a window at 100 s, more further in; the
          // window lands within ~30 ms of the exact seek's, measured: far below what a 10 s log-mel
          // can tell). Formats with an index (WAV, Ogg, FLAC, MP4) seek as before.
          args.push(
            ...INPUT_THREAD_ARGS,
            "-fflags",
            "+fastseek",
            "-ss",
            start.toFixed(6),
            "-t",
            String(windowSeconds),
          );
          args.push("-i", `file:${plans[i]!.path}`);
          inputs.push({ plan: i, window: w });
        });
      }
      args.push(...FILTER_THREAD_ARGS);
      inputs.forEach((_, k) => args.push(...outputArgs(k, whole), `file:${dir}/${k}.f32`));
      const child = spawnFfmpeg(args, opts, { stdin: false, stdout: false });
      const output = await child.output();
      if (opts.signal?.aborted) throw opts.signal.reason;
      const stderr = stderrText(output.stderr);
      if (!output.success) {
        const name = which.length === 1 ? displayName(plans[which[0]!]!.path) : undefined;
        if (name === undefined) return false;
        const cause = new Error(`ffmpeg exited with code ${output.code}: ${stderr || "(no message)"}`);
        results[which[0]!] = new SoundalikeError(ErrorCode.UnreadableAudio, unreadableMessage(name, stderr), {
          cause,
        });
        return true;
      }
      if (stderr) warnBatch(stderr, which.map((i) => displayName(plans[i]!.path)), opts.logger);
      const windows = new Map<number, Float32Array[]>();
      const decoded = new Map<number, number[]>();
      await Promise.all(inputs.map(async ({ plan, window }, k) => {
        const bytes = await Deno.readFile(`${dir}/${k}.f32`).catch(() => new Uint8Array(0));
        const out = new Float32Array(length);
        const got = toFloat32(bytes);
        out.set(got.subarray(0, Math.min(length, got.length)));
        if (!windows.has(plan)) windows.set(plan, []);
        if (!decoded.has(plan)) decoded.set(plan, []);
        windows.get(plan)![window] = out;
        decoded.get(plan)![window] = Math.min(length, got.length);
      }));
      for (const i of which) {
        results[i] = {
          windows: windows.get(i)!,
          sampleRate: opts.sampleRate,
          seconds: plans[i]!.seconds,
          decoded: decoded.get(i)!,
        };
      }
      return true;
    } finally {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  };
  if (!(await run(pending))) {
    for (const i of pending) await run([i]);
  }
  return results;
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

/** Audio to encode: one array per channel, all the same length, samples nominally in [-1, 1]. */
export interface MultichannelAudio {
  /** Samples per second. */
  sampleRate: number;
  /** One array per channel (1 for mono, 2 for stereo). */
  channels: readonly Float32Array[];
}

/** How to encode an MP3. */
export interface EncodeMp3Options {
  /** Constant bit rate in kbit/s. @default 256 */
  bitrateKbps?: number;
  /** The ffmpeg executable. @default "ffmpeg" */
  ffmpegPath?: string;
}

/**
 * Encodes audio to an MP3 file with ffmpeg's libmp3lame at a constant bit rate (like
 * fma_small's files), keeping its channel count and sample rate and writing no metadata.
 *
 * The samples are clipped to [-1, 1] and rounded to 16-bit PCM (as a 16-bit WAV would hold
 * them), then piped to ffmpeg.
 *
 * @param audio The audio; all channels must have the same length.
 * @param path The output file; overwritten.
 * @param opts Bit rate and ffmpeg executable; see {@linkcode EncodeMp3Options}.
 * @throws {SoundalikeError} `missing_tool` when ffmpeg is not installed.
 * @throws {Error} When ffmpeg fails (e.g. the output folder does not exist), with its message.
 * @example
 * ```ts ignore
 * import { encodeMp3 } from "./ffmpeg.ts";
 * const tone = Float32Array.from({ length: 44100 }, (_, i) => 0.2 * Math.sin(i / 10));
 * await encodeMp3({ sampleRate: 44100, channels: [tone, tone] }, "tone.mp3", { bitrateKbps: 128 });
 * ```
 */
export async function encodeMp3(
  audio: MultichannelAudio,
  path: string,
  opts: EncodeMp3Options = {},
): Promise<void> {
  const bitrate = opts.bitrateKbps ?? 256;
  if (!(bitrate > 0)) throw new RangeError(`bitrateKbps must be positive, got ${bitrate}`);
  if (!Number.isInteger(audio.sampleRate) || audio.sampleRate <= 0) {
    throw new RangeError(`sampleRate must be a positive integer, got ${audio.sampleRate}`);
  }
  if (audio.channels.length === 0) throw new RangeError("audio needs at least one channel");
  const args = [
    ...baseArgs(),
    "-f",
    "s16le",
    "-ar",
    String(audio.sampleRate),
    "-ac",
    String(audio.channels.length),
    "-i",
    "pipe:0",
    "-codec:a",
    "libmp3lame",
    "-b:a",
    `${bitrate}k`,
    "-map_metadata",
    "-1",
    "-y",
    `file:${path}`,
  ];
  const decodeOpts: DecodeOptions = { sampleRate: audio.sampleRate };
  if (opts.ffmpegPath !== undefined) decodeOpts.ffmpegPath = opts.ffmpegPath;
  const child = spawnFfmpeg(args, decodeOpts, { stdin: true, stdout: false });
  const [output] = await Promise.all([child.output(), feed(child.stdin, interleaveS16le(audio.channels))]);
  if (!output.success) {
    throw new Error(
      `ffmpeg could not encode ${path} as MP3 (exit code ${output.code}): ${
        stderrText(output.stderr) || "(no message)"
      }`,
    );
  }
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

/** Refuses a path that is missing, not a file, not readable, empty or over `maxBytes`, before ffmpeg runs. */
async function checkInputFile(path: string, maxBytes: number | undefined, name: string): Promise<void> {
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
  // stat() succeeds on a file this user may not read; opening it is the only sure test.
  try {
    (await Deno.open(path, { read: true })).close();
  } catch (err) {
    if (err instanceof Deno.errors.PermissionDenied) {
      throw new SoundalikeError(ErrorCode.UnreadableAudio, permissionDeniedMessage(name), { cause: err });
    }
    if (err instanceof Deno.errors.NotFound) {
      throw new SoundalikeError(ErrorCode.FileNotFound, `The file does not exist: ${path}`, { cause: err });
    }
    throw new SoundalikeError(ErrorCode.FileNotFound, `The file cannot be read: ${path}`, { cause: err });
  }
  checkSize(info.size, maxBytes, name);
}

/** The one sentence for a file ffmpeg or this process is not allowed to read. */
function permissionDeniedMessage(name: string): string {
  return `${name} cannot be read (permission denied)`;
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

/** The start of every ffmpeg command line. */
function baseArgs(): string[] {
  // The whitelist stops playlists and other indirect inputs from reaching the network.
  return ["-nostdin", "-hide_banner", "-v", "error", "-protocol_whitelist", "file,pipe"];
}

/** How one input's first audio stream becomes one mono f32le output (before the output's name). */
function outputArgs(inputIndex: number, opts: DecodeOptions): string[] {
  const args = ["-map", `${inputIndex}:a:0`, "-ac", "1", "-ar", String(opts.sampleRate)];
  if (opts.maxSeconds !== undefined) args.push("-t", String(opts.maxSeconds + OVERSHOOT_SECONDS));
  args.push("-f", "f32le");
  return args;
}

function spawnFfmpeg(
  args: string[],
  opts: Pick<DecodeOptions, "ffmpegPath" | "signal">,
  io: { stdin: boolean; stdout: boolean },
): Deno.ChildProcess {
  try {
    return new Deno.Command(opts.ffmpegPath ?? "ffmpeg", {
      args,
      stdin: io.stdin ? "piped" : "null",
      stdout: io.stdout ? "piped" : "null",
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
}

function stderrText(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes).trim().slice(0, MAX_STDERR_CHARS);
}

async function runFfmpeg(
  input: string,
  stdinBytes: Uint8Array | undefined,
  opts: DecodeOptions,
  name: string,
): Promise<DecodedAudio> {
  const args = [...baseArgs(), "-i", input, ...outputArgs(0, opts), "pipe:1"];
  const child = spawnFfmpeg(args, opts, { stdin: stdinBytes !== undefined, stdout: true });
  const feeding = stdinBytes === undefined ? Promise.resolve() : feed(child.stdin, stdinBytes);
  const [output] = await Promise.all([child.output(), feeding]);
  if (opts.signal?.aborted) throw opts.signal.reason;

  const stderr = stderrText(output.stderr);
  if (!output.success) {
    const cause = new Error(`ffmpeg exited with code ${output.code}: ${stderr || "(no message)"}`);
    throw new SoundalikeError(ErrorCode.UnreadableAudio, unreadableMessage(name, stderr), { cause });
  }
  const audio = toDecodedAudio(output.stdout, opts, name, stderr);
  if (stderr) opts.logger?.warn("ffmpeg reported problems while decoding", { file: name, stderr });
  return audio;
}

/**
 * Decodes `paths` (at least two, all checked) with one ffmpeg process writing one raw output per
 * input into a private temporary folder.
 *
 * @returns The results in the order of `paths`, or `undefined` when ffmpeg failed as a whole
 *   (then the caller decodes the files one by one to learn which one is bad).
 */
async function runFfmpegBatch(
  paths: readonly string[],
  opts: DecodeOptions,
): Promise<Array<DecodedAudio | SoundalikeError> | undefined> {
  const dir = await makePrivateTempDir();
  try {
    const args = baseArgs();
    // One thread per decoder and filter graph: the caller already runs batches side by side, and
    // a frame-threaded decoder (FLAC) would otherwise start a thread pool per input. For MP3 the
    // flags measured neutral to slightly cheaper (bench/decode_bench.ts, part d).
    for (const path of paths) args.push(...INPUT_THREAD_ARGS, "-i", `file:${path}`);
    args.push(...FILTER_THREAD_ARGS);
    paths.forEach((_, k) => args.push(...outputArgs(k, opts), `file:${dir}/${k}.f32`));
    const child = spawnFfmpeg(args, opts, { stdin: false, stdout: false });
    const output = await child.output();
    if (opts.signal?.aborted) throw opts.signal.reason;

    const names = paths.map(displayName);
    const stderr = stderrText(output.stderr);
    if (!output.success) {
      opts.logger?.debug("A batch decode failed: decoding its files one by one", { files: names, stderr });
      return undefined;
    }
    if (stderr) warnBatch(stderr, names, opts.logger);
    return await Promise.all(paths.map(async (_, k) => {
      let bytes: Uint8Array;
      try {
        bytes = await Deno.readFile(`${dir}/${k}.f32`);
      } catch (err) {
        // ffmpeg creates an output only once it has something to write to it.
        if (!(err instanceof Deno.errors.NotFound)) throw err;
        bytes = new Uint8Array(0);
      }
      try {
        return toDecodedAudio(bytes, opts, names[k]!, stderr);
      } catch (err) {
        if (err instanceof SoundalikeError) return err;
        throw err;
      }
    }));
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/**
 * Logs ffmpeg's complaints from a batch that succeeded: per file when ffmpeg names the input
 * (`Error while decoding stream #N:0`), else once for the whole batch.
 */
function warnBatch(stderr: string, names: readonly string[], logger: Logger | undefined): void {
  if (!logger) return;
  const inputs = new Set<number>();
  for (const m of stderr.matchAll(/stream #(\d+):\d+/g)) {
    const k = Number(m[1]);
    if (k < names.length) inputs.add(k);
  }
  if (inputs.size === 0) {
    logger.warn("ffmpeg reported problems while decoding a batch", { files: names, stderr });
    return;
  }
  for (const k of [...inputs].sort((a, b) => a - b)) {
    logger.warn("ffmpeg reported problems while decoding", { file: names[k], stderr });
  }
}

/** Decoder and filter threads of a batch's ffmpeg (see bench/decode_bench.ts). */
const INPUT_THREAD_ARGS = ["-threads", "1"];
const FILTER_THREAD_ARGS = ["-filter_threads", "1"];
/** Where batch outputs go when it exists: memory, so decoded audio never reaches a disk. */
const SHM_DIR = "/dev/shm";

/** A folder only this user can read (mode 0700), in memory when possible. */
async function makePrivateTempDir(): Promise<string> {
  const prefix = "soundalike_decode_";
  try {
    return await Deno.makeTempDir({ dir: SHM_DIR, prefix });
  } catch {
    return await Deno.makeTempDir({ prefix });
  }
}

/** Turns ffmpeg's raw output into the result, applying the `maxSeconds` bound. */
function toDecodedAudio(bytes: Uint8Array, opts: DecodeOptions, name: string, stderr: string): DecodedAudio {
  const sampleRate = opts.sampleRate;
  let samples = toFloat32(bytes);
  if (samples.length === 0) {
    const cause = stderr ? new Error(stderr) : undefined;
    throw new SoundalikeError(
      ErrorCode.UnreadableAudio,
      `${name} could not be read as audio: it decodes to no samples`,
      cause ? { cause } : undefined,
    );
  }
  let truncated = false;
  const maxSamples = opts.maxSeconds === undefined ? undefined : Math.round(opts.maxSeconds * sampleRate);
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

/**
 * Interleaves channels into raw s16le bytes: clipped to [-1, 1], scaled by 32767 and rounded, as
 * a 16-bit WAV holds them (a channel shorter than the first is padded with silence).
 */
function interleaveS16le(channels: readonly Float32Array[]): Uint8Array {
  const nch = channels.length;
  const frames = channels[0]?.length ?? 0;
  const out = new Uint8Array(frames * nch * 2);
  const view = new DataView(out.buffer);
  let o = 0;
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < nch; c++) {
      const v = Math.max(-1, Math.min(1, channels[c]![i] ?? 0));
      view.setInt16(o, Math.round(v * 32767), true);
      o += 2;
    }
  }
  return out;
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
  if (/permission denied/i.test(stderr)) return permissionDeniedMessage(name);
  return `${name} could not be read as audio: it is not an audio file or it is corrupt`;
}

function displayName(path: string): string {
  const parts = path.split(/[\\/]/);
  return `The file ${parts[parts.length - 1] || path}`;
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} bytes`;
  // Binary units, named as such: 1 KiB = 1024 bytes, 1 MiB = 1024 * 1024 bytes.
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
}

/** What a file's container says about it, read by {@linkcode readTagsMany}. */
export interface AudioTags {
  /**
   * Tags by lower-case key as ffmpeg names them (`title`, `artist`, `album`, `album_artist`, `genre`,
   * `date`, `track`, ...): the container's (ID3, MP4 atoms, FLAC and RIFF INFO), then, for keys
   * the container lacks, the first audio stream's (Ogg Vorbis and Opus comments). Values are
   * decoded as UTF-8, or as Windows-1252 when they are not valid UTF-8; nothing else is cleaned.
   */
  tags: Record<string, string>;
  /** The container's duration in seconds, `null` when it does not say. */
  durationSeconds: number | null;
}

/** How to read tags. */
export interface ReadTagsOptions {
  /** Aborts the read: ffmpeg is killed and the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /** The ffmpeg executable. @default "ffmpeg" */
  ffmpegPath?: string;
}

/**
 * Reads the tags and duration of several files with one ffmpeg process.
 *
 * Starting ffmpeg (or ffprobe) costs about 0.2 s of CPU here, so one process per file would make
 * reading a 1,000-file folder take minutes. Instead one ffmpeg opens every file and writes each
 * one's global and first-audio-stream metadata in its own `ffmetadata` text file (a format with
 * escaping, in a private temporary folder), copying at most one packet; the durations come from
 * ffmpeg's description of its inputs. ffmpeg stops at the first input it cannot open: that file
 * gets its error and the others are read again without it. Files that do not start like any
 * audio container go first, so that such a failure comes before the good files are opened.
 *
 * @param paths The files; all go to one process (the caller picks the batch size, e.g. 64).
 * @param opts Abort signal and ffmpeg executable.
 * @returns One entry per path, in order: the tags, or a {@linkcode SoundalikeError}:
 *   `file_not_found`, or `unreadable_audio` for an empty, unreadable, corrupt or non-audio file or
 *   one without an audio track (the sentences {@linkcode decodeAudio} would give).
 * @throws {SoundalikeError} `missing_tool` when ffmpeg is not installed.
 * @example
 * ```ts ignore
 * import { readTagsMany } from "./ffmpeg.ts";
 * const [first] = await readTagsMany(["song.mp3"]);
 * if (!(first instanceof Error)) console.log(first.tags.title, first.durationSeconds);
 * ```
 */
export async function readTagsMany(
  paths: readonly string[],
  opts: ReadTagsOptions = {},
): Promise<Array<AudioTags | SoundalikeError>> {
  opts.signal?.throwIfAborted();
  const results = new Array<AudioTags | SoundalikeError>(paths.length);
  let pending: number[] = [];
  const suspect = new Set<number>();
  await Promise.all(paths.map(async (path, i) => {
    try {
      await checkInputFile(path, undefined, displayName(path));
      pending.push(i);
      if (!looksLikeAudio(await readStart(path))) suspect.add(i);
    } catch (err) {
      if (!(err instanceof SoundalikeError)) throw err;
      results[i] = err;
    }
  }));
  pending.sort((a, b) => Number(suspect.has(b)) - Number(suspect.has(a)) || a - b);
  while (pending.length > 0) {
    const batch = pending;
    const outcome = await runTagBatch(batch.map((i) => paths[i]!), opts);
    if (outcome.results) {
      batch.forEach((i, k) => results[i] = outcome.results![k]!);
      break;
    }
    const failed = outcome.failedInput;
    if (failed === undefined || failed >= batch.length) {
      // Not an input ffmpeg could not open: read the files one by one to learn which is bad.
      if (batch.length === 1) {
        results[batch[0]!] = unreadableTags(paths[batch[0]!]!, outcome.stderr);
        break;
      }
      for (const i of batch) results[i] = (await readTagsMany([paths[i]!], opts))[0]!;
      break;
    }
    results[batch[failed]!] = unreadableTags(paths[batch[failed]!]!, outcome.stderr);
    pending = batch.filter((_, k) => k !== failed);
  }
  return results;
}

function unreadableTags(path: string, stderr: string): SoundalikeError {
  const cause = new Error(`ffmpeg could not open the file: ${stderr || "(no message)"}`);
  return new SoundalikeError(ErrorCode.UnreadableAudio, unreadableMessage(displayName(path), stderr), {
    cause,
  });
}

/**
 * One ffmpeg over `paths`: every file's tags, or which input made ffmpeg stop (the number of inputs
 * it described before failing) and its standard error.
 */
async function runTagBatch(
  paths: readonly string[],
  opts: ReadTagsOptions,
): Promise<{ results?: Array<AudioTags | SoundalikeError>; failedInput?: number; stderr: string }> {
  const dir = await makePrivateTempDir();
  try {
    // "-v info" makes ffmpeg describe each input (its duration) as it opens it.
    const args = ["-nostdin", "-hide_banner", "-nostats", "-v", "info", "-protocol_whitelist", "file,pipe"];
    for (const path of paths) args.push("-i", `file:${path}`);
    paths.forEach((_, k) => {
      // `?`: a file without audio still gets its (stream-less) metadata file, which says so.
      args.push("-map", `${k}:a:0?`, "-map_metadata", String(k), "-c", "copy", "-frames:a", "1");
      args.push("-f", "ffmetadata", "-y", `file:${dir}/${k}.txt`);
    });
    const output = await spawnFfmpeg(args, opts, { stdin: false, stdout: false }).output();
    if (opts.signal?.aborted) throw opts.signal.reason;
    const stderr = new TextDecoder().decode(output.stderr);
    const described = describedInputs(stderr);
    if (!output.success) {
      // The error is ffmpeg's last lines; the input descriptions before it are not needed.
      const message = stderr.trim().split("\n").slice(-3).join("\n").slice(-MAX_STDERR_CHARS);
      // Output k is input k's: a file that opened but whose stream cannot be copied (a corrupt
      // header) fails its output; otherwise ffmpeg stopped at the first input it could not open.
      const output = /output file #(\d+)|output stream (\d+):/i.exec(stderr);
      const failedInput = output ? Number(output[1] ?? output[2]) : described.count;
      return { failedInput, stderr: message };
    }
    const results = await Promise.all(paths.map(async (path, k) => {
      const text = parseFfmetadata(await Deno.readFile(`${dir}/${k}.txt`));
      if (text.streams.length === 0) {
        return new SoundalikeError(ErrorCode.UnreadableAudio, `${displayName(path)} has no audio track`);
      }
      const tags: Record<string, string> = {};
      // ffmpeg writes its own `encoder` into every output: it says nothing about the file.
      for (const section of [text.global, text.streams[0]!]) {
        for (const [key, value] of Object.entries(section)) {
          if (key !== "encoder" && !(key in tags)) tags[key] = value;
        }
      }
      return { tags, durationSeconds: described.durations.get(k) ?? null };
    }));
    return { results, stderr };
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/**
 * How many inputs ffmpeg described (`Input #k, ...`) and their durations
 * (`  Duration: 00:03:25.04, ...`; `N/A` gives none).
 */
function describedInputs(stderr: string): { count: number; durations: Map<number, number> } {
  const durations = new Map<number, number>();
  let count = 0;
  let current = -1;
  for (const line of stderr.split("\n")) {
    const input = /^Input #(\d+), /.exec(line);
    if (input !== null && Number(input[1]) === count) {
      current = count++;
      continue;
    }
    // Tag lines are indented further and continuation lines start with spaces and ": ", so a tag
    // value cannot pass for this two-space line.
    const d = /^ {2}Duration: (\d+):(\d{2}):(\d{2}(?:\.\d+)?)/.exec(line);
    if (d !== null && current >= 0 && !durations.has(current)) {
      durations.set(current, Number(d[1]) * 3600 + Number(d[2]) * 60 + Number(d[3]));
    }
  }
  return { count, durations };
}

/** ffmpeg's metadata text: the global section and one section per stream (chapters ignored). */
interface FfMetadata {
  global: Record<string, string>;
  streams: Record<string, string>[];
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });
const WINDOWS_1252 = new TextDecoder("windows-1252");

/**
 * Parses an `ffmetadata` file: `key=value` lines where `=`, `;`, `#`, newlines and the backslash
 * itself are escaped with a backslash, `[STREAM]` and `[CHAPTER]` sections, `;` comments. Each line
 * is decoded as UTF-8, or as Windows-1252 when it is not valid UTF-8 (tags written in a legacy code
 * page reach ffmpeg as raw bytes).
 */
function parseFfmetadata(bytes: Uint8Array): FfMetadata {
  const out: FfMetadata = { global: {}, streams: [] };
  let section: Record<string, string> | undefined = out.global;
  let pending = "";
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i < bytes.length && bytes[i] !== 0x0a) continue;
    const raw = bytes.subarray(start, i);
    start = i + 1;
    let line: string;
    try {
      line = UTF8.decode(raw);
    } catch {
      line = WINDOWS_1252.decode(raw);
    }
    // An odd number of trailing backslashes escapes the newline: the value goes on.
    const trailing = /\\+$/.exec(line)?.[0].length ?? 0;
    if (trailing % 2 === 1) {
      pending += line + "\n";
      continue;
    }
    line = pending + line;
    pending = "";
    if (line === "" || line.startsWith(";") || line.startsWith("#")) continue;
    if (line === "[STREAM]") {
      section = {};
      out.streams.push(section);
      continue;
    }
    if (line === "[CHAPTER]") {
      section = undefined;
      continue;
    }
    if (section === undefined) continue;
    let key = "";
    let value = "";
    let inValue = false;
    for (let j = 0; j < line.length; j++) {
      let c = line[j]!;
      if (c === "\\" && j + 1 < line.length) c = line[++j]!;
      else if (c === "=" && !inValue) {
        inValue = true;
        continue;
      }
      if (inValue) value += c;
      else key += c;
    }
    if (inValue && key !== "") section[key.toLowerCase()] = value;
  }
  return out;
}

/** The first bytes of a file (fewer when it is shorter). */
async function readStart(path: string, count = 12): Promise<Uint8Array> {
  using file = await Deno.open(path, { read: true });
  const head = new Uint8Array(count);
  let got = 0;
  while (got < count) {
    const n = await file.read(head.subarray(got));
    if (n === null) break;
    got += n;
  }
  return head.subarray(0, got);
}

/**
 * Whether a file starts like an audio container ffmpeg reads: ID3 or an MPEG audio/ADTS frame,
 * Ogg, FLAC, RIFF (WAV), AIFF, MP4/M4A, Matroska/WebM, ASF (WMA), CAF, AMR, WavPack, Monkey's
 * Audio. Only an ordering hint: files that do not are still read.
 */
function looksLikeAudio(head: Uint8Array): boolean {
  const ascii = (at: number, text: string) => [...text].every((c, i) => head[at + i] === c.charCodeAt(0));
  if (["ID3", "OggS", "fLaC", "RIFF", "FORM", "caff", "#!AMR", "wvpk", "MAC "].some((m) => ascii(0, m))) {
    return true;
  }
  if (ascii(4, "ftyp")) return true;
  if (head[0] === 0x1a && head[1] === 0x45 && head[2] === 0xdf && head[3] === 0xa3) return true; // EBML
  if (head[0] === 0x30 && head[1] === 0x26 && head[2] === 0xb2 && head[3] === 0x75) return true; // ASF
  return head[0] === 0xff && (head[1]! & 0xe0) === 0xe0; // MPEG audio or ADTS frame sync
}

/** A lossy codec {@linkcode encodeLossy} can write. */
export type LossyCodec = "mp3" | "opus";

/** How to encode with {@linkcode encodeLossy}. */
export interface EncodeLossyOptions {
  /** `mp3` (libmp3lame, constant bit rate) or `opus` (libopus in Ogg, constrained bit rate). */
  codec: LossyCodec;
  /** Bit rate in kbit/s. */
  bitrateKbps: number;
  /** The ffmpeg executable. @default "ffmpeg" */
  ffmpegPath?: string;
}

/**
 * Encodes audio with a lossy codec, as a listener's copy of a track may have been (training
 * augmentation and the quality benchmark re-encode through this). MP3 goes through
 * {@linkcode encodeMp3}; Opus is resampled by ffmpeg to a rate libopus takes (48 kHz for 44.1 kHz
 * input).
 *
 * @param audio The audio; all channels the same length.
 * @param path The output file (`.mp3` or `.opus`/`.ogg`); overwritten.
 * @param opts Codec and bit rate.
 * @throws {SoundalikeError} `missing_tool` when ffmpeg is not installed.
 * @throws {Error} When ffmpeg fails, with its message.
 * @example
 * ```ts ignore
 * import { encodeLossy } from "./ffmpeg.ts";
 * const tone = Float32Array.from({ length: 16000 }, (_, i) => 0.2 * Math.sin(i / 10));
 * await encodeLossy({ sampleRate: 16000, channels: [tone] }, "tone.opus", { codec: "opus", bitrateKbps: 48 });
 * ```
 */
export async function encodeLossy(
  audio: MultichannelAudio,
  path: string,
  opts: EncodeLossyOptions,
): Promise<void> {
  const { codec, bitrateKbps } = opts;
  if (!(bitrateKbps > 0)) throw new RangeError(`bitrateKbps must be positive, got ${bitrateKbps}`);
  if (codec === "mp3") {
    return await encodeMp3(audio, path, {
      bitrateKbps,
      ...(opts.ffmpegPath === undefined ? {} : { ffmpegPath: opts.ffmpegPath }),
    });
  }
  if (codec !== "opus") throw new RangeError(`Unknown codec: ${codec}`);
  if (audio.channels.length === 0) throw new RangeError("audio needs at least one channel");
  const args = [
    ...baseArgs(),
    ...["-f", "s16le", "-ar", String(audio.sampleRate), "-ac", String(audio.channels.length)],
    ...["-i", "pipe:0", "-codec:a", "libopus", "-b:a", `${bitrateKbps}k`, "-vbr", "constrained"],
    ...["-map_metadata", "-1", "-f", "ogg", "-y", `file:${path}`],
  ];
  const spawnOpts: DecodeOptions = { sampleRate: audio.sampleRate };
  if (opts.ffmpegPath !== undefined) spawnOpts.ffmpegPath = opts.ffmpegPath;
  const child = spawnFfmpeg(args, spawnOpts, { stdin: true, stdout: false });
  const [output] = await Promise.all([child.output(), feed(child.stdin, interleaveS16le(audio.channels))]);
  if (!output.success) {
    throw new Error(
      `ffmpeg could not encode ${path} as Opus (exit code ${output.code}): ${
        stderrText(output.stderr) || "(no message)"
      }`,
    );
  }
}

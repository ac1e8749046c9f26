/**
 * The only module that runs `fluidsynth` (MIDI to audio with a General-MIDI soundfont); the corpus's
 * MP3 encoding is core's (`encodeMp3` in core/audio/ffmpeg.ts), kept here under its old signature.
 * @module
 */
import { encodeMp3 as coreEncodeMp3, ErrorCode, SoundalikeError } from "../../core/mod.ts";
import { parseWav, type PcmAudio } from "./wav.ts";

/** Soundfonts looked for, in order (Debian's fluid-soundfont-gm, then timgm6mb, then the alternatives link). */
export const SOUNDFONT_CANDIDATES: readonly string[] = [
  "/usr/share/sounds/sf2/FluidR3_GM.sf2",
  "/usr/share/sounds/sf2/TimGM6mb.sf2",
  "/usr/share/sounds/sf2/default-GM.sf2",
  "/usr/share/soundfonts/FluidR3_GM.sf2",
  "/usr/share/soundfonts/default.sf2",
];

/**
 * The first soundfont that exists.
 *
 * @param candidates Paths to try.
 * @returns Its path.
 * @throws {SoundalikeError} `MissingTool` naming the Debian package when none exists.
 */
export function findSoundfont(candidates: readonly string[] = SOUNDFONT_CANDIDATES): string {
  for (const path of candidates) {
    try {
      if (Deno.statSync(path).isFile) return path;
    } catch {
      // try the next one
    }
  }
  throw new SoundalikeError(
    ErrorCode.MissingTool,
    `No General-MIDI soundfont found (looked at ${
      candidates.join(", ")
    }): install it with \`sudo apt-get install fluid-soundfont-gm\``,
  );
}

async function run(cmd: string, args: string[], pkg: string): Promise<Uint8Array> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(cmd, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new SoundalikeError(
        ErrorCode.MissingTool,
        `${cmd} is not installed: install it with \`sudo apt-get install ${pkg}\``,
        { cause: err },
      );
    }
    throw err;
  }
  const out = await child.output();
  if (!out.success) {
    const msg = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-3).join(" | ");
    throw new Error(`${cmd} failed with exit code ${out.code}: ${msg}`);
  }
  return out.stdout;
}

/**
 * Whether the `fluidsynth` binary can be run.
 *
 * @returns `true` when `fluidsynth --version` succeeds.
 */
export async function fluidsynthAvailable(): Promise<boolean> {
  try {
    await run("fluidsynth", ["--version"], "fluidsynth");
    return true;
  } catch {
    return false;
  }
}

/** Options of {@linkcode renderMidi}. */
export interface RenderOptions {
  /** Soundfont path; default: {@linkcode findSoundfont}. */
  soundfont?: string;
  /** Output sample rate. @default 22050 */
  sampleRate?: number;
  /** fluidsynth master gain; low enough that dense mixes do not clip. @default 0.5 */
  gain?: number;
  /** fluidsynth's reverb (the parts' CC 91 sends set how much each uses). @default true */
  reverb?: boolean;
}

/**
 * Renders a Standard MIDI file to stereo PCM with fluidsynth's fast file renderer (no audio or
 * MIDI drivers, no shell, chorus off, reverb per the parts' sends).
 *
 * @param midi The MIDI file's bytes.
 * @param opts See {@linkcode RenderOptions}.
 * @returns The rendered audio (as long as the MIDI plus fluidsynth's release tail).
 * @throws {SoundalikeError} `MissingTool` when fluidsynth or a soundfont is missing.
 */
export async function renderMidi(midi: Uint8Array, opts: RenderOptions = {}): Promise<PcmAudio> {
  const soundfont = opts.soundfont ?? findSoundfont();
  const dir = await Deno.makeTempDir({ prefix: "soundalike_fs_" });
  try {
    const mid = `${dir}/in.mid`;
    const wav = `${dir}/out.wav`;
    await Deno.writeFile(mid, midi);
    await run("fluidsynth", [
      "-n", // no MIDI driver
      "-i", // no shell
      "-q",
      "-a",
      "file", // never probe sound cards
      "-C",
      "0",
      "-R",
      opts.reverb === false ? "0" : "1",
      "-g",
      String(opts.gain ?? 0.5),
      "-r",
      String(opts.sampleRate ?? 22050),
      "-T",
      "wav",
      "-O",
      "s16",
      "-o",
      "synth.cpu-cores=1",
      // Load only the samples the song uses: FluidR3 is 141 MB and loading all of it for every clip
      // took longer than rendering (1.7 s of 2.6 s); the audio is the same to within one LSB.
      "-o",
      "synth.dynamic-sample-loading=1",
      "-F",
      wav,
      soundfont,
      mid,
    ], "fluidsynth");
    return parseWav(await Deno.readFile(wav));
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/**
 * Encodes audio to an MP3 file with ffmpeg's libmp3lame (constant bit rate, like fma_small's files),
 * through core's {@linkcode coreEncodeMp3} (core/audio/ffmpeg.ts is the only module that runs ffmpeg).
 *
 * @param audio The audio (its channel count and rate are kept).
 * @param path Output file.
 * @param bitrateKbps Bit rate. @default 256
 * @throws {SoundalikeError} `MissingTool` when ffmpeg is missing.
 */
export async function encodeMp3(audio: PcmAudio, path: string, bitrateKbps = 256): Promise<void> {
  await coreEncodeMp3(audio, path, { bitrateKbps });
}

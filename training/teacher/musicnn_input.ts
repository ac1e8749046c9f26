/**
 * The input of the MusiCNN taggers (Pons & Serra, 2019), as Essentia's `TensorflowInputMusiCNN` makes
 * it: 16 kHz mono; frames of 512 samples with a hop of 256, the first one centred on sample 0 (256
 * zeros padded on each side); a symmetric Hann window; the power spectrum; 96 Slaney mel bands from 0
 * to 8000 Hz with unit-area filters; `log10(1 + 10000 x)`; then non-overlapping patches of 187 frames
 * (about 3 s), row-major `[patch][frame][band]`, the teachers' `[n, 187, 96]` input.
 *
 * Used at training time only (the teachers are never shipped). Checked against the ONNX copy of the
 * MSD tagger in `musicnn_input_test.ts` (a real Hip-Hop clip is tagged Hip-Hop about 0.84).
 * @module
 */
import FFT from "fft.js";
import { ErrorCode, type FeatureParams, melFilterbank, SoundalikeError } from "../../core/mod.ts";

/** Samples per second the teachers expect. */
export const MUSICNN_SAMPLE_RATE = 16000;
/** Frame length (and FFT size) in samples. */
export const MUSICNN_FRAME = 512;
/** Hop between frames in samples. */
export const MUSICNN_HOP = 256;
/** Mel bands. */
export const MUSICNN_BANDS = 96;
/** Frames per patch (one teacher input, about 3 s). */
export const MUSICNN_PATCH_FRAMES = 187;
/** Seconds covered by one patch's frames (187 hops). */
export const MUSICNN_PATCH_SECONDS = (MUSICNN_PATCH_FRAMES * MUSICNN_HOP) / MUSICNN_SAMPLE_RATE;

/** Core's filterbank parameters that give Essentia's 96-band Slaney bank (only the fields it reads matter). */
const FILTERBANK_PARAMS: FeatureParams = {
  sampleRate: MUSICNN_SAMPLE_RATE,
  windowLength: MUSICNN_FRAME,
  hopLength: MUSICNN_HOP,
  nFft: MUSICNN_FRAME,
  nMels: MUSICNN_BANDS,
  fmin: 0,
  fmax: 8000,
  window: "hann",
  melScale: "slaney",
  power: 2,
  logOffset: 1e-6,
  segmentSeconds: MUSICNN_PATCH_SECONDS,
  loudnessDbfs: null,
  maxGainDb: 0,
};

/** Patches of the teachers' input. */
export interface MusicnnPatches {
  /** `n * 187 * 96` values, `[patch][frame][band]`. */
  data: Float32Array;
  /** Number of patches. */
  n: number;
}

let symmetricHann: Float64Array | undefined;

/**
 * A symmetric Hann window (`0.5 - 0.5 cos(2πn / (N - 1))`, numpy's `hanning(N)`), Essentia's default.
 *
 * @param length Samples.
 * @returns The window.
 */
export function symmetricHannWindow(length: number): Float64Array {
  const w = new Float64Array(length);
  for (let n = 0; n < length; n++) w[n] = 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / (length - 1));
  return w;
}

/**
 * Number of frames Essentia cuts from `n` samples (first frame centred on sample 0): `1 + floor(n / 256)`.
 *
 * @param n Samples.
 * @returns Frames.
 */
export function musicnnFrameCount(n: number): number {
  return n <= 0 ? 0 : 1 + Math.floor(n / MUSICNN_HOP);
}

/**
 * The log-compressed mel spectrogram of 16 kHz mono samples, row-major `[frame][band]`.
 *
 * @param samples Mono samples at 16 kHz.
 * @returns `frames * 96` values and the frame count.
 */
export function musicnnMelFrames(samples: Float32Array): { data: Float32Array; frames: number } {
  const frames = musicnnFrameCount(samples.length);
  const half = MUSICNN_FRAME / 2;
  const fb = melFilterbank(FILTERBANK_PARAMS);
  const window = symmetricHann ??= symmetricHannWindow(MUSICNN_FRAME);
  const fft = new FFT(MUSICNN_FRAME);
  const frame = new Float64Array(MUSICNN_FRAME);
  const spectrum = new Float64Array(2 * MUSICNN_FRAME) as unknown as number[];
  const bins = new Float64Array(fb.nBins);
  const out = new Float32Array(frames * MUSICNN_BANDS);
  for (let t = 0; t < frames; t++) {
    const offset = t * MUSICNN_HOP - half; // the padded signal's frame start, in the original's samples
    for (let i = 0; i < MUSICNN_FRAME; i++) {
      const at = offset + i;
      frame[i] = at >= 0 && at < samples.length ? samples[at]! * window[i]! : 0;
    }
    fft.realTransform(spectrum, frame as unknown as number[]);
    for (let k = 0; k < fb.nBins; k++) {
      const re = spectrum[2 * k]!, im = spectrum[2 * k + 1]!;
      bins[k] = re * re + im * im;
    }
    for (let m = 0; m < MUSICNN_BANDS; m++) {
      let acc = 0;
      const row = m * fb.nBins;
      for (let k = fb.start[m]!, e = fb.end[m]!; k < e; k++) acc += fb.weights[row + k]! * bins[k]!;
      out[t * MUSICNN_BANDS + m] = Math.log10(1 + 10000 * acc);
    }
  }
  return { data: out, frames };
}

/**
 * The teachers' input patches of a clip: non-overlapping 187-frame patches (a trailing part shorter
 * than a patch is dropped, as Essentia does).
 *
 * @param samples Mono samples at 16 kHz.
 * @param name The clip's name, for the error message.
 * @returns The patches.
 * @throws {SoundalikeError} `clip_too_short` when the clip is shorter than one patch (about 3 s).
 */
export function musicnnPatches(samples: Float32Array, name = "the clip"): MusicnnPatches {
  const mel = musicnnMelFrames(samples);
  const n = Math.floor(mel.frames / MUSICNN_PATCH_FRAMES);
  if (n < 1) {
    throw new SoundalikeError(
      ErrorCode.ClipTooShort,
      `${name} is ${(samples.length / MUSICNN_SAMPLE_RATE).toFixed(2)} s long, shorter than one ${
        MUSICNN_PATCH_SECONDS.toFixed(2)
      } s teacher patch: leave it out of the teacher's set or use a longer recording`,
    );
  }
  return { data: mel.data.slice(0, n * MUSICNN_PATCH_FRAMES * MUSICNN_BANDS), n };
}

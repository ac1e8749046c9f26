/**
 * The log-mel features shared by training and inference (one implementation, so the models see
 * exactly the same numbers in both).
 *
 * For each frame of `windowLength` samples taken every `hopLength` samples (no centring, no
 * padding: `frames = floor((n - windowLength) / hopLength) + 1`), the frame is multiplied by a
 * periodic Hann window, zero-padded at the end to `nFft`, transformed (fft.js), turned into a
 * power spectrum `|X|²`, projected on a mel filterbank built like librosa's default
 * (`htk=False`: the Slaney mel scale, linear below 1 kHz and logarithmic above, with "slaney"
 * area normalisation, `2 / (f[i+2] - f[i])`), and finally `ln(mel + logOffset)`.
 *
 * **Loudness normalisation** (`loudnessDbfs`, not `null`): before the logarithm every mel power is
 * multiplied by `g²`, the power gain that brings the segment's RMS level (over its frames' samples) to
 * `loudnessDbfs`, at most `maxGainDb`. It is the same as scaling the samples by `g` before the FFT,
 * so playing a clip louder or quieter cannot change its features (up to the gain cap, which only
 * near-silent segments reach), by construction, in training and inference alike. The mel power of a
 * whole clip can be computed once ({@linkcode melPowerSpectrogram}) and any run of frames turned into
 * the log-mel of that window ({@linkcode logMelFromPower}), normalised by that window's own level: the
 * training cache uses this for random window offsets at no extra FFT cost.
 *
 * The result is row-major `[mel][frame]`: the value of band `m` at frame `t` is
 * `data[m * frames + t]`, which is the model input NHWC `[1, nMels, frames, 1]`.
 *
 * Checked against an independent numpy implementation: `tests/reference/logmel_reference.py`.
 * @module
 */
import FFT from "fft.js";

/** Every parameter that shapes the features; stored in the model manifest and compared at load time. */
export interface FeatureParams {
  /** Samples per second. */
  sampleRate: number;
  /** Samples per frame (the Hann window's length). */
  windowLength: number;
  /** Samples between the starts of two frames. */
  hopLength: number;
  /** FFT size; the window is zero-padded at the end up to it. A power of two. */
  nFft: number;
  /** Number of mel bands. */
  nMels: number;
  /** Lowest filterbank frequency in Hz. */
  fmin: number;
  /** Highest filterbank frequency in Hz. */
  fmax: number;
  /** Window shape: periodic Hann. */
  window: "hann";
  /** Mel scale and filter normalisation: librosa's default ("slaney"). */
  melScale: "slaney";
  /** Exponent of the magnitude spectrum: 2 (power). */
  power: 2;
  /** Added before the natural logarithm: `ln(mel + logOffset)`. */
  logOffset: number;
  /** Length of one model input segment in seconds. */
  segmentSeconds: number;
  /**
   * RMS level in dBFS every segment is brought to before the logarithm; `null` turns loudness
   * normalisation off.
   */
  loudnessDbfs: number | null;
  /** Largest gain (dB) the loudness normalisation applies, so digital silence stays silence. */
  maxGainDb: number;
}

/**
 * The parameters of the shipped models: 16 kHz, 50 ms windows and hops, 1024-point FFT, 64 bands, each
 * segment normalised to -20 dBFS RMS (at most +40 dB).
 */
export const DEFAULT_FEATURE_PARAMS: Readonly<FeatureParams> = Object.freeze({
  sampleRate: 16000,
  windowLength: 800,
  hopLength: 800,
  nFft: 1024,
  nMels: 64,
  fmin: 0,
  fmax: 8000,
  window: "hann",
  melScale: "slaney",
  power: 2,
  logOffset: 1e-6,
  segmentSeconds: 10,
  loudnessDbfs: -20,
  maxGainDb: 40,
});

/** A log-mel spectrogram, row-major `[mel][frame]`. */
export interface LogMel {
  /** `nMels * frames` values; band `m`, frame `t` at `m * frames + t`. */
  data: Float32Array;
  nMels: number;
  frames: number;
}

/**
 * A mel filterbank stored densely with the non-zero span of each filter, for a fast projection.
 * Shared from a cache: do not modify.
 */
export interface MelFilterbank {
  nMels: number;
  /** `nFft / 2 + 1` frequency bins. */
  nBins: number;
  /** Row-major `[mel][bin]` weights. */
  weights: Float64Array;
  /** First bin with a non-zero weight, per band. */
  start: Int32Array;
  /** One past the last bin with a non-zero weight, per band (`start === end` for an empty band). */
  end: Int32Array;
}

/** Per-band statistics used to normalise log-mels. */
export interface BandStats {
  mean: Float32Array;
  std: Float32Array;
}

/** Smallest standard deviation {@linkcode computeBandStats} returns, so normalising never divides by ~0. */
export const MIN_BAND_STD = 1e-3;

const PARAM_KEYS: readonly (keyof FeatureParams)[] = [
  "sampleRate",
  "windowLength",
  "hopLength",
  "nFft",
  "nMels",
  "fmin",
  "fmax",
  "window",
  "melScale",
  "power",
  "logOffset",
  "segmentSeconds",
  "loudnessDbfs",
  "maxGainDb",
];

/**
 * Whether two parameter sets give the same features (every field equal; extra fields ignored).
 *
 * @param a One set, e.g. from the manifest.
 * @param b Another, e.g. {@linkcode DEFAULT_FEATURE_PARAMS}.
 * @returns `true` when every {@linkcode FeatureParams} field is equal.
 * @example
 * ```ts
 * import { DEFAULT_FEATURE_PARAMS, featureParamsEqual } from "./features.ts";
 * console.assert(featureParamsEqual(DEFAULT_FEATURE_PARAMS, { ...DEFAULT_FEATURE_PARAMS }));
 * console.assert(!featureParamsEqual(DEFAULT_FEATURE_PARAMS, { ...DEFAULT_FEATURE_PARAMS, nMels: 128 }));
 * ```
 */
export function featureParamsEqual(a: FeatureParams, b: FeatureParams): boolean {
  return PARAM_KEYS.every((key) => a[key] === b[key]);
}

/**
 * Names the fields where two parameter sets differ, for a message that says what disagrees.
 *
 * @param expected The set wanted (e.g. the code's defaults).
 * @param actual The set found (e.g. in the manifest).
 * @returns Lines such as `nMels: expected 64, found 128`; empty when equal.
 */
export function featureParamsDiff(expected: FeatureParams, actual: FeatureParams): string[] {
  return PARAM_KEYS.filter((key) => expected[key] !== actual[key])
    .map((key) => `${key}: expected ${String(expected[key])}, found ${String(actual[key])}`);
}

/**
 * Checks that parameters describe features this module can compute.
 *
 * @param params The parameters.
 * @throws {RangeError} Naming the first invalid field.
 */
export function validateFeatureParams(params: FeatureParams): void {
  const { sampleRate, windowLength, hopLength, nFft, nMels, fmin, fmax } = params;
  const positiveInt = (v: number) => Number.isInteger(v) && v > 0;
  if (!positiveInt(sampleRate)) throw new RangeError(`sampleRate must be a positive integer: ${sampleRate}`);
  if (!positiveInt(windowLength)) {
    throw new RangeError(`windowLength must be a positive integer: ${windowLength}`);
  }
  if (!positiveInt(hopLength)) throw new RangeError(`hopLength must be a positive integer: ${hopLength}`);
  if (!positiveInt(nFft) || (nFft & (nFft - 1)) !== 0 || nFft < 4) {
    throw new RangeError(`nFft must be a power of two of at least 4: ${nFft}`);
  }
  if (windowLength > nFft) throw new RangeError(`windowLength ${windowLength} exceeds nFft ${nFft}`);
  if (!positiveInt(nMels)) throw new RangeError(`nMels must be a positive integer: ${nMels}`);
  if (!(fmin >= 0 && fmin < fmax && fmax <= sampleRate / 2)) {
    throw new RangeError(`Need 0 <= fmin < fmax <= sampleRate / 2: fmin ${fmin}, fmax ${fmax}`);
  }
  if (params.window !== "hann") throw new RangeError(`Unsupported window: ${params.window}`);
  if (params.melScale !== "slaney") throw new RangeError(`Unsupported mel scale: ${params.melScale}`);
  if (params.power !== 2) throw new RangeError(`Unsupported power: ${params.power}`);
  if (!(params.logOffset > 0)) throw new RangeError(`logOffset must be positive: ${params.logOffset}`);
  if (params.loudnessDbfs !== null && !(Number.isFinite(params.loudnessDbfs) && params.loudnessDbfs <= 0)) {
    throw new RangeError(`loudnessDbfs must be null or a level <= 0 dBFS: ${params.loudnessDbfs}`);
  }
  if (!(params.maxGainDb >= 0 && Number.isFinite(params.maxGainDb))) {
    throw new RangeError(`maxGainDb must be a finite number >= 0: ${params.maxGainDb}`);
  }
}

// Slaney's mel scale as in librosa (htk=False): linear below 1 kHz, logarithmic above.
const F_SP = 200 / 3;
const MIN_LOG_HZ = 1000;
const MIN_LOG_MEL = MIN_LOG_HZ / F_SP;
const LOG_STEP = Math.log(6.4) / 27;

/**
 * Hertz to mel on the Slaney scale (librosa's `hz_to_mel(htk=False)`).
 *
 * @param hz Frequency in Hz.
 * @returns Mels.
 */
export function hzToMel(hz: number): number {
  return hz >= MIN_LOG_HZ ? MIN_LOG_MEL + Math.log(hz / MIN_LOG_HZ) / LOG_STEP : hz / F_SP;
}

/**
 * Mel to hertz on the Slaney scale (librosa's `mel_to_hz(htk=False)`).
 *
 * @param mel Mels.
 * @returns Frequency in Hz.
 */
export function melToHz(mel: number): number {
  return mel >= MIN_LOG_MEL ? MIN_LOG_HZ * Math.exp(LOG_STEP * (mel - MIN_LOG_MEL)) : F_SP * mel;
}

const filterbankCache = new Map<string, MelFilterbank>();

/**
 * The mel filterbank for `params`, like `librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax)`
 * (Slaney scale and area normalisation), computed in float64 and cached per parameter set.
 *
 * @param params Uses `sampleRate`, `nFft`, `nMels`, `fmin`, `fmax`.
 * @default params DEFAULT_FEATURE_PARAMS
 * @returns The shared, cached filterbank (do not modify it).
 * @example
 * ```ts
 * import { melFilterbank } from "./features.ts";
 * const fb = melFilterbank();
 * console.assert(fb.nMels === 64 && fb.nBins === 513);
 * ```
 */
export function melFilterbank(params: FeatureParams = DEFAULT_FEATURE_PARAMS): MelFilterbank {
  const { sampleRate, nFft, nMels, fmin, fmax } = params;
  const key = `${sampleRate}/${nFft}/${nMels}/${fmin}/${fmax}`;
  const cached = filterbankCache.get(key);
  if (cached) return cached;
  validateFeatureParams(params);

  const nBins = nFft / 2 + 1;
  const melMin = hzToMel(fmin);
  const melMax = hzToMel(fmax);
  const edges = new Float64Array(nMels + 2);
  for (let i = 0; i < nMels + 2; i++) edges[i] = melToHz(melMin + ((melMax - melMin) * i) / (nMels + 1));
  const weights = new Float64Array(nMels * nBins);
  const start = new Int32Array(nMels);
  const end = new Int32Array(nMels);
  for (let m = 0; m < nMels; m++) {
    const lo = edges[m]!, mid = edges[m + 1]!, hi = edges[m + 2]!;
    const enorm = 2 / (hi - lo);
    let first = -1, last = -1;
    for (let k = 0; k < nBins; k++) {
      const f = (k * sampleRate) / nFft;
      const w = Math.max(0, Math.min((f - lo) / (mid - lo), (hi - f) / (hi - mid)));
      if (w > 0) {
        weights[m * nBins + k] = w * enorm;
        if (first < 0) first = k;
        last = k;
      }
    }
    start[m] = first < 0 ? 0 : first;
    end[m] = first < 0 ? 0 : last + 1;
  }
  const fb: MelFilterbank = { nMels, nBins, weights, start, end };
  filterbankCache.set(key, fb);
  return fb;
}

/** Per-FFT-size transform and scratch buffers, reused across calls (JavaScript is single-threaded). */
interface FftWork {
  fft: FFT;
  frame: Float64Array;
  spectrum: Float64Array;
  power: Float64Array;
}

const fftCache = new Map<number, FftWork>();
const windowCache = new Map<number, Float64Array>();

function fftWork(nFft: number): FftWork {
  let work = fftCache.get(nFft);
  if (!work) {
    const fft = new FFT(nFft);
    work = {
      fft,
      frame: new Float64Array(nFft),
      spectrum: new Float64Array(2 * nFft),
      power: new Float64Array(nFft / 2 + 1),
    };
    fftCache.set(nFft, work);
  }
  return work;
}

/**
 * A periodic Hann window (`0.5 - 0.5 cos(2πn / N)`, as `scipy.signal.get_window("hann", N)`),
 * cached per length.
 *
 * @param length Samples.
 * @returns The shared window (do not modify it).
 */
export function hannWindow(length: number): Float64Array {
  let w = windowCache.get(length);
  if (!w) {
    w = new Float64Array(length);
    for (let n = 0; n < length; n++) w[n] = 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / length);
    windowCache.set(length, w);
  }
  return w;
}

/**
 * Number of frames for `n` samples: `floor((n - windowLength) / hopLength) + 1`, or 0 when
 * `n < windowLength`.
 *
 * @param n Samples.
 * @param params Uses `windowLength` and `hopLength`.
 * @default params DEFAULT_FEATURE_PARAMS
 * @returns Frames.
 */
export function frameCount(n: number, params: FeatureParams = DEFAULT_FEATURE_PARAMS): number {
  return n < params.windowLength ? 0 : Math.floor((n - params.windowLength) / params.hopLength) + 1;
}

/**
 * Mel power of every frame, before the logarithm, with each frame's energy (the sum of its samples'
 * squares), so {@linkcode logMelFromPower} can normalise any run of frames by its own loudness.
 */
export interface MelPower {
  /** `nMels * frames` mel powers, row-major `[mel][frame]`. */
  power: Float32Array;
  /** Sum of the squared samples of each frame. */
  frameEnergy: Float64Array;
  nMels: number;
  frames: number;
  /** Samples per frame (`windowLength`), to turn energies into a mean square. */
  windowLength: number;
}

/**
 * The mel power spectrogram of mono samples (the module doc's steps up to, not including, the
 * loudness gain and the logarithm).
 *
 * @param samples Mono samples at `params.sampleRate`.
 * @param params The feature parameters. @default DEFAULT_FEATURE_PARAMS
 * @returns Mel powers and frame energies.
 */
export function melPowerSpectrogram(
  samples: Float32Array,
  params: FeatureParams = DEFAULT_FEATURE_PARAMS,
): MelPower {
  validateFeatureParams(params);
  const fb = melFilterbank(params);
  const { windowLength, hopLength, nFft, nMels } = params;
  const frames = frameCount(samples.length, params);
  const power = new Float32Array(nMels * frames);
  const frameEnergy = new Float64Array(frames);
  const window = hannWindow(windowLength);
  const work = fftWork(nFft);
  const { fft, frame, spectrum } = work;
  const bins = work.power;
  const nBins = fb.nBins;
  const { weights, start, end } = fb;
  frame.fill(0, windowLength); // zero padding up to nFft; the loop below writes only the window

  for (let t = 0; t < frames; t++) {
    const offset = t * hopLength;
    let energy = 0;
    for (let n = 0; n < windowLength; n++) {
      const v = samples[offset + n]!;
      energy += v * v;
      frame[n] = v * window[n]!;
    }
    frameEnergy[t] = energy;
    fft.realTransform(spectrum, frame);
    for (let k = 0; k < nBins; k++) {
      const re = spectrum[2 * k]!, im = spectrum[2 * k + 1]!;
      bins[k] = re * re + im * im;
    }
    for (let m = 0; m < nMels; m++) {
      let acc = 0;
      const row = m * nBins;
      for (let k = start[m]!, e = end[m]!; k < e; k++) acc += weights[row + k]! * bins[k]!;
      power[m * frames + t] = acc;
    }
  }
  return { power, frameEnergy, nMels, frames, windowLength };
}

/**
 * The power gain `g²` loudness normalisation applies to a window whose samples have mean square
 * `meanSquare`: `10^((loudnessDbfs - level) / 10)`, capped at `maxGainDb`; 1 when normalisation is off.
 *
 * @param meanSquare Mean of the squared samples.
 * @param params Uses `loudnessDbfs` and `maxGainDb`.
 * @returns The factor applied to mel powers.
 * @example
 * ```ts
 * import { DEFAULT_FEATURE_PARAMS, loudnessPowerGain } from "./features.ts";
 * // a window at -30 dBFS is raised by 10 dB to -20 dBFS: power x 10
 * console.assert(Math.abs(loudnessPowerGain(1e-3, DEFAULT_FEATURE_PARAMS) - 10) < 1e-9);
 * ```
 */
export function loudnessPowerGain(meanSquare: number, params: FeatureParams): number {
  if (params.loudnessDbfs === null) return 1;
  const level = meanSquare > 0 ? 10 * Math.log10(meanSquare) : -Infinity;
  return 10 ** (Math.min(params.maxGainDb, params.loudnessDbfs - level) / 10);
}

/**
 * The log-mel of frames `from .. from + frames - 1` of a mel power spectrogram, loudness-normalised by
 * those frames' own level (see the module doc).
 *
 * @param mp From {@linkcode melPowerSpectrogram}.
 * @param params The feature parameters (the same as for `mp`).
 * @param from First frame. @default 0
 * @param frames Number of frames. @default all from `from`
 * @returns `[mel][frame]` values.
 */
export function logMelFromPower(
  mp: MelPower,
  params: FeatureParams = DEFAULT_FEATURE_PARAMS,
  from = 0,
  frames = mp.frames - from,
): LogMel {
  if (!(from >= 0 && frames >= 0 && from + frames <= mp.frames)) {
    throw new RangeError(`Frames ${from}..${from + frames} outside 0..${mp.frames}`);
  }
  let energy = 0;
  for (let t = from; t < from + frames; t++) energy += mp.frameEnergy[t]!;
  const gain = loudnessPowerGain(frames > 0 ? energy / (frames * mp.windowLength) : 0, params);
  const { nMels } = mp;
  const { logOffset } = params;
  const data = new Float32Array(nMels * frames);
  for (let m = 0; m < nMels; m++) {
    const src = m * mp.frames + from, dst = m * frames;
    for (let t = 0; t < frames; t++) data[dst + t] = Math.log(gain * mp.power[src + t]! + logOffset);
  }
  return { data, nMels, frames };
}

/**
 * The log-mel spectrogram of mono samples (see the module doc): {@linkcode melPowerSpectrogram} then
 * {@linkcode logMelFromPower} over all frames, so the whole input is normalised to one level.
 *
 * @param samples Mono samples.
 * @param params The feature parameters.
 * @default params DEFAULT_FEATURE_PARAMS
 * @returns `[mel][frame]` values; a 10 s segment at 16 kHz gives 64 x 200.
 * @example
 * ```ts
 * import { logMelSpectrogram } from "./features.ts";
 * const spec = logMelSpectrogram(new Float32Array(160000));
 * console.assert(spec.nMels === 64 && spec.frames === 200);
 * console.assert(Math.abs(spec.data[0]! - Math.log(1e-6)) < 1e-6);
 * ```
 */
export function logMelSpectrogram(
  samples: Float32Array,
  params: FeatureParams = DEFAULT_FEATURE_PARAMS,
): LogMel {
  return logMelFromPower(melPowerSpectrogram(samples, params), params);
}

/**
 * Normalises a log-mel per band: `(x - mean[m]) / std[m]`.
 *
 * @param spec The log-mel.
 * @param mean One mean per band.
 * @param std One positive standard deviation per band.
 * @returns A new log-mel of the same shape.
 * @throws {RangeError} When the statistics do not have one positive entry per band.
 * @example
 * ```ts
 * import { normalizeLogMel } from "./features.ts";
 * const spec = { data: new Float32Array([1, 3, 10, 20]), nMels: 2, frames: 2 };
 * const out = normalizeLogMel(spec, new Float32Array([2, 15]), new Float32Array([1, 5]));
 * console.assert(out.data.join() === "-1,1,-1,1");
 * ```
 */
export function normalizeLogMel(spec: LogMel, mean: Float32Array, std: Float32Array): LogMel {
  const { nMels, frames } = spec;
  if (mean.length !== nMels || std.length !== nMels) {
    throw new RangeError(`Need ${nMels} means and stds, got ${mean.length} and ${std.length}`);
  }
  const data = new Float32Array(spec.data.length);
  for (let m = 0; m < nMels; m++) {
    const mu = mean[m]!, sd = std[m]!;
    if (!(sd > 0)) throw new RangeError(`std[${m}] must be positive, got ${sd}`);
    const inv = 1 / sd;
    const row = m * frames;
    for (let t = 0; t < frames; t++) data[row + t] = (spec.data[row + t]! - mu) * inv;
  }
  return { data, nMels, frames };
}

/**
 * Per-band mean and (population) standard deviation over every frame of every spectrogram, for
 * the manifest's normalisation statistics. Accumulates in float64; a standard deviation below
 * {@linkcode MIN_BAND_STD} is raised to it.
 *
 * @param specs Log-mels with the same number of bands.
 * @returns `{ mean, std }`, one entry per band.
 * @throws {RangeError} When `specs` is empty, holds no frames, or the band counts differ.
 * @example
 * ```ts
 * import { computeBandStats } from "./features.ts";
 * const { mean, std } = computeBandStats([{ data: new Float32Array([1, 3]), nMels: 1, frames: 2 }]);
 * console.assert(mean[0] === 2 && std[0] === 1);
 * ```
 */
export function computeBandStats(specs: readonly LogMel[]): BandStats {
  const first = specs[0];
  if (!first) throw new RangeError("computeBandStats needs at least one spectrogram");
  const nMels = first.nMels;
  const sum = new Float64Array(nMels);
  let count = 0;
  for (const spec of specs) {
    if (spec.nMels !== nMels) throw new RangeError(`Band counts differ: ${nMels} and ${spec.nMels}`);
    count += spec.frames;
    for (let m = 0; m < nMels; m++) {
      let s = 0;
      const row = m * spec.frames;
      for (let t = 0; t < spec.frames; t++) s += spec.data[row + t]!;
      sum[m] = sum[m]! + s;
    }
  }
  if (count === 0) throw new RangeError("computeBandStats needs at least one frame");
  const mean = new Float64Array(nMels);
  for (let m = 0; m < nMels; m++) mean[m] = sum[m]! / count;
  // Second pass about the mean: no cancellation, unlike sum of squares minus squared sum.
  const sq = new Float64Array(nMels);
  for (const spec of specs) {
    for (let m = 0; m < nMels; m++) {
      let s = 0;
      const mu = mean[m]!;
      const row = m * spec.frames;
      for (let t = 0; t < spec.frames; t++) {
        const d = spec.data[row + t]! - mu;
        s += d * d;
      }
      sq[m] = sq[m]! + s;
    }
  }
  const std = new Float32Array(nMels);
  for (let m = 0; m < nMels; m++) std[m] = Math.max(MIN_BAND_STD, Math.sqrt(sq[m]! / count));
  return { mean: Float32Array.from(mean), std };
}

/**
 * Signal changes a listener's copy of a track may have been through: a gain (with a limiter so a
 * louder copy does not clip), additive white or pink noise at a given signal-to-noise ratio,
 * band-limiting (RBJ biquad low- and high-pass filters) and excerpts. Training uses them to make
 * augmented views, the quality benchmark to make distorted queries: one implementation for both.
 * Lossy re-encoding goes through `core/audio/ffmpeg.ts`.
 *
 * Every function returns a new array and leaves its input unchanged; noise is seeded.
 * @module
 */
import { mulberry32 } from "../util/random.ts";

/**
 * Multiplies by a gain given in decibels.
 *
 * @param samples Input samples.
 * @param db Gain in dB (negative: quieter).
 * @returns A new array.
 * @example
 * ```ts
 * import { applyGainDb } from "./augment.ts";
 * console.assert(Math.abs(applyGainDb(new Float32Array([0.5]), -6)[0]! - 0.5 * 10 ** (-6 / 20)) < 1e-7);
 * ```
 */
export function applyGainDb(samples: Float32Array, db: number): Float32Array {
  const k = 10 ** (db / 20);
  return samples.map((v) => v * k);
}

/** Options of {@linkcode limit}. */
export interface LimiterOptions {
  /** Samples per second. */
  sampleRate: number;
  /** Highest absolute output value. @default 0.98 (about -0.2 dBFS) */
  ceiling?: number;
  /** Look-ahead (and attack) in milliseconds. @default 5 */
  lookAheadMs?: number;
  /** Time for the gain to recover by 1 - 1/e after a peak, in milliseconds. @default 80 */
  releaseMs?: number;
}

/**
 * A look-ahead peak limiter: the gain falls ahead of each peak so that no output sample exceeds the
 * ceiling, and recovers smoothly afterwards (no hard clipping, so a louder copy keeps its spectrum).
 *
 * @param samples Input samples (may exceed [-1, 1]).
 * @param opts Sample rate, ceiling, look-ahead, release.
 * @returns A new array with `|y| <= ceiling` everywhere; samples already below the ceiling in a
 *   quiet passage are unchanged.
 */
export function limit(samples: Float32Array, opts: LimiterOptions): Float32Array {
  const ceiling = opts.ceiling ?? 0.98;
  const look = Math.max(1, Math.round(((opts.lookAheadMs ?? 5) / 1000) * opts.sampleRate));
  const release = 1 - Math.exp(-1 / (((opts.releaseMs ?? 80) / 1000) * opts.sampleRate));
  const n = samples.length;
  // The gain each sample needs on its own.
  const need = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const a = Math.abs(samples[i]!);
    need[i] = a > ceiling ? ceiling / a : 1;
  }
  // m[j] = min(need[j - look .. j + look]) (a monotonic deque).
  const m = new Float64Array(n);
  const dq = new Int32Array(n);
  let head = 0, tail = 0;
  for (let j = 0, i = 0; i < n; i++) {
    for (; j < n && j <= i + look; j++) {
      while (tail > head && need[dq[tail - 1]!]! >= need[j]!) tail--;
      dq[tail++] = j;
    }
    while (dq[head]! < i - look) head++;
    m[i] = need[dq[head]!]!;
  }
  // Averaging m over [i - look, i + look] smooths the attack and stays <= need[i], since every m[j]
  // in that window covers i. The release then lets the gain recover slowly, never above the average.
  const prefix = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) prefix[i + 1] = prefix[i]! + m[i]!;
  const out = new Float32Array(n);
  let g = 1;
  for (let i = 0; i < n; i++) {
    const lo = Math.max(0, i - look), hi = Math.min(n, i + look + 1);
    const avg = (prefix[hi]! - prefix[lo]!) / (hi - lo);
    g = Math.min(avg, g + (1 - g) * release);
    out[i] = samples[i]! * g;
  }
  return out;
}

/**
 * Seeded white noise, uniform in [-1, 1).
 *
 * @param n Samples.
 * @param seed Seed.
 * @returns A new array.
 */
export function whiteNoise(n: number, seed: number): Float32Array {
  const random = mulberry32(seed);
  return Float32Array.from({ length: n }, () => 2 * random() - 1);
}

/**
 * Seeded pink noise (power falling 3 dB per octave), from white noise through Paul Kellet's refined
 * filter (accurate to about ±0.05 dB above 9.2 Hz at 44.1 kHz).
 *
 * @param n Samples.
 * @param seed Seed.
 * @returns A new array (scale it with {@linkcode addNoise}).
 */
export function pinkNoise(n: number, seed: number): Float32Array {
  const white = whiteNoise(n, seed);
  const out = new Float32Array(n);
  let b0 = 0, b1 = 0, b2 = 0, b3 = 0, b4 = 0, b5 = 0, b6 = 0;
  for (let i = 0; i < n; i++) {
    const w = white[i]!;
    b0 = 0.99886 * b0 + w * 0.0555179;
    b1 = 0.99332 * b1 + w * 0.0750759;
    b2 = 0.969 * b2 + w * 0.153852;
    b3 = 0.8665 * b3 + w * 0.3104856;
    b4 = 0.55 * b4 + w * 0.5329522;
    b5 = -0.7616 * b5 - w * 0.016898;
    out[i] = b0 + b1 + b2 + b3 + b4 + b5 + b6 + w * 0.5362;
    b6 = w * 0.115926;
  }
  return out;
}

function meanSquare(x: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * x[i]!;
  return x.length > 0 ? s / x.length : 0;
}

/**
 * Adds noise scaled so that the signal-to-noise ratio (mean power over the whole clip) is `snrDb`.
 *
 * @param samples The signal.
 * @param noise Noise at least as long as the signal (e.g. {@linkcode pinkNoise}).
 * @param snrDb Wanted ratio in dB.
 * @returns A new array; the signal unchanged when it or the noise is silent.
 */
export function addNoise(samples: Float32Array, noise: Float32Array, snrDb: number): Float32Array {
  if (noise.length < samples.length) throw new RangeError("The noise is shorter than the signal");
  const ps = meanSquare(samples);
  const pn = meanSquare(noise.subarray(0, samples.length));
  if (!(ps > 0 && pn > 0)) return samples.slice();
  const k = Math.sqrt(ps / (pn * 10 ** (snrDb / 10)));
  return samples.map((v, i) => v + k * noise[i]!);
}

/** A biquad filter kind. */
export type BiquadKind = "lowpass" | "highpass";

/**
 * A second-order Butterworth-like filter (RBJ audio-EQ cookbook, Q = 1/√2 by default): about -3 dB at
 * `cutoffHz`, -12 dB per octave beyond.
 *
 * @param samples Input samples.
 * @param sampleRate Samples per second.
 * @param kind `lowpass` or `highpass`.
 * @param cutoffHz Cut-off frequency, below the Nyquist frequency.
 * @param q Quality factor. @default Math.SQRT1_2
 * @returns A new array.
 */
export function biquad(
  samples: Float32Array,
  sampleRate: number,
  kind: BiquadKind,
  cutoffHz: number,
  q = Math.SQRT1_2,
): Float32Array {
  if (!(cutoffHz > 0 && cutoffHz < sampleRate / 2)) {
    throw new RangeError(`cutoffHz must be in (0, ${sampleRate / 2}): ${cutoffHz}`);
  }
  const w0 = (2 * Math.PI * cutoffHz) / sampleRate;
  const cos = Math.cos(w0), alpha = Math.sin(w0) / (2 * q);
  const [b0, b1, b2] = kind === "lowpass"
    ? [(1 - cos) / 2, 1 - cos, (1 - cos) / 2]
    : [(1 + cos) / 2, -(1 + cos), (1 + cos) / 2];
  const a0 = 1 + alpha, a1 = -2 * cos, a2 = 1 - alpha;
  const out = new Float32Array(samples.length);
  let x1 = 0, x2 = 0, y1 = 0, y2 = 0;
  for (let i = 0; i < samples.length; i++) {
    const x = samples[i]!;
    const y = (b0 * x + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2) / a0;
    out[i] = y;
    x2 = x1, x1 = x, y2 = y1, y1 = y;
  }
  return out;
}

/**
 * A copy of `seconds` of audio starting at `startSeconds` (clamped to the clip).
 *
 * @param samples The clip.
 * @param sampleRate Samples per second.
 * @param startSeconds Start.
 * @param seconds Length.
 * @returns A new array.
 */
export function excerpt(
  samples: Float32Array,
  sampleRate: number,
  startSeconds: number,
  seconds: number,
): Float32Array {
  const len = Math.min(samples.length, Math.round(seconds * sampleRate));
  const from = Math.max(0, Math.min(samples.length - len, Math.round(startSeconds * sampleRate)));
  return samples.slice(from, from + len);
}

/**
 * The signal-to-noise ratio of `noisy` against the clean `clean`, in dB (for tests and reports).
 *
 * @param clean The clean signal.
 * @param noisy The same signal with noise added (same length).
 * @returns `10 log10(P(clean) / P(noisy - clean))`.
 */
export function snrDb(clean: Float32Array, noisy: Float32Array): number {
  const diff = noisy.map((v, i) => v - clean[i]!);
  return 10 * Math.log10(meanSquare(clean) / meanSquare(diff));
}

/**
 * Light, seeded post-processing applied to every rendered clip so recordings differ the way real
 * ones do: exact length, spectral tilt, a short echo, level and a low noise floor. Pure functions.
 * @module
 */
import type { Rng } from "./prng.ts";
import type { PcmAudio } from "./wav.ts";

/** The drawn effect settings of one clip (recorded for inspection). */
export interface EffectSettings {
  /** -1 (dark) to 1 (bright): gain of the high band relative to the low band. */
  tilt: number;
  /** Echo delay in seconds (0: no echo). */
  echoDelay: number;
  echoFeedback: number;
  echoMix: number;
  /** Peak level after normalisation, dBFS. */
  peakDb: number;
  /** Noise floor, dBFS RMS. */
  noiseDb: number;
}

/**
 * Draws a clip's effect settings.
 *
 * @param rng The clip's random source.
 * @param noiseRange Noise floor range in dBFS.
 * @returns The settings.
 */
export function drawEffects(rng: Rng, noiseRange: readonly [number, number] = [-72, -50]): EffectSettings {
  const echo = rng.chance(0.4);
  return {
    tilt: rng.range(-0.6, 0.6),
    echoDelay: echo ? rng.range(0.06, 0.28) : 0,
    echoFeedback: echo ? rng.range(0.1, 0.35) : 0,
    echoMix: echo ? rng.range(0.08, 0.25) : 0,
    peakDb: rng.range(-9, -1),
    noiseDb: rng.range(noiseRange[0], noiseRange[1]),
  };
}

/**
 * Applies effects and fixes the length: mixes down to `outChannels`, cuts or zero-pads to
 * `seconds`, tilts the spectrum, adds an echo, normalises the peak, adds seeded noise and 10 ms
 * fades at both ends (no clicks).
 *
 * @param audio Rendered audio.
 * @param settings From {@linkcode drawEffects}.
 * @param seconds Exact output length.
 * @param outChannels 1 (mono) or the input's channel count.
 * @param rng Source of the noise.
 * @returns New audio of exactly `round(seconds * sampleRate)` frames.
 */
export function applyEffects(
  audio: PcmAudio,
  settings: EffectSettings,
  seconds: number,
  outChannels: number,
  rng: Rng,
): PcmAudio {
  const sr = audio.sampleRate;
  const n = Math.round(seconds * sr);
  const src = audio.channels;
  const chans: Float32Array[] = [];
  if (outChannels === 1) {
    const mono = new Float32Array(n);
    for (const ch of src) for (let i = 0; i < Math.min(n, ch.length); i++) mono[i]! += ch[i]! / src.length;
    chans.push(mono);
  } else {
    for (let c = 0; c < outChannels; c++) {
      const ch = src[Math.min(c, src.length - 1)] ?? new Float32Array(0);
      const out = new Float32Array(n);
      out.set(ch.subarray(0, Math.min(n, ch.length)));
      chans.push(out);
    }
  }
  // Tilt: split at ~800 Hz with a one-pole low-pass and reweigh the bands.
  const a = Math.exp(-2 * Math.PI * 800 / sr);
  const lowGain = 1 - settings.tilt * 0.5, highGain = 1 + settings.tilt * 0.5;
  const delay = Math.round(settings.echoDelay * sr);
  for (const x of chans) {
    let lp = 0;
    for (let i = 0; i < n; i++) {
      lp = (1 - a) * x[i]! + a * lp;
      x[i] = lowGain * lp + highGain * (x[i]! - lp);
    }
    if (delay > 0) {
      const wet = new Float32Array(n);
      for (let i = delay; i < n; i++) wet[i] = x[i - delay]! + settings.echoFeedback * wet[i - delay]!;
      for (let i = 0; i < n; i++) x[i] = x[i]! + settings.echoMix * wet[i]!;
    }
  }
  let peak = 0;
  for (const x of chans) for (let i = 0; i < n; i++) peak = Math.max(peak, Math.abs(x[i]!));
  const gain = peak > 0 ? 10 ** (settings.peakDb / 20) / peak : 0;
  const noiseRms = 10 ** (settings.noiseDb / 20);
  // Uniform noise in [-1, 1) has RMS 1/sqrt(3).
  const noiseAmp = noiseRms * Math.sqrt(3);
  const fade = Math.min(Math.floor(n / 2), Math.round(0.01 * sr));
  for (const x of chans) {
    let brown = 0;
    for (let i = 0; i < n; i++) {
      // Slightly coloured noise: white plus a little leaky-integrated (reddish) component.
      const w = rng.next() * 2 - 1;
      brown = 0.98 * brown + 0.1 * w;
      let v = x[i]! * gain + noiseAmp * (0.8 * w + brown);
      if (i < fade) v *= i / fade;
      else if (i >= n - fade) v *= (n - 1 - i) / fade;
      x[i] = v;
    }
  }
  return { sampleRate: sr, channels: chans };
}

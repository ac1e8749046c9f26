import assert from "node:assert/strict";
import { addNoise, applyGainDb, biquad, excerpt, limit, pinkNoise, snrDb, whiteNoise } from "./augment.ts";

const SR = 16000;
const sine = (f: number, seconds: number, amp = 0.5) =>
  Float32Array.from(
    { length: Math.round(seconds * SR) },
    (_, i) => amp * Math.sin((2 * Math.PI * f * i) / SR),
  );
const rms = (x: Float32Array) => Math.sqrt(x.reduce((a, v) => a + v * v, 0) / x.length);
const db = (r: number) => 20 * Math.log10(r);

/** Mean power of frequencies [lo, hi) Hz with a plain DFT (independent of fft.js), over 2048-sample blocks. */
function bandPower(x: Float32Array, lo: number, hi: number): number {
  const n = 2048;
  let total = 0, blocks = 0;
  for (let at = 0; at + n <= x.length; at += n, blocks++) {
    for (let k = Math.ceil((lo * n) / SR); k < (hi * n) / SR; k++) {
      let re = 0, im = 0;
      for (let t = 0; t < n; t++) {
        const a = (-2 * Math.PI * k * t) / n;
        re += x[at + t]! * Math.cos(a);
        im += x[at + t]! * Math.sin(a);
      }
      total += re * re + im * im;
    }
  }
  return total / blocks;
}

Deno.test("applyGainDb() scales by 10^(dB/20) and leaves the input alone", () => {
  const x = sine(440, 0.1);
  const y = applyGainDb(x, -12);
  assert.ok(Math.abs(db(rms(y) / rms(x)) + 12) < 1e-4);
  assert.equal(x[10], sine(440, 0.1)[10]);
});

Deno.test("limit() keeps every sample under the ceiling without clipping the waveform's shape", () => {
  const quiet = sine(300, 1, 0.1), loud = applyGainDb(sine(300, 1, 0.5), 12); // peaks at 2.0
  const x = new Float32Array(quiet.length + loud.length);
  x.set(quiet);
  x.set(loud, quiet.length);
  const y = limit(x, { sampleRate: SR });
  assert.ok(y.every((v) => Math.abs(v) <= 0.98 + 1e-6), `max ${Math.max(...y.map(Math.abs))}`);
  // the quiet half (before the look-ahead reaches the loud one) is untouched
  for (let i = 0; i < quiet.length - 200; i++) assert.equal(y[i], x[i]);
  // the loud half is a scaled sine, not a square wave: energy stays at 300 Hz, little at 900 Hz
  const tail = y.subarray(quiet.length + 4000);
  assert.ok(bandPower(tail, 850, 950) < 1e-3 * bandPower(tail, 250, 350));
  const clipped = tail.map((_v, i) => Math.max(-0.98, Math.min(0.98, loud[4000 + i]!)));
  assert.ok(
    bandPower(clipped, 850, 950) > 10 * bandPower(tail, 850, 950),
    "hard clipping would add harmonics",
  );
});

Deno.test("addNoise() gives exactly the requested SNR; pinkNoise() falls 3 dB per octave, white does not", () => {
  const x = sine(440, 2);
  for (const want of [15, 25, 40]) {
    const y = addNoise(x, pinkNoise(x.length, want), want);
    assert.ok(Math.abs(snrDb(x, y) - want) < 1e-3, `${want} dB`);
  }
  assert.throws(() => addNoise(x, new Float32Array(5), 20), RangeError);
  const pink = pinkNoise(SR * 3, 7), white = whiteNoise(SR * 3, 7);
  const octaves = [[500, 1000], [1000, 2000], [2000, 4000]] as const;
  const p = octaves.map(([lo, hi]) => 10 * Math.log10(bandPower(pink, lo, hi)));
  const w = octaves.map(([lo, hi]) => 10 * Math.log10(bandPower(white, lo, hi)));
  // pink: equal power per octave; white: +3 dB per octave
  assert.ok(Math.abs(p[1]! - p[0]!) < 1 && Math.abs(p[2]! - p[1]!) < 1, `pink ${p}`);
  assert.ok(Math.abs(w[1]! - w[0]! - 3) < 1 && Math.abs(w[2]! - w[1]! - 3) < 1, `white ${w}`);
  assert.deepEqual(pinkNoise(100, 3), pinkNoise(100, 3));
});

Deno.test("biquad() is -3 dB at the cut-off and at least 22 dB down two octaves beyond", () => {
  const steady = (y: Float32Array) => y.subarray(4000);
  const at = (kind: "lowpass" | "highpass", f: number, cutoff: number) => {
    const x = sine(f, 1);
    return db(rms(steady(biquad(x, SR, kind, cutoff))) / rms(steady(x)));
  };
  assert.ok(Math.abs(at("lowpass", 2000, 2000) + 3.01) < 0.1);
  assert.ok(Math.abs(at("highpass", 300, 300) + 3.01) < 0.1);
  assert.ok(at("lowpass", 100, 2000) > -0.05);
  assert.ok(at("lowpass", 4000, 1000) < -22, `${at("lowpass", 4000, 1000)}`);
  assert.ok(at("highpass", 75, 300) < -22);
  assert.throws(() => biquad(sine(100, 0.1), SR, "lowpass", 9000), RangeError);
});

Deno.test("excerpt() copies a window and clamps it to the clip", () => {
  const x = Float32Array.from({ length: 10 * SR }, (_, i) => i);
  assert.deepEqual(excerpt(x, SR, 2, 3).subarray(0, 2), Float32Array.from([2 * SR, 2 * SR + 1]));
  assert.equal(excerpt(x, SR, 2, 3).length, 3 * SR);
  assert.equal(excerpt(x, SR, 9, 3)[0], 7 * SR);
  assert.equal(excerpt(x, SR, 0, 30).length, 10 * SR);
});

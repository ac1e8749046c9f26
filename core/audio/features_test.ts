import assert from "node:assert/strict";
import {
  computeBandStats,
  DEFAULT_FEATURE_PARAMS,
  featureParamsDiff,
  featureParamsEqual,
  frameCount,
  hzToMel,
  type LogMel,
  logMelFromPower,
  logMelSpectrogram,
  loudnessPowerGain,
  melFilterbank,
  melPowerSpectrogram,
  melToHz,
  normalizeLogMel,
  validateFeatureParams,
} from "./features.ts";

interface Reference {
  params: typeof DEFAULT_FEATURE_PARAMS;
  samples: number;
  nMels: number;
  frames: number;
  nBins: number;
  filterbank: { start: number; weights: number[] }[];
  filterbankRowSums: number[];
  frameIndices: number[];
  logmel: number[][];
  bandSums: number[];
}

const FIXTURES = new URL("../../tests/fixtures/", import.meta.url);

async function loadReference(): Promise<{ ref: Reference; signal: Float32Array }> {
  const ref = JSON.parse(await Deno.readTextFile(new URL("logmel_reference.json", FIXTURES))) as Reference;
  const bytes = await Deno.readFile(new URL("logmel_signal.f32", FIXTURES));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const signal = new Float32Array(bytes.byteLength / 4);
  for (let i = 0; i < signal.length; i++) signal[i] = view.getFloat32(i * 4, true);
  return { ref, signal };
}

Deno.test("reference fixture was made with the default feature parameters", async () => {
  const { ref, signal } = await loadReference();
  assert.ok(
    featureParamsEqual(ref.params, DEFAULT_FEATURE_PARAMS),
    featureParamsDiff(ref.params, DEFAULT_FEATURE_PARAMS).join("; "),
  );
  assert.equal(signal.length, ref.samples);
});

Deno.test("melFilterbank() matches the numpy reference within 1e-6 at every bin", async () => {
  const { ref } = await loadReference();
  const fb = melFilterbank(DEFAULT_FEATURE_PARAMS);
  assert.equal(fb.nMels, ref.nMels);
  assert.equal(fb.nBins, ref.nBins);
  let maxDiff = 0;
  for (let m = 0; m < fb.nMels; m++) {
    const band = ref.filterbank[m]!;
    let sum = 0;
    for (let k = 0; k < fb.nBins; k++) {
      const j = k - band.start;
      const expected = j >= 0 && j < band.weights.length ? band.weights[j]! : 0;
      const actual = fb.weights[m * fb.nBins + k]!;
      maxDiff = Math.max(maxDiff, Math.abs(actual - expected));
      sum += actual;
      // The sparse span must cover every non-zero weight.
      if (actual !== 0) assert.ok(k >= fb.start[m]! && k < fb.end[m]!, `band ${m} bin ${k} outside its span`);
    }
    assert.ok(Math.abs(sum - ref.filterbankRowSums[m]!) <= 1e-6, `band ${m} sum ${sum}`);
    assert.ok(fb.end[m]! > fb.start[m]!, `band ${m} is empty`);
  }
  assert.ok(maxDiff <= 1e-6, `max filterbank difference ${maxDiff}`);
});

Deno.test("logMelSpectrogram() matches the numpy reference within 1e-3", async () => {
  const { ref, signal } = await loadReference();
  const spec = logMelSpectrogram(signal);
  assert.equal(spec.nMels, ref.nMels);
  assert.equal(spec.frames, ref.frames);
  let maxDiff = 0;
  for (let m = 0; m < spec.nMels; m++) {
    ref.frameIndices.forEach((t, i) => {
      const d = Math.abs(spec.data[m * spec.frames + t]! - ref.logmel[m]![i]!);
      if (d > maxDiff) maxDiff = d;
    });
    // Sums over all frames catch errors in the frames the fixture does not store.
    let sum = 0;
    for (let t = 0; t < spec.frames; t++) sum += spec.data[m * spec.frames + t]!;
    assert.ok(
      Math.abs(sum - ref.bandSums[m]!) <= 1e-3 * spec.frames,
      `band ${m} sum ${sum} vs ${ref.bandSums[m]}`,
    );
  }
  assert.ok(maxDiff <= 1e-3, `max log-mel difference ${maxDiff}`);
});

Deno.test("logMelSpectrogram() gives 200 frames for 10 s and ln(logOffset) for silence", () => {
  const spec = logMelSpectrogram(new Float32Array(160000));
  assert.equal(spec.frames, 200);
  assert.equal(spec.nMels, 64);
  assert.equal(spec.data.length, 64 * 200);
  for (const v of spec.data) assert.ok(Math.abs(v - Math.log(1e-6)) < 1e-6);
});

Deno.test("logMelSpectrogram() puts a tone's energy in the band that holds its frequency", () => {
  const sr = 16000, f = 2000;
  const x = new Float32Array(sr);
  for (let i = 0; i < x.length; i++) x[i] = 0.5 * Math.sin((2 * Math.PI * f * i) / sr);
  const spec = logMelSpectrogram(x);
  const fb = melFilterbank();
  const bin = Math.round((f * 1024) / sr);
  let best = 0;
  for (let m = 1; m < spec.nMels; m++) {
    if (spec.data[m * spec.frames]! > spec.data[best * spec.frames]!) best = m;
  }
  assert.ok(fb.weights[best * fb.nBins + bin]! > 0, `peak band ${best} does not cover bin ${bin}`);
  // Row-major [mel][frame]: every frame of a steady tone peaks in the same band.
  for (let t = 0; t < spec.frames; t++) {
    for (let m = 0; m < spec.nMels; m++) {
      assert.ok(spec.data[m * spec.frames + t]! <= spec.data[best * spec.frames + t]! + 1e-4);
    }
  }
});

Deno.test("logMelSpectrogram() frames start every hop and ignore a partial last frame", () => {
  const params = DEFAULT_FEATURE_PARAMS;
  assert.equal(frameCount(799), 0);
  assert.equal(frameCount(800), 1);
  assert.equal(frameCount(1599), 1);
  assert.equal(frameCount(1600), 2);
  assert.equal(logMelSpectrogram(new Float32Array(500)).frames, 0);
  // A click only in frame 1 raises frame 1 and leaves frames 0 and 2 at the floor.
  const x = new Float32Array(2400);
  x[1200] = 1;
  const spec = logMelSpectrogram(x, params);
  assert.equal(spec.frames, 3);
  const floor = Math.log(params.logOffset);
  for (let m = 0; m < spec.nMels; m++) {
    assert.ok(Math.abs(spec.data[m * 3]! - floor) < 1e-5);
    assert.ok(spec.data[m * 3 + 1]! > floor + 1);
    assert.ok(Math.abs(spec.data[m * 3 + 2]! - floor) < 1e-5);
  }
});

Deno.test("logMelSpectrogram() gives the same result on repeated calls (buffers are reused safely)", () => {
  const x = new Float32Array(16000).map((_, i) => Math.sin(i * 0.37) * 0.3);
  const a = logMelSpectrogram(x);
  logMelSpectrogram(new Float32Array(8000).fill(0.9), {
    ...DEFAULT_FEATURE_PARAMS,
    windowLength: 1024,
    hopLength: 512,
  });
  const b = logMelSpectrogram(x);
  assert.deepEqual(a.data, b.data);
});

Deno.test("melFilterbank() is cached per parameter set", () => {
  assert.equal(melFilterbank(), melFilterbank({ ...DEFAULT_FEATURE_PARAMS }));
  const other = melFilterbank({ ...DEFAULT_FEATURE_PARAMS, nMels: 32 });
  assert.notEqual(other, melFilterbank());
  assert.equal(other.nMels, 32);
});

Deno.test("hzToMel() and melToHz() follow the Slaney scale and invert each other", () => {
  assert.ok(Math.abs(hzToMel(1000) - 15) < 1e-12);
  assert.ok(Math.abs(hzToMel(500) - 7.5) < 1e-12);
  assert.ok(Math.abs(hzToMel(6400) - 42) < 1e-9);
  for (const f of [0, 100, 999, 1000, 4321, 8000]) assert.ok(Math.abs(melToHz(hzToMel(f)) - f) < 1e-9);
});

Deno.test("normalizeLogMel() subtracts the band mean and divides by the band std", () => {
  const spec: LogMel = { data: new Float32Array([1, 2, 3, 10, 20, 30]), nMels: 2, frames: 3 };
  const out = normalizeLogMel(spec, new Float32Array([2, 20]), new Float32Array([1, 10]));
  assert.deepEqual(Array.from(out.data), [-1, 0, 1, -1, 0, 1]);
  assert.equal(out.frames, 3);
  assert.deepEqual(Array.from(spec.data), [1, 2, 3, 10, 20, 30], "input left unchanged");
  assert.throws(() => normalizeLogMel(spec, new Float32Array(3), new Float32Array(3)), RangeError);
  assert.throws(() => normalizeLogMel(spec, new Float32Array(2), new Float32Array([1, 0])), RangeError);
});

Deno.test("computeBandStats() gives per-band mean and population std over all frames", () => {
  const a: LogMel = { data: new Float32Array([1, 3, 5, 5]), nMels: 2, frames: 2 };
  const b: LogMel = { data: new Float32Array([5, 5]), nMels: 2, frames: 1 };
  const { mean, std } = computeBandStats([a, b]);
  assert.ok(Math.abs(mean[0]! - 3) < 1e-6);
  assert.ok(Math.abs(std[0]! - Math.sqrt(8 / 3)) < 1e-6);
  assert.equal(mean[1], 5);
  assert.equal(std[1], Math.fround(1e-3), "a constant band gets the minimum std, not zero");
  const normalised = normalizeLogMel(a, mean, std);
  assert.ok(Math.abs(normalised.data[0]! + 2 / Math.sqrt(8 / 3)) < 1e-5);
  assert.throws(() => computeBandStats([]), RangeError);
  assert.throws(() => computeBandStats([a, { data: new Float32Array(3), nMels: 3, frames: 1 }]), RangeError);
});

Deno.test("featureParamsEqual() compares every field and ignores extra ones", () => {
  const same = { ...DEFAULT_FEATURE_PARAMS, note: "extra" };
  assert.ok(featureParamsEqual(DEFAULT_FEATURE_PARAMS, same));
  assert.ok(!featureParamsEqual(DEFAULT_FEATURE_PARAMS, { ...DEFAULT_FEATURE_PARAMS, logOffset: 1e-5 }));
  assert.ok(!featureParamsEqual(DEFAULT_FEATURE_PARAMS, { ...DEFAULT_FEATURE_PARAMS, hopLength: 400 }));
  assert.deepEqual(featureParamsDiff(DEFAULT_FEATURE_PARAMS, { ...DEFAULT_FEATURE_PARAMS, nMels: 128 }), [
    "nMels: expected 64, found 128",
  ]);
  const roundTrip = JSON.parse(JSON.stringify(DEFAULT_FEATURE_PARAMS));
  assert.ok(featureParamsEqual(DEFAULT_FEATURE_PARAMS, roundTrip), "survives a JSON round trip");
});

Deno.test("validateFeatureParams() rejects impossible parameters", () => {
  validateFeatureParams(DEFAULT_FEATURE_PARAMS);
  assert.throws(() => validateFeatureParams({ ...DEFAULT_FEATURE_PARAMS, nFft: 1000 }), RangeError);
  assert.throws(() => validateFeatureParams({ ...DEFAULT_FEATURE_PARAMS, windowLength: 2048 }), RangeError);
  assert.throws(() => validateFeatureParams({ ...DEFAULT_FEATURE_PARAMS, fmax: 9000 }), RangeError);
  assert.throws(
    () => logMelSpectrogram(new Float32Array(1000), { ...DEFAULT_FEATURE_PARAMS, nMels: 0 }),
    RangeError,
  );
});

const music = (n: number, seed = 3) => {
  let s = seed;
  return Float32Array.from({ length: n }, (_, i) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return 0.2 * Math.sin(i * 0.031) * Math.sin(i * 0.0007) + 0.05 * Math.sin(i * 0.29) +
      0.02 * (s / 2 ** 32 - 0.5);
  });
};
const maxAbsDiff = (a: Float32Array, b: Float32Array) =>
  a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

Deno.test("logMelSpectrogram() is the same at -12 and +6 dB: loudness normalisation by construction", () => {
  const x = music(160000);
  const base = logMelSpectrogram(x);
  for (const db of [-12, -6, 6]) {
    const k = 10 ** (db / 20);
    const y = logMelSpectrogram(x.map((v) => v * k));
    assert.ok(maxAbsDiff(base.data, y.data) < 1e-4, `${db} dB`);
  }
  // without normalisation a gain shifts every value by ln(k²)
  const off = { ...DEFAULT_FEATURE_PARAMS, loudnessDbfs: null };
  const a = logMelSpectrogram(x, off), b = logMelSpectrogram(x.map((v) => v * 0.25), off);
  const loudBin = a.data.indexOf(Math.max(...a.data));
  assert.ok(Math.abs(a.data[loudBin]! - b.data[loudBin]! - Math.log(16)) < 1e-3);
});

Deno.test("logMelFromPower() over a run of frames equals the log-mel of those samples", () => {
  const x = music(16000 * 30);
  const mp = melPowerSpectrogram(x);
  assert.equal(mp.frames, 600);
  for (const from of [0, 37, 400]) {
    const direct = logMelSpectrogram(x.subarray(from * 800, (from + 200) * 800));
    const sliced = logMelFromPower(mp, DEFAULT_FEATURE_PARAMS, from, 200);
    assert.equal(sliced.frames, 200);
    assert.ok(maxAbsDiff(direct.data, sliced.data) < 1e-5, `from ${from}`);
  }
  assert.throws(() => logMelFromPower(mp, DEFAULT_FEATURE_PARAMS, 500, 200), RangeError);
});

Deno.test("loudnessPowerGain() brings a window to -20 dBFS and caps the gain at maxGainDb", () => {
  const p = DEFAULT_FEATURE_PARAMS;
  assert.ok(Math.abs(loudnessPowerGain(10 ** (-32 / 10), p) - 10 ** (12 / 10)) < 1e-9);
  assert.ok(Math.abs(loudnessPowerGain(10 ** (-14 / 10), p) - 10 ** (-6 / 10)) < 1e-9);
  assert.equal(loudnessPowerGain(10 ** (-90 / 10), p), 10 ** 4); // +40 dB, not +70
  assert.equal(loudnessPowerGain(0, p), 10 ** 4);
  assert.equal(loudnessPowerGain(0.5, { ...p, loudnessDbfs: null }), 1);
  assert.throws(() => validateFeatureParams({ ...p, loudnessDbfs: 3 }), RangeError);
});

Deno.test("featureParamsDiff() names the loudness fields a model from before normalisation lacks", () => {
  const { loudnessDbfs: _l, maxGainDb: _m, ...old } = DEFAULT_FEATURE_PARAMS;
  assert.deepEqual(featureParamsDiff(DEFAULT_FEATURE_PARAMS, old as typeof DEFAULT_FEATURE_PARAMS), [
    "loudnessDbfs: expected -20, found undefined",
    "maxGainDb: expected 40, found undefined",
  ]);
});

import assert from "node:assert/strict";
import { ErrorCode, isSoundalikeError } from "../errors.ts";
import type { DecodedAudio } from "./ffmpeg.ts";
import { cutSegments, MIN_CLIP_SECONDS, rmsDbfs, segmentStarts, SILENCE_DBFS } from "./segments.ts";

const SR = 16000;

/** A clip whose sample i holds a ramp value, so a segment's first sample tells where it was cut. */
function rampClip(seconds: number, sampleRate = SR): DecodedAudio {
  const n = Math.round(seconds * sampleRate);
  const samples = new Float32Array(n);
  for (let i = 0; i < n; i++) samples[i] = 0.1 + (0.8 * i) / n;
  return { samples, sampleRate, seconds: n / sampleRate, truncated: false };
}

function startOf(segment: Float32Array, clip: DecodedAudio): number {
  return clip.samples.indexOf(segment[0]!) / clip.sampleRate;
}

Deno.test("segmentStarts() takes 0-10, 10-20 and 20-30 s from a 30 s clip", () => {
  assert.deepEqual(segmentStarts(30), [0, 10, 20]);
});

Deno.test("segmentStarts() skips a margin of up to 10 % at each end of a long track", () => {
  assert.deepEqual(segmentStarts(100), [10, 45, 80]);
  assert.deepEqual(segmentStarts(600), [60, 295, 530]);
  // 35 s: 10 % would leave less than 30 s, so the margin shrinks to 2.5 s.
  assert.deepEqual(segmentStarts(35), [2.5, 12.5, 22.5]);
  for (const s of [30.1, 31, 37.5, 45, 200, 1200]) {
    const [a, b, c] = segmentStarts(s) as [number, number, number];
    assert.ok(a >= 0 && a <= 0.1 * s + 1e-9, `${s}: first start ${a}`);
    assert.ok(c + 10 <= s && s - (c + 10) <= 0.1 * s + 1e-9, `${s}: last end ${c + 10}`);
    assert.ok(b - a >= 10 - 1e-9 && c - b >= 10 - 1e-9, `${s}: windows overlap`);
    assert.ok(Math.abs(b - a - (c - b)) < 1e-9, `${s}: evenly spread`);
  }
});

Deno.test("segmentStarts() overlaps three evenly spaced windows between 10 and 30 s", () => {
  assert.deepEqual(segmentStarts(20), [0, 5, 10]);
  assert.deepEqual(segmentStarts(12), [0, 1, 2]);
  assert.deepEqual(segmentStarts(29), [0, 9.5, 19]);
});

Deno.test("segmentStarts() starts every segment at 0 for clips of 3 to 10 s and scales with segmentSeconds", () => {
  assert.deepEqual(segmentStarts(3), [0, 0, 0]);
  assert.deepEqual(segmentStarts(10), [0, 0, 0]);
  assert.deepEqual(segmentStarts(6, 2), [0, 2, 4], "scales with segmentSeconds");
  assert.deepEqual(segmentStarts(4, 5), [0, 0, 0]);
});

Deno.test("segmentStarts() refuses clips under 3 s with clip_too_short", () => {
  assert.throws(() => segmentStarts(2.99), (err) => isSoundalikeError(err, ErrorCode.ClipTooShort));
});

Deno.test("cutSegments() returns three segments of exactly 10 s for every accepted length", () => {
  for (const seconds of [3, 4.321, 9.99, 10, 10.01, 17, 29.99, 30, 30.02, 61.7, 300]) {
    const clip = rampClip(seconds);
    const segments = cutSegments(clip);
    assert.equal(segments.length, 3);
    for (const seg of segments) assert.equal(seg.length, 10 * SR, `${seconds} s`);
  }
});

Deno.test("cutSegments() cuts where segmentStarts() says", () => {
  const clip = rampClip(100);
  assert.deepEqual(cutSegments(clip).map((s) => startOf(s, clip)), [10, 45, 80]);
  const mid = rampClip(20);
  const segs = cutSegments(mid);
  assert.deepEqual(segs.map((s) => startOf(s, mid)), [0, 5, 10]);
  assert.equal(
    segs[2]![segs[2]!.length - 1],
    mid.samples[mid.samples.length - 1],
    "last one ends at the end",
  );
  const exact = rampClip(30);
  assert.deepEqual(cutSegments(exact).map((s) => startOf(s, exact)), [0, 10, 20]);
});

Deno.test("cutSegments() loops a clip of 3 to 10 s to fill 10 s, three times the same", () => {
  const clip = rampClip(4);
  const [a, b, c] = cutSegments(clip) as [Float32Array, Float32Array, Float32Array];
  const n = clip.samples.length;
  assert.deepEqual(a.subarray(0, n), clip.samples);
  assert.deepEqual(a.subarray(n, 2 * n), clip.samples);
  assert.deepEqual(a.subarray(2 * n), clip.samples.subarray(0, 10 * SR - 2 * n));
  assert.deepEqual(a, b);
  assert.deepEqual(a, c);
  assert.notEqual(a, b, "independent arrays");
});

Deno.test("cutSegments() returns copies, not views of the decoded samples", () => {
  const clip = rampClip(30);
  const [first] = cutSegments(clip) as [Float32Array];
  first[0] = 42;
  assert.notEqual(clip.samples[0], 42);
  assert.equal(first.byteLength, first.buffer.byteLength);
});

Deno.test("cutSegments() refuses a clip under 3 s, saying its length and the minimum", () => {
  assert.equal(MIN_CLIP_SECONDS, 3);
  assert.throws(() => cutSegments(rampClip(1.25)), (err) => {
    assert.ok(isSoundalikeError(err, ErrorCode.ClipTooShort));
    assert.match(err.message, /1\.2 s/);
    assert.match(err.message, /at least 3 s/);
    return true;
  });
  assert.throws(() => cutSegments(rampClip(2.999)), (err) => {
    assert.ok(isSoundalikeError(err, ErrorCode.ClipTooShort));
    assert.match(err.message, /2\.9 s/, "never rounds up to the minimum");
    return true;
  });
});

Deno.test("cutSegments() refuses a silent clip and accepts a quiet one above -60 dBFS", () => {
  const silent = rampClip(12);
  silent.samples.fill(0);
  assert.throws(() => cutSegments(silent), (err) => isSoundalikeError(err, ErrorCode.SilentClip));
  const hum = rampClip(12);
  hum.samples.fill(0.0005); // -66 dBFS
  assert.throws(() => cutSegments(hum), (err) => isSoundalikeError(err, ErrorCode.SilentClip));
  const quiet = rampClip(12);
  quiet.samples.fill(0.002); // -54 dBFS
  assert.equal(cutSegments(quiet).length, 3);
  // Mostly silent but with a loud part: the whole-clip RMS is what counts.
  const sparse = rampClip(30);
  sparse.samples.fill(0);
  sparse.samples.fill(0.5, 0, SR);
  assert.equal(cutSegments(sparse).length, 3);
});

Deno.test("rmsDbfs() gives 0 dBFS at full scale, -6 dB at half and -3 dB for a sine", () => {
  assert.equal(rmsDbfs(new Float32Array([1, -1, 1, -1])), 0);
  assert.ok(Math.abs(rmsDbfs(new Float32Array([0.5, -0.5])) + 6.0206) < 1e-3);
  const sine = new Float32Array(16000).map((_, i) => Math.sin((2 * Math.PI * 100 * i) / 16000));
  assert.ok(Math.abs(rmsDbfs(sine) + 3.0103) < 1e-3);
  assert.equal(rmsDbfs(new Float32Array(0)), -Infinity);
  assert.equal(rmsDbfs(new Float32Array(10)), -Infinity);
  assert.ok(SILENCE_DBFS === -60);
});
